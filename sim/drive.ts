import type { VirtualClock } from './simulated-clock.js';

/**
 * Drives virtual time when some steps are promise-based (signatures resolve on
 * microtasks, not on the clock): between two clock steps, let every pending promise
 * chain run to completion.
 */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i += 1) {
    await Promise.resolve();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Guards against a timer that keeps re-arming at the same instant. */
const MAX_STEPS = 1_000_000;

/** Advances the clock by `ms`, timer by timer, settling promises after each step. */
export async function advance(clock: VirtualClock, ms: number): Promise<void> {
  await advanceTo(clock, clock.now() + ms);
}

export async function advanceTo(clock: VirtualClock, time: number): Promise<void> {
  await settle();
  for (let steps = 0; ; steps += 1) {
    if (steps > MAX_STEPS) throw new Error(`virtual time is stuck at ${clock.now()} ms (a timer re-arms itself forever?)`);
    const next = clock.nextDeadline();
    if (next === undefined || next > time) break;
    clock.advanceTo(next);
    await settle();
  }
  if (time > clock.now()) clock.advanceTo(time);
  await settle();
}

/**
 * Steps until `done()` holds (checked after every step) or `maxMs` of virtual time
 * passed. Returns whether it held; the clock stops at the step that made it true.
 */
export async function runUntil(clock: VirtualClock, done: () => boolean, maxMs: number): Promise<boolean> {
  const limit = clock.now() + maxMs;
  await settle();
  for (let steps = 0; !done(); steps += 1) {
    if (steps > MAX_STEPS) throw new Error(`virtual time is stuck at ${clock.now()} ms`);
    const next = clock.nextDeadline();
    if (next === undefined || next > limit) {
      if (limit > clock.now()) clock.advanceTo(limit);
      await settle();
      return done();
    }
    clock.advanceTo(next);
    await settle();
  }
  return true;
}
