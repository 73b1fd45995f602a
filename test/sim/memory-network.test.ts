import { describe, expect, it } from 'vitest';
import { createMemoryNetwork, type MemoryNetwork, type MemoryNetworkOptions } from '../../sim/memory-network.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock, type VirtualClock } from '../../sim/simulated-clock.js';
import type { Link, LinkSignal, LinkTransport } from '../../src/ports/transport.js';

/** The memory transport on its own: pairing through signals, timing, backpressure, faults. */
const L = 10;
const FINGERPRINT = /^sha-256 (?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/;

interface Probe {
  link: Link;
  signals: LinkSignal[];
  events: string[];
  messages: { at: number; data: number[] }[];
}

function net(options: Partial<MemoryNetworkOptions> = {}, seed = 1) {
  const clock = createSimulatedClock();
  const network = createMemoryNetwork({ clock, random: createSeededRandom(seed), latencyMs: L, ...options });
  return { clock, network };
}

function open(transport: LinkTransport, clock: VirtualClock, initiator: boolean, threshold = 0): Probe {
  const probe: Probe = { link: undefined as unknown as Link, signals: [], events: [], messages: [] };
  probe.link = transport.createLink({
    label: initiator ? 'dialer' : 'listener',
    initiator,
    bufferedAmountLowThreshold: threshold,
    handlers: {
      onSignal: (signal) => probe.signals.push(signal),
      onOpen: () => probe.events.push(`open@${clock.now()}`),
      onMessage: (data) => probe.messages.push({ at: clock.now(), data: [...data] }),
      onClose: (reason) => probe.events.push(`close@${clock.now()}:${reason}`),
      onBufferedAmountLow: () => probe.events.push(`low@${clock.now()}:${probe.link.bufferedAmount()}`),
    },
  });
  return probe;
}

/** Hands every signal emitted so far to the other side, repeatedly, until none are left. */
function exchange(clock: VirtualClock, a: Probe, b: Probe): void {
  for (let round = 0; round < 4; round += 1) {
    clock.advance(0);
    for (const signal of a.signals.splice(0)) b.link.applySignal(signal);
    for (const signal of b.signals.splice(0)) a.link.applySignal(signal);
  }
}

function connectedPair(network: MemoryNetwork, clock: VirtualClock, threshold = 0) {
  const a = open(network.transport('a'), clock, true, threshold);
  const b = open(network.transport('b'), clock, false, threshold);
  exchange(clock, a, b);
  clock.advance(2 * L);
  expect(a.events).toEqual([`open@${2 * L}`]);
  expect(b.events).toEqual([`open@${2 * L}`]);
  return { a, b };
}

describe('memory network: pairing through signals', () => {
  it('opens both ends one round trip after the descriptions are exchanged, with WebRTC-shaped signals and fingerprints', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    expect(a.signals).toEqual([]); // descriptions come out asynchronously
    clock.advance(0);
    expect(a.signals.map((s) => s.type)).toEqual(['offer', 'candidate']);
    const offer = a.signals[0] as { sdp: string };
    expect(offer.sdp).toMatch(/^memsdp:v1:m\d+:sha-256 (?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(a.link.localFingerprint()).toMatch(FINGERPRINT);
    expect(offer.sdp.endsWith(a.link.localFingerprint()!)).toBe(true);
    expect(b.link.localFingerprint()).toBeUndefined(); // no description yet

    exchange(clock, a, b);
    expect(a.events).toEqual([]);
    clock.advance(2 * L - 1);
    expect(a.events).toEqual([]);
    clock.advance(1);
    expect([a.events, b.events]).toEqual([[`open@${2 * L}`], [`open@${2 * L}`]]);
    expect(a.link.remoteFingerprint()).toBe(b.link.localFingerprint());
    expect(b.link.remoteFingerprint()).toBe(a.link.localFingerprint());
    expect(a.link.localFingerprint()).not.toBe(b.link.localFingerprint());
    expect(network.stats()).toMatchObject({ linksCreated: 2, linksOpen: 2, connections: 1 });
  });

  it('needs a candidate: descriptions alone do not connect', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    clock.advance(0);
    b.link.applySignal(a.signals.find((s) => s.type === 'offer')!);
    clock.advance(0);
    a.link.applySignal(b.signals.find((s) => s.type === 'answer')!);
    clock.advance(10 * L);
    expect([a.events, b.events]).toEqual([[], []]);
    a.link.applySignal(b.signals.find((s) => s.type === 'candidate')!);
    clock.advance(2 * L);
    expect(a.events).toEqual([`open@${12 * L}`]);
  });

  it('holds candidates that overtake the description', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    clock.advance(0);
    const [offer, candidate] = a.signals.splice(0);
    b.link.applySignal(candidate!);
    b.link.applySignal(offer!);
    exchange(clock, a, b);
    clock.advance(2 * L);
    expect(b.events).toEqual([`open@${2 * L}`]);
  });

  it('pairs only the links that named each other: a replayed offer answered elsewhere never connects', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    const eve = open(network.transport('eve'), clock, false);
    clock.advance(0);
    for (const signal of a.signals) eve.link.applySignal(signal);
    exchange(clock, a, b);
    clock.advance(0);
    for (const signal of eve.signals.splice(0)) if (signal.type === 'candidate') a.link.applySignal(signal);
    clock.advance(100 * L);
    expect(a.events).toEqual([`open@${2 * L}`]);
    expect(eve.events).toEqual([]);
    expect(network.stats()).toMatchObject({ connections: 1, candidatesIgnored: 1 });
  });

  it('throws on malformed or out-of-place remote signals', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    clock.advance(0);
    const offer = a.signals[0]!;
    const bad: LinkSignal[] = [
      { type: 'offer', sdp: 'v=0\r\no=- 0 0 IN IP4 127.0.0.1' },
      { type: 'offer', sdp: 'memsdp:v1:m1:sha-256 AB' },
      { type: 'offer', sdp: `memsdp:v2:${(offer as { sdp: string }).sdp.slice(10)}` },
      { type: 'candidate', candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host', mid: '0' },
      { type: 'candidate', candidate: 'memcand:v1:m1', mid: 0 as unknown as string },
      { type: 'pranswer', sdp: 'x' } as unknown as LinkSignal,
      null as unknown as LinkSignal,
    ];
    for (const signal of bad) expect(() => b.link.applySignal(signal), JSON.stringify(signal)).toThrow(Error);
    expect(() => a.link.applySignal(offer)).toThrow(/offer/); // the offerer cannot take an offer
    b.link.applySignal(offer);
    expect(() => b.link.applySignal(offer)).toThrow(/stable/);
    clock.advance(0);
    const answer = b.signals.find((s) => s.type === 'answer')!;
    expect(() => b.link.applySignal(answer)).toThrow(/answer/);
    a.link.applySignal(answer);
    expect(() => a.link.applySignal(answer)).toThrow(/stable/);
  });

  it('fails the DTLS check when a relay swaps a fingerprint in a description', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    clock.advance(0);
    const forged = `sha-256 ${Array(32).fill('EE').join(':')}`;
    for (const signal of a.signals.splice(0)) {
      b.link.applySignal(signal.type === 'offer' ? { type: 'offer', sdp: signal.sdp.replace(/sha-256 .*$/, forged) } : signal);
    }
    exchange(clock, a, b);
    clock.advance(2 * L);
    expect(a.events).toEqual([expect.stringMatching(/^close@20:DTLS handshake failed/)]);
    expect(b.events).toEqual([expect.stringMatching(/^close@20:DTLS handshake failed/)]);
    expect(network.stats()).toMatchObject({ connections: 0, fingerprintMismatches: 1, linksOpen: 0 });
  });

  it('derives fingerprints and link ids from the seed alone', () => {
    const run = (seed: number) => {
      const { clock, network } = net({}, seed);
      const { a, b } = connectedPair(network, clock);
      return [a.link.localFingerprint(), b.link.localFingerprint()];
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });
});

describe('memory network: traffic', () => {
  it('delivers in order one latency later, copies what was sent, and refuses to send when not open', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    expect(() => a.link.send(new Uint8Array(1))).toThrow(/not open/);
    const b = open(network.transport('b'), clock, false);
    exchange(clock, a, b);
    clock.advance(2 * L);

    const reused = new Uint8Array([1]);
    a.link.send(reused);
    reused[0] = 2;
    a.link.send(reused);
    clock.advance(3);
    b.link.send(new Uint8Array([9]));
    a.link.send(new Uint8Array([3]));
    expect(() => a.link.send(new Uint8Array(a.link.maxMessageSize() + 1))).toThrow(/exceeds/);
    clock.advance(L);
    expect(b.messages).toEqual([
      { at: 2 * L + L, data: [1] },
      { at: 2 * L + L, data: [2] },
      { at: 2 * L + 3 + L, data: [3] },
    ]);
    expect(a.messages).toEqual([{ at: 2 * L + 3 + L, data: [9] }]);
    expect(network.stats()).toMatchObject({ messagesSent: 4, messagesDelivered: 4, messagesInFlight: 0, bytesDelivered: 4 });
    expect(network.traffic()).toEqual({ messagesSent: 4, bytesSent: 4 });
  });

  it('uses the latency of each direction', () => {
    const { clock, network } = net({ latencyMs: (from, to) => (from === 'a' && to === 'b' ? 5 : 30) });
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    exchange(clock, a, b);
    clock.advance(35);
    expect(a.events).toEqual(['open@35']);
    a.link.send(new Uint8Array([1]));
    b.link.send(new Uint8Array([2]));
    clock.advance(30);
    expect(b.messages).toEqual([{ at: 40, data: [1] }]);
    expect(a.messages).toEqual([{ at: 65, data: [2] }]);
  });

  it('counts unsent bytes in bufferedAmount and reports when they fall to the threshold', () => {
    const { clock, network } = net();
    const { a } = connectedPair(network, clock, 150);
    const at = clock.now();
    for (let i = 0; i < 3; i += 1) {
      a.link.send(new Uint8Array(100));
      clock.advance(1);
    }
    expect(a.link.bufferedAmount()).toBe(300);
    clock.advance(L - 3);
    expect(a.link.bufferedAmount()).toBe(200);
    clock.advance(1);
    expect(a.link.bufferedAmount()).toBe(100);
    clock.advance(1);
    expect(a.link.bufferedAmount()).toBe(0);
    // Once, when 200 → 100 crossed the threshold of 150; not again on 100 → 0.
    expect(a.events.slice(1)).toEqual([`low@${at + L + 1}:100`]);
  });

  it('closes: the remote hears it one latency later, after the data sent before it', () => {
    const { clock, network } = net();
    const { a, b } = connectedPair(network, clock);
    const at = clock.now();
    a.link.send(new Uint8Array([1]));
    a.link.close();
    expect(a.events.at(-1)).toBe(`close@${at}:closed locally`);
    expect(() => a.link.send(new Uint8Array([2]))).toThrow(/not open/);
    expect(a.link.bufferedAmount()).toBe(0);
    clock.advance(L - 1);
    expect(b.events).toHaveLength(1);
    clock.advance(1);
    expect(b.messages).toEqual([{ at: at + L, data: [1] }]);
    expect(b.events.at(-1)).toBe(`close@${at + L}:the remote closed the connection`);
    a.link.close();
    b.link.close();
    clock.advance(10 * L);
    expect(a.events.filter((e) => e.startsWith('close'))).toHaveLength(1);
    expect(b.events.filter((e) => e.startsWith('close'))).toHaveLength(1);
  });

  it('tells an answerer whose dialer gave up before the link opened', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    clock.advance(0);
    for (const signal of a.signals.splice(0)) b.link.applySignal(signal);
    a.link.close();
    clock.advance(L);
    expect(b.events).toEqual([`close@${L}:the remote closed the connection before it opened`]);
  });

  it('closes every link of a transport on transport.close()', async () => {
    const { clock, network } = net();
    const { a, b } = connectedPair(network, clock);
    await network.transport('a').close();
    expect(() => network.transport('a').createLink).not.toThrow();
    expect(a.events.at(-1)).toMatch(/closed locally/);
    clock.advance(L);
    expect(b.events.at(-1)).toMatch(/remote closed/);
    expect(network.stats().linksOpen).toBe(0);
  });
});

describe('memory network: faults', () => {
  it('holds traffic across a partition, keeps it buffered, and delivers it in order after heal', () => {
    const { clock, network } = net();
    const { a, b } = connectedPair(network, clock);
    network.partition('b', 'a');
    expect(network.isPartitioned('a', 'b')).toBe(true);
    a.link.send(new Uint8Array([1]));
    a.link.send(new Uint8Array([2]));
    b.link.send(new Uint8Array([3]));
    clock.advance(1_000);
    expect([a.messages, b.messages]).toEqual([[], []]);
    expect(a.link.bufferedAmount()).toBe(2);
    expect(network.stats()).toMatchObject({ messagesInFlight: 3, partitionedPairs: 1 });
    const healedAt = clock.now();
    network.heal('a', 'b');
    clock.advance(L);
    expect(b.messages).toEqual([
      { at: healedAt + L, data: [1] },
      { at: healedAt + L, data: [2] },
    ]);
    expect(a.messages).toEqual([{ at: healedAt + L, data: [3] }]);
    expect(a.link.bufferedAmount()).toBe(0);
  });

  it('defers a handshake caught in a partition until heal', () => {
    const { clock, network } = net();
    const a = open(network.transport('a'), clock, true);
    const b = open(network.transport('b'), clock, false);
    network.partition('a', 'b');
    exchange(clock, a, b);
    clock.advance(1_000);
    expect(a.events).toEqual([]);
    network.healAll();
    clock.advance(2 * L);
    expect([a.events, b.events]).toEqual([[`open@${1_000 + 2 * L}`], [`open@${1_000 + 2 * L}`]]);
  });

  it('silences a crashed node both ways, with no close callbacks on either side', () => {
    const { clock, network } = net();
    const { a, b } = connectedPair(network, clock);
    a.link.send(new Uint8Array([1])); // in flight at the crash: never arrives
    network.crash('b');
    expect(network.isCrashed('b')).toBe(true);
    b.link.send(new Uint8Array([2])); // a vanished node's leftovers go nowhere, quietly
    a.link.send(new Uint8Array([3]));
    b.link.close();
    clock.advance(100 * L);
    expect(b.messages).toEqual([]);
    expect(a.messages).toEqual([]);
    expect(a.events).toEqual([`open@${2 * L}`]);
    expect(b.events).toEqual([`open@${2 * L}`]);
    // Nothing is acknowledged by a vanished peer: the survivor's bytes stay buffered.
    expect(a.link.bufferedAmount()).toBe(2);
    expect(network.stats()).toMatchObject({ crashedNodes: 1, messagesDelivered: 0, messagesDropped: 1, messagesInFlight: 2 });
    // The survivor closes on its own schedule and nothing comes back.
    a.link.close();
    clock.advance(10 * L);
    expect(a.events).toEqual([`open@${2 * L}`, `close@${2 * L + 100 * L}:closed locally`]);
    expect(network.stats()).toMatchObject({ messagesDropped: 3, messagesInFlight: 0, linksOpen: 0 });
  });

  it('surfaces a throwing handler without stopping delivery', () => {
    const errors: string[] = [];
    const { clock, network } = net({ onHandlerError: (error, where) => errors.push(`${where}: ${(error as Error).message}`) });
    const a = open(network.transport('a'), clock, true);
    const received: number[] = [];
    const b = network.transport('b').createLink({
      label: 'b',
      initiator: false,
      bufferedAmountLowThreshold: 0,
      handlers: {
        onSignal: (signal) => a.link.applySignal(signal),
        onOpen: () => undefined,
        onMessage: (data) => {
          received.push(data[0]!);
          if (data[0] === 1) throw new Error('boom');
        },
        onClose: () => undefined,
        onBufferedAmountLow: () => undefined,
      },
    });
    clock.advance(0);
    for (const signal of a.signals.splice(0)) b.applySignal(signal);
    clock.advance(2 * L);
    a.link.send(new Uint8Array([1]));
    a.link.send(new Uint8Array([2]));
    clock.advance(L);
    expect(received).toEqual([1, 2]);
    expect(errors).toEqual(['onMessage: boom']);
  });
});
