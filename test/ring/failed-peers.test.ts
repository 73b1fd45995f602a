import { describe, expect, it } from 'vitest';
import { FAILED_PEERS_CAP, NO_FAILED_PEERS, forgetFailed, recentlyFailed, rememberFailed } from '../../src/actors/ring/failed-peers.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const id = (n: number) => n.toString(16).padStart(64, '0') as PeerId;

describe('recently failed peers', () => {
  it('remembers a failure for the configured time only', () => {
    const failed = rememberFailed(NO_FAILED_PEERS, id(1), 1_000, 500);
    expect(recentlyFailed(failed, id(1), 1_499)).toBe(true);
    expect(recentlyFailed(failed, id(1), 1_500)).toBe(false);
    expect(recentlyFailed(failed, id(2), 1_000)).toBe(false);
  });

  it('forgets a peer that turned out to be alive, and leaves the input untouched', () => {
    const failed = rememberFailed(NO_FAILED_PEERS, id(1), 0, 500);
    const cleared = forgetFailed(failed, id(1));
    expect(recentlyFailed(cleared, id(1), 1)).toBe(false);
    expect(recentlyFailed(failed, id(1), 1)).toBe(true);
    expect(forgetFailed(cleared, id(1))).toBe(cleared);
  });

  it('drops expired entries and caps the map, oldest first', () => {
    let failed = NO_FAILED_PEERS;
    for (let i = 0; i < FAILED_PEERS_CAP + 10; i += 1) failed = rememberFailed(failed, id(i), i, 1_000_000);
    expect(failed.size).toBe(FAILED_PEERS_CAP);
    expect(recentlyFailed(failed, id(0), 100)).toBe(false);
    expect(recentlyFailed(failed, id(FAILED_PEERS_CAP + 9), 100)).toBe(true);
    const later = rememberFailed(failed, id(9_999), 2_000_000, 10);
    expect([...later.keys()]).toEqual([id(9_999)]);
  });

  it('a second failure of the same peer extends its memory', () => {
    let failed = rememberFailed(NO_FAILED_PEERS, id(1), 0, 100);
    failed = rememberFailed(failed, id(1), 90, 100);
    expect(recentlyFailed(failed, id(1), 150)).toBe(true);
  });

  it('a second, shorter failure does not cut a longer memory short (unreachable, then its link closes)', () => {
    let failed = rememberFailed(NO_FAILED_PEERS, id(1), 0, 35_000);
    failed = rememberFailed(failed, id(1), 1_000, 10_000);
    expect(recentlyFailed(failed, id(1), 30_000)).toBe(true);
    expect(recentlyFailed(failed, id(1), 35_000)).toBe(false);
  });
});
