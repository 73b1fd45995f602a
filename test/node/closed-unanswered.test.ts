/**
 * Which closed connections tell the ring that a peer could not be reached (it may have crashed:
 * kept out of lists for RingConfig.unreachableMemoryMs) rather than that it answered — refused,
 * closed the link, or left (kept out for failedMemoryMs only); and which the DHT takes for a
 * failure.
 */
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { closedByFailure, closedByFailureForDht, closedUnanswered } from '../../src/node/node-runtime.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const peer = 'a'.repeat(64) as PeerId;
const closed = (code: ErrorCode | undefined, extra: { left?: true; byeUnanswered?: true } = {}) => ({
  type: 'peer.closed' as const,
  peer,
  wasOpen: true,
  ...(code === undefined ? {} : { failure: { code, message: code } }),
  ...extra,
});

describe('closedUnanswered', () => {
  it('holds for silence and timeouts, and for a server that no longer knows the peer', () => {
    for (const code of ['HEARTBEAT_TIMEOUT', 'CONNECT_TIMEOUT', 'SIGNALING_TIMEOUT', 'AUTH_TIMEOUT', 'SIGNAL_UNKNOWN_PEER'] as const) {
      expect(closedUnanswered(closed(code)), code).toBe(true);
    }
  });

  it('does not hold for refusals, closed links, leaves or graceful closes', () => {
    for (const code of ['CONNECTION_LIMIT', 'CONNECTION_REJECTED', 'PUZZLE_UNSOLVED', 'LINK_CLOSED', 'LINK_FAILED', 'CONNECT_ABANDONED'] as const) {
      expect(closedUnanswered(closed(code)), code).toBe(false);
    }
    expect(closedUnanswered(closed('HEARTBEAT_TIMEOUT', { left: true }))).toBe(false);
    expect(closedUnanswered(closed(undefined))).toBe(false);
  });
});

describe('closedByFailureForDht', () => {
  it('holds for failures, leaves, and a goodbye of ours the peer never answered', () => {
    expect(closedByFailureForDht(closed('HEARTBEAT_TIMEOUT'))).toBe(true);
    expect(closedByFailureForDht(closed(undefined, { left: true }))).toBe(true);
    expect(closedByFailureForDht(closed(undefined, { byeUnanswered: true }))).toBe(true);
  });

  it('does not hold for a close the peer answered, or an attempt it abandoned', () => {
    expect(closedByFailureForDht(closed(undefined))).toBe(false);
    expect(closedByFailureForDht(closed('CONNECT_ABANDONED'))).toBe(false);
  });

  it('leaves the ring\'s reading alone: an unanswered goodbye is no failure there', () => {
    expect(closedByFailure(closed(undefined, { byeUnanswered: true }))).toBe(false);
    expect(closedUnanswered(closed(undefined, { byeUnanswered: true }))).toBe(false);
  });
});
