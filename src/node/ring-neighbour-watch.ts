import type { AnyActorRef, Subscription } from 'xstate';
import type { PeerId } from '../identity/peer-id.js';

interface RingNeighbours {
  predecessor?: { id: PeerId };
  successors: readonly { id: PeerId }[];
}

/**
 * Follows the ring actor's predecessor and first successor, the links a ring node watches
 * closely when the others beat slowly (ConnectionConfig.unwatchedHeartbeatFactor), and reports
 * each change as it happens. The transport otherwise learnt of a new neighbour at its next
 * heartbeat tick, up to an interval later, and only then started judging that link by the short
 * timeout: time in which a crashed peer, taken as predecessor from the node's other links, still
 * looked alive (see PeerChannel.awaitWatchAnswer).
 *
 * The ring actor can be replaced by a supervisor restart: `follow()` subscribes to whichever
 * actor `ring()` returns now, and does nothing if that is the one it follows (the runtime calls
 * it whenever the supervisor's snapshot changes).
 */
export function createRingNeighbourWatch(ring: () => AnyActorRef | undefined, changed: (peers: readonly PeerId[]) => void) {
  let followed: AnyActorRef | undefined;
  let subscription: Subscription | undefined;
  let predecessor: PeerId | undefined;
  let successor: PeerId | undefined;
  let stopped = false;

  const update = (context: RingNeighbours) => {
    const nextPredecessor = context.predecessor?.id;
    const nextSuccessor = context.successors[0]?.id;
    if (nextPredecessor === predecessor && nextSuccessor === successor) return;
    const peers = new Set([predecessor, successor, nextPredecessor, nextSuccessor]);
    peers.delete(undefined);
    predecessor = nextPredecessor;
    successor = nextSuccessor;
    changed([...peers] as PeerId[]);
  };

  return {
    /** Whether `peer` is the ring's predecessor or first successor now. */
    isNeighbour(peer: PeerId): boolean {
      return peer === predecessor || peer === successor;
    },
    follow(): void {
      if (stopped) return;
      const actor = ring();
      if (actor === followed) return;
      subscription?.unsubscribe();
      followed = actor;
      subscription = actor?.subscribe({
        next: (snapshot) => update((snapshot as { context: RingNeighbours }).context),
        // The supervisor handles the ring's failures; a follower must not report them again.
        error: () => undefined,
      });
      if (actor) update((actor.getSnapshot() as { context: RingNeighbours }).context);
    },
    stop(): void {
      stopped = true;
      subscription?.unsubscribe();
      subscription = undefined;
      followed = undefined;
    },
  };
}
