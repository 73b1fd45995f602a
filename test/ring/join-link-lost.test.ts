/**
 * A join step that waits for a link (to the bootstrap peer, then to the successor the lookup
 * found) and hears that the connection closed before it came up.
 *
 * Regression for the demo's formation timeout (CI, 2026-12-05: "n2 has successors none" for
 * 20 s, the node in joining.linkingSuccessor): the link.down was ignored and the step waited out
 * linkTimeoutMs for a link.up that could no longer come. Now a failed connection starts the
 * join over at once, and one closed without a failure is asked for again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 2, linkTimeoutMs: 20_000, mergeIntervalMs: 600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

const joinStep = (h: RingActorHarness) => h.actor.getSnapshot().value;

/** Self joins through `via` (linked); the lookup answers `found`, which self has no link to. */
async function waitingForFound(): Promise<RingActorHarness & { via: Contact; found: Contact }> {
  const [self, via, found] = sortByPosition(randomContacts(createSeededRandom(21), 3)) as [Contact, Contact, Contact];
  running = startRingActor(self, CONFIG, { linked: [via.id], bootstrap: [via.id] });
  const h = running;
  await advance(h.clock, 0);
  const find = h.sends.find((s) => s.message.t === 'find');
  if (find?.message.t !== 'find') throw new Error('no join lookup was sent');
  h.from(via, { t: 'found', rid: find.message.rid, target: find.message.target, node: found.id, path: [self.id] });
  expect(joinStep(h)).toEqual({ joining: 'linkingSuccessor' });
  expect(h.connects.filter((p) => p === found.id)).toHaveLength(1);
  return { ...h, via, found };
}

describe('a join step whose link closes before it comes up', () => {
  it('starts the join over at once when the connection to the found successor failed', async () => {
    const h = await waitingForFound();
    await advance(h.clock, 1_000);
    h.actor.send({ type: 'link.down', peer: h.found.id, failed: true });
    expect(joinStep(h)).toBe('rebootstrapping');
  });

  it('asks again for a successor link closed without a failure, and joins when it comes up', async () => {
    const h = await waitingForFound();
    await advance(h.clock, 1_000);
    h.actor.send({ type: 'link.down', peer: h.found.id, failed: false });
    expect(joinStep(h)).toEqual({ joining: 'linkingSuccessor' });
    expect(h.connects.filter((p) => p === h.found.id)).toHaveLength(2);
    h.linkUp(h.found);
    expect(h.actor.getSnapshot().matches('member')).toBe(true);
    expect(h.successors()[0]).toBe(h.found.id);
  });

  it('is not cut short by another peer’s link closing, and still gives up at linkTimeoutMs', async () => {
    const h = await waitingForFound();
    h.actor.send({ type: 'link.down', peer: h.via.id, failed: true });
    expect(joinStep(h)).toEqual({ joining: 'linkingSuccessor' });
    await advance(h.clock, CONFIG.linkTimeoutMs - 1);
    expect(joinStep(h)).toEqual({ joining: 'linkingSuccessor' });
    await advance(h.clock, 2);
    expect(joinStep(h)).toBe('rebootstrapping');
  });

  it('starts over at once when the connection to the bootstrap peer failed, and asks again when it only closed', async () => {
    const [self, via] = sortByPosition(randomContacts(createSeededRandom(22), 2)) as [Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [], bootstrap: [via.id] });
    const h = running;
    await advance(h.clock, 0);
    expect(joinStep(h)).toEqual({ joining: 'linkingBootstrap' });
    expect(h.connects).toEqual([via.id]);
    h.actor.send({ type: 'link.down', peer: via.id, failed: false });
    expect(joinStep(h)).toEqual({ joining: 'linkingBootstrap' });
    expect(h.connects).toEqual([via.id, via.id]);
    h.actor.send({ type: 'link.down', peer: via.id, failed: true });
    expect(joinStep(h)).toBe('rebootstrapping');
  });

  it('while its lookup is out, a closed bootstrap link is opened again and the lookup asked anew; a failed one starts over', async () => {
    // The answer comes back through the bootstrap peer: with that link gone it cannot arrive.
    const [self, via, other] = sortByPosition(randomContacts(createSeededRandom(23), 3)) as [Contact, Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [via.id], bootstrap: [via.id] });
    const h = running;
    await advance(h.clock, 0);
    expect(joinStep(h)).toEqual({ joining: 'locating' });
    const lookups = () => h.sends.filter((s) => s.message.t === 'find' && s.to === via.id).length;
    expect(lookups()).toBe(1);
    h.actor.send({ type: 'link.down', peer: other.id, failed: true });
    expect(joinStep(h)).toEqual({ joining: 'locating' });
    h.linked.delete(via.id);
    h.actor.send({ type: 'link.down', peer: via.id, failed: false });
    expect(joinStep(h)).toEqual({ joining: 'linkingBootstrap' });
    expect(h.connects).toContain(via.id);
    h.linkUp(via);
    expect(joinStep(h)).toEqual({ joining: 'locating' });
    expect(lookups()).toBe(2);
    h.linked.delete(via.id);
    h.actor.send({ type: 'link.down', peer: via.id, failed: true });
    expect(joinStep(h)).toBe('rebootstrapping');
  });

  it('a way in that keeps accepting and closing the link cannot hold the join: it starts over after 8 re-links', async () => {
    const [self, via] = sortByPosition(randomContacts(createSeededRandom(24), 2)) as [Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [via.id], bootstrap: [via.id] });
    const h = running;
    await advance(h.clock, 0);
    for (let relink = 0; relink < 8; relink++) {
      expect(joinStep(h)).toEqual({ joining: 'locating' });
      h.linked.delete(via.id);
      h.actor.send({ type: 'link.down', peer: via.id, failed: false });
      expect(joinStep(h)).toEqual({ joining: 'linkingBootstrap' });
      h.linkUp(via);
    }
    h.linked.delete(via.id);
    h.actor.send({ type: 'link.down', peer: via.id, failed: false });
    expect(joinStep(h)).toBe('rebootstrapping');
  });
});
