import type { Random } from '../ports/random.js';

export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of the delay that is randomised: 0 = none, 1 = anywhere in [0, delay]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.5 };

/**
 * Exponential backoff with jitter for retry number `attempt` (0-based). The jitter spreads
 * reconnecting clients out so a restarted server is not hit by all of them at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: Random): number {
  const exponent = Math.max(0, Math.min(attempt, 64));
  const base = Math.min(options.maxMs, options.initialMs * options.factor ** exponent);
  const jitter = Math.min(1, Math.max(0, options.jitter));
  return Math.round(base * (1 - jitter * random.float()));
}
