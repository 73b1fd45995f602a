import type { PeerId } from '../../identity/peer-id.js';

/**
 * Peers this node saw fail lately (a failed link, a successor that did not answer), so that
 * reports from others cannot put them straight back into the successor list. In a small ring
 * every list names every node; without this memory a crashed node's id circulated forever:
 * one node dropped it and pushed its list on, while older lists still naming it arrived
 * from the other side and re-added it (seen in a fuzzed 3-node scenario: a re-add, a failed
 * reconnect and a push every 170 ms). Entries expire, any message from the peer clears its
 * entry (it is alive after all), and the map is capped.
 */
export type FailedPeers = ReadonlyMap<PeerId, number>;

export const NO_FAILED_PEERS: FailedPeers = new Map();

/** Most entries kept; the oldest go first. A node has ~r + 1 neighbours to see fail. */
export const FAILED_PEERS_CAP = 64;

export function rememberFailed(failed: FailedPeers, peer: PeerId, now: number, memoryMs: number): FailedPeers {
  const next = new Map<PeerId, number>();
  for (const [id, until] of failed) if (until > now && id !== peer) next.set(id, until);
  // Never shortened: a peer kept out as unreachable whose link then closes otherwise stays out.
  next.set(peer, Math.max(failed.get(peer) ?? 0, now + memoryMs));
  // Past the cap the oldest entries go first (insertion order; an unreachable peer's lasts longer
  // than others, see RingConfig.unreachableMemoryMs, so this is not quite expiry order).
  while (next.size > FAILED_PEERS_CAP) next.delete(next.keys().next().value!);
  return next;
}

export function forgetFailed(failed: FailedPeers, peer: PeerId): FailedPeers {
  if (!failed.has(peer)) return failed;
  const next = new Map(failed);
  next.delete(peer);
  return next;
}

export function recentlyFailed(failed: FailedPeers, peer: PeerId, now: number): boolean {
  const until = failed.get(peer);
  return until !== undefined && until > now;
}
