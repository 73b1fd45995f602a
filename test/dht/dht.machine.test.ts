import { describe, expect, it } from 'vitest';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import type { DhtMessage } from '../../src/actors/dht/dht-messages.js';
import { closest } from '../../src/actors/dht/xor-distance.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { startDht } from '../helpers/dht-harness.js';
import { idOf } from './arbitraries.js';

const SELF = idOf(0x5e1f);
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => idOf(from + i));

/** The DHT actor over recording ports on virtual time; `open` peers are linked from the start. */
function start(options: { config?: Partial<DhtConfig>; open?: PeerId[]; ring?: PeerId[] } = {}) {
  return startDht({ self: SELF, ...options, config: { planIntervalMs: 10_000, lookupTimeoutMs: 5_000, ...options.config } });
}

const selfContact = contactOf(SELF);

describe('dht machine', () => {
  it('tells a new link our link set and admits it to the table', () => {
    const { actor, sent, up } = start({ open: [idOf(1)] });
    expect(sent).toEqual([{ to: idOf(1), message: { t: 'links', peers: [idOf(1)] } }]);
    up(idOf(2));
    expect(sent.at(-1)).toEqual({ to: idOf(2), message: { t: 'links', peers: [idOf(1), idOf(2)] } });
    expect(actor.getSnapshot().context.state.table.has(idOf(2))).toBe(true);
  });

  it('a lookup with nobody known fails with NOT_CONNECTED at once', () => {
    const { actor, answers } = start();
    actor.send({ type: 'lookup', rid: 1, target: selfContact.position, count: 3 });
    expect(answers).toEqual([{ rid: 1, outcome: expect.objectContaining({ ok: false, code: 'NOT_CONNECTED' }) }]);
  });

  it('forwards toward the target over a link and resolves on the closest routed back', () => {
    const links = ids(6);
    const { actor, sent, answers } = start({ open: links });
    // A target right at one link's position: some link is nearer than we are.
    const target = contactOf(idOf(4)).position;
    actor.send({ type: 'lookup', rid: 7, target, count: 2 });
    const request = sent.find((s) => s.message.t === 'lookup')!;
    expect(request.to).toBe(idOf(4));
    // The wire rid is the actor's own (lookups and provider queries share one counter), not the runtime's.
    expect(request.message).toMatchObject({ t: 'lookup', target, count: 2, path: [SELF] });
    const rid = (request.message as Extract<DhtMessage, { t: 'lookup' }>).rid;
    actor.send({ type: 'dht.message', from: idOf(4), message: { t: 'closest', rid, target, peers: [idOf(4), idOf(9), idOf(10)], path: [SELF] } });
    expect(answers).toEqual([{ rid: 7, outcome: { ok: true, peers: [idOf(4), idOf(9)], hops: 1 } }]);
  });

  it('fails a lookup with TIMEOUT after lookupTimeoutMs, and refuses beyond maxPendingLookups', () => {
    const { actor, clock, answers } = start({ open: ids(6), config: { maxPendingLookups: 1 } });
    const target = contactOf(idOf(4)).position;
    actor.send({ type: 'lookup', rid: 1, target, count: 2 });
    actor.send({ type: 'lookup', rid: 2, target, count: 2 });
    expect(answers).toEqual([{ rid: 2, outcome: expect.objectContaining({ ok: false, code: 'BACKPRESSURE' }) }]);
    clock.advance(4_999);
    expect(answers).toHaveLength(1);
    clock.advance(1);
    expect(answers[1]).toEqual({ rid: 1, outcome: expect.objectContaining({ ok: false, code: 'TIMEOUT' }) });
  });

  it('answers a lookup that cannot get closer with the count nearest it knows, back to the sender', () => {
    const links = ids(8);
    const { actor, sent } = start({ open: links });
    const target = selfContact.position;
    const origin = idOf(1);
    actor.send({ type: 'dht.message', from: origin, message: { t: 'lookup', rid: 3, target, count: 3, ttl: 10, path: [origin] } });
    const expected = closest(target, [selfContact, ...links.map(contactOf)], 3, (c) => c.position).map((c) => c.id);
    expect(sent.at(-1)).toEqual({ to: origin, message: { t: 'closest', rid: 3, target, peers: expected, path: [origin] } });
  });

  it('drops a lookup whose path does not end with its sender or already names us', () => {
    const { actor, sent } = start({ open: ids(4) });
    const before = sent.length;
    const target = selfContact.position;
    actor.send({ type: 'dht.message', from: idOf(1), message: { t: 'lookup', rid: 3, target, count: 3, ttl: 10, path: [idOf(2)] } });
    actor.send({ type: 'dht.message', from: idOf(1), message: { t: 'lookup', rid: 3, target, count: 3, ttl: 10, path: [SELF, idOf(1)] } });
    expect(sent).toHaveLength(before);
  });

  it('passes a closest answer on to the previous hop of its path', () => {
    const { actor, sent } = start({ open: ids(4) });
    const message: DhtMessage = { t: 'closest', rid: 3, target: selfContact.position, peers: [idOf(9)], path: [idOf(2), SELF] };
    actor.send({ type: 'dht.message', from: idOf(3), message });
    expect(sent.at(-1)).toEqual({ to: idOf(2), message });
  });

  it('plans links: dials candidates heard of, never closes ring neighbours or links it did not open', () => {
    const ring = [idOf(1)];
    const { actor, clock, connects, disconnects, up, linked } = start({ open: [idOf(1), idOf(2)], ring, config: { linkBudget: 4 } });
    actor.send({ type: 'dht.message', from: idOf(2), message: { t: 'links', peers: ids(10, 20) } });
    // Candidates stay out of the table until a link to them opens.
    expect(actor.getSnapshot().context.state.table.has(idOf(20))).toBe(false);
    clock.advance(15_000);
    // Budget 4 = 1 ring neighbour + 1 link someone else opened + 2 of ours.
    expect(connects).toHaveLength(2);
    expect(connects.every((peer) => peer !== idOf(1) && peer !== idOf(2))).toBe(true);
    for (let round = 0; round < 4; round += 1) {
      for (const peer of connects) if (!linked.has(peer) && !disconnects.includes(peer)) up(peer);
      // A new inbound link takes a slot: one of ours is closed to make room.
      if (round === 2) up(idOf(99));
      clock.advance(15_000);
      expect(linked.size).toBeLessThanOrEqual(4);
    }
    expect(disconnects.length).toBeGreaterThan(0);
    for (const peer of disconnects) expect(connects).toContain(peer);
    for (const peer of [idOf(1), idOf(2), idOf(99)]) expect(linked.has(peer)).toBe(true);
  });

  it('dials only while it holds fewer links than the dial ceiling (budget 16: 14), and only up to it', () => {
    // 14 links others opened: no dial, however many candidates it hears of.
    const full = start({ open: ids(14), config: { linkBudget: 16 } });
    full.actor.send({ type: 'dht.message', from: idOf(1), message: { t: 'links', peers: ids(10, 40) } });
    full.clock.advance(30_000);
    expect(full.connects).toEqual([]);
    // 12: two dials, and no more once they are open.
    const short = start({ open: ids(12), config: { linkBudget: 16 } });
    short.actor.send({ type: 'dht.message', from: idOf(1), message: { t: 'links', peers: ids(10, 40) } });
    short.clock.advance(15_000);
    expect(short.connects).toHaveLength(2);
    for (const peer of short.connects) short.up(peer);
    short.clock.advance(30_000);
    expect(short.connects).toHaveLength(2);
    expect(short.disconnects).toEqual([]);
  });

  it('yields a link it opened when the peer lists it past the budget, and leaves that peer alone for a while', () => {
    const { actor, clock, connects, disconnects, up } = start({ open: [idOf(2)], config: { linkBudget: 3 } });
    actor.send({ type: 'dht.message', from: idOf(2), message: { t: 'links', peers: [idOf(30)] } });
    clock.advance(15_000);
    expect(connects).toEqual([idOf(30)]);
    up(idOf(30));
    // Peer 30 lists us third of its links: within a budget of 3, so we stay.
    actor.send({ type: 'dht.message', from: idOf(30), message: { t: 'links', peers: [idOf(40), idOf(41), SELF] } });
    expect(disconnects).toEqual([]);
    actor.send({ type: 'dht.message', from: idOf(30), message: { t: 'links', peers: [idOf(40), idOf(41), idOf(42), SELF] } });
    expect(disconnects).toEqual([idOf(30)]);
    actor.send({ type: 'link.down', peer: idOf(30), failed: false });
    clock.advance(20_000);
    expect(connects.filter((peer) => peer === idOf(30))).toHaveLength(1);
  });

  it('a dial that never opens counts as a failure of that contact', () => {
    const { actor, clock, connects } = start({ open: [idOf(2)], config: { linkBudget: 3 } });
    actor.send({ type: 'dht.message', from: idOf(2), message: { t: 'links', peers: [idOf(30)] } });
    clock.advance(15_000);
    expect(connects).toEqual([idOf(30)]);
    clock.advance(30_000);
    expect(actor.getSnapshot().context.state.candidates.has(idOf(30))).toBe(false);
  });

  it('a failed link leaves the table and its link set is forgotten', () => {
    const { actor, up, down } = start({ open: [idOf(2)] });
    up(idOf(3));
    actor.send({ type: 'dht.message', from: idOf(3), message: { t: 'links', peers: [idOf(40)] } });
    down(idOf(3));
    const state = actor.getSnapshot().context.state;
    expect(state.table.has(idOf(3))).toBe(false);
    expect(state.linkSets.has(idOf(3))).toBe(false);
    down(idOf(2), false);
    expect(actor.getSnapshot().context.state.table.has(idOf(2))).toBe(true);
  });
});
