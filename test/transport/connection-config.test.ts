/**
 * The connection config is checked before any node starts: a setting that would stall or
 * misbehave is refused with INVALID_ARGUMENT naming it.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_CONFIG, MAX_TIMER_MS, validateConnectionConfig } from '../../src/actors/transport/connection-config.js';
import { isPeerSockError } from '../../src/errors.js';

const TIMEOUT_KEYS = [
  'signalingTimeoutMs',
  'connectTimeoutMs',
  'authTimeoutMs',
  'closeTimeoutMs',
  'watchAnswerTimeoutMs',
  'retryBaseMs',
  'sendTimeoutMs',
] as const;

function refusal(patch: Partial<typeof DEFAULT_CONNECTION_CONFIG>): string | undefined {
  try {
    validateConnectionConfig({ ...DEFAULT_CONNECTION_CONFIG, ...patch });
    return undefined;
  } catch (error) {
    expect(isPeerSockError(error, 'INVALID_ARGUMENT')).toBe(true);
    return (error as Error).message;
  }
}

describe('validateConnectionConfig', () => {
  it('accepts the defaults', () => {
    expect(refusal({})).toBeUndefined();
  });

  it.each(TIMEOUT_KEYS)('refuses %s of zero, below zero, not a number, or past what a Node timer keeps', (key) => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, MAX_TIMER_MS + 1]) {
      expect(refusal({ [key]: bad }), `${key} = ${bad}`).toContain(key);
    }
    expect(refusal({ [key]: MAX_TIMER_MS })).toBeUndefined();
  });

  it('refuses heartbeat timeouts past what a Node timer keeps too', () => {
    expect(refusal({ heartbeatIntervalMs: 5_000, heartbeatTimeoutMs: MAX_TIMER_MS + 1 })).toContain('heartbeatTimeoutMs');
    expect(refusal({ heartbeatIntervalMs: MAX_TIMER_MS + 1, heartbeatTimeoutMs: MAX_TIMER_MS + 2 })).toContain('heartbeatIntervalMs');
  });
});
