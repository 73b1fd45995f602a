import { PeerSockError } from '../errors.js';

/**
 * How often a supervised child may fail before its supervisor gives up: at most
 * `maxRestarts` restarts within any `windowMs` span, each restart delayed by an
 * exponential backoff so a crash loop cannot spin the event loop.
 */
export interface RestartPolicy {
  maxRestarts: number;
  windowMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = Object.freeze({
  maxRestarts: 5,
  windowMs: 30_000,
  backoffBaseMs: 100,
  backoffMaxMs: 5_000,
});

export type RestartDecision =
  | { action: 'restart'; delayMs: number; recentRestarts: number[] }
  | { action: 'escalate'; recentRestarts: number[] };

/** Throws INVALID_ARGUMENT for a policy that would make `decideRestart` meaningless. */
export function validateRestartPolicy(policy: RestartPolicy): void {
  const { maxRestarts, windowMs, backoffBaseMs, backoffMaxMs } = policy;
  if (!Number.isSafeInteger(maxRestarts) || maxRestarts < 0) {
    throw new PeerSockError('INVALID_ARGUMENT', `maxRestarts must be a non-negative integer, got ${maxRestarts}`);
  }
  if (!Number.isFinite(windowMs) || windowMs <= 0) {
    throw new PeerSockError('INVALID_ARGUMENT', `windowMs must be a positive finite number, got ${windowMs}`);
  }
  if (!Number.isFinite(backoffBaseMs) || backoffBaseMs < 0) {
    throw new PeerSockError('INVALID_ARGUMENT', `backoffBaseMs must be a non-negative finite number, got ${backoffBaseMs}`);
  }
  if (!Number.isFinite(backoffMaxMs) || backoffMaxMs < backoffBaseMs) {
    throw new PeerSockError('INVALID_ARGUMENT', `backoffMaxMs must be finite and >= backoffBaseMs, got ${backoffMaxMs}`);
  }
}

/** Backoff for the next restart when `countInWindow` restarts already happened in the window. */
export function backoffDelay(countInWindow: number, policy: RestartPolicy): number {
  if (policy.backoffBaseMs === 0) return 0;
  // 2 ** n overflows to Infinity for large n; the cap handles it without NaN since base > 0.
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** countInWindow);
}

/**
 * Decide what to do about a child that just failed at time `now`.
 *
 * `recentRestarts` are the times of earlier restarts (as returned by the previous
 * decision). Restarts at or older than `now - windowMs` no longer count. If the
 * window already holds `maxRestarts` restarts the failure is escalated; otherwise
 * the child restarts after `min(backoffMaxMs, backoffBaseMs * 2^countInWindow)`.
 * The returned history never holds more than `maxRestarts` entries, so keeping it
 * per child is bounded.
 */
export function decideRestart(
  recentRestarts: readonly number[],
  now: number,
  policy: RestartPolicy,
): RestartDecision {
  const inWindow = recentRestarts.filter((at) => now - at < policy.windowMs);
  if (inWindow.length >= policy.maxRestarts) {
    return { action: 'escalate', recentRestarts: inWindow };
  }
  return {
    action: 'restart',
    delayMs: backoffDelay(inWindow.length, policy),
    recentRestarts: [...inWindow, now],
  };
}
