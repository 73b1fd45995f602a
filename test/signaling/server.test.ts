import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../src/signaling/server.js';
import { registerMessageBytes } from '../../src/signaling/protocol.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { RawPeer, isOpen, makeKey, waitFor } from './helpers.js';
import { compareClockwise, positionHex } from '../../src/actors/ring/id-space.js';

const servers: SignalingServer[] = [];
const peers: RawPeer[] = [];

async function server(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const s = await startSignalingServer({ port: 0, ...options });
  servers.push(s);
  return s;
}

async function open(url: string): Promise<RawPeer> {
  const p = await RawPeer.open(url);
  peers.push(p);
  return p;
}

async function registered(url: string) {
  const p = await RawPeer.registered(url);
  peers.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('signaling server: registration and relay', () => {
  it('relays signals both ways, stamping the verified sender and ignoring a client-supplied from', async () => {
    const s = await server();
    expect(s.url).toBe(`ws://127.0.0.1:${s.port}`);
    const a = await registered(s.url);
    const b = await registered(s.url);
    const forged = makeKey().peerId;

    a.send({ t: 'signal', to: b.key.peerId, data: { sdp: 'offer-from-a' }, from: forged, rid: 'r1' });
    const atB = await b.nextOf('signal');
    expect(atB).toEqual({ t: 'signal', from: a.key.peerId, data: { sdp: 'offer-from-a' } });
    expect(await a.nextOf('relayed', (m) => m.rid === 'r1')).toEqual({ t: 'relayed', rid: 'r1' });

    b.send({ t: 'signal', to: a.key.peerId, data: { sdp: 'answer-from-b', nested: { list: [1, 2] } } });
    const atA = await a.nextOf('signal');
    expect(atA.from).toBe(b.key.peerId);
    expect(atA.data).toEqual({ sdp: 'answer-from-b', nested: { list: [1, 2] } });
    expect(s.stats()).toMatchObject({ connections: 2, registered: 2, relayed: 2 });
  });

  it("refuses a PeerId whose key the client does not hold, and closes that socket", async () => {
    const s = await server();
    const victim = makeKey();
    const attacker = makeKey();
    const p = await open(s.url);
    const { nonce } = await p.nextOf('challenge');
    const sig = Buffer.from(attacker.signSync(registerMessageBytes(nonce))).toString('hex');
    p.send({ t: 'register', id: victim.peerId, sig });
    const error = await p.nextOf('error');
    expect(error.code).toBe('SIGNAL_REGISTRATION_FAILED');
    expect((await p.closed).code).toBe(4000);
    expect(s.stats().registered).toBe(0);

    // The real owner is unaffected.
    const owner = await RawPeer.registered(s.url, victim);
    peers.push(owner);
    expect(s.stats().registered).toBe(1);
  });

  it('refuses a signature replayed from another connection (challenges are per connection)', async () => {
    const s = await server();
    const key = makeKey();
    const first = await open(s.url);
    const { nonce } = await first.nextOf('challenge');
    const sig = Buffer.from(key.signSync(registerMessageBytes(nonce))).toString('hex');
    const second = await open(s.url);
    second.send({ t: 'register', id: key.peerId, sig });
    expect((await second.nextOf('error')).code).toBe('SIGNAL_REGISTRATION_FAILED');
    expect((await second.closed).code).toBe(4000);
  });

  it('a newer proven registration of the same PeerId replaces the older one', async () => {
    const s = await server();
    const key = makeKey();
    const old = await RawPeer.registered(s.url, key);
    const fresh = await RawPeer.registered(s.url, key);
    peers.push(old, fresh);
    const notice = await old.nextOf('error');
    expect(notice.code).toBe('SIGNAL_ALREADY_REGISTERED');
    expect((await old.closed).code).toBe(4001);
    const other = await registered(s.url);
    other.send({ t: 'signal', to: key.peerId, data: { hello: 1 } });
    expect((await fresh.nextOf('signal')).from).toBe(other.key.peerId);
    expect(s.stats().registered).toBe(2);
  });

  it('answers a signal to an unregistered PeerId with SIGNAL_UNKNOWN_PEER and the rid', async () => {
    const s = await server();
    const a = await registered(s.url);
    a.send({ t: 'signal', to: makeKey().peerId, data: {}, rid: 'x-7' });
    const error = await a.nextOf('error');
    expect(error).toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER', rid: 'x-7' });
    expect(isOpen(a)).toBe(true);
  });

  it('requires registration before signal and sample', async () => {
    const s = await server();
    const p = await open(s.url);
    await p.nextOf('challenge');
    p.send({ t: 'sample', n: 3, rid: 's1' });
    expect(await p.nextOf('error')).toMatchObject({ code: 'SIGNAL_NOT_REGISTERED', rid: 's1' });
  });

  it('closes connections that never register in time', async () => {
    const s = await server({ registerTimeoutMs: 150 });
    const p = await open(s.url);
    expect((await p.closed).code).toBe(4002);
    await waitFor(() => s.stats().connections === 0, 2_000, 'server to forget the socket');
  });

  it('sample returns distinct other registered peers, never self, at most min(n, sampleMax)', async () => {
    const s = await server({ sampleMax: 4 });
    const all = await Promise.all(Array.from({ length: 7 }, () => registered(s.url)));
    const ids = new Set<PeerId>(all.map((p) => p.key.peerId));
    const me = all[0]!;
    for (const [n, expected] of [[3, 3], [100, 4], [0, 0]] as const) {
      me.send({ t: 'sample', n, rid: `n${n}` });
      const { peers: got } = await me.nextOf('sample', (m) => m.rid === `n${n}`);
      expect(got).toHaveLength(expected);
      expect(new Set(got).size).toBe(got.length);
      expect(got).not.toContain(me.key.peerId);
      for (const id of got) expect(ids.has(id)).toBe(true);
    }
    // With everyone asked for, over many draws every other peer shows up.
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      me.send({ t: 'sample', n: 4, rid: `many${i}` });
      for (const id of (await me.nextOf('sample', (m) => m.rid === `many${i}`)).peers) seen.add(id);
    }
    expect(seen.size).toBe(6);
  });

  it('sample with `near` names the ring members nearest before the asker first, nearest first, then random members', async () => {
    const s = await server({ sampleMax: 6 });
    const me = await registered(s.url);
    const others = await Promise.all(Array.from({ length: 10 }, () => registered(s.url)));
    const nonMember = others.pop()!;
    for (const peer of others) peer.send({ t: 'member', on: true });
    // The asker's own membership does not matter; `member` is not answered, a sample after it is.
    me.send({ t: 'member', on: true });
    for (const peer of others) {
      peer.send({ t: 'sample', n: 0, rid: 'sync' });
      await peer.nextOf('sample', (m) => m.rid === 'sync');
    }
    const self = positionHex(me.key.peerId);
    const members = others.map((peer) => peer.key.peerId);
    const nearestFirst = [...members].sort((a, b) => compareClockwise(self, positionHex(b), positionHex(a)));
    me.send({ t: 'sample', n: 5, near: 3, rid: 'near' });
    const { peers } = await me.nextOf('sample', (m) => m.rid === 'near');
    expect(peers.slice(0, 3)).toEqual(nearestFirst.slice(0, 3));
    expect(peers).toHaveLength(5);
    expect(new Set(peers).size).toBe(5);
    // The random rest are members too: the registered non-member is never named.
    for (const peer of peers) expect(members).toContain(peer);
    expect(peers).not.toContain(nonMember.key.peerId);
    // Capped by sampleMax like any sample; `near` beyond the cap names only nearest ones.
    me.send({ t: 'sample', n: 9, near: 9, rid: 'capped' });
    expect((await me.nextOf('sample', (m) => m.rid === 'capped')).peers).toEqual(nearestFirst.slice(0, 6));
    // A member that leaves the ring (or the server) is no longer named.
    others[0]!.send({ t: 'member', on: false });
    await others[1]!.close();
    others[0]!.send({ t: 'sample', n: 0, rid: 'sync' });
    await others[0]!.nextOf('sample', (m) => m.rid === 'sync');
    await waitFor(() => s.stats().registered === 10, 2_000, 'unregistered');
    const left = nearestFirst.filter((peer) => peer !== others[0]!.key.peerId && peer !== others[1]!.key.peerId);
    me.send({ t: 'sample', n: 4, near: 4, rid: 'after' });
    expect((await me.nextOf('sample', (m) => m.rid === 'after')).peers).toEqual(left.slice(0, 4));
  });

  it('sample with nobody else registered is empty', async () => {
    const s = await server();
    const a = await registered(s.url);
    a.send({ t: 'sample', n: 5, rid: 'alone' });
    expect((await a.nextOf('sample')).peers).toEqual([]);
  });

  it('relayFilter can rewrite or drop relayed signals (MITM test seam)', async () => {
    const s = await server({
      relayFilter: (_from, to, data) => ((data as { drop?: boolean }).drop ? null : { to, data: { tampered: true, original: data } }),
    });
    const a = await registered(s.url);
    const b = await registered(s.url);
    a.send({ t: 'signal', to: b.key.peerId, data: { drop: true }, rid: 'd' });
    a.send({ t: 'signal', to: b.key.peerId, data: { x: 1 }, rid: 'k' });
    expect((await b.nextOf('signal')).data).toEqual({ tampered: true, original: { x: 1 } });
    await a.nextOf('relayed', (m) => m.rid === 'k');
    // The dropped one was acknowledged like any other: a hostile server can hide drops.
    await a.nextOf('relayed', (m) => m.rid === 'd');
    expect(b.messages.filter((m) => m.t === 'signal')).toHaveLength(1);
  });
});

describe('signaling server: hostile input', () => {
  it('answers non-JSON and wrong-schema messages with SIGNAL_BAD_MESSAGE and keeps the connection', async () => {
    const s = await server();
    const a = await registered(s.url);
    const bads: Array<string | Buffer> = [
      'not json',
      '[1,2,3]',
      '{"t":"signal","to":"nope","data":{}}',
      '{"t":"signal","to":"' + a.key.peerId + '","data":[1]}',
      '{"t":{"toString":1}}',
      '{"t":"sample","n":-1,"rid":"z"}',
      Buffer.from([1, 2, 3]),
    ];
    for (const bad of bads) a.send(bad);
    await waitFor(() => a.messages.filter((m) => m.t === 'error').length === bads.length, 3_000, 'one error per bad message');
    const errors = a.messages.filter((m) => m.t === 'error');
    expect(errors.every((e) => e.code === 'SIGNAL_BAD_MESSAGE' && typeof e.message === 'string')).toBe(true);
    expect(errors.find((e) => e.rid === 'z')).toBeDefined();
    expect(isOpen(a)).toBe(true);
    a.send({ t: 'sample', n: 1, rid: 'still-works' });
    await a.nextOf('sample', (m) => m.rid === 'still-works');
  });

  it('rejects data nested deeper than the limit without crashing', async () => {
    const s = await server();
    const a = await registered(s.url);
    const b = await registered(s.url);
    const deep = '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000);
    a.send(`{"t":"signal","to":"${b.key.peerId}","rid":"deep","data":${deep}}`);
    expect(await a.nextOf('error')).toMatchObject({ code: 'SIGNAL_BAD_MESSAGE', rid: 'deep' });
  });

  it('closes after repeated bad messages (1008) while another client keeps working', async () => {
    const s = await server({ maxStrikes: 10 });
    const abuser = await registered(s.url);
    const a = await registered(s.url);
    const b = await registered(s.url);
    for (let i = 0; i < 50; i++) abuser.send('garbage');
    a.send({ t: 'signal', to: b.key.peerId, data: { during: 'abuse' } });
    expect((await abuser.closed).code).toBe(1008);
    expect(abuser.messages.filter((m) => m.code === 'SIGNAL_BAD_MESSAGE').length).toBeLessThanOrEqual(10);
    expect((await b.nextOf('signal')).data).toEqual({ during: 'abuse' });
    await waitFor(() => s.stats().registered === 2, 2_000, 'abuser to be unregistered');
  });

  it('closes a socket that sends a frame over maxMessageBytes with 1009; others unaffected', async () => {
    const s = await server({ maxMessageBytes: 4096 });
    const big = await registered(s.url);
    const a = await registered(s.url);
    const b = await registered(s.url);
    big.send({ t: 'signal', to: a.key.peerId, data: { blob: 'x'.repeat(10_000) } });
    expect((await big.closed).code).toBe(1009);
    a.send({ t: 'signal', to: b.key.peerId, data: { ok: true }, rid: 'fine' });
    await a.nextOf('relayed');
    expect(a.messages.some((m) => m.t === 'signal')).toBe(false);
    expect((await b.nextOf('signal')).data).toEqual({ ok: true });
  });

  it('rate limits a flood (SIGNAL_RATE_LIMITED, then close) while a well-behaved client keeps working', async () => {
    const s = await server({ rateLimit: { perSecond: 20, burst: 20 }, maxStrikes: 10 });
    const flooder = await registered(s.url);
    const a = await registered(s.url);
    const b = await registered(s.url);
    for (let i = 0; i < 1_000; i++) flooder.send({ t: 'signal', to: a.key.peerId, data: { i }, rid: `f${i}` });
    const closed = await flooder.closed;
    expect(closed.code).toBe(1008);
    const limited = flooder.messages.filter((m) => m.code === 'SIGNAL_RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.length).toBeLessThanOrEqual(10);
    expect(limited[0]!.rid).toMatch(/^f\d+$/);
    // At most the burst got through to a.
    expect(a.messages.filter((m) => m.t === 'signal').length).toBeLessThanOrEqual(20);
    for (let i = 0; i < 5; i++) a.send({ t: 'signal', to: b.key.peerId, data: { i }, rid: `ok${i}` });
    await waitFor(() => b.messages.filter((m) => m.t === 'signal').length === 5, 3_000, 'well-behaved signals');
    expect(a.messages.some((m) => m.t === 'error')).toBe(false);
  });

  it('refuses connections beyond maxConnections with SIGNAL_SERVER_FULL and 1013', async () => {
    const s = await server({ maxConnections: 2 });
    await registered(s.url);
    await registered(s.url);
    const extra = await open(s.url);
    const error = await extra.nextOf('error');
    expect(error.code).toBe('SIGNAL_SERVER_FULL');
    expect(error.message).toMatch(/full/);
    expect((await extra.closed).code).toBe(1013);
    expect(s.stats()).toMatchObject({ connections: 2, registered: 2 });
    expect(s.stats().rejected).toBeGreaterThanOrEqual(1);
  });

  it('drops connections that stop answering pings', async () => {
    const s = await server({ heartbeatMs: 100 });
    const deaf = await RawPeer.open(s.url, { autoPong: false });
    peers.push(deaf);
    const alive = await registered(s.url);
    await deaf.register(makeKey());
    await deaf.closed;
    await new Promise((r) => setTimeout(r, 300));
    expect(isOpen(alive)).toBe(true);
    expect(s.stats()).toMatchObject({ connections: 1, registered: 1 });
  });
});

describe('signaling server: lifecycle', () => {
  it('close() terminates sockets and frees the port', async () => {
    const s = await startSignalingServer({ port: 0 });
    const a = await RawPeer.registered(s.url);
    const half = await RawPeer.open(s.url);
    await s.close();
    await a.closed;
    await half.closed;
    await s.close(); // idempotent
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(s.port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });

  it('rejects when the port is taken', async () => {
    const s = await server();
    await expect(startSignalingServer({ port: s.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
