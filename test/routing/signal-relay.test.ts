import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { SignalEnvelope } from '../../src/actors/transport/signal-envelope.js';
import { parseSignalEnvelope } from '../../src/actors/transport/signal-envelope.js';
import { PeerSockError } from '../../src/errors.js';
import { generateIdentity } from '../../src/identity/identity.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { HINT_TTL_MS, createSignalRelay, decodeSignal, encodeSignal, type SignalRelayOptions } from '../../src/node/signal-relay.js';
import type { SignalingPort } from '../../src/node/signaling-port.js';
import { silentLogger } from '../../src/ports/logger.js';
import { settledCode } from '../helpers/error-code.js';

const peer = generateIdentity().peerId;
let time = 0;
const offer = (cid: string): SignalEnvelope => ({ cid, signal: { type: 'offer', sdp: 'v=0' } });
const candidate = (cid: string, n: number): SignalEnvelope => ({ cid, signal: { type: 'candidate', candidate: `c${n}`, mid: '0' } });

function fakeServer(fail = false): SignalingPort & { sent: SignalEnvelope[] } {
  const sent: SignalEnvelope[] = [];
  return {
    sent,
    signal: async (_to, data) => {
      if (fail) throw new PeerSockError('SIGNALING_UNAVAILABLE', 'down');
      sent.push(data as SignalEnvelope);
    },
    sample: async () => [],
    signals$: new Subject<{ from: PeerId; data: unknown }>(),
    close: async () => undefined,
  };
}

/** An overlay whose sends are settled by the test: `dispatch` order is what the router saw. */
function fakeOverlay() {
  const dispatched: SignalEnvelope[] = [];
  const acks: { resolve(): void; reject(error: Error): void }[] = [];
  const route: NonNullable<SignalRelayOptions['overlay']> = async (_to, bytes, after) => {
    await after;
    dispatched.push(decodeSignal(bytes) as SignalEnvelope);
    const acked = new Promise<void>((resolve, reject) => acks.push({ resolve, reject }));
    return { acked };
  };
  return { route, dispatched, acks };
}

describe('signal relay: which way a WebRTC signal goes', () => {
  it('an attempt we start goes through the overlay once the ring is formed, through a server before', async () => {
    const server = fakeServer();
    const overlay = fakeOverlay();
    let ready = false;
    const relay = createSignalRelay({ server, overlay: overlay.route, overlayReady: () => ready, logger: silentLogger, now: () => time });
    await relay.send(peer, offer('0000000000000001'));
    expect(server.sent.map((e) => e.cid)).toEqual(['0000000000000001']);
    ready = true;
    const sent = relay.send(peer, offer('0000000000000002'));
    await new Promise((resolve) => setImmediate(resolve));
    overlay.acks[0]!.resolve();
    await sent;
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['0000000000000002']);
    expect(relay.stats()).toMatchObject({ overlaySent: 1, serverSent: 1 });
  });

  it('a reply goes back the way the attempt reached us, whatever our own state', async () => {
    const server = fakeServer();
    const overlay = fakeOverlay();
    const relay = createSignalRelay({ server, overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    relay.received('server', offer('00000000000000aa'));
    await relay.send(peer, candidate('00000000000000aa', 1));
    expect(server.sent).toHaveLength(1);
    expect(overlay.dispatched).toHaveLength(0);

    const notReady = createSignalRelay({ server, overlay: overlay.route, overlayReady: () => false, logger: silentLogger, now: () => time });
    notReady.received('overlay', offer('00000000000000bb'));
    void notReady.send(peer, candidate('00000000000000bb', 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['00000000000000bb']);
  });

  it('a failed overlay send is retried once through a server; without one the failure reaches the caller', async () => {
    const server = fakeServer();
    const overlay = fakeOverlay();
    const relay = createSignalRelay({ server, overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    const sent = relay.send(peer, offer('0000000000000003'));
    await new Promise((resolve) => setImmediate(resolve));
    overlay.acks[0]!.reject(new PeerSockError('UNREACHABLE', 'no route'));
    await sent;
    expect(server.sent.map((e) => e.cid)).toEqual(['0000000000000003']);
    expect(relay.stats().fellBack).toBe(1);
    // The rest of that attempt follows the server path.
    await relay.send(peer, candidate('0000000000000003', 1));
    expect(server.sent).toHaveLength(2);

    const alone = createSignalRelay({ overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    const lonely = settledCode(alone.send(peer, offer('0000000000000004')));
    await new Promise((resolve) => setImmediate(resolve));
    overlay.acks[1]!.reject(new PeerSockError('UNREACHABLE', 'no route'));
    expect(await lonely).toBe('UNREACHABLE');
  });

  it('a discovery attempt (preferServer) goes through a server once; later attempts to the peer follow the rule again', async () => {
    const server = fakeServer();
    const overlay = fakeOverlay();
    const relay = createSignalRelay({ server, overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    relay.preferServer(peer);
    await relay.send(peer, offer('0000000000000030'));
    await relay.send(peer, candidate('0000000000000030', 1));
    expect(server.sent.map((e) => e.cid)).toEqual(['0000000000000030', '0000000000000030']);
    void relay.send(peer, offer('0000000000000031'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['0000000000000031']);
    // A hint lasts HINT_TTL_MS: one the manager never used does not steer a later attempt.
    relay.preferServer(peer);
    time += HINT_TTL_MS + 1;
    void relay.send(peer, offer('0000000000000033'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['0000000000000031', '0000000000000033']);
    overlay.dispatched.splice(1);
    // Without a server the hint changes nothing.
    const serverless = createSignalRelay({ overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    serverless.preferServer(peer);
    void serverless.send(peer, offer('0000000000000032'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['0000000000000031', '0000000000000032']);
  });

  it("mode 'fallback' (a ring alone): through a server while it answers, through the overlay when it does not", async () => {
    const overlay = fakeOverlay();
    const up = fakeServer();
    const relay = createSignalRelay({ server: up, overlay: overlay.route, overlayReady: () => true, mode: 'fallback', logger: silentLogger, now: () => time });
    await relay.send(peer, offer('0000000000000040'));
    expect(up.sent.map((e) => e.cid)).toEqual(['0000000000000040']);
    expect(overlay.dispatched).toEqual([]);

    const down = fakeServer(true);
    const relayDown = createSignalRelay({ server: down, overlay: overlay.route, overlayReady: () => true, mode: 'fallback', logger: silentLogger, now: () => time });
    const sent = relayDown.send(peer, offer('0000000000000041'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['0000000000000041']);
    overlay.acks[0]!.resolve();
    await sent;
    expect(relayDown.stats()).toMatchObject({ serverSent: 1, overlaySent: 1, fellBack: 1 });
    // The rest of the attempt goes straight through the overlay.
    void relayDown.send(peer, candidate('0000000000000041', 1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['0000000000000041', '0000000000000041']);
    expect(relayDown.stats().serverSent).toBe(1);
  });

  it('a server that answers "unknown peer" is not second-guessed through the overlay', async () => {
    const overlay = fakeOverlay();
    const server = fakeServer();
    server.signal = async () => {
      throw new PeerSockError('SIGNAL_UNKNOWN_PEER', 'no peer by that id is registered here');
    };
    const relay = createSignalRelay({ server, overlay: overlay.route, overlayReady: () => true, mode: 'fallback', logger: silentLogger, now: () => time });
    expect(await settledCode(relay.send(peer, offer('0000000000000070')))).toBe('SIGNAL_UNKNOWN_PEER');
    expect(overlay.dispatched).toEqual([]);
  });

  it('a routed signal without an ack (TIMEOUT, fate unknown) does not fail the attempt when there is no other way', async () => {
    const overlay = fakeOverlay();
    const relay = createSignalRelay({ overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    const sent = settledCode(relay.send(peer, offer('0000000000000050')));
    await new Promise((resolve) => setImmediate(resolve));
    overlay.acks[0]!.reject(new PeerSockError('TIMEOUT', 'no ack'));
    expect(await sent).toBe('resolved');
  });

  it('an unacknowledged routed signal whose retry through a (stopped) server fails too still does not fail the attempt', async () => {
    const overlay = fakeOverlay();
    const relay = createSignalRelay({ server: fakeServer(true), overlay: overlay.route, overlayReady: () => true, mode: 'first', logger: silentLogger, now: () => time });
    const sent = settledCode(relay.send(peer, offer('0000000000000060')));
    await new Promise((resolve) => setImmediate(resolve));
    overlay.acks[0]!.reject(new PeerSockError('TIMEOUT', 'no ack'));
    expect(await sent).toBe('resolved');
    // A definite failure (no route) followed by a failed server still fails it.
    const definite = settledCode(relay.send(peer, offer('0000000000000061')));
    await new Promise((resolve) => setImmediate(resolve));
    overlay.acks[1]!.reject(new PeerSockError('UNREACHABLE', 'no route'));
    expect(await definite).toBe('SIGNALING_UNAVAILABLE');
  });

  it('when both ways fail, the error names both causes, the first one first', async () => {
    const rejection = async (promise: Promise<unknown>): Promise<PeerSockError> => {
      try {
        await promise;
      } catch (error) {
        if (error instanceof PeerSockError) return error;
        throw error;
      }
      throw new Error('expected the send to fail');
    };
    const failingServer = (error: PeerSockError) => {
      const server = fakeServer();
      server.signal = async () => {
        throw error;
      };
      return server;
    };
    const notRegistered = new PeerSockError('SIGNALING_UNAVAILABLE', 'not registered with a signaling server (state: closed)');
    const noRoute = new PeerSockError('UNREACHABLE', 'no route');

    // Overlay first: no route; the retry through the server finds it unregistered.
    const overlay = fakeOverlay();
    const relay = createSignalRelay({ server: failingServer(notRegistered), overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    const sent = rejection(relay.send(peer, offer('0000000000000080')));
    await new Promise((resolve) => setImmediate(resolve));
    overlay.acks[0]!.reject(noRoute);
    const both = await sent;
    expect(both.code).toBe('SIGNALING_UNAVAILABLE');
    expect(both.message).toMatch(/overlay.*no route.*UNREACHABLE.*server.*not registered with a signaling server/s);
    expect(both.cause).toBeInstanceOf(AggregateError);
    expect((both.cause as AggregateError).errors).toEqual([noRoute, notRegistered]);

    // Server first ('fallback'): it is down; the retry through the overlay finds no route.
    const overlayLater = fakeOverlay();
    const fallback = createSignalRelay({ server: failingServer(notRegistered), overlay: overlayLater.route, overlayReady: () => true, mode: 'fallback', logger: silentLogger, now: () => time });
    const sentLater = rejection(fallback.send(peer, offer('0000000000000081')));
    await new Promise((resolve) => setTimeout(resolve, 5));
    overlayLater.acks[0]!.reject(noRoute);
    const bothLater = await sentLater;
    expect(bothLater.code).toBe('SIGNALING_UNAVAILABLE');
    expect(bothLater.message).toMatch(/server.*not registered with a signaling server.*overlay.*no route/s);

    // A server's answer about the peer keeps its code: nobody by that id is registered.
    const unknown = new PeerSockError('SIGNAL_UNKNOWN_PEER', 'no peer by that id is registered here');
    const overlayGone = fakeOverlay();
    const gone = createSignalRelay({ server: failingServer(unknown), overlay: overlayGone.route, overlayReady: () => true, logger: silentLogger, now: () => time });
    const sentGone = rejection(gone.send(peer, offer('0000000000000082')));
    await new Promise((resolve) => setImmediate(resolve));
    overlayGone.acks[0]!.reject(noRoute);
    const answer = await sentGone;
    expect(answer.code).toBe('SIGNAL_UNKNOWN_PEER');
    expect(answer.message).toMatch(/no route.*no peer by that id is registered here/s);
  });

  it('with neither a server nor an overlay, signals are refused with SIGNALING_UNAVAILABLE', async () => {
    const relay = createSignalRelay({ overlayReady: () => true, logger: silentLogger, now: () => time });
    expect(await settledCode(relay.send(peer, offer('0000000000000005')))).toBe('SIGNALING_UNAVAILABLE');
  });

  it('keeps the order of one target\'s signals although their sends run concurrently', async () => {
    const overlay = fakeOverlay();
    let releaseFirst!: () => void;
    const slowFirst: NonNullable<SignalRelayOptions['overlay']> = async (to, bytes, after) => {
      // The first send's sealing is slow: the second must still reach the router after it.
      if (overlay.dispatched.length === 0 && releaseFirst === undefined) await new Promise<void>((resolve) => (releaseFirst = resolve));
      return overlay.route(to, bytes, after);
    };
    const relay = createSignalRelay({ overlay: slowFirst, overlayReady: () => true, logger: silentLogger, now: () => time });
    void relay.send(peer, offer('0000000000000006'));
    void relay.send(peer, candidate('0000000000000006', 1));
    void relay.send(peer, candidate('0000000000000006', 2));
    await new Promise((resolve) => setImmediate(resolve));
    expect(overlay.dispatched).toHaveLength(0);
    releaseFirst();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(overlay.dispatched.map((e) => ('signal' in e ? e.signal.type : 'reject'))).toEqual(['offer', 'candidate', 'candidate']);
    expect(overlay.dispatched.map((e) => ('signal' in e && e.signal.type === 'candidate' ? e.signal.candidate : ''))).toEqual(['', 'c1', 'c2']);
  });

  it('remembers the path of a bounded number of attempts', async () => {
    const server = fakeServer();
    const overlay = fakeOverlay();
    const relay = createSignalRelay({ server, overlay: overlay.route, overlayReady: () => true, logger: silentLogger, now: () => time, maxRemembered: 2 });
    relay.received('server', offer('0000000000000010'));
    relay.received('server', offer('0000000000000011'));
    relay.received('server', offer('0000000000000012'));
    // The oldest was forgotten: its reply follows the default rule (overlay, the ring is formed).
    void relay.send(peer, candidate('0000000000000010', 1));
    await relay.send(peer, candidate('0000000000000012', 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.sent.map((e) => e.cid)).toEqual(['0000000000000012']);
    expect(overlay.dispatched.map((e) => e.cid)).toEqual(['0000000000000010']);
  });

  it('encodes an envelope as routed bytes and back; garbage decodes to nothing a parser accepts', () => {
    const envelope = candidate('0000000000000020', 7);
    expect(parseSignalEnvelope(decodeSignal(encodeSignal(envelope)))).toEqual(envelope);
    expect(decodeSignal(new Uint8Array([0xff, 0xfe, 0x00]))).toBeUndefined();
    expect(parseSignalEnvelope(decodeSignal(new TextEncoder().encode('{"cid":1}')))).toBeUndefined();
  });
});
