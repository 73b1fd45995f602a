/**
 * The ring actor's ways out of a ring that skips a stretch of nodes: churn can leave a node's
 * successor pointing past live nodes (a cycle with a tail nobody points into). Stabilize and
 * notify never leave that state; with every server gone, these do (see ring.machine.ts):
 * a linked peer between us and our successor is adopted; a lookup's last hop answers with the
 * first node it knows past the target, links included; a node without a predecessor looks its
 * own position up and links to whoever answers for it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = {
  ...DEFAULT_RING_CONFIG,
  successorListLength: 2,
  stabilizeIntervalMs: 1_000,
  requestTimeoutMs: 500,
  mergeIntervalMs: 600_000,
};

interface Harness extends RingActorHarness {
  /** Clockwise from self: self, nodes[1], nodes[2], … */
  nodes: Contact[];
}

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** Self has joined with `nodes[successorIndex]` (linked) as its successor and no predecessor. */
async function memberWith(successorIndex: number, seed = 3): Promise<Harness> {
  const nodes = sortByPosition(randomContacts(createSeededRandom(seed), 6));
  const [self] = nodes as [Contact];
  const successor = nodes[successorIndex]!;
  running = startRingActor(self, CONFIG, { linked: [successor.id], bootstrap: [successor.id] });
  const h: Harness = { ...running, nodes };
  const { clock, sends } = h;
  await advance(clock, 0);
  const find = sends.find((s) => s.message.t === 'find');
  if (find?.message.t !== 'find') throw new Error('no join lookup was sent');
  h.from(successor, { t: 'found', rid: find.message.rid, target: find.message.target, node: successor.id, path: [self.id] });
  expect(h.successors()).toEqual([successor.id]);
  return h;
}

describe('a ring view that skips live nodes', () => {
  it('adopts a peer it gets a link to that lies between it and its successor', async () => {
    const h = await memberWith(4);
    const [, , between] = h.nodes;
    h.linkUp(between!);
    expect(h.successors()).toEqual([between!.id, h.nodes[4]!.id]);
    // A link to a peer past the successor changes nothing.
    h.linkUp(h.nodes[5]!);
    expect(h.successors()).toEqual([between!.id, h.nodes[4]!.id]);
  });

  it('answers a lookup it ends with the first node it knows past the target, a link as much as a successor', async () => {
    // Our successor asks for the point past itself (its probe). Its own list skipped nodes[3]
    // and we know no better than nodes[4], a link past our successor: that, not the asker
    // itself (the stale answer that confirmed a wrong view), is the answer.
    const h = await memberWith(2);
    const asker = h.nodes[2]!;
    h.linkUp(h.nodes[4]!);
    expect(h.successors()).toEqual([asker.id]);
    const target = h.nodes[3]!.position;
    const before = h.sends.length;
    h.from(asker, { t: 'find', rid: 7, target, path: [asker.id] });
    const answer = h.sends.slice(before).find((s) => s.message.t === 'found');
    expect(answer?.to).toBe(asker.id);
    expect(answer?.message).toEqual({ t: 'found', rid: 7, target, node: h.nodes[4]!.id, path: [asker.id], by: h.nodes[0]!.id });
  });

  it('without a predecessor, looks its own position up (rounds 2, 4, 8…) and links to whoever answers for it', async () => {
    const h = await memberWith(2);
    const farthest = h.nodes[5]!;
    h.linkUp(farthest);
    const joined = h.sends.length;
    const seeks = () => h.sends.slice(joined).filter((s) => s.message.t === 'find' && s.message.target === h.nodes[0]!.position);
    await advance(h.clock, 1.6 * CONFIG.stabilizeIntervalMs);
    // Round 1 does nothing (a fresh member gets its notify within a round or so).
    expect(seeks().length).toBeLessThanOrEqual(1);
    await advance(h.clock, 3 * CONFIG.stabilizeIntervalMs);
    expect(seeks().length).toBeGreaterThanOrEqual(1);
    expect(seeks().every((s) => s.to === farthest.id)).toBe(true);
    // Only the latest search counts.
    const first = seeks().at(-1);
    if (first?.message.t !== 'find') throw new Error('no predecessor lookup');
    const rounds = seeks().length;
    // The lookup's last hop names itself: the node that thinks it is our predecessor.
    const lead = h.nodes[4]!;
    h.from(farthest, { t: 'found', rid: first.message.rid, target: first.message.target, node: h.nodes[2]!.id, path: [h.nodes[0]!.id], by: lead.id });
    expect(h.connects).toContain(lead.id);
    // Once a predecessor notifies us, the search stops.
    h.from(lead, { t: 'notify' });
    await advance(h.clock, 20 * CONFIG.stabilizeIntervalMs);
    expect(seeks().length).toBeLessThanOrEqual(rounds + 1);
    expect(h.actor.getSnapshot().context.rounds.predecessorLead).toBeUndefined();
  });
});
