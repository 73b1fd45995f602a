import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { nextHop } from '../../src/actors/dht/next-hop.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { clusterArb, idOf, syntheticContact, xor } from './arbitraries.js';

const linksOf = (positions: readonly string[]): Contact[] => positions.map((p, i) => syntheticContact(idOf(i + 1), p as Contact['position']));

describe('nextHop (greedy XOR)', () => {
  it('is the link nearest the target when it is strictly nearer than self, else undefined', () => {
    fc.assert(
      fc.property(clusterArb(1, 40), ({ target, positions: [self, ...rest] }) => {
        const links = linksOf(rest);
        const hop = nextHop(self!, target, links);
        const best = links.reduce<Contact | undefined>((a, c) => (a === undefined || xor(c.position, target) < xor(a.position, target) ? c : a), undefined);
        if (best === undefined || xor(best.position, target) >= xor(self!, target)) {
          expect(hop).toBeUndefined();
        } else {
          expect(hop).toBeDefined();
          expect(xor(hop!.position, target)).toBe(xor(best.position, target));
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('skips avoided links', () => {
    fc.assert(
      fc.property(clusterArb(2, 30), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), ({ target, positions: [self, ...rest] }, skip) => {
        const links = linksOf(rest);
        const avoid = new Set<PeerId>(links.filter((_, i) => skip[i]).map((c) => c.id));
        const hop = nextHop(self!, target, links, avoid);
        expect(hop === undefined || !avoid.has(hop.id)).toBe(true);
        expect(hop?.id).toBe(nextHop(self!, target, links.filter((c) => !avoid.has(c.id)))?.id);
      }),
      { numRuns: 500 },
    );
  });

  it('routes over any static network without revisiting a node, getting strictly nearer at each hop', () => {
    fc.assert(
      fc.property(
        clusterArb(2, 40).chain(({ target, positions }) =>
          fc.tuple(fc.constant(target), fc.constant(positions), fc.array(fc.array(fc.nat(positions.length - 1), { maxLength: 6 }), { minLength: positions.length, maxLength: positions.length }), fc.nat(positions.length - 1)),
        ),
        ([target, positions, adjacency, start]) => {
          const nodes = linksOf(positions);
          const visited = new Set<number>();
          let at = start;
          for (let hops = 0; ; hops += 1) {
            expect(visited.has(at)).toBe(false);
            visited.add(at);
            const links = adjacency[at]!.map((i) => nodes[i]!);
            const hop = nextHop(nodes[at]!.position, target, links);
            if (hop === undefined) break;
            expect(xor(hop.position, target) < xor(nodes[at]!.position, target)).toBe(true);
            at = nodes.indexOf(hop);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
