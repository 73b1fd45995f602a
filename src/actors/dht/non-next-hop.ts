import type { PeerId } from '../../identity/peer-id.js';
import type { Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import { compareDistance } from './xor-distance.js';

/**
 * Neighbour-of-neighbour (NoN) greedy routing over links: Manku, Naor & Wieder, "Know thy
 * neighbor's neighbor: the power of lookahead in randomized P2P networks" (STOC 2004).
 *
 * A node knows the link sets of its links (they tell it when theirs change). For each link it
 * looks at the link itself and the link's own links, and forwards to the link through which the
 * node nearest the target (by XOR) is reachable in at most two hops; ties go to the link that is
 * itself nearer, so a node that holds the aimed-at node as a link goes straight to it (without
 * that tie-break two links aiming at the same node can pass a lookup back and forth).
 *
 * Why not greedy (`nextHop`): links are picked at random within a bucket's sub-ranges, and on
 * such randomized graphs greedy needs Θ(log n) hops while NoN needs Θ(log n / log log n); each
 * decision sees ~links² nodes instead of ~links, for the price of knowing the links' link sets.
 *
 * Never loops: the node aimed at is the next node or one of its links, and the next node aims
 * at least as near, so the aimed-at distance never grows and falls at least every second hop;
 * the lookup stops at a node with nothing nearer than itself within two hops (with every
 * non-empty bucket linked, that is the XOR-closest node: a nearer node would lie in the bucket
 * the target falls in, and a link there is nearer too).
 *
 * Returns undefined at that stop. `linksOf` gives a link's link set as last reported (undefined
 * when unknown: that link is then judged by its own position, as greedy would). `avoid` skips
 * links and aimed-at nodes already tried or known to be failing.
 */
export function nonNextHop<C extends Contact>(
  self: Position,
  target: Position,
  links: readonly C[],
  linksOf: (link: C) => readonly Contact[] | undefined,
  avoid?: ReadonlySet<PeerId>,
): C | undefined {
  let best: C | undefined;
  let bestAim = self;
  for (let i = 0; i < links.length; i += 1) {
    const link = links[i]!;
    if (avoid !== undefined && avoid.has(link.id)) continue;
    let aim = link.position;
    const theirs = linksOf(link);
    if (theirs !== undefined) {
      for (let j = 0; j < theirs.length; j += 1) {
        const next = theirs[j]!;
        if (avoid !== undefined && avoid.has(next.id)) continue;
        if (compareDistance(target, next.position, aim) < 0) aim = next.position;
      }
    }
    const order = compareDistance(target, aim, bestAim);
    if (order < 0 || (order === 0 && best !== undefined && compareDistance(target, link.position, best.position) < 0)) {
      best = link;
      bestAim = aim;
    }
  }
  return best;
}
