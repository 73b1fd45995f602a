import { describe, expect, it } from 'vitest';
import { advance } from '../../sim/drive.js';
import { createMemorySignalingHub } from '../../sim/memory-signaling.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock } from '../../sim/simulated-clock.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { compareClockwise, positionHex } from '../../src/actors/ring/id-space.js';

const id = (n: number) => n.toString(16).padStart(64, '0') as PeerId;

function hub(options: { seed?: number; reachable?: (from: PeerId, to: PeerId) => boolean } = {}) {
  const clock = createSimulatedClock();
  const signaling = createMemorySignalingHub({
    clock,
    random: createSeededRandom(options.seed ?? 1),
    latencyMs: 25,
    ...(options.reachable ? { reachable: options.reachable } : {}),
  });
  return { clock, signaling };
}

/** Settles a promise's outcome into a plain value the test can look at. */
function track<T>(promise: Promise<T>) {
  const outcome: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(outcome, { value, done: true }),
    (error: unknown) => Object.assign(outcome, { error, done: true }),
  );
  return outcome;
}

describe('memory signaling hub', () => {
  it('relays a copy of the data to the target after the latency, in order, and resolves the sender then', async () => {
    const { clock, signaling } = hub();
    const a = signaling.port(id(1));
    const b = signaling.port(id(2));
    const received: { at: number; from: PeerId; data: unknown }[] = [];
    b.signals$.subscribe((signal) => received.push({ at: clock.now(), ...signal }));
    const payload = { type: 'offer', n: 1 };
    const sent = track(a.signal(id(2), payload));
    for (let n = 2; n <= 5; n += 1) void a.signal(id(2), { n });
    payload.n = 99; // the hub took a copy
    await advance(clock, 24);
    expect(received).toEqual([]);
    expect(sent.done).toBe(false);
    await advance(clock, 1);
    expect(received.map((r) => [r.at, r.from, (r.data as { n: number }).n])).toEqual([1, 2, 3, 4, 5].map((n) => [25, id(1), n]));
    expect(sent).toMatchObject({ done: true, value: undefined });
    expect(received[0]!.data).toEqual({ type: 'offer', n: 1 });
  });

  it('rejects a signal to an unregistered peer with SIGNAL_UNKNOWN_PEER', async () => {
    const { clock, signaling } = hub();
    const a = signaling.port(id(1));
    const toStranger = track(a.signal(id(9), { x: 1 }));
    const toSelf = track(a.signal(id(1), { x: 1 }));
    await advance(clock, 25);
    expect(toStranger.error).toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER' });
    expect(toSelf.error).toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER' });
  });

  it('loses signals to a peer that unregisters before they arrive, and forgets it', async () => {
    const { clock, signaling } = hub();
    const a = signaling.port(id(1));
    const b = signaling.port(id(2));
    const received: unknown[] = [];
    b.signals$.subscribe({ next: (signal) => received.push(signal), complete: () => received.push('complete') });
    void a.signal(id(2), { x: 1 });
    signaling.unregister(id(2));
    await advance(clock, 30);
    expect(received).toEqual(['complete']);
    expect(signaling.isRegistered(id(2))).toBe(false);
    const late = track(a.signal(id(2), { x: 2 }));
    await advance(clock, 30);
    expect(late.error).toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER' });
    expect(signaling.stats()).toMatchObject({ signalsLost: 1, signalsRejected: 1 });
  });

  it('samples up to n other registered peers, deterministically for a seed, never the caller', async () => {
    const draw = async (seed: number) => {
      const { clock, signaling } = hub({ seed });
      for (let n = 1; n <= 20; n += 1) signaling.port(id(n));
      const sample = track(signaling.port(id(1)).sample(5));
      const all = track(signaling.port(id(1)).sample(100));
      await advance(clock, 25);
      return { sample: sample.value!, all: all.value! };
    };
    const first = await draw(1);
    expect(first.sample).toHaveLength(5);
    expect(new Set(first.sample).size).toBe(5);
    expect(first.sample).not.toContain(id(1));
    expect([...first.all].sort()).toEqual(Array.from({ length: 19 }, (_, i) => id(i + 2)));
    expect((await draw(1)).sample).toEqual(first.sample);
    expect((await draw(2)).sample).not.toEqual(first.sample);
  });

  it('samples ring members first, as the server does: any registered peers while no other member is in reach', async () => {
    const unreachable = new Set([id(9)]);
    const { clock, signaling } = hub({ seed: 3, reachable: (_from, to) => !unreachable.has(to) });
    const ports = Array.from({ length: 10 }, (_, i) => signaling.port(id(i + 1)));
    const sample = async (n: number) => {
      const drawn = track(ports[n - 1]!.sample(20));
      await advance(clock, 25);
      return new Set(drawn.value!);
    };
    expect((await sample(1)).size).toBe(8);
    ports[1]!.setRingMember!(true);
    ports[2]!.setRingMember!(true);
    ports[8]!.setRingMember!(true);
    expect(await sample(1)).toEqual(new Set([id(2), id(3)]));
    signaling.unregister(id(2));
    expect(await sample(1)).toEqual(new Set([id(3)]));
    // The only other member left is out of reach: anyone registered and reachable.
    ports[2]!.setRingMember!(false);
    expect(await sample(1)).toEqual(new Set([id(3), id(4), id(5), id(6), id(7), id(8), id(10)]));
    // A new registration under a former member's id starts as a non-member.
    const again = signaling.port(id(2));
    expect((await sample(1)).has(id(2))).toBe(true);
    expect((await sample(1)).size).toBe(8);
    again.setRingMember!(true);
    expect(await sample(1)).toEqual(new Set([id(2)]));
  });

  it('samples with `near` name the reachable members nearest before the asker first, as the server does', async () => {
    const unreachable = new Set<PeerId>();
    const { clock, signaling } = hub({ seed: 5, reachable: (_from, to) => !unreachable.has(to) });
    const ports = Array.from({ length: 12 }, (_, i) => signaling.port(id(i + 1)));
    for (const port of ports.slice(1, 11)) port.setRingMember!(true);
    const self = positionHex(id(1));
    const nearestFirst = Array.from({ length: 10 }, (_, i) => id(i + 2)).sort((a, b) => compareClockwise(self, positionHex(b), positionHex(a)));
    const sample = async (n: number, near: number) => {
      const drawn = track(ports[0]!.sample(n, { near }));
      await advance(clock, 25);
      return drawn.value!;
    };
    const got = await sample(6, 3);
    expect(got.slice(0, 3)).toEqual(nearestFirst.slice(0, 3));
    expect(new Set(got).size).toBe(6);
    // The rest are members at random: never the non-member id(12).
    expect(got).not.toContain(id(12));
    // Unreachable and departed members are passed over.
    unreachable.add(nearestFirst[0]!);
    ports[Number.parseInt(nearestFirst[1]!, 16) - 1]!.setRingMember!(false);
    expect((await sample(2, 2))).toEqual([nearestFirst[2], nearestFirst[3]]);
    // Without `near`, as before: random members.
    expect(await sample(10, 0)).toHaveLength(8);
  });

  it('samples only registered, reachable peers after registrations come and go, each about equally often', async () => {
    const unreachable = new Set([id(3), id(4)]);
    const { clock, signaling } = hub({ seed: 7, reachable: (_from, to) => !unreachable.has(to) });
    const ports = Array.from({ length: 30 }, (_, i) => signaling.port(id(i + 1)));
    signaling.unregister(id(5));
    await ports[5]!.close(); // id(6)
    signaling.port(id(31));
    const counts = new Map<PeerId, number>();
    const draws = Array.from({ length: 400 }, () => track(ports[0]!.sample(4)));
    const everyone = track(ports[0]!.sample(1_000));
    await advance(clock, 25);
    const eligible = [2, ...Array.from({ length: 24 }, (_, i) => i + 7), 31].map(id);
    expect([...everyone.value!].sort()).toEqual([...eligible].sort());
    for (const draw of draws) {
      expect(new Set(draw.value!).size).toBe(4);
      for (const peer of draw.value!) counts.set(peer, (counts.get(peer) ?? 0) + 1);
    }
    expect([...counts.keys()].every((peer) => eligible.includes(peer))).toBe(true);
    // 1,600 picks over 26 peers: ~61.5 each; a biased draw (e.g. toward the array's ends) shows.
    for (const peer of eligible) expect(counts.get(peer) ?? 0).toBeGreaterThan(30);
    for (const peer of eligible) expect(counts.get(peer) ?? 0).toBeLessThan(100);
  });

  it('after shutdown every call rejects with SIGNALING_UNAVAILABLE and signals in flight are lost; restore brings it back', async () => {
    const { clock, signaling } = hub();
    const a = signaling.port(id(1));
    const b = signaling.port(id(2));
    const received: unknown[] = [];
    b.signals$.subscribe((signal) => received.push(signal.data));
    void a.signal(id(2), { before: true });
    signaling.shutdown();
    expect(signaling.available).toBe(false);
    await expect(a.signal(id(2), { during: true })).rejects.toMatchObject({ code: 'SIGNALING_UNAVAILABLE' });
    await expect(a.sample(3)).rejects.toMatchObject({ code: 'SIGNALING_UNAVAILABLE' });
    await advance(clock, 50);
    expect(received).toEqual([]);
    signaling.restore();
    void a.signal(id(2), { after: true });
    await advance(clock, 25);
    expect(received).toEqual([{ after: true }]);
  });

  it('a partition hides peers on the other side from relay and sample', async () => {
    const side = (peer: PeerId) => (peer === id(1) || peer === id(2) ? 0 : 1);
    const { clock, signaling } = hub({ reachable: (from, to) => side(from) === side(to) });
    for (let n = 1; n <= 4; n += 1) signaling.port(id(n));
    const across = track(signaling.port(id(1)).signal(id(3), {}));
    const sample = track(signaling.port(id(1)).sample(10));
    await advance(clock, 25);
    expect(across.error).toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER' });
    expect(sample.value).toEqual([id(2)]);
  });

  it('a closed port stops receiving and cannot send', async () => {
    const { clock, signaling } = hub();
    const a = signaling.port(id(1));
    const b = signaling.port(id(2));
    await b.close();
    expect(signaling.isRegistered(id(2))).toBe(false);
    const toClosed = track(a.signal(id(2), {}));
    await advance(clock, 25);
    expect(toClosed.error).toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER' });
    await expect(b.signal(id(1), {})).rejects.toMatchObject({ code: 'SIGNAL_NOT_REGISTERED' });
  });
});
