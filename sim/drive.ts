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

/**
 * Between two clock steps one turn is enough: a macrotask runs only once the microtask queue
 * is empty, so every promise chain the step started (signatures, sends) has run by then. The
 * three turns of settle() cost ~3 µs of CPU per step, and a 10,000-node run takes tens of
 * millions of steps; they stay at the edges of a run of steps.
 */
const settleStep = (): Promise<void> => settle(1);

/**
 * Guards against a timer that keeps re-arming at the same instant: this many steps without
 * virtual time moving. (A cap on all steps was a false alarm at scale: 5,000 nodes fire
 * over a million timers in a 20-s window of perfectly healthy virtual time.)
 */
const MAX_STEPS_AT_ONE_INSTANT = 200_000;

/** Counts steps that leave virtual time where it was; throws past the cap. */
export function stuckGuard(clock: Pick<VirtualClock, 'now'>, cap = MAX_STEPS_AT_ONE_INSTANT): () => void {
  let instant = clock.now();
  let steps = 0;
  return () => {
    const now = clock.now();
    if (now !== instant) {
      instant = now;
      steps = 0;
      return;
    }
    steps += 1;
    if (steps > cap) throw new Error(`virtual time is stuck at ${now} ms (a timer re-arms itself forever?)`);
  };
}

/** Advances the clock by `ms`, timer by timer, settling promises after each step. */
export async function advance(clock: VirtualClock, ms: number): Promise<void> {
  await advanceTo(clock, clock.now() + ms);
}

export async function advanceTo(clock: VirtualClock, time: number): Promise<void> {
  await settle();
  const guard = stuckGuard(clock);
  for (;;) {
    const next = clock.nextDeadline();
    if (next === undefined || next > time) break;
    clock.advanceTo(next);
    guard();
    await settleStep();
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
  const guard = stuckGuard(clock);
  while (!done()) {
    const next = clock.nextDeadline();
    if (next === undefined || next > limit) {
      if (limit > clock.now()) clock.advanceTo(limit);
      await settle();
      return done();
    }
    clock.advanceTo(next);
    guard();
    await settleStep();
  }
  return true;
}
