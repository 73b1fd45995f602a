import { afterEach, describe, expect, it } from 'vitest';
import { compareClockwise, positionHex } from '../../src/actors/ring/id-space.js';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { createSignalingClient, type SignalingClient, type SignalingClientOptions, type SignalingState, type IncomingSignal } from '../../src/signaling/client.js';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../src/signaling/server.js';
import { createSystemClock } from '../../src/ports/clock.js';
import { createSystemRandom } from '../../src/ports/random.js';
import { isPeerSockError } from '../../src/errors.js';
import { RawPeer, fixedRandom, makeKey, recordingLogger, waitFor, type TestKey } from './helpers.js';

const clock = createSystemClock();
const servers: SignalingServer[] = [];
const clients: SignalingClient[] = [];
const fakes: WebSocketServer[] = [];

async function server(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const s = await startSignalingServer({ port: 0, ...options });
  servers.push(s);
  return s;
}

function client(urls: string[], extra: Partial<SignalingClientOptions> & { key?: TestKey } = {}): SignalingClient {
  const key = extra.key ?? makeKey();
  const c = createSignalingClient({
    urls,
    crypto: key.crypto,
    clock,
    random: createSystemRandom(),
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 2_000,
    backoff: { initialMs: 50, maxMs: 400 },
    ...extra,
  });
  clients.push(c);
  return c;
}

/** A WebSocket server that runs `onConnection` instead of the real protocol. */
async function fakeServer(onConnection: (socket: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  fakes.push(wss);
  wss.on('connection', (socket) => {
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

/** A url nothing listens on: a server started and closed again. */
async function deadUrl(): Promise<string> {
  const s = await startSignalingServer({ port: 0 });
  await s.close();
  return s.url;
}

function collect<T>(source: { subscribe(next: (value: T) => void): unknown }): T[] {
  const out: T[] = [];
  source.subscribe((value) => out.push(value));
  return out;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const wss of fakes.splice(0)) {
    for (const socket of wss.clients) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
});

describe('signaling client against the real server', () => {
  it('registers, and two clients exchange signals both ways with the verified sender', async () => {
    const s = await server();
    const a = client([s.url]);
    const b = client([s.url]);
    const states = collect<SignalingState>(a.state$);
    const atA = collect<IncomingSignal>(a.signals$);
    const atB = collect<IncomingSignal>(b.signals$);
    await Promise.all([a.start(), b.start()]);
    expect(a.state).toBe('registered');
    expect(a.url).toBe(s.url);
    expect(states).toEqual(['idle', 'connecting', 'registered']);

    await a.signal(b.peerId, { type: 'offer', sdp: 'v=0' });
    await b.signal(a.peerId, { type: 'answer', sdp: 'v=0 answer' });
    await waitFor(() => atA.length === 1 && atB.length === 1, 2_000, 'both signals');
    expect(atB[0]).toEqual({ from: a.peerId, data: { type: 'offer', sdp: 'v=0' } });
    expect(atA[0]).toEqual({ from: b.peerId, data: { type: 'answer', sdp: 'v=0 answer' } });
  });

  it('signal to an unknown peer rejects with SIGNAL_UNKNOWN_PEER', async () => {
    const s = await server();
    const a = client([s.url]);
    await a.start();
    const error = await a.signal(makeKey().peerId, { x: 1 }).catch((e: unknown) => e);
    expect(isPeerSockError(error, 'SIGNAL_UNKNOWN_PEER')).toBe(true);
    // The client stays usable after a refused request.
    expect(a.state).toBe('registered');
  });

  it('refuses bad arguments locally, before anything is sent', async () => {
    const s = await server({ maxMessageBytes: 2048 });
    const a = client([s.url], { maxMessageBytes: 2048 });
    const b = client([s.url]);
    await Promise.all([a.start(), b.start()]);
    const codes = await Promise.all([
      a.signal('not-a-peer' as never, {}).catch((e) => e.code),
      a.signal(b.peerId, [1, 2] as never).catch((e) => e.code),
      a.signal(b.peerId, { big: 'x'.repeat(5_000) }).catch((e) => e.code),
      a.signal(b.peerId, { n: 1n } as never).catch((e) => e.code),
      a.sample(-1).catch((e) => e.code),
      a.sample(1.5).catch((e) => e.code),
    ]);
    expect(codes).toEqual(['INVALID_PEER_ID', 'INVALID_ARGUMENT', 'MESSAGE_TOO_LARGE', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    expect(a.state).toBe('registered');
    expect(s.stats().rejected).toBe(0);
  });

  it('sample returns other registered peers, never self, bounded by n and by the server', async () => {
    const s = await server({ sampleMax: 3 });
    const all = [client([s.url]), client([s.url]), client([s.url]), client([s.url]), client([s.url])];
    await Promise.all(all.map((c) => c.start()));
    const me = all[0]!;
    const others = new Set(all.slice(1).map((c) => c.peerId));
    const two = await me.sample(2);
    expect(two).toHaveLength(2);
    const capped = await me.sample(50);
    expect(capped).toHaveLength(3);
    for (const id of [...two, ...capped]) expect(others.has(id)).toBe(true);
    expect(new Set(capped).size).toBe(3);
    expect(await me.sample(0)).toEqual([]);
  });

  it('samples name ring members first, any registered peers while there is none, and membership survives a reconnect', async () => {
    const first = await startSignalingServer({ port: 0 });
    const all = [client([first.url]), client([first.url]), client([first.url]), client([first.url]), client([first.url])];
    await Promise.all(all.map((c) => c.start()));
    const [me, m1, m2] = all as [SignalingClient, SignalingClient, SignalingClient];
    // Nobody is a member yet: anyone registered.
    expect(new Set(await me.sample(10)).size).toBe(4);
    m1.setRingMember(true);
    m2.setRingMember(true);
    // `member` is not answered: the next request on the same socket sees it applied.
    expect(new Set(await me.sample(10))).toEqual(new Set([m1.peerId, m2.peerId]));
    // `near` goes to the server: with every other peer a member, the two nearest before us come
    // first, in order (a server that ignored `near` would match that 1 time in 12).
    const [, , , m3, m4] = all as SignalingClient[];
    m3!.setRingMember(true);
    m4!.setRingMember(true);
    await m3!.sample(0);
    await m4!.sample(0);
    const self = positionHex(me.peerId);
    const nearestFirst = [m1, m2, m3!, m4!].map((c) => c.peerId).sort((a, b) => compareClockwise(self, positionHex(b), positionHex(a)));
    expect((await me.sample(4, { near: 2 })).slice(0, 2)).toEqual(nearestFirst.slice(0, 2));
    await expect(me.sample(2, { near: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    m3!.setRingMember(false);
    m4!.setRingMember(false);
    await m3!.sample(0);
    await m4!.sample(0);
    m2.setRingMember(false);
    await m2.sample(0);
    expect(await me.sample(10)).toEqual([m1.peerId]);
    // A lone member (itself excluded) is told about every registered peer.
    expect((await m1.sample(10)).length).toBe(4);
    // The server restarts: registrations start as non-members and the clients say it again.
    await first.close();
    await new Promise((r) => setTimeout(r, 200));
    await server({ port: first.port });
    await waitFor(() => all.every((c) => c.state === 'registered'), 5_000, 'reconnect');
    await m1.sample(0);
    await me.sample(0);
    expect(await me.sample(10)).toEqual([m1.peerId]);
  });

  it('fails over: given [dead url, live url] it registers on the live one', async () => {
    const s = await server();
    const dead = await deadUrl();
    // float() = 0.99 keeps the given order, so the dead url really is tried first.
    const logger = recordingLogger();
    const c = client([dead, s.url], { random: fixedRandom(0.99), logger });
    await c.start();
    expect(c.url).toBe(s.url);
    expect(logger.entries.filter((e) => e.message === 'signaling server failed').map((e) => e.fields.url)).toEqual([dead]);
    expect(s.stats().registered).toBe(1);
  });

  it('fails over past a server that refuses (full) to the next', async () => {
    const full = await server({ maxConnections: 1 });
    const occupant = await RawPeer.registered(full.url);
    const live = await server();
    const c = client([full.url, live.url], { random: fixedRandom(0.99) });
    await c.start();
    expect(c.url).toBe(live.url);
    await occupant.close();
  });

  it('start() rejects with SIGNALING_UNAVAILABLE naming every url and reason when all fail', async () => {
    const dead = await deadUrl();
    const refusing = await fakeServer((socket) => {
      socket.send(JSON.stringify({ t: 'error', code: 'SIGNAL_SERVER_FULL', message: 'no room at the inn' }));
      socket.close(1013);
    });
    const silent = await fakeServer(() => {});
    const c = client([dead, refusing, silent], { connectTimeoutMs: 300 });
    const started = Date.now();
    const error = await c.start().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3 * 300 + 1_500);
    expect(isPeerSockError(error, 'SIGNALING_UNAVAILABLE')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`${dead}: `);
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).toContain(`${refusing}: SIGNAL_SERVER_FULL: no room at the inn`);
    expect(message).toContain(`${silent}: no registration within 300 ms`);
    expect(c.state).toBe('disconnected');
    // Not started: no background retries.
    await new Promise((r) => setTimeout(r, 300));
    expect(c.state).toBe('disconnected');
  });

  it('reconnects with backoff after the server restarts on the same port', async () => {
    const first = await startSignalingServer({ port: 0 });
    const a = client([first.url]);
    const b = client([first.url]);
    const states = collect<SignalingState>(a.state$);
    await Promise.all([a.start(), b.start()]);
    await first.close();
    await waitFor(() => a.state !== 'registered' && b.state !== 'registered', 2_000, 'clients to notice');
    // Stay down for a few backoff periods, then come back on the same port.
    await new Promise((r) => setTimeout(r, 300));
    const second = await server({ port: first.port });
    await waitFor(() => a.state === 'registered' && b.state === 'registered', 5_000, 'reconnect');
    expect(states.slice(0, 4)).toEqual(['idle', 'connecting', 'registered', 'disconnected']);
    expect(states.at(-1)).toBe('registered');
    const atB = collect<IncomingSignal>(b.signals$);
    await a.signal(b.peerId, { after: 'restart' });
    await waitFor(() => atB.length === 1, 2_000, 'signal after restart');
    expect(atB[0]!.from).toBe(a.peerId);
    expect(second.stats().registered).toBe(2);
  });

  it('a request the server never answers times out; one in flight when the server drops is rejected at once', async () => {
    const key = makeKey();
    const sockets: WebSocket[] = [];
    // Registers anyone who answers the challenge, then never answers a request.
    const mute = await fakeServer((socket) => {
      sockets.push(socket);
      socket.send(JSON.stringify({ t: 'challenge', nonce: 'ab'.repeat(32) }));
      socket.once('message', () => socket.send(JSON.stringify({ t: 'registered', id: key.peerId })));
    });
    const c = client([mute], { key, requestTimeoutMs: 200 });
    await c.start();
    const timeout = await c.sample(3).catch((e: unknown) => e);
    expect(isPeerSockError(timeout, 'SIGNALING_TIMEOUT')).toBe(true);

    const slow = client([mute], { key, requestTimeoutMs: 10_000 });
    await slow.start();
    const inFlight = slow.signal(makeKey().peerId, { x: 1 }).catch((e: unknown) => e);
    const started = Date.now();
    sockets.at(-1)!.terminate();
    const lost = await inFlight;
    expect(isPeerSockError(lost, 'SIGNALING_UNAVAILABLE')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ignores invalid messages from a hostile server and still delivers valid ones', async () => {
    const key = makeKey();
    const sender = makeKey().peerId;
    const url = await fakeServer((socket) => {
      socket.send(JSON.stringify({ t: 'challenge', nonce: 'cd'.repeat(32) }));
      socket.once('message', () => {
        socket.send(JSON.stringify({ t: 'registered', id: key.peerId }));
        socket.send('not json');
        socket.send(JSON.stringify({ t: 'signal', from: 'forged', data: {} }));
        socket.send(JSON.stringify({ t: 'signal', from: sender, data: 'not an object' }));
        socket.send(JSON.stringify({ t: 'error', code: 'MADE_UP', message: 'x' }));
        socket.send(Buffer.from([0xff, 0x00]), { binary: true });
        socket.send(JSON.stringify({ t: 'signal', from: sender, data: { good: true } }));
      });
    });
    const c = client([url], { key });
    const got = collect<IncomingSignal>(c.signals$);
    await c.start();
    await waitFor(() => got.length === 1, 2_000, 'the valid signal');
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([{ from: sender, data: { good: true } }]);
  });

  it('does not accept a server that confirms a different PeerId', async () => {
    const key = makeKey();
    const url = await fakeServer((socket) => {
      socket.send(JSON.stringify({ t: 'challenge', nonce: 'ef'.repeat(32) }));
      socket.once('message', () => socket.send(JSON.stringify({ t: 'registered', id: makeKey().peerId })));
    });
    const c = client([url], { key });
    const error = await c.start().catch((e: unknown) => e);
    expect(isPeerSockError(error, 'SIGNALING_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/instead of/);
  });

  it('when another connection takes over its PeerId it stops instead of fighting', async () => {
    const s = await server();
    const key = makeKey();
    const first = client([s.url], { key });
    await first.start();
    const second = client([s.url], { key });
    await second.start();
    await waitFor(() => first.state === 'disconnected', 2_000, 'first to be replaced');
    await new Promise((r) => setTimeout(r, 300));
    expect(first.state).toBe('disconnected');
    expect(second.state).toBe('registered');
    const error = await first.signal(makeKey().peerId, {}).catch((e: unknown) => e);
    expect(isPeerSockError(error, 'SIGNAL_ALREADY_REGISTERED')).toBe(true);
  });

  it('close() ends everything: state closed, no reconnect, requests refused, server sees the socket go', async () => {
    const s = await server();
    const c = client([s.url]);
    let completed = false;
    c.state$.subscribe({ complete: () => (completed = true) });
    await c.start();
    await c.close();
    await c.close();
    expect(c.state).toBe('closed');
    expect(completed).toBe(true);
    await waitFor(() => s.stats().connections === 0, 2_000, 'server to see the close');
    const error = await c.signal(makeKey().peerId, {}).catch((e: unknown) => e);
    expect(isPeerSockError(error, 'SIGNALING_UNAVAILABLE')).toBe(true);
    await expect(c.start()).rejects.toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.stats().connections).toBe(0);
  });

  it('close() during reconnect backoff cancels the retry', async () => {
    const s = await startSignalingServer({ port: 0 });
    const c = client([s.url], { backoff: { initialMs: 300, maxMs: 300, jitter: 0 } });
    await c.start();
    await s.close();
    await waitFor(() => c.state === 'disconnected', 2_000, 'disconnect');
    await c.close();
    const again = await server({ port: s.port });
    await new Promise((r) => setTimeout(r, 600));
    expect(again.stats().connections).toBe(0);
  });
});
