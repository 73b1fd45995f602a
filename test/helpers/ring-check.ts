import { contactOf, sortByPosition } from '../../src/actors/ring/contact.js';
import { expectedPredecessor, expectedSuccessors } from '../../src/actors/ring/expected-neighbours.js';
import type { RingView } from '../../src/actors/ring/ring-view.js';
import type { PeerId } from '../../src/identity/peer-id.js';

/** What is wrong with these views of the alive nodes' ring (empty when it is correct). */
export function ringProblems(alive: readonly PeerId[], views: ReadonlyMap<PeerId, RingView | undefined>, r: number): string[] {
  const sorted = sortByPosition(alive.map(contactOf));
  const problems: string[] = [];
  for (const id of alive) {
    const view = views.get(id);
    if (!view) {
      problems.push(`${id.slice(0, 8)}: no ring view`);
      continue;
    }
    const self = contactOf(id);
    const successors = expectedSuccessors(sorted, self, r).map((c) => c.id);
    const predecessor = expectedPredecessor(sorted, self)?.id;
    if (view.successors.join() !== successors.join()) {
      problems.push(`${id.slice(0, 8)}: successors ${view.successors.map((s) => s.slice(0, 8)).join(',')} ≠ ${successors.map((s) => s.slice(0, 8)).join(',')}`);
    }
    if (view.predecessor !== predecessor) {
      problems.push(`${id.slice(0, 8)}: predecessor ${view.predecessor?.slice(0, 8)} ≠ ${predecessor?.slice(0, 8)}`);
    }
  }
  return problems;
}

/**
 * Two nodes the ring does not link: neither is the other's predecessor or successor, and no
 * link joins them now. A pair merely unlinked at one moment may be a pair of neighbours whose
 * link the ring is still opening, which then carries what a test meant to route.
 */
export function ringStrangers<N extends { id: PeerId; ring(): RingView | undefined; peers(): readonly PeerId[] }>(nodes: readonly N[]): [N, N] | undefined {
  const neighbours = (node: N): PeerId[] => {
    const view = node.ring();
    return view ? [...view.successors, ...(view.predecessor ? [view.predecessor] : [])] : [];
  };
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b || a.peers().includes(b.id) || b.peers().includes(a.id)) continue;
      if (!neighbours(a).includes(b.id) && !neighbours(b).includes(a.id)) return [a, b];
    }
  }
  return undefined;
}
