import type { PeerId } from '../../identity/peer-id.js';
import type { Contact } from '../ring/contact.js';

/**
 * Peers the node has heard of but not verified (named in a link set or a `closest` answer).
 * They never enter the routing table on hearsay: the link planner may pick one, and only when
 * the link opens (an authenticated channel: the peer holds the key) is it admitted. Bounded;
 * the oldest rumour goes first. Mutable like the routing table, for the same reason: it lives
 * in the DHT actor's context and is changed only from that actor's actions.
 */
export interface Candidate extends Contact {
  /** The link that told us about it: the planner caps how many one introducer places per bucket. */
  readonly introducer: PeerId;
}

export const DEFAULT_MAX_CANDIDATES = 512;

export class Candidates {
  private readonly entries = new Map<PeerId, Candidate>();

  constructor(readonly max = DEFAULT_MAX_CANDIDATES) {}

  get size(): number {
    return this.entries.size;
  }

  /** Remembers `contacts` heard from `introducer` (re-hearing one makes it the freshest). */
  hear(contacts: readonly Contact[], introducer: PeerId, self: PeerId): void {
    for (const contact of contacts) {
      if (contact.id === self || contact.id === introducer) continue;
      this.entries.delete(contact.id);
      this.entries.set(contact.id, { id: contact.id, position: contact.position, introducer });
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    }
  }

  forget(id: PeerId): void {
    this.entries.delete(id);
  }

  has(id: PeerId): boolean {
    return this.entries.has(id);
  }

  /** Oldest first. */
  list(): Candidate[] {
    return [...this.entries.values()];
  }
}
