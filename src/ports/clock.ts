/**
 * The one clock of a node's actor tree. XState's scheduler uses the same object
 * (`createActor(root, { clock })`), so `after` delays, retries and heartbeats all
 * run on virtual time in the simulator and on wall time in production.
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on this clock's timeline (monotonic, not the Unix epoch). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Wall clock for production: monotonic `performance.now()` and real timers. */
export function createSystemClock(): Clock {
  return {
    now: () => performance.now(),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}
