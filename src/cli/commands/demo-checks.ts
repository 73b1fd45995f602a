import { closest } from '../../actors/dht/xor-distance.js';
import { contactOf, sortByPosition } from '../../actors/ring/contact.js';
import { expectedPredecessor, expectedSuccessors } from '../../actors/ring/expected-neighbours.js';
import { positionHex, type Position } from '../../actors/ring/id-space.js';
import type { RingView } from '../../actors/ring/ring-view.js';
import { shortId, type PeerId } from '../../identity/peer-id.js';

/**
 * What the demo checks against the truth. The demo, unlike a node, sees every node, so it can
 * say whether the network's own answers are right: these functions are that global view.
 */

/** The ids in ring order (ascending position), starting from the lowest position. */
export function ringOrder(ids: readonly PeerId[]): PeerId[] {
  return sortByPosition(ids.map(contactOf)).map((c) => c.id);
}

/**
 * What is wrong with these views of the alive nodes' ring, one line per wrong view, naming
 * nodes with `label` (empty when every node has the right predecessor and `r` successors).
 */
export function ringProblems(
  alive: readonly PeerId[],
  views: ReadonlyMap<PeerId, RingView | undefined>,
  r: number,
  label: (id: PeerId) => string = shortId,
): string[] {
  const sorted = sortByPosition(alive.map(contactOf));
  const short = (ids: readonly (PeerId | undefined)[]) => ids.map((id) => (id === undefined ? 'none' : label(id))).join(',');
  const problems: string[] = [];
  for (const id of alive) {
    const view = views.get(id);
    if (!view) {
      problems.push(`${label(id)} has no ring view yet`);
      continue;
    }
    const self = contactOf(id);
    // The ring actor's state says why a view is wrong (joining, waiting for a link, …).
    const who = `${label(id)} (${view.state})`;
    const successors = expectedSuccessors(sorted, self, r).map((c) => c.id);
    const predecessor = expectedPredecessor(sorted, self)?.id;
    if (view.successors.join() !== successors.join()) {
      problems.push(`${who} has successors ${short(view.successors) || 'none'}, expected ${short(successors)}`);
    }
    if (view.predecessor !== predecessor) {
      problems.push(`${who} has predecessor ${short([view.predecessor])}, expected ${short([predecessor])}`);
    }
  }
  return problems;
}

/** The `count` ids XOR-closest to `position`, nearest first: what a correct lookup answers. */
export function closestTruth(position: Position, ids: readonly PeerId[], count: number): PeerId[] {
  return closest(position, ids, count, positionHex);
}

/**
 * The first pair (a, b), a < b, among `candidates` (indices) where neither lists the other
 * among its links: a routed message or a fresh connect() between them cannot use a direct link.
 */
export function unlinkedPair(candidates: readonly number[], linksOf: (i: number) => readonly PeerId[], idOf: (i: number) => PeerId): [number, number] | undefined {
  for (const a of candidates) {
    for (const b of candidates) {
      if (b <= a) continue;
      if (!linksOf(a).includes(idOf(b)) && !linksOf(b).includes(idOf(a))) return [a, b];
    }
  }
  return undefined;
}
