/**
 * Hints about peers a successor's list skipped (ring.machine.ts, hintUnlisted): a node whose
 * successor reports a list without a peer we hold a live link to, in the stretch the list
 * speaks for, tells the successor; a member told so links to the peer. Without
 * it, interleaved chains of a ring that formed in a crowd confirm themselves forever. Only a
 * peer that would be the successor's own successor is hinted, and the successor adopts it only
 * once a link to it is up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import type { RingMessage } from '../../src/actors/ring/ring-messages.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 4, mergeIntervalMs: 600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

const hints = (h: RingActorHarness, from: number) =>
  h.sends.slice(from).filter((s): s is typeof s & { message: Extract<RingMessage, { t: 'hint' }> } => s.message.t === 'hint');

/** nodes[0] is a member whose successor is nodes[successorIndex] (linked), sorted clockwise. */
async function memberOf(count: number, successorIndex = 1): Promise<{ h: RingActorHarness; nodes: Contact[] }> {
  const nodes = sortByPosition(randomContacts(createSeededRandom(29), count));
  const [self] = nodes as [Contact];
  const successor = nodes[successorIndex]!;
  running = startRingActor(self, CONFIG, { linked: [successor.id], bootstrap: [successor.id] });
  const h = running;
  await advance(h.clock, 0);
  const find = h.sends.find((s) => s.message.t === 'find')?.message;
  if (find?.t !== 'find') throw new Error('no join lookup was sent');
  h.from(successor, { t: 'found', rid: find.rid, target: find.target, node: successor.id, path: [self.id] });
  expect(h.actor.getSnapshot().matches('member')).toBe(true);
  return { h, nodes };
}

describe('hints about peers a successor list skipped', () => {
  it('tells the successor about a linked peer its list skipped, and only about that one', async () => {
    const { h, nodes } = await memberOf(6);
    const [, successor, skipped, far, beyond] = nodes as [Contact, Contact, Contact, Contact, Contact];
    h.from(successor, { t: 'neighbours', successors: [skipped.id, far.id, beyond.id] });
    expect(h.successors()).toEqual([successor.id, skipped.id, far.id, beyond.id]);
    h.linkUp(skipped);
    h.linkUp(far);
    const before = h.sends.length;
    // The successor's list skips `skipped` (inside the stretch it speaks for, up to `beyond`).
    h.from(successor, { t: 'neighbours', successors: [far.id, beyond.id] });
    const sent = hints(h, before);
    expect(sent.map((s) => s.to)).toEqual([successor.id]);
    expect(sent[0]!.message.peers).toEqual([skipped.id]);
    expect(h.successors()).toEqual([successor.id, far.id, beyond.id]);
  });

  it('says nothing of a skipped peer it has no link to, or saw fail', async () => {
    const { h, nodes } = await memberOf(6);
    const [, successor, unlinked, failing, beyond] = nodes as [Contact, Contact, Contact, Contact, Contact];
    h.from(successor, { t: 'neighbours', successors: [unlinked.id, failing.id, beyond.id] });
    h.linkUp(failing);
    h.linked.delete(failing.id);
    h.actor.send({ type: 'link.down', peer: failing.id, failed: true });
    const before = h.sends.length;
    h.from(successor, { t: 'neighbours', successors: [beyond.id] });
    expect(hints(h, before)).toEqual([]);
  });

  it('a member links to a hinted peer before its successor and adopts it once the link is up, ignoring the rest', async () => {
    const { h, nodes } = await memberOf(6, 2);
    const [self, missed, successor, next, beyond] = nodes as [Contact, Contact, Contact, Contact, Contact];
    h.from(successor, { t: 'neighbours', successors: [next.id] });
    expect(h.successors()).toEqual([successor.id, next.id]);
    // missed lies between us and our successor; beyond past it; we never hint ourselves.
    h.from(successor, { t: 'hint', peers: [missed.id, beyond.id, self.id] });
    expect(h.connects).toContain(missed.id);
    expect(h.connects).not.toContain(beyond.id);
    // Not adopted before the link proves it alive (a crashed peer's dial fails), and a round's
    // pruning in between does not cancel the dial.
    expect(h.successors()).toEqual([successor.id, next.id]);
    h.from(successor, { t: 'neighbours', successors: [next.id] });
    expect(h.actor.getSnapshot().context.owned.has(missed.id)).toBe(true);
    h.linkUp(missed);
    expect(h.successors()).toEqual([missed.id, successor.id, next.id]);
  });

  it('only hints peers that would come before the successor’s own successor', async () => {
    const { h, nodes } = await memberOf(6);
    const [, successor, a, b, c] = nodes as [Contact, Contact, Contact, Contact, Contact];
    h.from(successor, { t: 'neighbours', successors: [a.id, b.id, c.id] });
    h.linkUp(a);
    h.linkUp(b);
    const before = h.sends.length;
    // The report skips b, which lies past the successor's own successor a: no hint.
    h.from(successor, { t: 'neighbours', successors: [a.id, c.id] });
    expect(hints(h, before)).toEqual([]);
  });

  it('a joiner ignores hints', async () => {
    const nodes = sortByPosition(randomContacts(createSeededRandom(31), 4));
    const [self, via, other] = nodes as [Contact, Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [via.id], bootstrap: [via.id] });
    await advance(running.clock, 0);
    running.from(via, { t: 'hint', peers: [other.id] });
    expect(running.successors()).toEqual([]);
    expect(running.connects).not.toContain(other.id);
  });
});
