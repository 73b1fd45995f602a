import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { nextHop } from '../../src/actors/dht/next-hop.js';
import { nonNextHop } from '../../src/actors/dht/non-next-hop.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { clusterArb, cpl, idOf, syntheticContact, xor } from './arbitraries.js';

/** Distinct positions around a target, with a random link list per node (indices into the nodes). */
const networkArb = (maxNodes: number, maxLinks: number) =>
  clusterArb(2, maxNodes)
    .map(({ target, positions }) => ({ target, positions: [...new Set(positions)] }))
    .filter(({ positions }) => positions.length >= 2)
    .chain(({ target, positions }) =>
      fc.record({
        target: fc.constant(target),
        positions: fc.constant(positions),
        adjacency: fc.array(fc.array(fc.nat(positions.length - 1), { maxLength: maxLinks }), { minLength: positions.length, maxLength: positions.length }),
        start: fc.nat(positions.length - 1),
      }),
    );

interface Net {
  nodes: Contact[];
  linksOf: (c: Contact) => Contact[];
  indexOf: (c: Contact) => number;
}

function makeNet(positions: readonly Position[], adjacency: readonly (readonly number[])[]): Net {
  const nodes = positions.map((p, i) => syntheticContact(idOf(i + 1), p));
  const index = new Map<PeerId, number>(nodes.map((c, i) => [c.id, i]));
  const links = adjacency.map((list, i) => [...new Set(list)].filter((j) => j !== i).map((j) => nodes[j]!));
  return { nodes, linksOf: (c) => links[index.get(c.id)!]!, indexOf: (c) => index.get(c.id)! };
}

/** Reference: the XOR distance of the nearest node among a link and its links. */
const aimOf = (net: Net, link: Contact, target: string, skip: ReadonlySet<PeerId> = new Set()): bigint =>
  [link, ...net.linksOf(link).filter((c) => !skip.has(c.id))].reduce((best, c) => (xor(c.position, target) < best ? xor(c.position, target) : best), xor(link.position, target));

describe('nonNextHop (neighbour-of-neighbour greedy)', () => {
  it('forwards through the link that reaches the nearest node within two hops, only when that node is nearer than self; straight to it when it is a link', () => {
    fc.assert(
      fc.property(networkArb(40, 8), ({ target, positions, adjacency, start }) => {
        const net = makeNet(positions, adjacency);
        const self = net.nodes[start]!;
        const links = net.linksOf(self);
        const hop = nonNextHop(self.position, target, links, net.linksOf);
        const bestAim = links.reduce((best, l) => (aimOf(net, l, target) < best ? aimOf(net, l, target) : best), xor(self.position, target));
        if (bestAim === xor(self.position, target)) {
          expect(hop).toBeUndefined();
          return;
        }
        expect(hop).toBeDefined();
        expect(aimOf(net, hop!, target)).toBe(bestAim);
        if (links.some((l) => xor(l.position, target) === bestAim)) expect(xor(hop!.position, target)).toBe(bestAim);
      }),
      { numRuns: 1_000 },
    );
  });

  it('ignores avoided links and avoided nodes behind them', () => {
    fc.assert(
      fc.property(networkArb(30, 8), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), ({ target, positions, adjacency, start }, skip) => {
        const net = makeNet(positions, adjacency);
        const avoid = new Set<PeerId>(net.nodes.filter((_, i) => skip[i]).map((c) => c.id));
        const self = net.nodes[start]!;
        const hop = nonNextHop(self.position, target, net.linksOf(self), net.linksOf, avoid);
        expect(hop === undefined || !avoid.has(hop.id)).toBe(true);
        const pruned = (c: Contact) => net.linksOf(c).filter((x) => !avoid.has(x.id));
        expect(hop?.id).toBe(nonNextHop(self.position, target, pruned(self), pruned)?.id);
      }),
      { numRuns: 500 },
    );
  });

  it('is greedy XOR when no link set is known', () => {
    fc.assert(
      fc.property(networkArb(30, 10), ({ target, positions, adjacency, start }) => {
        const net = makeNet(positions, adjacency);
        const self = net.nodes[start]!;
        expect(nonNextHop(self.position, target, net.linksOf(self), () => undefined)?.id).toBe(nextHop(self.position, target, net.linksOf(self))?.id);
      }),
      { numRuns: 300 },
    );
  });

  it('routes over any static network without revisiting a node, and stops with nothing nearer than itself within two hops', () => {
    fc.assert(
      fc.property(networkArb(40, 6), ({ target, positions, adjacency, start }) => {
        const net = makeNet(positions, adjacency);
        const visited = new Set<number>();
        let at = net.nodes[start]!;
        for (;;) {
          expect(visited.has(net.indexOf(at))).toBe(false);
          visited.add(net.indexOf(at));
          const hop = nonNextHop(at.position, target, net.linksOf(at), net.linksOf);
          if (hop === undefined) break;
          at = hop;
        }
        for (const link of net.linksOf(at)) expect(aimOf(net, link, target) >= xor(at.position, target)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('ends at the XOR-closest node when every node links at least one member of each of its non-empty buckets', () => {
    fc.assert(
      fc.property(networkArb(40, 3), fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), ({ target, positions, adjacency, start }, picks) => {
        // Random extra links plus one link per non-empty bucket (reference cpl, not the code under test).
        const full = positions.map((self, i) => {
          const byBucket = new Map<number, number[]>();
          positions.forEach((p, j) => {
            if (j !== i) byBucket.set(cpl(self, p), [...(byBucket.get(cpl(self, p)) ?? []), j]);
          });
          const chosen = [...byBucket].map(([bucket, members]) => members[picks[(i * 7 + bucket) % picks.length]! % members.length]!);
          return [...adjacency[i]!, ...chosen];
        });
        const net = makeNet(positions, full);
        let at = net.nodes[start]!;
        for (let hops = 0; hops <= positions.length; hops += 1) {
          const hop = nonNextHop(at.position, target, net.linksOf(at), net.linksOf);
          if (hop === undefined) break;
          at = hop;
        }
        const closest = net.nodes.reduce((a, c) => (xor(c.position, target) < xor(a.position, target) ? c : a));
        expect(at.id).toBe(closest.id);
      }),
      { numRuns: 300 },
    );
  });
});
