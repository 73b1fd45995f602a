/**
 * A node that is not on a ring yet never answers a lookup: it sends it back, naming itself in
 * `skip` (ring.machine.ts, declineFind). Members route such a lookup again past the decliners;
 * a lookup that comes back to its origin is declined — a joiner tries again later, and only
 * the lowest of nodes that started together founds a ring (mayFoundRing).
 *
 * Regression: 1,000 nodes joining in 6 s (simulator, seed 1) formed 10 interleaved rings — a
 * member routed a lookup to a joiner linked to it, the joiner answered for itself (no
 * predecessor: responsible for everything), and the asker took a joiner for its successor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { ringAdd } from '../../src/actors/ring/id-space.js';
import type { RingMessage } from '../../src/actors/ring/ring-messages.js';
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

/** Contacts sorted clockwise from nodes[0]. */
const contacts = (count: number, seed = 17): Contact[] => sortByPosition(randomContacts(createSeededRandom(seed), count));
const sentAfter = (h: RingActorHarness, index: number, t: RingMessage['t']) => h.sends.slice(index).filter((s) => s.message.t === t);
const lookupsTo = (h: RingActorHarness, peer: Contact) => h.sends.filter((s) => s.message.t === 'find' && s.to === peer.id).length;
/** The others of `pool` clockwise from `self`: the last is the nearest before it, a joiner's first choice among equals. */
const clockwiseFrom = (self: Contact, pool: readonly Contact[]): Contact[] => {
  const sorted = sortByPosition(pool);
  const at = sorted.indexOf(self);
  return [...sorted.slice(at + 1), ...sorted.slice(0, at)];
};
const state = (h: RingActorHarness) => h.actor.getSnapshot().value;

/** nodes[0] joins through nodes[via] and is answered nodes[successor]; links to the others come up. */
async function member(nodes: Contact[], via: number, successor: number, others: number[]): Promise<RingActorHarness> {
  const [self] = nodes as [Contact];
  running = startRingActor(self, CONFIG, { linked: [nodes[via]!.id], bootstrap: [nodes[via]!.id] });
  const h = running;
  await advance(h.clock, 0);
  const find = h.sends.find((s) => s.message.t === 'find');
  if (find?.message.t !== 'find') throw new Error('no join lookup was sent');
  h.from(nodes[via]!, { t: 'found', rid: find.message.rid, target: find.message.target, node: nodes[successor]!.id, path: [self.id] });
  h.linkUp(nodes[successor]!);
  for (const i of others) h.linkUp(nodes[i]!);
  expect(h.actor.getSnapshot().matches('member')).toBe(true);
  return h;
}

describe('lookups declined by nodes not on a ring', () => {
  it('a member routes a lookup sent back to it past the decliner, and never names the decliner', async () => {
    const nodes = contacts(6);
    // Self's successor is nodes[1]; nodes[4] (a joiner linked to us) is the link closest
    // before the target, nodes[3] the next best.
    const h = await member(nodes, 1, 1, [3, 4]);
    const [self, , , , joiner] = nodes as [Contact, Contact, Contact, Contact, Contact];
    const asker = nodes[1]!;
    const target = ringAdd(joiner.position, 1n);
    let before = h.sends.length;
    h.from(asker, { t: 'find', rid: 3, target, path: [asker.id] });
    expect(sentAfter(h, before, 'find').map((s) => s.to)).toEqual([joiner.id]);

    before = h.sends.length;
    h.from(joiner, { t: 'find', rid: 3, target, path: [asker.id, self.id], skip: [joiner.id] });
    const again = sentAfter(h, before, 'find');
    expect(again.map((s) => s.to)).toEqual([nodes[3]!.id]);
    expect(again[0]!.message).toEqual({ t: 'find', rid: 3, target, path: [asker.id, self.id], skip: [joiner.id] });
    expect(sentAfter(h, before, 'found')).toEqual([]);
  });

  it('a member that ends a lookup answers with the first node past the target that did not decline', async () => {
    const nodes = contacts(6);
    const h = await member(nodes, 1, 1, [2, 3]);
    const [self, asker, joiner, next] = nodes as [Contact, Contact, Contact, Contact];
    // The target lies just before nodes[2]: we are its predecessor as far as we know, and
    // nodes[2] (a link) would be the answer had it not declined.
    const target = ringAdd(joiner.position, -1n);
    const before = h.sends.length;
    h.from(asker, { t: 'find', rid: 8, target, path: [asker.id], skip: [joiner.id] });
    const answer = sentAfter(h, before, 'found');
    expect(answer.map((s) => s.to)).toEqual([asker.id]);
    expect(answer[0]!.message).toMatchObject({ t: 'found', rid: 8, node: next.id, by: self.id });
  });

  it('never names a peer joining through it in a lookup answer, until that peer speaks as a member or its mark expires', async () => {
    const nodes = contacts(6);
    // Successor nodes[1] (the asker); nodes[2] is a joiner linked to us as its way in, nodes[3] a link past it.
    const h = await member(nodes, 1, 1, [2, 3]);
    const [self, asker, joiner, next] = nodes as [Contact, Contact, Contact, Contact];
    h.from(joiner, { t: 'find', rid: 1, target: joiner.position, path: [joiner.id], join: true });
    const target = ringAdd(joiner.position, -1n);
    const answerTo = (rid: number) => {
      const before = h.sends.length;
      h.from(asker, { t: 'find', rid, target, path: [asker.id] });
      return sentAfter(h, before, 'found')[0]?.message;
    };
    expect(answerTo(2)).toMatchObject({ node: next.id, by: self.id });
    // A joiner answers a `get` too (with nothing): that is no member's word.
    h.from(joiner, { t: 'neighbours', successors: [] });
    expect(answerTo(9)).toMatchObject({ node: next.id, by: self.id });
    // A member's word (here a notify) ends the mark at once.
    h.from(joiner, { t: 'notify' });
    expect(answerTo(3)).toMatchObject({ node: joiner.id });
    // A lookup relayed through the joiner's way in marks nobody; a fresh join lookup does, until it expires.
    h.from(joiner, { t: 'find', rid: 4, target: joiner.position, path: [nodes[4]!.id, joiner.id], join: true });
    expect(answerTo(5)).toMatchObject({ node: joiner.id });
    h.from(joiner, { t: 'find', rid: 6, target: joiner.position, path: [joiner.id], join: true });
    expect(answerTo(7)).toMatchObject({ node: next.id });
    await advance(h.clock, CONFIG.lookupTimeoutMs + 1);
    expect(answerTo(8)).toMatchObject({ node: joiner.id });
  });

  it('a joiner passes a lookup on to its bootstrap peer, and sends it further back when that peer declines', async () => {
    const nodes = contacts(5);
    const [self, , asker, via] = nodes as [Contact, Contact, Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [via.id], bootstrap: [via.id] });
    const h = running;
    await advance(h.clock, 0);
    h.linkUp(asker);
    const target = nodes[1]!.position;
    h.from(asker, { t: 'find', rid: 5, target, path: [asker.id] });
    expect(h.sends.at(-1)).toMatchObject({ to: via.id, message: { t: 'find', path: [asker.id, self.id] } });
    const before = h.sends.length;
    h.from(via, { t: 'find', rid: 5, target, path: [asker.id, self.id], skip: [via.id] });
    const back = sentAfter(h, before, 'find');
    expect(back.map((s) => s.to)).toEqual([asker.id]);
    expect(back[0]!.message).toEqual({ t: 'find', rid: 5, target, path: [asker.id], skip: [via.id, self.id] });
  });

  it('a joiner whose own lookup is declined tries again later instead of founding a ring', async () => {
    const nodes = contacts(4);
    const [self, via] = [nodes[0]!, nodes[2]!];
    running = startRingActor(self, CONFIG, { linked: [via.id], bootstrap: [via.id] });
    const h = running;
    await advance(h.clock, 0);
    const find = h.sends.find((s) => s.message.t === 'find')?.message;
    if (find?.t !== 'find') throw new Error('no join lookup was sent');
    h.from(via, { ...find, skip: [via.id] });
    expect(state(h)).toBe('rebootstrapping');
  });

  it('of nodes that started together, the lowest founds a ring once its join has failed before, and keeps its link to the decliner', async () => {
    const nodes = contacts(4);
    const lowest = nodes.reduce((a, b) => (a.id < b.id ? a : b));
    const other = nodes.find((c) => c !== lowest)!;
    running = startRingActor(lowest, CONFIG, { linked: [other.id], bootstrap: [other.id] });
    const h = running;
    await declineNextJoinLookup(h, other);
    expect(state(h)).toBe('rebootstrapping');
    await declineNextJoinLookup(h, other);
    expect(h.actor.getSnapshot().matches('member')).toBe(true);
    expect(h.successors()).toEqual([]);
    expect(h.actor.getSnapshot().context.found).toBe(other.id);
    expect(h.linked.has(other.id)).toBe(true);
  });

  it('a joiner declined twice by its way in tries another sampled peer', async () => {
    // The joiner has the highest id (never founds); of the two sampled, `first` lies closer
    // before it on the ring, so it is the first choice.
    const pool = contacts(3);
    const self = pool.reduce((a, b) => (a.id > b.id ? a : b));
    const [other, first] = clockwiseFrom(self, pool) as [Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [other.id, first.id], bootstrap: [other.id, first.id] });
    const h = running;
    // Once declined, the same way in is asked again (it is usually a member by then).
    await declineNextJoinLookup(h, first);
    await declineNextJoinLookup(h, first);
    expect(lookupsTo(h, first)).toBe(2);
    expect(state(h)).toBe('rebootstrapping');
    await declineNextJoinLookup(h, other);
    expect(lookupsTo(h, other)).toBe(1);
    expect(lookupsTo(h, first)).toBe(2);
  });

  it('a joiner declined in turn by two joiners it is linked to tries a peer neither of them is', async () => {
    // Regression (fuzzed, DHT on: a partition 0.6 s into the joins of 7 nodes, healed at 7.9 s):
    // three joiners, each other's DHT contacts, preferred one another as linked ways in; each
    // remembered only its last decliner, so it went back to the one before, and all three
    // re-bootstrapped for good beside a ring of five.
    const pool = contacts(4);
    const self = pool.reduce((a, b) => (a.id > b.id ? a : b));
    const [member, joinerA, joinerB] = clockwiseFrom(self, pool) as [Contact, Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [joinerA.id, joinerB.id], bootstrap: [member.id, joinerA.id, joinerB.id] });
    const h = running;
    await declineNextJoinLookup(h, joinerB);
    await declineNextJoinLookup(h, joinerB);
    await declineNextJoinLookup(h, joinerA);
    expect([lookupsTo(h, joinerB), lookupsTo(h, joinerA), lookupsTo(h, member)]).toEqual([2, 1, 0]);
    // Both joiners declined within this join: the next way in is the one peer that has not.
    const findsBefore = lookupsTo(h, joinerA) + lookupsTo(h, joinerB);
    for (let waited = 0; waited <= CONFIG.rebootstrapMaxMs && !h.connects.includes(member.id); waited += 50) await advance(h.clock, 50);
    expect(h.connects).toContain(member.id);
    expect(lookupsTo(h, joinerA) + lookupsTo(h, joinerB)).toBe(findsBefore);
  });

  it('a joiner that every sampled peer declined goes round them all again', async () => {
    // `member` declined once, while it was still joining itself; it must get its turn again
    // rather than the linked joiner being asked for good.
    // Once both are linked, `joiner` (nearest before us) is the first choice among equals.
    const pool = contacts(3);
    const self = pool.reduce((a, b) => (a.id > b.id ? a : b));
    const [member, joiner] = clockwiseFrom(self, pool) as [Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [joiner.id], bootstrap: [joiner.id, member.id] });
    const h = running;
    await declineNextJoinLookup(h, joiner);
    await declineNextJoinLookup(h, joiner);
    h.linkUp(member);
    await declineNextJoinLookup(h, member);
    await declineNextJoinLookup(h, joiner);
    expect([lookupsTo(h, joiner), lookupsTo(h, member)]).toEqual([3, 1]);
    await declineNextJoinLookup(h, member);
    expect([lookupsTo(h, joiner), lookupsTo(h, member)]).toEqual([3, 2]);
  });

  it('a joiner whose way in failed does not take it again while a decliner may have joined since', async () => {
    // `dead` is still sampled (registered at the server) but every dial to it fails, and each
    // failure is forgotten (failedMemoryMs) before the next choice, as after long backoffs.
    const forgetful: RingConfig = { ...CONFIG, failedMemoryMs: 100, unreachableMemoryMs: 100 };
    const pool = contacts(3);
    const self = pool.reduce((a, b) => (a.id > b.id ? a : b));
    const [decliner, dead] = pool.filter((c) => c !== self) as [Contact, Contact];
    running = startRingActor(self, forgetful, { linked: [decliner.id], bootstrap: [decliner.id, dead.id] });
    const h = running;
    await declineNextJoinLookup(h, decliner, [], forgetful);
    await declineNextJoinLookup(h, decliner, [], forgetful);
    for (let waited = 0; waited <= forgetful.rebootstrapMaxMs && !h.connects.includes(dead.id); waited += 50) await advance(h.clock, 50);
    expect(h.connects).toContain(dead.id);
    h.actor.send({ type: 'link.down', peer: dead.id, failed: true });
    expect(state(h)).toBe('rebootstrapping');
    await advance(h.clock, 200);
    // Both have failed us since we last joined: the memory starts afresh, and the linked
    // decliner is asked again rather than the dead peer dialled once more.
    await declineNextJoinLookup(h, decliner, [], forgetful);
    expect(lookupsTo(h, decliner)).toBe(3);
    expect(h.connects.filter((peer) => peer === dead.id)).toHaveLength(1);
  });

  it('a joiner whose only untried way in failed lately asks a live decliner again', async () => {
    const pool = contacts(3);
    const self = pool.reduce((a, b) => (a.id > b.id ? a : b));
    const [decliner, failed] = pool.filter((c) => c !== self) as [Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [decliner.id], bootstrap: [decliner.id, failed.id] });
    const h = running;
    await declineNextJoinLookup(h, decliner);
    await declineNextJoinLookup(h, decliner);
    h.actor.send({ type: 'link.down', peer: failed.id, failed: true });
    await declineNextJoinLookup(h, decliner);
    expect(lookupsTo(h, decliner)).toBe(3);
    expect(h.connects).not.toContain(failed.id);
  });

  it('takes a lookup as sent back only from the decliner it names last, and never founds on an empty decline', async () => {
    const nodes = contacts(4);
    const lowest = nodes.reduce((a, b) => (a.id < b.id ? a : b));
    const [other, third] = nodes.filter((c) => c !== lowest) as [Contact, Contact];
    running = startRingActor(lowest, CONFIG, { linked: [other.id, third.id], bootstrap: [other.id] });
    const h = running;
    await advance(h.clock, 0);
    const find = h.sends.find((s) => s.message.t === 'find')?.message;
    if (find?.t !== 'find') throw new Error('no join lookup was sent');
    // A third peer cannot decline on another's behalf, nor without naming anyone.
    h.from(third, { ...find, skip: [other.id] });
    h.from(other, { ...find, skip: [] });
    h.from(other, find);
    expect(state(h)).toEqual({ joining: 'locating' });
    h.from(other, { ...find, skip: [other.id] });
    expect(state(h)).toBe('rebootstrapping');
  });

  it('a node lowest in its sample does not found when a lower node declined', async () => {
    const nodes = contacts(5);
    const byId = [...nodes].sort((a, b) => (a.id < b.id ? -1 : 1));
    const [lowest, self, ...higher] = byId as [Contact, Contact, ...Contact[]];
    // Self samples only higher peers (lowestSampled), but its lookups are declined by `lowest`.
    running = startRingActor(self, CONFIG, { linked: [higher[0]!.id, lowest.id], bootstrap: [higher[0]!.id] });
    const h = running;
    for (let attempt = 0; attempt < 3; attempt++) {
      await declineNextJoinLookup(h, higher[0]!, [lowest.id]);
      expect(state(h)).toBe('rebootstrapping');
    }
  });

  it('a higher node never founds while its lookups are declined', async () => {
    const nodes = contacts(4);
    const lowest = nodes.reduce((a, b) => (a.id < b.id ? a : b));
    const higher = nodes.find((c) => c !== lowest)!;
    running = startRingActor(higher, CONFIG, { linked: [lowest.id], bootstrap: [lowest.id] });
    const h = running;
    for (let attempt = 0; attempt < 4; attempt++) {
      await declineNextJoinLookup(h, lowest);
      expect(state(h)).toBe('rebootstrapping');
    }
  });
});

/** Runs the clock until the joiner sends its next join lookup, and sends it back from `decliner` (after `earlier` declined it). */
async function declineNextJoinLookup(h: RingActorHarness, decliner: Contact, earlier: readonly PeerId[] = [], config = CONFIG): Promise<void> {
  const seen = h.sends.length;
  for (let waited = 0; waited <= config.rebootstrapMaxMs; waited += 50) {
    const find = h.sends.slice(seen).find((s) => s.message.t === 'find')?.message;
    if (find?.t === 'find') {
      h.from(decliner, { ...find, skip: [...earlier, decliner.id] });
      return;
    }
    await advance(h.clock, 50);
  }
  throw new Error('no join lookup within the re-bootstrap backoff');
}
