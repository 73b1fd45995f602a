import { describe, expect, it } from 'vitest';
import { createLatencyModel } from '../../sim/latency-model.js';
import { createMemoryNetwork, type MemoryNetwork } from '../../sim/memory-network.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock, type VirtualClock } from '../../sim/simulated-clock.js';
import type { Link, LinkSignal, LinkTransport } from '../../src/ports/transport.js';

describe('latency model', () => {
  const names = Array.from({ length: 200 }, (_, i) => `node-${i}`);

  it('places nodes by seed and name alone, uniformly over the plane', () => {
    const clock = createSimulatedClock();
    const one = createLatencyModel({ seed: 5, clock });
    const again = createLatencyModel({ seed: 5, clock });
    const other = createLatencyModel({ seed: 6, clock });
    // Asked in a different order: same places.
    const forward = names.map((n) => one.position(n));
    const backward = [...names].reverse().map((n) => again.position(n)).reverse();
    expect(backward).toEqual(forward);
    expect(names.map((n) => other.position(n))).not.toEqual(forward);
    const xs = forward.map((p) => p.x);
    const ys = forward.map((p) => p.y);
    expect(Math.min(...xs, ...ys)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs, ...ys)).toBeLessThan(1);
    // Each half of the plane holds roughly half of 200 uniform points.
    expect(xs.filter((x) => x < 0.5).length).toBeGreaterThan(70);
    expect(xs.filter((x) => x < 0.5).length).toBeLessThan(130);
  });

  it('latency is base + distance × scale: symmetric, within [base, max], growing with distance', () => {
    const model = createLatencyModel({ seed: 1, clock: createSimulatedClock(), baseMs: 5, maxMs: 150 });
    const pairs = names.slice(0, 40).flatMap((a) => names.slice(0, 40).map((b) => [a, b] as const));
    for (const [a, b] of pairs) {
      const ms = model.latency(a, b);
      expect(ms).toBe(model.latency(b, a));
      expect(ms).toBeGreaterThanOrEqual(5);
      expect(ms).toBeLessThanOrEqual(150);
      const pa = model.position(a);
      const pb = model.position(b);
      expect(ms).toBeCloseTo(5 + Math.hypot(pa.x - pb.x, pa.y - pb.y) * (145 / Math.SQRT2), 9);
    }
    const spread = pairs.map(([a, b]) => model.latency(a, b));
    expect(Math.max(...spread) - Math.min(...spread)).toBeGreaterThan(80);
  });

  it('jitter adds at most jitterMs; a spike multiplies until its end', async () => {
    const clock = createSimulatedClock();
    const model = createLatencyModel({ seed: 1, clock, jitterMs: 10 });
    const base = model.baseLatency('a', 'b');
    const samples = Array.from({ length: 100 }, () => model.latency('a', 'b') - base);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(10);
    expect(new Set(samples).size).toBeGreaterThan(50);

    model.spike(4, 1_000);
    model.spike(2, 3_000);
    expect(model.spikeFactor()).toBe(4);
    expect(model.latency('a', 'b')).toBeGreaterThanOrEqual(base * 4);
    clock.advanceTo(1_000);
    expect(model.spikeFactor()).toBe(2);
    clock.advanceTo(3_000);
    expect(model.spikeFactor()).toBe(1);
    expect(model.latency('a', 'b')).toBeLessThan(base + 10);
    expect(() => model.spike(0.5, 5_000)).toThrow(RangeError);
  });

  it('between(a, b) gives, call for call, what latency(a, b) gives: jitter draws and spikes included', () => {
    const clockA = createSimulatedClock();
    const clockB = createSimulatedClock();
    const byCall = createLatencyModel({ seed: 9, clock: clockA, jitterMs: 7 });
    const byPair = createLatencyModel({ seed: 9, clock: clockB, jitterMs: 7 });
    const pairs = [['a', 'b'], ['b', 'a'], ['c', 'd']] as const;
    const delays = pairs.map(([from, to]) => byPair.between(from, to));
    const seen: number[] = [];
    for (let step = 0; step < 60; step += 1) {
      if (step === 20) for (const model of [byCall, byPair]) model.spike(3, 500);
      if (step === 40) for (const clock of [clockA, clockB]) clock.advanceTo(600);
      const i = step % pairs.length;
      const expected = byCall.latency(pairs[i]![0], pairs[i]![1]);
      expect(delays[i]!()).toBe(expected);
      seen.push(expected);
    }
    // Jitter and the spike both showed: the values are not a handful of constants.
    expect(new Set(seen).size).toBeGreaterThan(50);
  });
});

interface Probe {
  link: Link;
  signals: LinkSignal[];
  received: { at: number; seq: number }[];
}

function probe(transport: LinkTransport, clock: VirtualClock, initiator: boolean): Probe {
  const p: Probe = { link: undefined as unknown as Link, signals: [], received: [] };
  p.link = transport.createLink({
    label: 'x',
    initiator,
    bufferedAmountLowThreshold: 0,
    handlers: {
      onSignal: (s) => p.signals.push(s),
      onOpen: () => undefined,
      onMessage: (data) => p.received.push({ at: clock.now(), seq: data[0]! }),
      onClose: () => undefined,
      onBufferedAmountLow: () => undefined,
    },
  });
  return p;
}

function connect(network: MemoryNetwork, clock: VirtualClock, a: string, b: string): [Probe, Probe] {
  const pa = probe(network.transport(a), clock, true);
  const pb = probe(network.transport(b), clock, false);
  for (let round = 0; round < 4; round += 1) {
    clock.advance(0);
    for (const s of pa.signals.splice(0)) pb.link.applySignal(s);
    for (const s of pb.signals.splice(0)) pa.link.applySignal(s);
  }
  clock.advance(400);
  return [pa, pb];
}

describe('memory network: jitter, loss as retransmission delay, group partitions', () => {
  it('jittered latency never reorders a link', () => {
    const clock = createSimulatedClock();
    const model = createLatencyModel({ seed: 3, clock, jitterMs: 40 });
    const network = createMemoryNetwork({ clock, random: createSeededRandom(1), latencyMs: (f, t) => model.latency(f, t) });
    const [a, b] = connect(network, clock, 'a', 'b');
    for (let i = 0; i < 200; i += 1) {
      a.link.send(new Uint8Array([i]));
      clock.advance(1);
    }
    clock.advance(1_000);
    expect(b.received.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const times = b.received.map((r) => r.at);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    // Jitter did something: gaps differ although the sends were evenly spaced.
    expect(new Set(times.slice(1).map((t, i) => Math.round(t - times[i]!))).size).toBeGreaterThan(3);
  });

  it('a lost message arrives one retransmission timeout late and holds back what follows it', () => {
    const clock = createSimulatedClock();
    const network = createMemoryNetwork({ clock, random: createSeededRandom(1), latencyMs: 10, loss: 0.05, retransmitMs: 200 });
    const [a, b] = connect(network, clock, 'a', 'b');
    const sentAt: number[] = [];
    for (let i = 0; i < 250; i += 1) {
      sentAt.push(clock.now());
      a.link.send(new Uint8Array([i]));
      clock.advance(20);
    }
    clock.advance(1_000);
    const retransmitted = network.stats().messagesRetransmitted;
    // 5% of 250, give or take the seeded draws.
    expect(retransmitted).toBeGreaterThan(4);
    expect(retransmitted).toBeLessThan(30);
    expect(b.received.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    const delays = b.received.map((r, i) => r.at - sentAt[i]!);
    expect(delays.filter((d) => d === 210)).toHaveLength(retransmitted);
    // Head-of-line blocking: the message after a lost one (sent 20 ms later) waits for it.
    const lost = delays.flatMap((d, i) => (d === 210 && i + 1 < delays.length ? [i] : []));
    for (const i of lost) expect(delays[i + 1]).toBeGreaterThanOrEqual(190);
    expect(lost.some((i) => delays[i + 1] === 190)).toBe(true);
    expect(Math.min(...delays)).toBe(10);
  });

  it('a network given the delay per pair delivers at the same instants as one asking per message', () => {
    const arrivals = (perPair: boolean) => {
      const clock = createSimulatedClock();
      const model = createLatencyModel({ seed: 4, clock, jitterMs: 30 });
      const network = createMemoryNetwork({
        clock,
        random: createSeededRandom(1),
        latencyMs: (from, to) => model.latency(from, to),
        ...(perPair ? { pairLatencyMs: (from: string, to: string) => model.between(from, to) } : {}),
      });
      const [a, b] = connect(network, clock, 'a', 'b');
      for (let seq = 0; seq < 40; seq += 1) {
        (seq % 2 === 0 ? a : b).link.send(new Uint8Array([seq]));
        if (seq === 20) model.spike(5, clock.now() + 50);
        clock.advance(3);
      }
      clock.advance(2_000);
      return [a.received, b.received];
    };
    const perMessage = arrivals(false);
    expect(perMessage.flat()).toHaveLength(40);
    expect(arrivals(true)).toEqual(perMessage);
  });

  it('without loss the random stream is untouched (lossless runs are unchanged)', () => {
    const run = (loss: number | undefined) => {
      const clock = createSimulatedClock();
      const network = createMemoryNetwork({ clock, random: createSeededRandom(9), latencyMs: 10, ...(loss === undefined ? {} : { loss }) });
      const [a, b] = connect(network, clock, 'a', 'b');
      for (let i = 0; i < 20; i += 1) a.link.send(new Uint8Array([i]));
      clock.advance(500);
      return { fingerprint: a.link.localFingerprint(), next: probe(network.transport('c'), clock, true).link, times: b.received.map((r) => r.at) };
    };
    const plain = run(undefined);
    const zero = run(0);
    expect(zero.times).toEqual(plain.times);
    expectSameNextDraw(plain.next, zero.next);
  });

  it('setLoss rejects probabilities outside [0, 1]', () => {
    const network = createMemoryNetwork({ clock: createSimulatedClock(), random: createSeededRandom(1) });
    expect(() => network.setLoss(1.5)).toThrow(RangeError);
    expect(() => network.setLoss(-0.1)).toThrow(RangeError);
    expect(() => network.setLoss(Number.NaN)).toThrow(RangeError);
  });

  it('partitionGroups holds traffic between groups only, and healAll delivers it', () => {
    const clock = createSimulatedClock();
    const network = createMemoryNetwork({ clock, random: createSeededRandom(1), latencyMs: 10 });
    const [ab, ba] = connect(network, clock, 'a', 'b');
    const [ac, ca] = connect(network, clock, 'a', 'c');
    network.partitionGroups([['a', 'c'], ['b']]);
    expect(network.isPartitioned('a', 'b')).toBe(true);
    expect(network.isPartitioned('a', 'c')).toBe(false);
    expect(network.isPartitioned('a', 'z')).toBe(false); // in no group: reaches everyone
    ab.link.send(new Uint8Array([1]));
    ac.link.send(new Uint8Array([2]));
    clock.advance(500);
    expect(ba.received).toEqual([]);
    expect(ca.received.map((r) => r.seq)).toEqual([2]);
    network.setGroup('z', 1);
    expect(network.isPartitioned('a', 'z')).toBe(true);
    network.healAll();
    expect(network.isPartitioned('a', 'b')).toBe(false);
    clock.advance(10);
    expect(ba.received.map((r) => r.seq)).toEqual([1]);
  });

  it('a new split resumes pairs it reunites', () => {
    const clock = createSimulatedClock();
    const network = createMemoryNetwork({ clock, random: createSeededRandom(1), latencyMs: 10 });
    const [ab, ba] = connect(network, clock, 'a', 'b');
    network.partitionGroups([['a'], ['b', 'c']]);
    ab.link.send(new Uint8Array([7]));
    clock.advance(100);
    expect(ba.received).toEqual([]);
    network.partitionGroups([['a', 'b'], ['c']]);
    clock.advance(10);
    expect(ba.received.map((r) => r.seq)).toEqual([7]);
  });
});

/** Both runs drew the same number of values: the next fingerprints agree. */
function expectSameNextDraw(a: Link, b: Link): void {
  expect(a.localFingerprint()).toBeDefined();
  expect(a.localFingerprint()).toBe(b.localFingerprint());
}
