/**
 * A node that leaves some links unwatched notices their failure late; the memory of unreachable peers must
 * last at least that long, or peers that have not noticed yet report the crashed id back into
 * the lists of those that have (ringConfigFor).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RING_CONFIG, ringConfigFor } from '../../src/actors/ring/ring-config.js';
import { DEFAULT_CONNECTION_CONFIG, unwatchedTimeoutMs } from '../../src/actors/transport/connection-config.js';

describe('ringConfigFor', () => {
  const FACTOR_4 = { ...DEFAULT_CONNECTION_CONFIG, unwatchedHeartbeatFactor: 4 };

  it('raises the memory of unreachable peers to the unwatched links\' detection time (timeout + one tick), not that of other failures', () => {
    const ring = ringConfigFor(DEFAULT_RING_CONFIG, FACTOR_4);
    expect(unwatchedTimeoutMs(FACTOR_4)).toBe(30_000);
    expect(ring.unreachableMemoryMs).toBe(35_000);
    expect(ring.failedMemoryMs).toBe(DEFAULT_RING_CONFIG.failedMemoryMs);
    expect({ ...ring, unreachableMemoryMs: DEFAULT_RING_CONFIG.unreachableMemoryMs }).toEqual(DEFAULT_RING_CONFIG);
  });

  it('leaves a longer memory, and a node that watches every link, as configured', () => {
    const long = { ...DEFAULT_RING_CONFIG, unreachableMemoryMs: 120_000 };
    expect(ringConfigFor(long, FACTOR_4)).toBe(long);
    expect(ringConfigFor(DEFAULT_RING_CONFIG, undefined)).toBe(DEFAULT_RING_CONFIG);
  });
});
