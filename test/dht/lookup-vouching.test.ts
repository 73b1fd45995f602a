import { describe, expect, it } from 'vitest';
import { staleOnPath } from '../../src/actors/dht/lookup-vouching.js';
import { closest, compareDistance } from '../../src/actors/dht/xor-distance.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { idOf } from './arbitraries.js';

const SELF = contactOf(idOf(0x5e1f));
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => idOf(from + i));

function node(links: PeerId[], linkSets: [PeerId, PeerId[]][]) {
  return { self: SELF, state: { links: new Set(links), linkSets: new Map(linkSets.map(([link, set]) => [link, set.map(contactOf)])) } };
}

describe('staleOnPath', () => {
  // Forty peers by distance to a target (SELF is farther than the nearest twenty): link sets name the nearest.
  // Across the space from SELF (top bit flipped): SELF is farther than about half of all peers.
  const target = `${(parseInt(SELF.position[0]!, 16) ^ 8).toString(16)}${SELF.position.slice(1)}` as Position;
  const byDistance = closest(target, ids(40, 100).map(contactOf), 40, (c) => c.position).map((c) => c.id);
  const [nearest, second, third] = byDistance;
  // This node's own links: all farther from the target than `third`.
  const links = byDistance.slice(20, 26);
  const [onPath, offPath] = links;

  it('a peer only a path link set names, nearer than anything held here, is stale', () => {
    expect(compareDistance(target, SELF.position, contactOf(byDistance[19]!).position)).toBeGreaterThan(0);
    expect(staleOnPath(node(links, [[onPath!, [nearest!, second!]]]), target, [idOf(1), onPath!])).toEqual([nearest, second]);
  });

  it('not stale: named by a link off the path too, held as a link, or farther than a link held here', () => {
    expect(staleOnPath(node(links, [[onPath!, [nearest!]], [offPath!, [nearest!]]]), target, [onPath!])).toEqual([]);
    expect(staleOnPath(node([...links, nearest!], [[onPath!, [nearest!]]]), target, [onPath!])).toEqual([]);
    // With `second` held as a link, `third` (farther) was aimed past, not dropped; `nearest` still stale.
    expect(staleOnPath(node([...links, second!], [[onPath!, [nearest!, third!]]]), target, [onPath!])).toEqual([nearest]);
  });

  it('a link set of a link off the path is not judged at all', () => {
    expect(staleOnPath(node(links, [[offPath!, [nearest!]]]), target, [idOf(1), onPath!])).toEqual([]);
  });
});
