import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_RESTART_POLICY,
  backoffDelay,
  decideRestart,
  validateRestartPolicy,
} from '../../src/supervisor/restart-policy.js';
import type { RestartPolicy } from '../../src/supervisor/restart-policy.js';
import { isPeerSockError } from '../../src/errors.js';

const policy: RestartPolicy = { maxRestarts: 3, windowMs: 1_000, backoffBaseMs: 10, backoffMaxMs: 50 };

describe('decideRestart', () => {
  it('restarts a first failure after the base delay and records it', () => {
    expect(decideRestart([], 500, policy)).toEqual({ action: 'restart', delayMs: 10, recentRestarts: [500] });
  });

  it('doubles the delay per restart in the window, capped at the max', () => {
    expect(decideRestart([100], 200, policy)).toEqual({ action: 'restart', delayMs: 20, recentRestarts: [100, 200] });
    expect(decideRestart([100, 150], 200, policy)).toEqual({
      action: 'restart',
      delayMs: 40,
      recentRestarts: [100, 150, 200],
    });
    const wide = { ...policy, maxRestarts: 10 };
    expect(decideRestart([1, 2, 3, 4], 5, wide)).toMatchObject({ action: 'restart', delayMs: 50 });
  });

  it('escalates when the window already holds maxRestarts restarts', () => {
    expect(decideRestart([100, 150, 199], 200, policy)).toEqual({
      action: 'escalate',
      recentRestarts: [100, 150, 199],
    });
  });

  it('forgets restarts that are windowMs old or older', () => {
    // 0 is exactly windowMs before 1000: outside the half-open window (now - windowMs, now].
    expect(decideRestart([0, 500, 600], 1_000, policy)).toEqual({
      action: 'restart',
      delayMs: 40,
      recentRestarts: [500, 600, 1_000],
    });
    expect(decideRestart([0, 1, 2], 5_000, policy)).toEqual({
      action: 'restart',
      delayMs: 10,
      recentRestarts: [5_000],
    });
  });

  it('escalates every failure when maxRestarts is 0', () => {
    expect(decideRestart([], 0, { ...policy, maxRestarts: 0 })).toEqual({ action: 'escalate', recentRestarts: [] });
  });

  it('does not mutate the history it is given', () => {
    const history = Object.freeze([100, 150]);
    decideRestart(history, 200, policy);
    expect(history).toEqual([100, 150]);
  });
});

describe('backoffDelay', () => {
  it('is 0 with a zero base and the max when 2^n overflows', () => {
    expect(backoffDelay(3, { ...policy, backoffBaseMs: 0 })).toBe(0);
    expect(backoffDelay(5_000, policy)).toBe(50);
    expect(backoffDelay(5_000, { ...policy, backoffBaseMs: 0 })).toBe(0);
  });
});

describe('validateRestartPolicy', () => {
  it('accepts the default policy', () => {
    expect(() => validateRestartPolicy(DEFAULT_RESTART_POLICY)).not.toThrow();
  });

  it.each<[string, Partial<RestartPolicy>]>([
    ['negative maxRestarts', { maxRestarts: -1 }],
    ['fractional maxRestarts', { maxRestarts: 1.5 }],
    ['zero window', { windowMs: 0 }],
    ['infinite window', { windowMs: Infinity }],
    ['negative base', { backoffBaseMs: -1 }],
    ['max below base', { backoffBaseMs: 100, backoffMaxMs: 99 }],
    ['NaN max', { backoffMaxMs: Number.NaN }],
  ])('rejects %s with INVALID_ARGUMENT', (_name, patch) => {
    let caught: unknown;
    try {
      validateRestartPolicy({ ...policy, ...patch });
    } catch (error) {
      caught = error;
    }
    expect(isPeerSockError(caught, 'INVALID_ARGUMENT')).toBe(true);
  });
});

const policyArb: fc.Arbitrary<RestartPolicy> = fc
  .record({
    maxRestarts: fc.integer({ min: 0, max: 8 }),
    windowMs: fc.integer({ min: 1, max: 10_000 }),
    backoffBaseMs: fc.integer({ min: 0, max: 1_000 }),
    extraMaxMs: fc.integer({ min: 0, max: 20_000 }),
  })
  .map(({ extraMaxMs, ...rest }) => ({ ...rest, backoffMaxMs: rest.backoffBaseMs + extraMaxMs }));

interface Restart {
  at: number;
  delayMs: number;
  /** History the decision counted, including this restart. */
  counted: number[];
}

/** Feeds failures at the given gaps through the policy, as a supervisor would. */
function simulate(policy: RestartPolicy, gaps: readonly number[]): { restarts: Restart[]; maxHistory: number } {
  let history: number[] = [];
  let now = 0;
  let maxHistory = 0;
  const restarts: Restart[] = [];
  for (const gap of gaps) {
    now += gap;
    const decision = decideRestart(history, now, policy);
    history = decision.recentRestarts;
    maxHistory = Math.max(maxHistory, history.length);
    if (decision.action === 'restart') restarts.push({ at: now, delayMs: decision.delayMs, counted: history });
  }
  return { restarts, maxHistory };
}

const gapsArb = fc.array(fc.integer({ min: 0, max: 12_000 }), { minLength: 1, maxLength: 80 });

describe('restart policy properties', () => {
  it('never allows more than maxRestarts restarts within any window of windowMs', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        const { restarts, maxHistory } = simulate(policy, gaps);
        expect(maxHistory).toBeLessThanOrEqual(policy.maxRestarts);
        // Any half-open window [a, a + windowMs) holding restarts holds as many as the
        // window starting at its first restart, so checking those windows suffices.
        for (const first of restarts) {
          const inWindow = restarts.filter((r) => r.at >= first.at && r.at < first.at + policy.windowMs);
          expect(inWindow.length).toBeLessThanOrEqual(policy.maxRestarts);
        }
      }),
    );
  });

  it('keeps backoff within [min(base, max), max] and non-decreasing while the window only grows', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        const { restarts } = simulate(policy, gaps);
        for (const r of restarts) {
          expect(r.delayMs).toBeLessThanOrEqual(policy.backoffMaxMs);
          expect(r.delayMs).toBeGreaterThanOrEqual(Math.min(policy.backoffBaseMs, policy.backoffMaxMs));
          expect(r.delayMs).toBe(backoffDelay(r.counted.length - 1, policy));
        }
        for (let i = 1; i < restarts.length; i++) {
          const prev = restarts[i - 1]!;
          const next = restarts[i]!;
          const oldestCounted = prev.counted[0]!;
          if (next.at - oldestCounted < policy.windowMs) {
            // Nothing counted for `prev` has left the window: the burst continues.
            expect(next.delayMs).toBeGreaterThanOrEqual(prev.delayMs);
          }
        }
      }),
    );
  });

  it('starts again from the base delay after a quiet window', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        fc.pre(policy.maxRestarts > 0);
        const spaced = gaps.map((gap) => gap + policy.windowMs);
        const { restarts } = simulate(policy, spaced);
        expect(restarts).toHaveLength(spaced.length);
        for (const r of restarts) expect(r.delayMs).toBe(Math.min(policy.backoffBaseMs, policy.backoffMaxMs));
      }),
    );
  });
});
