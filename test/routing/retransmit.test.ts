/**
 * Routed sends are sent again until acked (router), and the target answers a copy of a message
 * it delivered with the same ack, delivering nothing twice (endpoint).
 *
 * Regression for the demo's "routed message: no ack within 10000 ms" after its server stopped:
 * a message (or its ack) lost with a link that closed under it was lost for good.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { contactOf, sortByPosition } from '../../src/actors/ring/contact.js';
import { PendingSends } from '../../src/actors/routing/pending-sends.js';
import { ACK_CACHE_ENTRIES, createRouteEndpoint, type EndpointEvent } from '../../src/actors/routing/route-endpoint.js';
import { msgKey, type RouteMessage } from '../../src/actors/routing/route-messages.js';
import { DEFAULT_ROUTER_CONFIG, maxRetransmits, routerConfig } from '../../src/actors/routing/router-config.js';
import { routerMachine, type RouterPorts } from '../../src/actors/routing/router.machine.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { envelopeRecipient, type SealedEnvelope } from '../../src/crypto/sealed-envelope.js';
import type { PeerSockError } from '../../src/errors.js';
import { generateIdentity } from '../../src/identity/identity.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { CryptoPort } from '../../src/ports/crypto.js';
import { silentLogger } from '../../src/ports/logger.js';
import { createSystemRandom } from '../../src/ports/random.js';

const N = sortByPosition(Array.from({ length: 10 }, (_, i) => contactOf(String(i).padStart(2, '0').repeat(32) as PeerId)));
const SELF = N[0]!.id;
const config = routerConfig({ ackTimeoutMs: 1_000, retransmitIntervalMs: 300 });

function envelope(target: PeerId): SealedEnvelope {
  return { v: 1, origin: SELF, target, msgId: new Uint8Array(16).fill(7), sentAt: 0, eph: new Uint8Array(32), ttl: 8, ct: new Uint8Array(20), sig: new Uint8Array(64) };
}

/** A router whose links the test changes; `sent` records every frame handed to a link. */
function origin(links: PeerId[]) {
  const clock = new SimulatedClock();
  const sent: { at: number; to: PeerId; message: RouteMessage }[] = [];
  const pending = new PendingSends(8);
  const ports: RouterPorts = {
    logger: silentLogger,
    links: () => links,
    send: (to, message) => {
      if (!links.includes(to)) return false;
      sent.push({ at: clock.now(), to, message });
      return true;
    },
    endpoint: { open: () => {}, sealAck: () => {}, ackSent: () => {} },
    deliver: () => {},
    pending,
  };
  const actor = createActor(routerMachine, { input: { self: SELF, config, ports }, clock }).start();
  const env = envelope(N[5]!.id);
  const key = msgKey(env.msgId);
  const outcomes: string[] = [];
  pending.reserve();
  pending.add(key, env.target, (error?: PeerSockError) => outcomes.push(error?.code ?? 'acked'));
  actor.send({ type: 'route.send', key, env });
  return { actor, clock, sent, env, key, outcomes };
}

describe('router: retransmission at the origin', () => {
  it('sends the same envelope again every interval, over the links it has then, until the ack', () => {
    const links = [N[3]!.id];
    const o = origin(links);
    expect(o.sent.map((s) => s.to)).toEqual([N[3]!.id]);
    // The first hop's link closed with the message in it; another one opened.
    links.splice(0, 1, N[4]!.id);
    o.clock.increment(config.retransmitIntervalMs);
    expect(o.sent.map((s) => [s.at, s.to])).toEqual([
      [0, N[3]!.id],
      [config.retransmitIntervalMs, N[4]!.id],
    ]);
    expect(o.sent[1]!.message).toEqual({ t: 'msg', env: o.env });
    o.actor.send({ type: 'route.acked', from: N[5]!.id, key: o.key });
    o.clock.increment(5 * config.ackTimeoutMs);
    expect(o.outcomes).toEqual(['acked']);
    expect(o.sent).toHaveLength(2);
  });

  it('sends each copy by a link no earlier copy took while one makes progress, then by the best again', () => {
    const o = origin([N[3]!.id, N[4]!.id]);
    for (let t = 0; t < 3 * config.retransmitIntervalMs; t += 50) o.clock.increment(50);
    // Greedy: N4 (closest before the target N5); then N3, the other way on; then N4 again.
    expect(o.sent.map((s) => s.to)).toEqual([N[4]!.id, N[3]!.id, N[4]!.id, N[4]!.id]);
  });

  it('sends at most the copies that fit before the ack timeout, skips a copy with no way on, then times out', () => {
    const links = [N[3]!.id];
    const o = origin(links);
    links.length = 0;
    o.clock.increment(config.retransmitIntervalMs); // no link: this copy is skipped, the send stays pending
    expect(o.outcomes).toEqual([]);
    links.push(N[3]!.id);
    // In steps: XState's SimulatedClock fires every due timer at the time it is moved to.
    for (let t = 0; t < config.ackTimeoutMs; t += 50) o.clock.increment(50);
    expect(o.outcomes).toEqual(['TIMEOUT']);
    // 1,000 ms / 300 ms: copies at 300 (skipped), 600 and 900.
    expect(maxRetransmits(config)).toBe(3);
    expect(o.sent.map((s) => s.at)).toEqual([0, 600, 900]);
  });

  it('stops sending copies once a failure notice settled the send', () => {
    const o = origin([N[3]!.id]);
    o.actor.send({ type: 'route.frame', from: N[3]!.id, message: { t: 'fail', to: N[5]!.id, origin: SELF, msgId: o.env.msgId, code: 'UNREACHABLE', ttl: 3 } });
    o.clock.increment(config.ackTimeoutMs);
    expect(o.outcomes).toEqual(['UNREACHABLE']);
    expect(o.sent).toHaveLength(1);
  });

  it('sends an ack again by a link no earlier ack took, and tells the endpoint which', () => {
    const clock = new SimulatedClock();
    const sent: PeerId[] = [];
    const noted: PeerId[] = [];
    const links = [N[3]!.id, N[4]!.id];
    const ports: RouterPorts = {
      logger: silentLogger,
      links: () => links,
      send: (to) => (sent.push(to), true),
      endpoint: { open: () => {}, sealAck: () => {}, ackSent: (_ack, hop) => void noted.push(hop) },
      deliver: () => {},
      pending: new PendingSends(8),
    };
    const actor = createActor(routerMachine, { input: { self: SELF, config, ports }, clock }).start();
    const ack = envelope(N[5]!.id); // an ack is an envelope like any other, to the message's origin
    actor.send({ type: 'route.ack.sealed', env: ack });
    actor.send({ type: 'route.ack.sealed', env: ack, avoid: [N[4]!.id] });
    actor.send({ type: 'route.ack.sealed', env: ack, avoid: [N[4]!.id, N[3]!.id] });
    expect(sent).toEqual([N[4]!.id, N[3]!.id, N[4]!.id]);
    expect(noted).toEqual(sent);
  });

  it('ignores a failure notice once a copy is out (another copy may have arrived): the ack still settles it', () => {
    const o = origin([N[3]!.id, N[4]!.id]);
    for (let t = 0; t < config.retransmitIntervalMs; t += 50) o.clock.increment(50);
    expect(o.sent).toHaveLength(2);
    o.actor.send({ type: 'route.frame', from: N[3]!.id, message: { t: 'fail', to: N[5]!.id, origin: SELF, msgId: o.env.msgId, code: 'TTL_EXPIRED', ttl: 3 } });
    expect(o.outcomes).toEqual([]);
    o.actor.send({ type: 'route.acked', from: N[5]!.id, key: o.key });
    expect(o.outcomes).toEqual(['acked']);
  });

  it('sends no copies with retransmitIntervalMs 0', () => {
    expect(maxRetransmits(routerConfig({ retransmitIntervalMs: 0 }))).toBe(0);
    expect(maxRetransmits(DEFAULT_ROUTER_CONFIG)).toBe(3);
  });
});

describe('endpoint: a copy of a message already delivered', () => {
  const ports: CryptoPort[] = [];
  afterAll(async () => {
    for (const port of ports) await port.close();
  });
  const settle = async () => {
    for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
  };
  function party() {
    const identity = generateIdentity();
    const port = createCryptoPort({ identity });
    ports.push(port);
    const events: EndpointEvent[] = [];
    const endpoint = createRouteEndpoint({
      recipient: () => envelopeRecipient(identity, port),
      signer: port,
      random: createSystemRandom(),
      wallClock: () => 1_760_000_000_000,
      config: DEFAULT_ROUTER_CONFIG,
      logger: silentLogger,
      report: (event) => events.push(event),
    });
    return { identity, endpoint, events };
  }

  it('is answered with the same sealed ack and not delivered again', async () => {
    const a = party();
    const b = party();
    const env = await a.endpoint.seal(b.identity.peerId, 'app/chat', new TextEncoder().encode('hi'));
    b.endpoint.open('msg', env);
    await settle();
    expect(b.events.map((e) => e.type)).toEqual(['route.opened']);
    b.endpoint.sealAck(a.identity.peerId, env.msgId); // what the router does on delivery
    await settle();
    const ack = b.events[1] as Extract<EndpointEvent, { type: 'route.ack.sealed' }>;
    expect(ack.type).toBe('route.ack.sealed');
    b.endpoint.open('msg', { ...env, ttl: 5 }); // the origin's copy, by another path
    await settle();
    expect(b.events.map((e) => e.type)).toEqual(['route.opened', 'route.ack.sealed', 'route.ack.sealed']);
    expect(b.events[2]).toEqual({ ...ack, avoid: [] });
    // Once the router says which link the ack left by, the next answer avoids it.
    b.endpoint.ackSent(ack.env, a.identity.peerId);
    b.endpoint.open('msg', env);
    await settle();
    expect(b.events[3]).toEqual({ ...ack, avoid: [a.identity.peerId] });
    // As many copies as the origin sends are answered; further replays are dropped.
    for (let i = 0; i < maxRetransmits(DEFAULT_ROUTER_CONFIG); i += 1) b.endpoint.open('msg', env);
    await settle();
    expect(b.events.filter((e) => e.type === 'route.ack.sealed')).toHaveLength(1 + maxRetransmits(DEFAULT_ROUTER_CONFIG));
    expect(b.events.filter((e) => e.type === 'route.opened')).toHaveLength(1);
    // The ack opens at the origin as the ack of that message.
    a.endpoint.open('ack', ack.env);
    await settle();
    expect(a.events).toContainEqual({ type: 'route.acked', from: b.identity.peerId, key: msgKey(env.msgId) });
  });

  it('keeps a bounded number of acks: the oldest one is forgotten first', async () => {
    const a = party();
    const b = party();
    const first = await a.endpoint.seal(b.identity.peerId, 'app/chat', new Uint8Array(1));
    b.endpoint.sealAck(a.identity.peerId, first.msgId);
    for (let i = 0; i < ACK_CACHE_ENTRIES; i += 1) {
      const msgId = new Uint8Array(16).fill(0xee);
      msgId[0] = i >> 8;
      msgId[1] = i & 0xff;
      b.endpoint.sealAck(a.identity.peerId, msgId);
    }
    await settle();
    const before = b.events.length;
    // Its ack was evicted, so the message is not answered from the cache: it is opened (this
    // endpoint never opened it before; after a real delivery the replay window drops it).
    b.endpoint.open('msg', first);
    await settle();
    expect(b.events.slice(before).map((e) => e.type)).toEqual(['route.opened']);
  });
});
