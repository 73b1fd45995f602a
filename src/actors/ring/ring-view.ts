import type { PeerId } from '../../identity/peer-id.js';

/** What a node believes about its place on the ring: for invariant checks, tests and the CLI. */
export interface RingView {
  self: PeerId;
  /** The ring actor's state, e.g. `joining.locating`, `member.(maintenance.waiting|merging.idle)`, `rebootstrapping`. */
  state: string;
  predecessor: PeerId | undefined;
  /** Nearest first, at most the configured successor-list length. */
  successors: readonly PeerId[];
  /** The successor the node's join found, kept linked for the node's life (see ring.machine, takeFound). */
  joinedAt?: PeerId;
}
