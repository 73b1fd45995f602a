import { afterAll, describe, expect, it } from 'vitest';
import { createRouteEndpoint, type EndpointEvent, type RouteEndpoint } from '../../src/actors/routing/route-endpoint.js';
import { ACK_PROTOCOL, msgKey } from '../../src/actors/routing/route-messages.js';
import { DEFAULT_ROUTER_CONFIG } from '../../src/actors/routing/router-config.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { envelopeRecipient, sealEnvelope, type SealedEnvelope } from '../../src/crypto/sealed-envelope.js';
import { generateIdentity, type Identity } from '../../src/identity/identity.js';
import type { CryptoPort } from '../../src/ports/crypto.js';
import { silentLogger } from '../../src/ports/logger.js';
import { createSystemRandom } from '../../src/ports/random.js';

const NOW = 1_760_000_000_000;
const ports: CryptoPort[] = [];
afterAll(async () => {
  for (const port of ports) await port.close();
});

interface Party {
  identity: Identity;
  port: CryptoPort;
  endpoint: RouteEndpoint;
  events: EndpointEvent[];
  clock: { now: number };
}

function party(config: Partial<typeof DEFAULT_ROUTER_CONFIG> = {}): Party {
  const identity = generateIdentity();
  const port = createCryptoPort({ identity });
  ports.push(port);
  const events: EndpointEvent[] = [];
  const clock = { now: NOW };
  const endpoint = createRouteEndpoint({
    recipient: () => envelopeRecipient(identity, port),
    signer: port,
    random: createSystemRandom(),
    wallClock: () => clock.now,
    config: { ...DEFAULT_ROUTER_CONFIG, ...config },
    logger: silentLogger,
    report: (event) => events.push(event),
  });
  return { identity, port, endpoint, events, clock };
}

/** Lets the endpoint's promise chains (inline crypto) run to the end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const payload = new TextEncoder().encode('routed hello');

describe('route endpoint', () => {
  it('opens a message for us once, from its origin, with its protocol and bytes', async () => {
    const a = party();
    const b = party();
    const env = await a.endpoint.seal(b.identity.peerId, 'app/chat', payload);
    expect(env.origin).toBe(a.identity.peerId);
    expect(env.ttl).toBe(DEFAULT_ROUTER_CONFIG.ttl);
    expect(env.sentAt).toBe(NOW);
    b.endpoint.open('msg', env);
    b.endpoint.open('msg', env); // a copy while the first is being verified
    await settle();
    b.endpoint.open('msg', { ...env, ttl: 3 }); // a replay later, ttl reset by a hop
    await settle();
    expect(b.events).toHaveLength(1);
    expect(b.events[0]).toMatchObject({ type: 'route.opened', origin: a.identity.peerId, protocol: 'app/chat', msgId: env.msgId });
    expect(Buffer.from((b.events[0] as Extract<EndpointEvent, { type: 'route.opened' }>).data).toString()).toBe('routed hello');
  });

  it('drops forged, tampered, stale and misaddressed envelopes', async () => {
    const a = party();
    const b = party();
    const c = party();
    const env = await a.endpoint.seal(b.identity.peerId, 'app/chat', payload);
    const flipped = Uint8Array.from(env.ct);
    flipped[0]! ^= 1;
    b.endpoint.open('msg', { ...env, ct: flipped });
    b.endpoint.open('msg', { ...env, origin: c.identity.peerId });
    c.endpoint.open('msg', env); // not for c
    b.clock.now = NOW + DEFAULT_ROUTER_CONFIG.replayWindowMs + 1;
    b.endpoint.open('msg', env); // too old by b's clock
    await settle();
    expect([...b.events, ...c.events]).toEqual([]);
  });

  it('seals acks that only the origin opens, and that name the message', async () => {
    const a = party();
    const b = party();
    const env = await a.endpoint.seal(b.identity.peerId, 'app/chat', payload);
    b.endpoint.sealAck(a.identity.peerId, env.msgId);
    await settle();
    const sealed = b.events.find((e) => e.type === 'route.ack.sealed') as Extract<EndpointEvent, { type: 'route.ack.sealed' }>;
    expect(sealed.env.target).toBe(a.identity.peerId);
    a.endpoint.open('ack', sealed.env);
    await settle();
    expect(a.events).toEqual([{ type: 'route.acked', from: b.identity.peerId, key: msgKey(env.msgId) }]);
  });

  it('does not take a message for an ack, nor an ack for a message', async () => {
    const a = party();
    const b = party();
    // A message whose payload happens to be 16 bytes, passed off as an ack by a hop.
    const looksLikeAck = await sealEnvelope({ signer: b.port, random: createSystemRandom(), recipient: a.identity.peerId, protocol: 'app/x', payload: new Uint8Array(16), sentAt: NOW });
    a.endpoint.open('ack', looksLikeAck);
    // A real ack, passed off as a message (it would reach the application as `ps/ack`).
    b.endpoint.sealAck(a.identity.peerId, new Uint8Array(16));
    await settle();
    const ack = (b.events[0] as { env: SealedEnvelope }).env;
    expect(ack).toBeDefined();
    a.endpoint.open('msg', ack);
    await settle();
    expect(a.events).toEqual([]);
    // Control: the same ack, opened as an ack, counts.
    a.endpoint.open('ack', ack);
    await settle();
    expect(a.events).toHaveLength(1);
    expect(ACK_PROTOCOL.startsWith('ps/')).toBe(true);
  });

  it('opens at most maxOpening envelopes at once and drops the rest', async () => {
    const a = party();
    const b = party({ maxOpening: 2 });
    const envs = await Promise.all([0, 1, 2].map(() => a.endpoint.seal(b.identity.peerId, 'app/chat', payload)));
    for (const env of envs) b.endpoint.open('msg', env);
    await settle();
    expect(b.events).toHaveLength(2);
    // Room again once they finished.
    b.endpoint.open('msg', envs[2]!);
    await settle();
    expect(b.events).toHaveLength(3);
  });
});
