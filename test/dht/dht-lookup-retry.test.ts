/**
 * A lookup whose tries go silent is re-sent, routed around them (lookup-retry.ts), in the DHT
 * actor over recording ports: the answer still arrives, it settles the lookup exactly once,
 * nothing stays pending, and only suspects are left out of the answer.
 */
import { describe, expect, it } from 'vitest';
import { MAX_AVOID, type DhtMessage } from '../../src/actors/dht/dht-messages.js';
import { answerFor, answerWithout, routedAround, suspects } from '../../src/actors/dht/lookup-retry.js';
import { closest } from '../../src/actors/dht/xor-distance.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { startDht } from '../helpers/dht-harness.js';
import { idOf } from './arbitraries.js';

const SELF = idOf(0x5e1f);
const RETRY = 1_000;
const TIMEOUT = 5_000;
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => idOf(from + i));
type Lookup = Extract<DhtMessage, { t: 'lookup' }>;

function start(open: PeerId[], config: { lookupRetryMs?: number; lookupTimeoutMs?: number } = {}) {
  const t = startDht({ self: SELF, open, config: { planIntervalMs: 60_000, lookupTimeoutMs: TIMEOUT, lookupRetryMs: RETRY, ...config } });
  const lookups = () => t.of('lookup') as { to: PeerId; message: Lookup }[];
  const closestFrom = (from: PeerId, request: Lookup, peers: PeerId[]) =>
    t.receive(from, { t: 'closest', rid: request.rid, target: request.target, peers, path: [SELF] });
  return { ...t, lookups, closestFrom };
}

/** A target at a link's own position: that link is the first hop (and its own aim), and others are nearer than SELF too. */
const targetAt = (peer: PeerId) => contactOf(peer).position;

/** The position across the ID space from SELF (top bit flipped): about half of all peers are nearer it than SELF. */
const farFromSelf = (): Position => {
  const self = contactOf(SELF).position;
  return `${(parseInt(self[0]!, 16) ^ 8).toString(16)}${self.slice(1)}` as Position;
};

describe('dht lookup retry: a silent try', () => {
  it('re-sends the same rid through another link after lookupRetryMs, routed around the silent one, and resolves on that answer without it', () => {
    const t = start(ids(8));
    const target = targetAt(idOf(4));
    t.actor.send({ type: 'lookup', rid: 70, target, count: 2 });
    const [first] = t.lookups();
    expect(first!.to).toBe(idOf(4));
    expect(first!.message.avoid).toBeUndefined();
    t.clock.advance(RETRY - 1);
    expect(t.lookups()).toHaveLength(1);
    t.clock.advance(1);
    const [, second] = t.lookups();
    expect(second!.to).not.toBe(idOf(4));
    // idOf(4) was its own aim (a link straight to the target): a suspect, so one more peer is asked for.
    expect(second!.message).toEqual({ ...first!.message, count: 3, avoid: [idOf(4)] });
    t.closestFrom(second!.to, second!.message, [idOf(4), idOf(5), idOf(6), idOf(7)]);
    expect(t.answers).toEqual([{ rid: 70, outcome: { ok: true, peers: [idOf(5), idOf(6)], hops: 1 } }]);
    expect(t.state().pending.size).toBe(0);
  });

  it('settles once: a late answer over the first path, and the expiry, find nothing pending; no more re-sends', () => {
    const t = start(ids(8));
    t.actor.send({ type: 'lookup', rid: 71, target: targetAt(idOf(4)), count: 2 });
    t.clock.advance(RETRY);
    const [first, second] = t.lookups();
    t.closestFrom(second!.to, second!.message, [idOf(5), idOf(6)]);
    t.closestFrom(first!.to, first!.message, [idOf(4), idOf(5)]);
    for (let i = 0; i < 10; i += 1) t.clock.advance(RETRY);
    expect(t.answers).toEqual([{ rid: 71, outcome: { ok: true, peers: [idOf(5), idOf(6)], hops: 1 } }]);
    expect(t.lookups()).toHaveLength(2);
    expect(t.state().pending.size).toBe(0);
  });

  it('an answer before lookupRetryMs: never re-sent', () => {
    const t = start(ids(8));
    t.actor.send({ type: 'lookup', rid: 72, target: targetAt(idOf(4)), count: 2 });
    t.clock.advance(RETRY - 1);
    const [first] = t.lookups();
    t.closestFrom(first!.to, first!.message, [idOf(4)]);
    for (let i = 0; i < 10; i += 1) t.clock.advance(RETRY);
    expect(t.lookups()).toHaveLength(1);
    expect(t.answers).toEqual([{ rid: 72, outcome: { ok: true, peers: [idOf(4)], hops: 1 } }]);
  });

  it('every try silent: re-sent each interval through a new first hop (MAX_AVOID tries in all), then TIMEOUT once, nothing pending', () => {
    const t = start(ids(40), { lookupRetryMs: 400 });
    t.actor.send({ type: 'lookup', rid: 73, target: farFromSelf(), count: 2 });
    // One retry interval at a time: a delayed event raised while the clock advances fires at a later advance.
    for (let at = 400; at < TIMEOUT; at += 400) t.clock.advance(400);
    t.clock.advance(TIMEOUT - 1 - 4_800);
    const sent = t.lookups();
    expect(sent.length).toBe(MAX_AVOID);
    expect(new Set(sent.map((s) => s.to)).size).toBe(sent.length);
    sent.forEach((s, i) => expect(s.message.avoid ?? []).toEqual(sent.slice(0, i).map((p) => p.to)));
    expect(t.answers).toEqual([]);
    t.clock.advance(1);
    expect(t.answers).toEqual([{ rid: 73, outcome: expect.objectContaining({ ok: false, code: 'TIMEOUT' }) }]);
    expect(t.state().pending.size).toBe(0);
    for (let i = 0; i < 20; i += 1) t.clock.advance(400);
    expect(t.lookups()).toHaveLength(MAX_AVOID);
    expect(t.answers).toHaveLength(1);
  });

  it('no other link leads nearer: the origin answers itself at the retry, without the suspect', () => {
    // One link only: the first hop toward its own position; routed around, nothing is nearer than self.
    const t = start([idOf(4)]);
    t.actor.send({ type: 'lookup', rid: 74, target: targetAt(idOf(4)), count: 3 });
    expect(t.lookups()).toHaveLength(1);
    t.clock.advance(RETRY);
    expect(t.lookups()).toHaveLength(1);
    expect(t.answers).toEqual([{ rid: 74, outcome: { ok: true, peers: [SELF], hops: 0 } }]);
    expect(t.state().pending.size).toBe(0);
  });

  it('lookupRetryMs at or above the timeout: never re-sent', () => {
    const t = start(ids(8), { lookupRetryMs: TIMEOUT });
    t.actor.send({ type: 'lookup', rid: 75, target: targetAt(idOf(4)), count: 2 });
    t.clock.advance(TIMEOUT);
    expect(t.lookups()).toHaveLength(1);
    expect(t.answers).toEqual([{ rid: 75, outcome: expect.objectContaining({ ok: false, code: 'TIMEOUT' }) }]);
  });
});

describe('dht lookup retry: the link a try went over closes', () => {
  it('closed gracefully (a prune): re-sent at once, and its peer, alive, may still be answered', () => {
    const t = start(ids(8));
    t.actor.send({ type: 'lookup', rid: 90, target: targetAt(idOf(4)), count: 2 });
    t.clock.advance(20);
    t.down(idOf(4), false);
    const [, second] = t.lookups();
    expect(second!.message).toMatchObject({ count: 2, avoid: [idOf(4)] });
    t.closestFrom(second!.to, second!.message, [idOf(4), idOf(5)]);
    expect(t.answers).toEqual([{ rid: 90, outcome: { ok: true, peers: [idOf(4), idOf(5)], hops: 1 } }]);
  });

  it('failed (a crash noticed): re-sent at once, and its peer is a suspect', () => {
    const t = start(ids(8));
    t.actor.send({ type: 'lookup', rid: 91, target: targetAt(idOf(4)), count: 2 });
    t.down(idOf(4), true);
    const [, second] = t.lookups();
    expect(second!.message).toMatchObject({ count: 3, avoid: [idOf(4)] });
    t.closestFrom(second!.to, second!.message, [idOf(4), idOf(5), idOf(6)]);
    expect(t.answers).toEqual([{ rid: 91, outcome: { ok: true, peers: [idOf(5), idOf(6)], hops: 1 } }]);
  });

  it('a try re-sent early is not judged silent by the next periodic retry, only a whole interval later', () => {
    const t = start(ids(40));
    t.actor.send({ type: 'lookup', rid: 93, target: farFromSelf(), count: 2 });
    t.clock.advance(RETRY - 100);
    t.down(t.lookups()[0]!.to, false);
    expect(t.lookups()).toHaveLength(2);
    t.clock.advance(100);
    expect(t.lookups()).toHaveLength(2);
    t.clock.advance(RETRY);
    expect(t.lookups()).toHaveLength(3);
    expect(t.answers).toEqual([]);
  });

  it('a link that closes after its try was given up on changes nothing', () => {
    const t = start(ids(8));
    t.actor.send({ type: 'lookup', rid: 92, target: targetAt(idOf(4)), count: 2 });
    t.clock.advance(RETRY);
    expect(t.lookups()).toHaveLength(2);
    t.down(idOf(4), false);
    expect(t.lookups()).toHaveLength(2);
  });
});

describe('dht lookup retry: relays and the node the tries were aimed at', () => {
  const aimed = idOf(100);
  function aimedThroughTwoLinks() {
    const t = start(ids(8));
    // Two links announce `aimed` (not a link of ours): each is a first hop aimed at it.
    for (const via of [idOf(2), idOf(3)]) t.receive(via, { t: 'links', peers: [aimed, idOf(101)] });
    t.actor.send({ type: 'lookup', rid: 80, target: targetAt(aimed), count: 2 });
    return t;
  }

  it('a first hop that only relayed is routed around but stays in the answer', () => {
    const t = aimedThroughTwoLinks();
    t.clock.advance(RETRY);
    const [first, second] = t.lookups();
    expect(second!.message).toMatchObject({ count: 2, avoid: [first!.to] });
    t.closestFrom(second!.to, second!.message, [aimed, first!.to, idOf(5)]);
    expect(t.answers).toEqual([{ rid: 80, outcome: { ok: true, peers: [aimed, first!.to], hops: 1 } }]);
  });

  it('two silent tries through different first hops aimed at one node: it is routed around and left out of the answer', () => {
    const t = aimedThroughTwoLinks();
    t.clock.advance(RETRY);
    t.clock.advance(RETRY);
    const [first, second, third] = t.lookups();
    expect(new Set([first!.to, second!.to])).toEqual(new Set([idOf(2), idOf(3)]));
    expect(third!.message).toMatchObject({ count: 3, avoid: [first!.to, second!.to, aimed] });
    expect([idOf(2), idOf(3)]).not.toContain(third!.to);
    t.closestFrom(third!.to, third!.message, [aimed, first!.to, idOf(5)]);
    expect(t.answers).toEqual([{ rid: 80, outcome: { ok: true, peers: [first!.to, idOf(5)], hops: 1 } }]);
  });
});

describe('dht lookup retry: hops on the way honour `avoid`', () => {
  it('never forwards to an avoided peer; routing around is no verdict, so the answer may still name it', () => {
    const links = ids(8);
    const origin = idOf(50);
    const t = start([...links, origin]);
    const target = targetAt(idOf(4));
    const request: Lookup = { t: 'lookup', rid: 9, target, count: 3, ttl: 10, path: [origin] };
    // Without avoid: straight to idOf(4), which sits at the target.
    t.receive(origin, request);
    expect(t.sent.at(-1)).toEqual({ to: idOf(4), message: { ...request, ttl: 9, path: [origin, SELF] } });
    // idOf(4) avoided: another link, and the onward request still names it.
    t.receive(origin, { ...request, rid: 10, avoid: [idOf(4)] });
    const onward = t.sent.at(-1)!;
    expect(onward.to).not.toBe(idOf(4));
    expect(onward.message).toEqual({ ...request, rid: 10, ttl: 9, path: [origin, SELF], avoid: [idOf(4)] });
    // Every link but the sender avoided: answered here, idOf(4) (a live link here) first.
    t.receive(origin, { ...request, rid: 11, avoid: links });
    expect(t.sent.at(-1)).toEqual({ to: origin, message: { t: 'closest', rid: 11, target, peers: expect.arrayContaining([idOf(4)]), path: [origin] } });
    expect((t.sent.at(-1)!.message as Extract<DhtMessage, { t: 'closest' }>).peers[0]).toBe(idOf(4));
  });
});

describe('dht lookup retry: a hop that sees a re-sent copy of a lookup it forwarded', () => {
  const links = ids(8);
  const [origin, relay, otherRelay] = [idOf(50), idOf(51), idOf(52)];
  const target = targetAt(idOf(4));
  const request: Lookup = { t: 'lookup', rid: 20, target, count: 3, ttl: 10, path: [origin, relay] };
  const closestSent = (t: ReturnType<typeof start>) => t.sent.at(-1)!.message as Extract<DhtMessage, { t: 'closest' }>;

  it('sends it another way than the first copy, and answers without the silent aim where no other way leads nearer', () => {
    const t = start([...links, relay, otherRelay]);
    t.receive(relay, request);
    expect(t.sent.at(-1)!.to).toBe(idOf(4));
    // The origin heard nothing and re-sent it (same rid) through another relay.
    t.clock.advance(RETRY);
    t.receive(otherRelay, { ...request, path: [origin, otherRelay] });
    expect(t.sent.at(-1)!.to).not.toBe(idOf(4));
    expect(t.sent.at(-1)!.message).toMatchObject({ t: 'lookup', rid: 20, path: [origin, otherRelay, SELF] });
    // A third copy, every other link avoided: answered here, and idOf(4), the first way's hop and
    // aim (a link straight to the target) and silent since, is left out.
    t.clock.advance(RETRY);
    const others = links.filter((link) => link !== idOf(4));
    t.receive(relay, { ...request, avoid: others });
    expect(t.sent.at(-1)!.to).toBe(relay);
    expect(closestSent(t).peers).not.toContain(idOf(4));
    expect(closestSent(t).peers).toHaveLength(3);
  });

  it('a copy right behind the first (the origin re-sends at once when a link closes) goes the usual way', () => {
    const t = start([...links, relay, otherRelay]);
    t.receive(relay, request);
    t.clock.advance(RETRY / 2 - 1);
    t.receive(otherRelay, { ...request, path: [origin, otherRelay] });
    expect(t.sent.at(-1)!.to).toBe(idOf(4));
  });

  it('a first copy answered where every other link is avoided still names the nearest link', () => {
    const t = start([...links, relay]);
    const others = links.filter((link) => link !== idOf(4));
    t.receive(relay, { ...request, ttl: 0, avoid: others });
    expect(closestSent(t).peers[0]).toBe(idOf(4));
  });

  it('another lookup (rid, origin, or target: a restarted origin reuses rids) takes the usual way', () => {
    const t = start([...links, relay]);
    t.receive(relay, request);
    t.clock.advance(RETRY);
    t.receive(relay, { ...request, rid: 21 });
    expect(t.sent.at(-1)!.to).toBe(idOf(4));
    t.receive(relay, { ...request, path: [idOf(60), relay] });
    expect(t.sent.at(-1)!.to).toBe(idOf(4));
    // A point next to idOf(4)'s: its usual way is idOf(4) too.
    const beside = `${target.slice(0, -1)}${(parseInt(target.slice(-1), 16) ^ 1).toString(16)}` as typeof target;
    t.receive(relay, { ...request, target: beside });
    expect(t.sent.at(-1)!.to).toBe(idOf(4));
    // The control: the same lookup again does go around idOf(4).
    t.receive(relay, request);
    expect(t.sent.at(-1)!.to).not.toBe(idOf(4));
  });

  it('forgets a forward after the lookup timeout: a copy that late is a new lookup (a restarted origin reuses rids)', () => {
    const t = start([...links, relay]);
    t.receive(relay, request);
    t.clock.advance(TIMEOUT + 1);
    t.receive(relay, request);
    expect(t.sent.at(-1)!.to).toBe(idOf(4));
  });
});

describe('where a lookup stops, the link sets of its path vouch for nobody nearer', () => {
  it('a peer only a path node announced is left out; announced by a link off the path, it is answered', () => {
    const links = ids(6);
    const [onPath, offPath] = [idOf(1), idOf(2)];
    const t = start(links);
    const departed = idOf(100);
    t.receive(onPath, { t: 'links', peers: [departed] });
    const target = targetAt(departed);
    const origin = idOf(3);
    // ttl 0: answered here. The request came through `onPath`, which sent it on rather than to `departed`.
    t.receive(onPath, { t: 'lookup', rid: 1, target, count: 3, ttl: 0, path: [origin, onPath] });
    const first = t.sent.at(-1)!.message as Extract<DhtMessage, { t: 'closest' }>;
    expect(first.t).toBe('closest');
    expect(first.peers).not.toContain(departed);
    expect(first.peers).toHaveLength(3);
    // The same link set from a link that is not on the path still vouches.
    t.receive(offPath, { t: 'links', peers: [departed] });
    t.receive(onPath, { t: 'lookup', rid: 2, target, count: 3, ttl: 0, path: [origin, onPath] });
    const second = t.sent.at(-1)!.message as Extract<DhtMessage, { t: 'closest' }>;
    expect(second.peers[0]).toBe(departed);
  });
});

describe('lookup-retry: suspects and answers', () => {
  const [a, b, c, d] = ids(4, 200);
  /** All `tries` silent but the last `answering` ones. */
  const lookup = (tries: [PeerId, PeerId][], answering = 0) => ({
    target: targetAt(idOf(3)),
    count: 2,
    tries: tries.map(([hop, aim]) => ({ hop, aim, at: 0 })),
    silent: tries.length - answering,
  });

  it('suspects: a first hop that was its own aim, and an aim of two tries; every first hop is routed around', () => {
    expect(suspects(lookup([[a!, b!]]))).toEqual([]);
    expect(routedAround(lookup([[a!, b!]]))).toEqual([a]);
    expect(suspects(lookup([[a!, a!]]))).toEqual([a]);
    expect(suspects(lookup([[a!, b!], [c!, b!]]))).toEqual([b]);
    expect(routedAround(lookup([[a!, b!], [c!, b!], [d!, d!]]))).toEqual([a, c, d, b]);
    const many = lookup(ids(MAX_AVOID + 3, 300).map((p) => [p, p] as [PeerId, PeerId]));
    expect(routedAround(many)).toHaveLength(MAX_AVOID);
    // A try not yet silent for a whole interval is no evidence.
    expect(suspects(lookup([[a!, a!]], 1))).toEqual([]);
    expect(suspects(lookup([[a!, b!], [c!, b!]], 1))).toEqual([]);
    expect(routedAround(lookup([[a!, b!], [c!, b!]], 1))).toEqual([a]);
  });

  it('answerFor drops the suspects and keeps `count`', () => {
    expect(answerFor(lookup([[a!, b!], [c!, b!]]), [b!, a!, d!, c!])).toEqual([a, d]);
    expect(answerFor(lookup([]), [b!, a!, d!])).toEqual([b, a]);
  });

  it('answerWithout asks for more and keeps `count` after dropping them', () => {
    const pool = ids(10).map(contactOf);
    const target = targetAt(idOf(3));
    const nearest = (n: number) => closest(target, pool, n, (p) => p.position).map((p) => p.id);
    expect(answerWithout(nearest, 4, [])).toEqual(nearest(4));
    expect(answerWithout(nearest, 4, nearest(2))).toEqual(nearest(6).slice(2));
  });
});
