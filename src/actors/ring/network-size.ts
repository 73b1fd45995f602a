import type { Contact } from './contact.js';
import { clockwiseDistance, RING_BITS } from './id-space.js';

/**
 * Estimated number of nodes on the ring, from what a node already knows: its successor list.
 * Positions are uniform (SHA-256 of the key), so r successors span about r/n of the ring and
 * n ≈ r × 2^256 / span. With fewer than `listLength` successors the node sees the whole ring
 * (list + itself). The estimate is rough (the span of r uniform gaps has a relative spread of
 * ~1/√r), which is all its one use needs: spacing out the partition-merge probe (ring.machine).
 */
export function estimateNetworkSize(self: Contact, successors: readonly Contact[], listLength: number): number {
  const last = successors.at(-1);
  if (last === undefined) return 1;
  if (successors.length < listLength) return successors.length + 1;
  const span = clockwiseDistance(self.position, last.position);
  if (span === 0n) return successors.length + 1;
  // Only the ratio's magnitude matters: scale the span down to a Number before dividing.
  const spanFraction = Number(span >> BigInt(RING_BITS - 52)) / 2 ** 52;
  return spanFraction > 0 ? successors.length / spanFraction : Number.MAX_SAFE_INTEGER;
}

/** The merge probe's period, in merge intervals, for a network of `estimate` nodes (see RingConfig). */
export function mergePeriodFactor(estimate: number, referenceSize: number, maxFactor: number): number {
  return Math.min(maxFactor, Math.max(1, estimate / referenceSize));
}
