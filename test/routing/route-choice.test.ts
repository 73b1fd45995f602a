import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { chooseNextHop, counterClockwiseHop, decideForward } from '../../src/actors/routing/route-choice.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { dist, poolArb } from '../ring/arbitraries.js';

const ids = (contacts: readonly Contact[]): PeerId[] => contacts.map((c) => c.id);

/** Links of each node in a ring of `nodes`: its r successors and r predecessors (links are two-way). */
function ringLinks(nodes: readonly Contact[], r: number): Map<PeerId, PeerId[]> {
  const sorted = sortByPosition(nodes);
  const links = new Map<PeerId, Set<PeerId>>(sorted.map((c) => [c.id, new Set<PeerId>()]));
  sorted.forEach((c, i) => {
    for (let k = 1; k <= r && k < sorted.length; k += 1) {
      const s = sorted[(i + k) % sorted.length]!;
      links.get(c.id)!.add(s.id);
      links.get(s.id)!.add(c.id);
    }
  });
  return new Map([...links].map(([id, set]) => [id, [...set]]));
}

describe('chooseNextHop', () => {
  it('goes straight to the target when it is a link, even if it is also the previous hop or origin', () => {
    fc.assert(
      fc.property(poolArb(3, 20), ([self, target, ...rest]) => {
        const links = ids([...rest, target!]);
        expect(chooseNextHop(self!, target!.id, links, [target!.id])).toBe(target!.id);
      }),
    );
  });

  it('otherwise picks the allowed link strictly between us and the target that is closest to it, or none', () => {
    fc.assert(
      fc.property(poolArb(2, 24), fc.array(fc.nat(), { maxLength: 3 }), ([self, target, ...links], excludeIx) => {
        const exclude = excludeIx.filter(() => links.length > 0).map((i) => links[i % links.length]!.id);
        const hop = chooseNextHop(self!, target!.id, ids(links), exclude);
        const span = dist(self!.position, target!.position);
        const allowed = links.filter((c) => !exclude.includes(c.id) && dist(self!.position, c.position) < span);
        if (allowed.length === 0) {
          expect(hop).toBeUndefined();
          return;
        }
        const best = allowed.reduce((a, b) => (dist(b.position, target!.position) < dist(a.position, target!.position) ? b : a));
        expect(hop).toBe(best.id);
        // Progress: strictly closer to the target than we are.
        expect(dist(links.find((c) => c.id === hop)!.position, target!.position)).toBeLessThan(span);
      }),
    );
  });

  it('never picks self, even if self is listed among the links', () => {
    fc.assert(
      fc.property(poolArb(2, 10), ([self, target, ...links]) => {
        expect(chooseNextHop(self!, target!.id, [self!.id, ...ids(links)])).not.toBe(self!.id);
      }),
    );
  });
});

describe('decideForward', () => {
  it('counts links: a message that arrived with ttl 1 expires, even next to its target', () => {
    fc.assert(
      fc.property(poolArb(3, 6), ([self, target, origin]) => {
        const base = { self: self!, target: target!.id, links: [target!.id], origin: origin!.id, previousHop: origin!.id };
        expect(decideForward({ ...base, ttl: 1 })).toEqual({ action: 'fail', code: 'TTL_EXPIRED' });
        expect(decideForward({ ...base, ttl: 2 })).toEqual({ action: 'forward', to: target!.id, ttl: 1 });
        // At the origin nothing is spent yet: ttl 1 reaches a linked target.
        expect(decideForward({ self: self!, target: target!.id, links: [target!.id], origin: self!.id, ttl: 1, originating: true })).toEqual({ action: 'forward', to: target!.id, ttl: 1 });
      }),
    );
  });

  it('reports UNREACHABLE when no link makes progress', () => {
    fc.assert(
      fc.property(poolArb(2, 3), ([self, target]) => {
        expect(decideForward({ self: self!, target: target!.id, links: [], origin: self!.id, ttl: 5, originating: true })).toEqual({ action: 'fail', code: 'UNREACHABLE' });
      }),
    );
  });

  it('when no link makes progress clockwise, turns: approaches the target from behind, and a turned message keeps turning', () => {
    fc.assert(
      fc.property(poolArb(4, 12), (pool) => {
        const sorted = sortByPosition(pool);
        const [self, target, ...rest] = sorted;
        // The link closest after the target (clockwise) is the counter-clockwise greedy hop.
        const links = ids(rest);
        const expected = rest[0]!.id;
        expect(counterClockwiseHop(self!, target!.id, links)).toBe(expected);
        expect(decideForward({ self: self!, target: target!.id, links, origin: self!.id, ttl: 5, originating: true })).toEqual({ action: 'forward', to: expected, ttl: 5, ccw: true });
        // Turned, it never picks a clockwise hop, even one that would make progress.
        const far = sorted[sorted.length - 1]!;
        expect(decideForward({ self: far, target: target!.id, links: [self!.id, ...links], origin: self!.id, previousHop: self!.id, ttl: 5, ccw: true })).toEqual(
          rest.length > 1 ? { action: 'forward', to: expected === far.id ? rest[1]!.id : expected, ttl: 4, ccw: true } : { action: 'fail', code: 'UNREACHABLE' },
        );
      }),
    );
  });

  it('in a ring where each node links its r nearest on each side, reaches every target without loops, within the ttl it needs', () => {
    fc.assert(
      fc.property(poolArb(4, 40), fc.integer({ min: 1, max: 3 }), fc.nat(), fc.nat(), (nodes, r, a, b) => {
        const origin = nodes[a % nodes.length]!;
        const target = nodes[b % nodes.length]!;
        fc.pre(origin.id !== target.id);
        const links = ringLinks(nodes, r);
        const byId = new Map(nodes.map((c) => [c.id, c]));
        let at = origin;
        let previousHop: PeerId | undefined;
        let ttl = nodes.length;
        const seen = new Set<PeerId>([origin.id]);
        for (;;) {
          const decision = decideForward({
            self: at,
            target: target.id,
            ttl,
            links: links.get(at.id)!,
            origin: origin.id,
            ...(previousHop === undefined ? { originating: true } : { previousHop }),
          });
          expect(decision.action).toBe('forward');
          if (decision.action !== 'forward') return;
          expect(seen.has(decision.to)).toBe(false);
          seen.add(decision.to);
          previousHop = at.id;
          at = byId.get(decision.to)!;
          ttl = decision.ttl;
          if (at.id === target.id) break;
        }
        const hops = seen.size - 1;
        // The same walk with one link less of ttl stops short with TTL_EXPIRED.
        if (hops >= 2) {
          let ttl2 = hops - 1;
          let here = origin;
          let prev: PeerId | undefined;
          let last;
          for (let i = 0; i < hops; i += 1) {
            last = decideForward({ self: here, target: target.id, ttl: ttl2, links: links.get(here.id)!, origin: origin.id, ...(prev === undefined ? { originating: true } : { previousHop: prev }) });
            if (last.action !== 'forward') break;
            prev = here.id;
            here = byId.get(last.to)!;
            ttl2 = last.ttl;
          }
          expect(last).toEqual({ action: 'fail', code: 'TTL_EXPIRED' });
        }
      }),
    );
  });
});
