/**
 * Lookups that a join depends on must not be answered with a guess (see ring.machine.ts,
 * passFindOn and routeFind): a node still joining passes a find on to the peer it joins
 * through, and a find whose path runs out says where it got to (`found.more`) instead of
 * naming a node before the target; the joiner then asks again from there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { MAX_PATH, type RingMessage } from '../../src/actors/ring/ring-messages.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 2, mergeIntervalMs: 600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** Contacts sorted clockwise, so nodes[0] is self and the rest follow it round the ring. */
function contacts(count: number, seed = 11): Contact[] {
  return sortByPosition(randomContacts(createSeededRandom(seed), count));
}

/** Self starts joining through `via` and has sent its join lookup there. */
async function joiningThrough(self: Contact, via: Contact): Promise<{ h: RingActorHarness; find: Extract<RingMessage, { t: 'find' }> }> {
  running = startRingActor(self, CONFIG, { linked: [via.id], bootstrap: [via.id] });
  await advance(running.clock, 0);
  const find = running.sends.find((s) => s.message.t === 'find' && s.to === via.id)?.message;
  if (find?.t !== 'find') throw new Error('no join lookup was sent');
  expect(running.actor.getSnapshot().matches({ joining: 'locating' })).toBe(true);
  return { h: running, find };
}

const sentAfter = (h: RingActorHarness, index: number, t: RingMessage['t']) => h.sends.slice(index).filter((s) => s.message.t === t);

describe('lookups during joins', () => {
  it('a node still joining passes a lookup on to the peer it joins through instead of answering it', async () => {
    const nodes = contacts(5);
    const [self, via, asker] = [nodes[0]!, nodes[3]!, nodes[4]!];
    const { h } = await joiningThrough(self, via);
    h.linkUp(asker);
    const before = h.sends.length;
    h.from(asker, { t: 'find', rid: 9, target: nodes[1]!.position, path: [asker.id] });
    expect(sentAfter(h, before, 'found')).toEqual([]);
    const passed = sentAfter(h, before, 'find');
    expect(passed.map((s) => s.to)).toEqual([via.id]);
    expect(passed[0]!.message).toEqual({ t: 'find', rid: 9, target: nodes[1]!.position, path: [asker.id, self.id] });
  });

  it('asks its bootstrap source for the members nearest before it and joins through the nearest of those it got', async () => {
    const nodes = contacts(6);
    const self = nodes[0]!;
    // nodes[5] is the last clockwise from self: the nearest before it.
    running = startRingActor(self, CONFIG, { linked: [], bootstrap: [nodes[2]!.id, nodes[5]!.id, nodes[3]!.id] });
    await advance(running.clock, 0);
    expect(running.sampleRequests).toEqual([{ n: 32, near: 16 }]);
    expect(running.connects).toEqual([nodes[5]!.id]);
  });

  it('does not go in again through a way in whose link just failed, while the sample names another', async () => {
    const nodes = contacts(6);
    const self = nodes[0]!;
    running = startRingActor(self, CONFIG, { linked: [], bootstrap: [nodes[2]!.id, nodes[5]!.id] });
    await advance(running.clock, 0);
    expect(running.connects).toEqual([nodes[5]!.id]);
    running.actor.send({ type: 'link.down', peer: nodes[5]!.id, failed: true });
    // The next attempt comes after one backoff (500–1,500 ms after one failed join), well within failedMemoryMs.
    await advance(running.clock, 4 * CONFIG.rebootstrapBaseMs);
    expect(running.connects).toEqual([nodes[5]!.id, nodes[2]!.id]);
  });

  it('sends back, never answers, a lookup that already went through its bootstrap peer', async () => {
    // Its bootstrap peer routed the lookup here because we are linked to it: answering would
    // name a joiner as somebody's successor (see ring.machine.ts, declineFind).
    const nodes = contacts(5);
    const [self, via] = [nodes[0]!, nodes[3]!];
    const { h } = await joiningThrough(self, via);
    const before = h.sends.length;
    h.from(via, { t: 'find', rid: 4, target: nodes[2]!.position, path: [via.id] });
    expect(sentAfter(h, before, 'found')).toEqual([]);
    const back = sentAfter(h, before, 'find');
    expect(back.map((s) => s.to)).toEqual([via.id]);
    expect(back[0]!.message).toEqual({ t: 'find', rid: 4, target: nodes[2]!.position, path: [via.id], skip: [self.id] });
  });

  it('a member whose lookup path runs out before the target says where it got to (more), not a node before the target', async () => {
    const nodes = contacts(6);
    const [self, successor] = [nodes[0]!, nodes[1]!];
    const { h, find } = await joiningThrough(self, successor);
    h.from(successor, { t: 'found', rid: find.rid, target: find.target, node: successor.id, path: [self.id] });
    expect(h.actor.getSnapshot().matches('member')).toBe(true);
    // A full path from far away, for a target past our successor: greedy would go on, but may not.
    const asker = nodes[5]!;
    h.linkUp(asker);
    const path = Array.from({ length: MAX_PATH - 1 }, (_, i) => `${String(i % 10).repeat(63)}a` as PeerId);
    path.push(asker.id);
    const target = nodes[3]!.position;
    const before = h.sends.length;
    h.from(asker, { t: 'find', rid: 21, target, path });
    const answers = sentAfter(h, before, 'found');
    expect(answers.map((s) => s.to)).toEqual([asker.id]);
    expect(answers[0]!.message).toEqual({ t: 'found', rid: 21, target, node: self.id, path, by: self.id, more: true });
    expect(sentAfter(h, before, 'find')).toEqual([]);
  });

  it('a joiner told "more" links to where its lookup stopped and asks again from there', async () => {
    const nodes = contacts(6);
    const [self, via, halfway, successor] = [nodes[0]!, nodes[2]!, nodes[4]!, nodes[1]!];
    const { h, find } = await joiningThrough(self, via);
    h.from(via, { t: 'found', rid: find.rid, target: find.target, node: halfway.id, path: [self.id], by: halfway.id, more: true });
    // Not a successor: a place to continue from.
    expect(h.successors()).toEqual([]);
    expect(h.connects).toContain(halfway.id);
    const before = h.sends.length;
    h.linkUp(halfway);
    const again = sentAfter(h, before, 'find');
    expect(again.map((s) => s.to)).toEqual([halfway.id]);
    const second = again[0]!.message;
    if (second.t !== 'find') throw new Error('unreachable');
    expect(second.target).toBe(self.position);
    h.from(halfway, { t: 'found', rid: second.rid, target: second.target, node: successor.id, path: [self.id], by: halfway.id });
    h.linkUp(successor);
    expect(h.actor.getSnapshot().matches('member')).toBe(true);
    expect(h.successors()[0]).toBe(successor.id);
  });

  it('gives up and re-bootstraps after 8 continuations', async () => {
    const nodes = contacts(12);
    const self = nodes[0]!;
    const { h, find } = await joiningThrough(self, nodes[11]!);
    let rid = find.rid;
    for (let i = 0; i < 9; i += 1) {
      const from = h.sends.filter((s) => s.message.t === 'find').at(-1)!.to;
      const next = nodes[10 - i]!;
      const before = h.sends.length;
      h.from(nodes.find((c) => c.id === from)!, { t: 'found', rid, target: self.position, node: next.id, path: [self.id], by: next.id, more: true });
      if (i === 8) break;
      h.linkUp(next);
      const again = sentAfter(h, before, 'find');
      expect(again.map((s) => s.to)).toEqual([next.id]);
      rid = (again[0]!.message as Extract<RingMessage, { t: 'find' }>).rid;
    }
    expect(h.actor.getSnapshot().value).toBe('rebootstrapping');
  });
});
