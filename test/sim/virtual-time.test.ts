import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { advance, stuckGuard } from '../../sim/drive.js';
import { createSeededRandom, deriveSeed } from '../../sim/seeded-random.js';
import { createSimulatedClock } from '../../sim/simulated-clock.js';

describe('createSeededRandom (sfc32)', () => {
  it('repeats its stream for a seed and differs between seeds and derived streams', () => {
    const draw = (seed: number) => {
      const random = createSeededRandom(seed);
      return [random.float(), random.float(), ...random.bytes(7)];
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw(deriveSeed(1, 1))).not.toEqual(draw(deriveSeed(1, 2)));
    expect(deriveSeed(1, 1)).toBe(deriveSeed(1, 1));
  });

  it('gives floats in [0, 1) and bytes of the asked length, roughly uniform', () => {
    const random = createSeededRandom(99);
    let sum = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const x = random.float();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.01);
    const counts = new Array<number>(256).fill(0);
    const bytes = random.bytes(256 * 400 + 3);
    expect(bytes.length).toBe(256 * 400 + 3);
    for (const byte of bytes) counts[byte]! += 1;
    // Every value appears, none wildly more than its share of 400.
    expect(Math.min(...counts)).toBeGreaterThan(300);
    expect(Math.max(...counts)).toBeLessThan(500);
  });
});

describe('createSimulatedClock (XState SimulatedClock as the Clock port)', () => {
  it('arms the underlying clock once per instant, however many timers its callbacks set', () => {
    const clock = createSimulatedClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      order.push('a');
      clock.setTimeout(() => order.push('now'), 0);
      clock.setTimeout(() => order.push('later'), 5);
    }, 10);
    clock.setTimeout(() => order.push('b'), 10);
    const armed: number[] = [];
    const underlying = clock.simulated.setTimeout.bind(clock.simulated);
    clock.simulated.setTimeout = (callback, ms) => {
      armed.push(clock.now() + ms);
      return underlying(callback, ms);
    };
    clock.advance(10);
    // Only the final re-arm, for the timer at 15: none for the instant being run.
    expect(armed).toEqual([15]);
    clock.advance(5);
    expect(order).toEqual(['a', 'b', 'now', 'later']);
  });

  it('runs each timer at its own instant, including timers set by timers, when jumping ahead', () => {
    const clock = createSimulatedClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`a2@${clock.now()}`), 15);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 5);
    clock.clearTimeout(cancelled);
    expect(clock.nextDeadline()).toBe(10);
    expect(clock.pendingTimers()).toBe(2);
    clock.advance(100);
    expect(fired).toEqual(['a@10', 'b@20', 'a2@25']);
    expect(clock.now()).toBe(100);
    expect(clock.nextDeadline()).toBeUndefined();
    expect(() => clock.advanceTo(50)).toThrow(RangeError);
  });

  it('fires timers with fractional delays exactly at their deadline (float rounding must not strand them)', () => {
    // (start + delay) - start rounds below delay for these: SimulatedClock's own test
    // (`now - start >= timeout`) would never fire them at their deadline.
    const start = 696.2343395067313;
    const delays = [0.03, 0.13, 0.43000000000000005, 0.53];
    for (const delay of delays) expect(start + delay - start).toBeLessThan(delay);
    for (const delay of delays) {
      const clock = createSimulatedClock();
      clock.advanceTo(start);
      let fired = false;
      clock.setTimeout(() => {
        fired = true;
      }, delay);
      expect(clock.nextDeadline()).toBe(start + delay);
      clock.simulated.set(start + delay);
      expect(fired).toBe(true);
      expect(clock.pendingTimers()).toBe(0);
    }
  });

  it('rethrows a failing timer callback without freezing virtual time', () => {
    const clock = createSimulatedClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    clock.setTimeout(() => fired.push(clock.now()), 20);
    expect(() => clock.advance(15)).toThrow('boom');
    clock.advance(10);
    expect(fired).toEqual([20]);
  });

  it('with a resolution, rounds deadlines up to it, never early, and fires shared deadlines in the order set', () => {
    const clock = createSimulatedClock(undefined, { resolutionMs: 1 });
    expect(clock.resolutionMs).toBe(1);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 10.7);
    clock.setTimeout(() => fired.push(`early@${clock.now()}`), 10.2);
    clock.setTimeout(() => fired.push(`exact@${clock.now()}`), 12);
    expect(clock.nextDeadline()).toBe(11);
    clock.advance(10.9);
    expect(fired).toEqual([]);
    clock.advance(5);
    // 10.2 and 10.7 share the deadline 11: creation order, not exact-time order.
    expect(fired).toEqual(['late@11', 'early@11', 'exact@12']);
    expect(clock.firedTimers()).toBe(3);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createSimulatedClock(undefined, { resolutionMs: bad })).toThrow(RangeError);
    }
  });

  it('drops cancelled timers once they outnumber the live ones, and still fires the rest in order', () => {
    const clock = createSimulatedClock();
    const fired: number[] = [];
    const handles = [];
    for (let i = 0; i < 10_000; i += 1) handles.push(clock.setTimeout(() => fired.push(i), 60_000 + (i % 97)));
    // Cancel all but every 1,000th: long timeouts cancelled early, as connections come and go.
    handles.forEach((handle, i) => {
      if (i % 1_000 !== 0) clock.clearTimeout(handle);
    });
    expect(clock.pendingTimers()).toBe(10);
    expect(clock.storedTimers()).toBeLessThanOrEqual(10 + 1_024 + 1);
    expect(clock.storedTimers()).toBeGreaterThanOrEqual(10);
    clock.clearTimeout(handles[1]!); // cancelling twice changes nothing
    expect(clock.pendingTimers()).toBe(10);
    clock.advance(70_000);
    const expected = [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000].sort((a, b) => (a % 97) - (b % 97) || a - b);
    expect(fired).toEqual(expected);
    expect(clock.storedTimers()).toBe(0);
  });

  it('a timer whose cancellations rebuild the timers mid-instant still runs the rest of its instant, then the others, in order', () => {
    for (const cancelRestOfInstant of [false, true]) {
      const clock = createSimulatedClock(undefined, { resolutionMs: 10 });
      const fired: string[] = [];
      const far = Array.from({ length: 3_000 }, (_, i) => clock.setTimeout(() => fired.push(`far${i}`), 100_000 + i * 10));
      const later: unknown[] = [];
      clock.setTimeout(() => {
        fired.push('a');
        for (const handle of later) clock.clearTimeout(handle);
        // Enough cancellations to rebuild the buckets while this instant is running.
        for (const handle of far.slice(0, 2_990)) clock.clearTimeout(handle);
        expect(clock.storedTimers()).toBeGreaterThanOrEqual(clock.pendingTimers());
        // Set after the rebuild for this very instant: runs in it, after what was set before.
        clock.setTimeout(() => fired.push('a2'), 0);
      }, 5);
      later.push(clock.setTimeout(() => fired.push('b'), 5));
      if (cancelRestOfInstant) later.push(clock.setTimeout(() => fired.push('c'), 5));
      else clock.setTimeout(() => fired.push('c'), 5);
      clock.setTimeout(() => fired.push('d'), 25);
      clock.advance(200_000);
      const farLeft = Array.from({ length: 10 }, (_, i) => `far${2_990 + i}`);
      expect(fired).toEqual([...(cancelRestOfInstant ? ['a', 'a2'] : ['a', 'c', 'a2']), 'd', ...farLeft]);
      expect(clock.pendingTimers()).toBe(0);
      expect(clock.storedTimers()).toBe(0);
    }
  });

  it('keeps its count of held timers exact when a callback sets a timer after its instant ran dry', () => {
    const clock = createSimulatedClock();
    const fired: string[] = [];
    // The first runs the instant's last live timer and sets one: the re-arm looks for the next
    // deadline and drops the exhausted instant, whose cancelled timer must be counted once.
    clock.setTimeout(() => {
      fired.push('a');
      clock.setTimeout(() => fired.push('later'), 50);
      clock.setTimeout(() => fired.push('same instant'), 0);
    }, 10);
    clock.clearTimeout(clock.setTimeout(() => fired.push('cancelled'), 10));
    clock.advance(10);
    expect(fired).toEqual(['a', 'same instant']);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.storedTimers()).toBe(1);
    clock.advance(50);
    expect(fired).toEqual(['a', 'same instant', 'later']);
    expect(clock.storedTimers()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('cancels only its own timers', () => {
    const one = createSimulatedClock();
    const other = createSimulatedClock();
    const fired: string[] = [];
    const handle = one.setTimeout(() => fired.push('one'), 5);
    other.setTimeout(() => fired.push('other'), 5);
    other.clearTimeout(handle);
    expect(other.pendingTimers()).toBe(1);
    one.advance(5);
    other.advance(5);
    expect(fired).toEqual(['one', 'other']);
  });

  it('counts fired timers, not cancelled ones', () => {
    const clock = createSimulatedClock();
    clock.setTimeout(() => undefined, 1);
    clock.clearTimeout(clock.setTimeout(() => undefined, 2));
    clock.advance(10);
    expect(clock.firedTimers()).toBe(1);
    expect(clock.resolutionMs).toBe(0);
  });

  it("drives XState's `after` delays on virtual time", async () => {
    const clock = createSimulatedClock();
    const machine = createMachine({
      initial: 'waiting',
      states: { waiting: { after: { 1_500: 'late' } }, late: { after: { 250: 'done' } }, done: { type: 'final' } },
    });
    const seen: string[] = [];
    const actor = createActor(machine, { clock });
    actor.subscribe((snapshot) => seen.push(`${String(snapshot.value)}@${clock.now()}`));
    actor.start();
    await advance(clock, 10_000);
    expect(seen).toEqual(['waiting@0', 'late@1500', 'done@1750']);
  });
});

describe('stuck-time guard', () => {
  it('throws only when steps pile up at one instant, however many steps move time forward', () => {
    let now = 0;
    const guard = stuckGuard({ now: () => now }, 10);
    for (let i = 0; i < 1_000; i += 1) {
      now += 1;
      guard();
    }
    for (let i = 0; i < 10; i += 1) guard();
    expect(() => guard()).toThrow(/stuck at 1000 ms/);
  });
});
