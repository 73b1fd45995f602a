import type { PeerId } from '../../identity/peer-id.js';
import { placedId, type PlacedId } from './id-space.js';

/**
 * A peer as the ring sees it. The position is always derived from the id (`contactOf`), never
 * taken from the wire: a peer that could claim a position could place itself anywhere.
 */
export type Contact = PlacedId;

/** The one shared Contact for `id` while it is cached (see PlacedId): treat it as immutable. */
export function contactOf(id: PeerId): Contact {
  return placedId(id);
}

/** A copy in ascending position order: the shape `expectedSuccessors` and friends expect. */
export function sortByPosition(contacts: readonly Contact[]): Contact[] {
  return [...contacts].sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
}
