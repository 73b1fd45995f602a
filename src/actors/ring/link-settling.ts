import type { PeerId } from '../../identity/peer-id.js';
import type { Contact } from './contact.js';
import type { RingConfig } from './ring-config.js';

/**
 * Which neighbours the ring links now (RingConfig.linkSettleMs, eagerSuccessorLinks).
 *
 * The predecessor and the first `eagerSuccessorLinks` successors are linked as soon as they are
 * listed: stabilization talks to the first, and the next is the failover ready to take over.
 * A successor further out is linked once it has stayed listed for `linkSettleMs`. While a
 * network grows, nodes keep joining inside every list and push its far end out within
 * seconds: in the simulator's join minute (1,000 nodes in 60 s) half of the links the ring
 * opened were pruned again, at a median of 6 s after they opened and two thirds within 10 s.
 * Each such link is a connection set up, authenticated with two signatures and torn down,
 * for nothing. A settled entry is linked when the ring next links its neighbours (a round's
 * answer, a list pushed to it, a link going down, a leave, or the `links.settled` event the ring
 * raises linkSettleMs after it listed new far entries), so a calm list is fully linked
 * `linkSettleMs` after its last change.
 */
export interface SettledNeighbours {
  /** Neighbours to link now: the predecessor, the eager successors, the settled ones and any already linked. */
  link: PeerId[];
  /**
   * When each listed successor past the eager ones was first seen listed, linked or not (at most r
   * entries): a settled peer that closes its link is linked again at once, not after a new wait.
   * The same Map as `listedSince` when nothing changed.
   */
  listedSince: ReadonlyMap<PeerId, number>;
  /** A far successor entered the list now: it settles linkSettleMs from now. */
  newlyListed: boolean;
}

export function settledNeighbours(
  successors: readonly Contact[],
  predecessor: Contact | undefined,
  links: ReadonlySet<PeerId>,
  listedSince: ReadonlyMap<PeerId, number>,
  now: number,
  config: Pick<RingConfig, 'linkSettleMs' | 'eagerSuccessorLinks'>,
): SettledNeighbours {
  const link: PeerId[] = [];
  const settling = config.linkSettleMs > 0;
  // Listed far entries already known: when they are all of `listedSince` and none is new, the
  // same Map is returned and nothing is allocated but `link` (this runs on every round's answer).
  let known = 0;
  let fresh = false;
  for (let i = 0; i < successors.length; i += 1) {
    const id = successors[i]!.id;
    if (i < config.eagerSuccessorLinks || !settling) {
      link.push(id);
      continue;
    }
    const since = listedSince.get(id);
    if (since === undefined) fresh = true;
    else known += 1;
    // A link that is up already (the peer dialled us, or it is our predecessor too) costs nothing.
    if (links.has(id) || (since !== undefined && now - since >= config.linkSettleMs)) link.push(id);
  }
  if (predecessor) link.push(predecessor.id);
  if (!fresh && known === listedSince.size) return { link, listedSince, newlyListed: false };
  const next = new Map<PeerId, number>();
  if (settling) for (let i = config.eagerSuccessorLinks; i < successors.length; i += 1) next.set(successors[i]!.id, listedSince.get(successors[i]!.id) ?? now);
  return { link, listedSince: next, newlyListed: fresh };
}
