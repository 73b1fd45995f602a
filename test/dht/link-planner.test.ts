import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { chooseDhtLinks, dialCeiling, planLinks, type LinkPlanInput } from '../../src/actors/dht/link-planner.js';
import { nextHop } from '../../src/actors/dht/next-hop.js';
import { RoutingTable } from '../../src/actors/dht/routing-table.js';
import { compareDistance, randomPositionInBucket } from '../../src/actors/dht/xor-distance.js';
import { contactOf, sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { cpl, idOf, nearArb, positionArb, syntheticContact, toPos } from './arbitraries.js';

/** A table around a random self: uniform positions (mostly shallow buckets) and some near self (deep ones). */
const scenarioArb = positionArb.chain((self) =>
  fc
    .record({
      positions: fc.uniqueArray(fc.oneof(positionArb, nearArb(self)), { minLength: 0, maxLength: 120 }),
      k: fc.integer({ min: 1, max: 6 }),
      failures: fc.array(fc.nat(3), { minLength: 120, maxLength: 120 }),
      ringCount: fc.nat(10),
      linkPicks: fc.array(fc.nat(200), { maxLength: 40 }),
      budget: fc.integer({ min: 0, max: 40 }),
      reserved: fc.nat(4),
    })
    .map(({ positions, k, failures, ringCount, linkPicks, budget, reserved }) => {
      const table = new RoutingTable(self, 0, { k, failureThreshold: 10 });
      positions.filter((p) => p !== self).forEach((p, i) => {
        table.observe(syntheticContact(idOf(i + 1), p), i, { verified: true });
        for (let f = 0; f < failures[i]!; f += 1) table.markFailed(idOf(i + 1));
      });
      const contacts = table.contacts();
      const ringNeighbours = contacts.slice(0, ringCount).map((c) => c.id);
      // Current links: some table contacts, some ids the table no longer holds, maybe ring neighbours.
      const links = [...new Set(linkPicks.map((n) => (n < contacts.length ? contacts[n]!.id : idOf(10_000 + n))))];
      return { table, ringNeighbours, links, budget, reserved };
    }),
);

function apply(links: readonly PeerId[], plan: { open: PeerId[]; close: PeerId[] }): PeerId[] {
  const close = new Set(plan.close);
  return [...links.filter((id) => !close.has(id)), ...plan.open];
}

describe('planLinks properties', () => {
  it('stays within the budget, never touches ring neighbours, opens only table contacts, and is idempotent', () => {
    fc.assert(
      fc.property(scenarioArb, ({ table, ringNeighbours, links, budget, reserved }) => {
        const input: LinkPlanInput = { table, ringNeighbours, links, budget, reserved };
        const plan = planLinks(input);
        const ring = new Set(ringNeighbours);
        expect(plan.close.filter((id) => ring.has(id))).toEqual([]);
        expect(plan.open.filter((id) => ring.has(id))).toEqual([]);
        for (const id of plan.open) expect(table.has(id)).toBe(true);
        for (const id of plan.open) expect(links).not.toContain(id);
        for (const id of plan.close) expect(links).toContain(id);
        expect(new Set(plan.open).size).toBe(plan.open.length);

        const after = apply(links, plan);
        const dhtLinks = after.filter((id) => !ring.has(id));
        expect(dhtLinks.length).toBeLessThanOrEqual(Math.max(0, budget - reserved - ring.size));
        if (budget >= reserved + ring.size) expect(ring.size + reserved + dhtLinks.length).toBeLessThanOrEqual(budget);

        expect(planLinks({ ...input, links: after })).toEqual({ open: [], close: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('fills the budget while candidates remain, spread evenly: no bucket more than one link ahead of one with candidates left', () => {
    fc.assert(
      fc.property(scenarioArb, ({ table, ringNeighbours, budget, reserved }) => {
        const chosen = new Set(chooseDhtLinks({ table, ringNeighbours, budget, reserved }));
        const ring = new Set(ringNeighbours);
        const slots = Math.max(0, budget - reserved - ring.size);
        const candidates = table.contacts().filter((c) => !ring.has(c.id));
        expect(chosen.size).toBe(Math.min(slots, candidates.length));

        const linksIn = new Map<number, number>();
        const leftoverIn = new Set<number>();
        for (const c of table.contacts()) {
          const index = cpl(table.self, c.position);
          if (ring.has(c.id) || chosen.has(c.id)) linksIn.set(index, (linksIn.get(index) ?? 0) + 1);
          else leftoverIn.add(index);
        }
        for (const [a, n] of linksIn) {
          const picked = table.bucket(a).some((c) => chosen.has(c.id));
          if (!picked) continue;
          for (const b of leftoverIn) expect(n).toBeLessThanOrEqual((linksIn.get(b) ?? 0) + 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of its inputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ table, ringNeighbours, links, budget }) => {
        const a = planLinks({ table, ringNeighbours, links, budget });
        const b = planLinks({ table, ringNeighbours: [...ringNeighbours].reverse(), links: [...links].reverse(), budget });
        expect(new Set(b.open)).toEqual(new Set(a.open));
        expect(new Set(b.close)).toEqual(new Set(a.close));
      }),
      { numRuns: 200 },
    );
  });
});

describe('planLinks choices', () => {
  const self = toPos(0n);
  /** A contact in bucket 0 of self=0 whose next two bits are `pattern` (0..3). */
  const inPattern = (n: number, pattern: number, random = createSeededRandom(n)) => {
    const p = randomPositionInBucket(self, 2, random); // 001xxx…: random tail below bit 2
    const tail = BigInt('0x' + p) & ((1n << 253n) - 1n);
    return syntheticContact(idOf(n), toPos((1n << 255n) | (BigInt(pattern) << 253n) | tail));
  };

  /** Ids sorted XOR-nearest to self first. */
  const nearestFirst = (table: RoutingTable, ids: readonly PeerId[]) => [...ids].sort((a, b) => compareDistance(self, table.get(a)!.position, table.get(b)!.position));

  it('within a bucket, covers different next-bit patterns before doubling up on one', () => {
    const table = new RoutingTable(self, 0);
    // The three of pattern 00 are the XOR-nearest to self, so nearness alone would pick two of them.
    const contacts = [inPattern(1, 0), inPattern(2, 0), inPattern(3, 0), inPattern(4, 1), inPattern(5, 2), inPattern(6, 3)];
    contacts.forEach((c, i) => table.observe(c, i, { verified: true }));
    const two = chooseDhtLinks({ table, ringNeighbours: [], budget: 2 });
    expect(two).toEqual([nearestFirst(table, [idOf(1), idOf(2), idOf(3)])[0], idOf(5)]); // 00, then the nearest with a different first bit (10)
    const four = chooseDhtLinks({ table, ringNeighbours: [], budget: 4 });
    expect(new Set(four.map((id) => (BigInt('0x' + table.get(id)!.position) >> 253n) & 3n))).toEqual(new Set([0n, 1n, 2n, 3n]));
  });

  it('prefers contacts with fewer failures, then the XOR-nearest to self, whatever their age', () => {
    const table = new RoutingTable(self, 0, { failureThreshold: 5 });
    const contacts = [inPattern(1, 0), inPattern(2, 0), inPattern(3, 0)];
    const order = nearestFirst(
      (() => {
        const t = new RoutingTable(self, 0);
        contacts.forEach((c) => t.observe(c, 0, { verified: true }));
        return t;
      })(),
      contacts.map((c) => c.id),
    );
    // Known longest = the farthest: age must not decide.
    [...order].reverse().forEach((id, i) => table.observe(contacts.find((c) => c.id === id)!, 10 + i, { verified: true }));
    expect(chooseDhtLinks({ table, ringNeighbours: [], budget: 1 })).toEqual([order[0]]);
    table.markFailed(order[0]!);
    expect(chooseDhtLinks({ table, ringNeighbours: [], budget: 1 })).toEqual([order[1]]);
  });

  it('keeps a link it holds over an equally divergent contact that is merely nearer', () => {
    const table = new RoutingTable(self, 0);
    const [near, far] = nearestFirst(
      (() => {
        const t = new RoutingTable(self, 0);
        [inPattern(1, 0), inPattern(2, 0)].forEach((c) => t.observe(c, 0, { verified: true }));
        return t;
      })(),
      [idOf(1), idOf(2)],
    );
    [inPattern(1, 0), inPattern(2, 0)].forEach((c, i) => table.observe(c, i, { verified: true }));
    expect(chooseDhtLinks({ table, ringNeighbours: [], budget: 1 })).toEqual([near]);
    expect(planLinks({ table, ringNeighbours: [], links: [far!], budget: 1 })).toEqual({ open: [], close: [] });
    // One that covers a pattern the held link does not is still taken (here: a second slot).
    table.observe(inPattern(3, 2), 5, { verified: true });
    expect(planLinks({ table, ringNeighbours: [], links: [far!], budget: 2 })).toEqual({ open: [idOf(3)], close: [] });
  });

  it('spreads the links of many nodes: no peer is everyone\'s choice', () => {
    // 200 nodes, each with every other in its table (as the planning table has its candidates),
    // all known equally long: count how many
    // nodes choose each peer. Ranking by age (or any order shared by all nodes) made the same
    // few peers everyone's first choice in every wide bucket.
    const random = createSeededRandom(9);
    const positions = Array.from({ length: 200 }, () => Buffer.from(random.bytes(32)).toString('hex') as Position);
    const chosenBy = new Map<PeerId, number>();
    positions.forEach((mine, i) => {
      const table = new RoutingTable(mine, 0, { k: 200 });
      positions.forEach((other, j) => {
        if (j !== i) table.observe(syntheticContact(idOf(j + 1), other), 0, { verified: true });
      });
      for (const id of chooseDhtLinks({ table, ringNeighbours: [], budget: 12 })) chosenBy.set(id, (chosenBy.get(id) ?? 0) + 1);
    });
    // 200 × 12 choices over 200 peers: 12 on average. Nearness to each node's own position
    // spreads them as Chord's fingers are spread (a peer alone in a wide stretch of the space is
    // nearest for more nodes: 46 here); ranking by age made one peer the choice of all 199.
    expect(Math.max(...chosenBy.values())).toBeLessThanOrEqual(50);
  });

  it('counts ring neighbours and reserved links against the budget, and spreads over buckets lowest first', () => {
    const random = createSeededRandom(4);
    const table = new RoutingTable(self, 0);
    let n = 1;
    for (const index of [0, 1, 2, 3]) for (let i = 0; i < 3; i += 1) table.observe(syntheticContact(idOf(n++), randomPositionInBucket(self, index, random)), n, { verified: true });
    const ring = table.bucket(3).map((c) => c.id); // the ring covers bucket 3 entirely
    const chosen = chooseDhtLinks({ table, ringNeighbours: ring, budget: 3 + 5, reserved: 0 });
    expect(chosen.map((id) => cpl(self, table.get(id)!.position))).toEqual([0, 1, 2, 0, 1]);
    expect(chooseDhtLinks({ table, ringNeighbours: ring, budget: 3 + 5, reserved: 4 })).toHaveLength(1);
    expect(chooseDhtLinks({ table, ringNeighbours: ring, budget: 2 })).toEqual([]);
    // Over budget on ring neighbours alone: every DHT link is closed, no ring neighbour is.
    expect(planLinks({ table, ringNeighbours: ring, links: [...chosen, ring[0]!], budget: 2 })).toEqual({ open: [], close: chosen });
  });

  it('dials only below dialBudget and only up to it, keeps what it holds up to the budget, best-ranked first', () => {
    const random = createSeededRandom(5);
    const table = new RoutingTable(self, 0);
    let n = 1;
    for (const index of [0, 1, 2, 3, 4]) for (let i = 0; i < 4; i += 1) table.observe(syntheticContact(idOf(n++), randomPositionInBucket(self, index, random)), n, { verified: true });
    const ring = [idOf(1)];
    const wanted = chooseDhtLinks({ table, ringNeighbours: ring, budget: 12 });
    expect(wanted).toHaveLength(11);
    // Nothing held: dials the 7 best-ranked of the 11 it would hold (1 ring + 7 = dialBudget 8).
    expect(planLinks({ table, ringNeighbours: ring, links: [], budget: 12, dialBudget: 8 })).toEqual({ open: wanted.slice(0, 7), close: [] });
    // Holding the 10 lowest-ranked of them (11 links): at or above dialBudget, so no dial and no close.
    const held = wanted.slice(1);
    expect(planLinks({ table, ringNeighbours: ring, links: held, budget: 12, dialBudget: 8 })).toEqual({ open: [], close: [] });
    // Without dialBudget, the budget: it dials the missing best one.
    expect(planLinks({ table, ringNeighbours: ring, links: held, budget: 12 })).toEqual({ open: [wanted[0]], close: [] });
    // Down to 5 links (ring + 4): dials 3, the best-ranked missing ones (ranked with the 4 it holds preferred).
    const holding = wanted.slice(7);
    const ranked = chooseDhtLinks({ table, ringNeighbours: ring, budget: 12, links: holding });
    expect(new Set(ranked.filter((id) => holding.includes(id)))).toEqual(new Set(holding));
    expect(planLinks({ table, ringNeighbours: ring, links: holding, budget: 12, dialBudget: 8 }).open).toEqual(ranked.filter((id) => !holding.includes(id)).slice(0, 3));
    // Links the node did not dial (given as ring neighbours) count too: 8 of them leave no room to dial.
    expect(planLinks({ table, ringNeighbours: Array.from({ length: 8 }, (_, i) => idOf(900 + i)), links: [], budget: 12, dialBudget: 8 }).open).toEqual([]);
    expect([dialCeiling(32), dialCeiling(16), dialCeiling(8), dialCeiling(7), dialCeiling(1)]).toEqual([28, 14, 7, 7, 1]);
  });

  it('with a dialBudget: within both budgets, never past the dial budget by its own dials, and idempotent', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(40), ({ table, ringNeighbours, links, budget, reserved }, dialBudget) => {
        const input: LinkPlanInput = { table, ringNeighbours, links, budget, reserved, dialBudget: Math.min(dialBudget, budget) };
        const plan = planLinks(input);
        const ring = new Set(ringNeighbours);
        const kept = links.filter((id) => !plan.close.includes(id) && !ring.has(id));
        if (plan.open.length > 0) expect(ring.size + reserved + kept.length + plan.open.length).toBeLessThanOrEqual(input.dialBudget!);
        const after = apply(links, plan);
        expect(after.filter((id) => !ring.has(id)).length).toBeLessThanOrEqual(Math.max(0, budget - reserved - ring.size));
        expect(planLinks({ ...input, links: after })).toEqual({ open: [], close: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a negative or fractional budget', () => {
    const table = new RoutingTable(self, 0);
    for (const bad of [{ budget: -1 }, { budget: 1.5 }, { reserved: -1 }]) {
      expect(() => chooseDhtLinks({ table, ringNeighbours: [], ...bad })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    }
  });
});

describe('routing over planned links (600 nodes, full knowledge, 8 successors + predecessor, 32 links)', () => {
  it('greedy lookups always end at the XOR-closest node, in few hops', () => {
    const N = 600;
    const random = createSeededRandom(42);
    const nodes: Contact[] = sortByPosition(Array.from({ length: N }, () => contactOf(Buffer.from(random.bytes(32)).toString('hex') as PeerId)));
    const links = nodes.map((self, i) => {
      const table = new RoutingTable(self.position, 0);
      for (const c of nodes) if (c !== self) table.observe(c, 1, { verified: true });
      const ring = [1, 2, 3, 4, 5, 6, 7, 8, -1].map((d) => nodes[(i + d + N) % N]!);
      const chosen = chooseDhtLinks({ table, ringNeighbours: ring.map((c) => c.id) });
      expect(ring.length + chosen.length).toBeLessThanOrEqual(32);
      return [...ring, ...chosen.map((id) => table.get(id)!)];
    });
    const index = new Map(nodes.map((c, i) => [c.id, i]));
    const hops: number[] = [];
    for (let q = 0; q < 1_000; q += 1) {
      const target = Buffer.from(random.bytes(32)).toString('hex') as Position;
      let at = Math.floor(random.float() * N);
      let h = 0;
      for (let hop = nextHop(nodes[at]!.position, target, links[at]!); hop !== undefined; hop = nextHop(nodes[at]!.position, target, links[at]!)) {
        at = index.get(hop.id)!;
        h += 1;
      }
      const best = nodes.reduce((a, b) => (compareDistance(target, b.position, a.position) < 0 ? b : a));
      expect(nodes[at]!.id).toBe(best.id);
      hops.push(h);
    }
    hops.sort((a, b) => a - b);
    // log2(600) ≈ 9.2 bits; one link per XOR bit would need ~9 hops.
    expect(hops[500]).toBeLessThanOrEqual(4);
    expect(hops[990]).toBeLessThanOrEqual(6);
  });
});
