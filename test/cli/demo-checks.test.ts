import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDistance } from '../../src/actors/dht/xor-distance.js';
import { positionHex, type Position } from '../../src/actors/ring/id-space.js';
import type { RingView } from '../../src/actors/ring/ring-view.js';
import { closestTruth, ringOrder, ringProblems, unlinkedPair } from '../../src/cli/commands/demo-checks.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const peerIdArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex') as PeerId);
const peerIdsArb = (min: number, max: number) => fc.uniqueArray(peerIdArb, { minLength: min, maxLength: max });
const positionArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex') as Position);

/** The views of a correct ring with successor lists of length r, built from the ring order. */
function correctViews(ids: readonly PeerId[], r: number): Map<PeerId, RingView> {
  const order = ringOrder(ids);
  const n = order.length;
  return new Map(
    order.map((self, k) => [
      self,
      {
        self,
        state: 'member',
        predecessor: order[(k - 1 + n) % n],
        successors: Array.from({ length: Math.min(r, n - 1) }, (_, s) => order[(k + 1 + s) % n]!),
      },
    ]),
  );
}

describe('ringOrder', () => {
  it('orders ids by ring position, ascending', () => {
    fc.assert(
      fc.property(peerIdsArb(0, 12), (ids) => {
        const positions = ringOrder(ids).map(positionHex);
        expect(positions).toEqual([...positions].sort());
        expect(new Set(ringOrder(ids))).toEqual(new Set(ids));
      }),
    );
  });
});

describe('ringProblems', () => {
  it('finds nothing wrong in a correct ring', () => {
    fc.assert(
      fc.property(peerIdsArb(2, 12), fc.integer({ min: 1, max: 4 }), (ids, r) => {
        expect(ringProblems(ids, correctViews(ids, r), r)).toEqual([]);
      }),
    );
  });

  it('names a node whose successor was skipped, and one without a predecessor, by their labels', () => {
    fc.assert(
      fc.property(peerIdsArb(4, 12), fc.nat(), (ids, pick) => {
        const order = ringOrder(ids);
        const views = correctViews(ids, 2);
        const k = pick % order.length;
        const self = order[k]!;
        const orphan = order[(k + 1) % order.length]!;
        // self skips its successor, which then has no predecessor: the stuck shape seen in the engine.
        views.set(self, { ...views.get(self)!, successors: [order[(k + 2) % order.length]!, order[(k + 3) % order.length]!] });
        views.set(orphan, { ...views.get(orphan)!, predecessor: undefined });
        const label = (id: PeerId) => `n${ids.indexOf(id)}`;
        const problems = ringProblems(ids, views, 2, label);
        expect(problems).toHaveLength(2);
        expect(problems.find((p) => p.startsWith(`${label(self)} `))).toMatch(new RegExp(`^${label(self)} \\(member\\) has successors .+, expected ${label(orphan)},`));
        expect(problems).toContain(`${label(orphan)} (member) has predecessor none, expected ${label(self)}`);
      }),
    );
  });

  it('reports a node that has no ring view yet', () => {
    const ids = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)] as PeerId[];
    const views = correctViews(ids, 2);
    views.delete(ids[1]!);
    expect(ringProblems(ids, views, 2)).toEqual(['bbbbbbbb has no ring view yet']);
  });
});

describe('closestTruth', () => {
  it('is the first `count` ids of a full sort by XOR distance to the target', () => {
    fc.assert(
      fc.property(peerIdsArb(0, 20), positionArb, fc.integer({ min: 1, max: 8 }), (ids, target, count) => {
        const sorted = [...ids].sort((a, b) => compareDistance(target, positionHex(a), positionHex(b)));
        expect(closestTruth(target, ids, count)).toEqual(sorted.slice(0, count));
      }),
    );
  });
});

describe('unlinkedPair', () => {
  const ids = ['1', '2', '3', '4'].map((c) => c.repeat(64) as PeerId);
  const idOf = (i: number) => ids[i]!;

  it('is undefined when every pair is linked', () => {
    const all = (i: number) => ids.filter((_, j) => j !== i);
    expect(unlinkedPair([0, 1, 2, 3], all, idOf)).toBeUndefined();
  });

  it('finds a pair neither of whose ends lists the other, even when only one end reports the link', () => {
    // 0-2 is linked as far as 0 knows; 1-3 is known to nobody.
    const links: PeerId[][] = [[ids[1]!, ids[2]!, ids[3]!], [ids[0]!, ids[2]!], [ids[1]!, ids[3]!], [ids[0]!, ids[2]!]];
    expect(unlinkedPair([0, 1, 2, 3], (i) => links[i]!, idOf)).toEqual([1, 3]);
  });

  it('only considers the candidates given (a departed node is no candidate)', () => {
    const none = () => [] as PeerId[];
    expect(unlinkedPair([2, 3], none, idOf)).toEqual([2, 3]);
    expect(unlinkedPair([3], none, idOf)).toBeUndefined();
  });
});
