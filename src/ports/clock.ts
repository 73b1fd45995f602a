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
  /**
   * Runs `callback` on the next turn, after pending I/O (setImmediate in production).
   * Optional: without it, `setTimeout(callback, 0)` on this clock is used.
   */
  defer?(callback: () => void): void;
}

export function deferOn(clock: Clock): (callback: () => void) => void {
  return clock.defer ? (callback) => clock.defer!(callback) : (callback) => void clock.setTimeout(callback, 0);
}

/** Wall clock for production: monotonic `performance.now()` and real timers. */
export function createSystemClock(): Clock {
  return {
    now: () => performance.now(),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    defer: (callback) => void setImmediate(callback),
  };
}
