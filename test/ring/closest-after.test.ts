/**
 * A stabilize answer names the peer that follows the asker most closely among the answerer's
 * links (`neighbours.closest`, ring.machine.ts closestLinkAfter), and the asker adopts it when
 * it lies before its successor. Joins in a crowd are answered with the successor among the
 * members of the moment; the joiners that land in between all link to that successor, but its
 * predecessor is only the closest of them, and an asker following predecessors walked back one
 * node per round (200 nodes joining in 1.2 s, simulator: one node took 40 s).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import type { RingMessage } from '../../src/actors/ring/ring-messages.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 3, mergeIntervalMs: 600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** nodes sorted clockwise; nodes[self] is a member whose successor is nodes[successor] (linked). */
async function memberAt(nodes: Contact[], self: number, successor: number): Promise<RingActorHarness> {
  running = startRingActor(nodes[self]!, CONFIG, { linked: [nodes[successor]!.id], bootstrap: [nodes[successor]!.id] });
  const h = running;
  await advance(h.clock, 0);
  const find = h.sends.find((s) => s.message.t === 'find')?.message;
  if (find?.t !== 'find') throw new Error('no join lookup was sent');
  h.from(nodes[successor]!, { t: 'found', rid: find.rid, target: find.target, node: nodes[successor]!.id, path: [nodes[self]!.id] });
  expect(h.actor.getSnapshot().matches('member')).toBe(true);
  return h;
}

const answersTo = (h: RingActorHarness, from: number, to: Contact) =>
  h.sends.slice(from).filter((s): s is typeof s & { message: Extract<RingMessage, { t: 'neighbours' }> } => s.to === to.id && s.message.t === 'neighbours');

describe('the peer that follows the asker most closely', () => {
  it('is named in the answer to get: the nearest link after the asker, before us and not our predecessor', async () => {
    const nodes = sortByPosition(randomContacts(createSeededRandom(41), 7));
    // Self is nodes[6]; the asker nodes[1]; links nodes[2], nodes[4] lie between them, nodes[0] before the asker.
    const h = await memberAt(nodes, 6, 0);
    const asker = nodes[1]!;
    for (const i of [1, 2, 4]) h.linkUp(nodes[i]!);
    h.from(nodes[4]!, { t: 'notify' });
    let before = h.sends.length;
    h.from(asker, { t: 'get' });
    let answer = answersTo(h, before, asker);
    expect(answer).toHaveLength(1);
    expect(answer[0]!.message.predecessor).toBe(nodes[4]!.id);
    expect(answer[0]!.message.closest).toBe(nodes[2]!.id);
    // Asked by nodes[3]: the nearest link after it is our predecessor, already in the answer.
    h.linkUp(nodes[3]!);
    before = h.sends.length;
    h.from(nodes[3]!, { t: 'get' });
    answer = answersTo(h, before, nodes[3]!);
    expect(answer[0]!.message).not.toHaveProperty('closest');
  });

  it('is adopted by the asker when it lies between the asker and its successor, before the reported predecessor', async () => {
    const nodes = sortByPosition(randomContacts(createSeededRandom(43), 6));
    const h = await memberAt(nodes, 0, 5);
    const successor = nodes[5]!;
    h.from(successor, { t: 'neighbours', predecessor: nodes[4]!.id, successors: [], closest: nodes[1]!.id });
    expect(h.successors()[0]).toBe(nodes[1]!.id);
    expect(h.successors()).toContain(nodes[4]!.id);
    h.stop();
    // A `closest` past our successor is not taken.
    const other = await memberAt(nodes, 0, 2);
    other.from(nodes[2]!, { t: 'neighbours', successors: [], closest: nodes[3]!.id });
    expect(other.successors()[0]).toBe(nodes[2]!.id);
  });
});
