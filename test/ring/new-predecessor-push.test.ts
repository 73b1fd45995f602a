/**
 * A node whose predecessor failed or left pushes its list to the new predecessor at once, even
 * when the list itself did not change (pushIfChanged): pushes sent while the old predecessor was
 * gone went nowhere, and the new one may hold a stale list that no round of its own corrects
 * soon, since a change past its near successors does not cut a calm wait.
 */
import { expect, it } from 'vitest';
import type { Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { memberWithPredecessor, ringActorsStoppedAfterEach, type RingActorHarness } from '../helpers/ring-actor.js';

const R = 4;
const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: R, mergeIntervalMs: 3_600_000 };
const start = ringActorsStoppedAfterEach();

/** A member behind others[0] with others[1..R-1] after it, whose predecessor is others.at(-1); every other peer linked. */
async function member(seed: number) {
  const started = await memberWithPredecessor(start, seed, CONFIG);
  expect(started.h.actor.getSnapshot().context.predecessor?.id).toBe(started.predecessor.id);
  return started;
}

function pushesTo(h: RingActorHarness, peer: Contact, since: number) {
  return h.sends.slice(since).flatMap((s) => (s.to === peer.id && s.message.t === 'neighbours' ? [s.message] : []));
}

it('pushes its unchanged list to the peer that replaces a failed predecessor', async () => {
  const { h, others, predecessor, list } = await member(61);
  const mark = h.sends.length;
  h.linked.delete(predecessor.id);
  h.actor.send({ type: 'link.down', peer: predecessor.id, failed: true, unreachable: true });
  // The nearest linked peer before us takes its place; our list is what it was.
  const replacement = others.at(-2)!;
  expect(h.actor.getSnapshot().context.predecessor?.id).toBe(replacement.id);
  expect(h.successors()).toEqual(list);
  const pushes = pushesTo(h, replacement, mark);
  expect(pushes).toHaveLength(1);
  expect(pushes[0]!.t === 'neighbours' && pushes[0]!.successors).toEqual(list);
});

it('pushes its unchanged list to the predecessor a leaving predecessor names', async () => {
  const { h, others, predecessor, list } = await member(62);
  const mark = h.sends.length;
  const named = others.at(-2)!;
  h.from(predecessor, { t: 'leave', predecessor: named.id, successors: [h.actor.getSnapshot().context.self.id, ...list.slice(0, R - 1)] });
  expect(h.actor.getSnapshot().context.predecessor?.id).toBe(named.id);
  expect(h.successors()).toEqual(list);
  expect(pushesTo(h, named, mark)).toHaveLength(1);
});

it('pushes its list to a named predecessor it held no link to once that link comes up', async () => {
  const { h, others, predecessor, list } = await member(64);
  const named = others.at(-2)!;
  h.linked.delete(named.id);
  h.actor.send({ type: 'link.down', peer: named.id, failed: false });
  h.from(predecessor, { t: 'leave', predecessor: named.id, successors: [h.actor.getSnapshot().context.self.id, ...list.slice(0, R - 1)] });
  expect(h.actor.getSnapshot().context.predecessor?.id).toBe(named.id);
  // The push that went with the change could not go out: no link to the named predecessor.
  expect(h.sends.filter((s) => s.to === named.id && s.message.t === 'neighbours').every((s) => !s.sent)).toBe(true);
  const mark = h.sends.length;
  h.linkUp(named);
  const pushes = h.sends.slice(mark).filter((s) => s.to === named.id && s.message.t === 'neighbours' && s.sent);
  expect(pushes).toHaveLength(1);
  expect(pushes[0]!.message.t === 'neighbours' && pushes[0]!.message.successors).toEqual(list);
});

it('sends nothing to an unchanged predecessor when nothing changed', async () => {
  const { h, predecessor } = await member(63);
  const mark = h.sends.length;
  // A link that is no neighbour of ours goes down: neither the list nor the predecessor moves.
  const links = h.actor.getSnapshot().context.links;
  const far = [...links].find((peer) => peer !== predecessor.id && !h.successors().includes(peer))!;
  h.linked.delete(far);
  h.actor.send({ type: 'link.down', peer: far, failed: true });
  expect(h.sends.slice(mark).filter((s) => s.to === predecessor.id && s.message.t === 'neighbours')).toHaveLength(0);
});
