/**
 * Stabilization backs off while rounds keep finding the same near neighbourhood (RingConfig
 * stabilizeMaxIntervalFactor) and returns to the base period as soon as the predecessor or one of
 * the first nearSuccessors successors changes; a change further down the list does not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const BASE_MS = 2_000;
const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 3, nearSuccessors: 2, stabilizeIntervalMs: BASE_MS, stabilizeMaxIntervalFactor: 8, mergeIntervalMs: 3_600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** A member whose successor answers every `get` with `reply()`; returns the instants of the gets. */
async function memberAnswering(nodes: Contact[], reply: () => Contact[]): Promise<{ h: RingActorHarness; gets: () => number[]; runFor: (ms: number) => Promise<void> }> {
  const [self, successor, predecessor] = [nodes[0]!, nodes[1]!, nodes.at(-1)!];
  const h = startRingActor(self, CONFIG, { linked: [successor.id, predecessor.id], bootstrap: [successor.id] });
  running = h;
  await advance(h.clock, 0);
  const find = h.sends.find((s) => s.message.t === 'find')?.message;
  if (find?.t !== 'find') throw new Error('no join lookup was sent');
  h.from(successor, { t: 'found', rid: find.rid, target: find.target, node: successor.id, path: [self.id] });
  h.from(predecessor, { t: 'notify' });
  let answered = 0;
  const getIndexes = () => h.sends.flatMap((s, i) => (s.message.t === 'get' && s.to === successor.id ? [i] : []));
  const runFor = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      await advance(h.clock, 50);
      for (const unanswered = getIndexes().length; answered < unanswered; answered += 1) {
        h.from(successor, { t: 'neighbours', predecessor: self.id, successors: reply().map((c) => c.id) });
      }
    }
  };
  return { h, gets: () => getIndexes().map((i) => h.sends[i]!.at), runFor };
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('stabilization back-off', () => {
  it('spaces rounds out to 8 base periods while nothing changes, and returns to the base period on a change', async () => {
    const nodes = sortByPosition(randomContacts(createSeededRandom(21), 6));
    let list = [nodes[2]!, nodes[3]!];
    const { gets, runFor } = await memberAnswering(nodes, () => list);
    await runFor(200_000);
    const calm = gaps(gets());
    // Jitter is ±50% of the current period: the first gaps are short, the later ones ≥ 8 × 0.5 base periods.
    expect(calm.length).toBeGreaterThan(8);
    expect(Math.min(...calm.slice(0, 2))).toBeLessThanOrEqual(2 * 1.5 * BASE_MS);
    for (const gap of calm.slice(-4)) expect(gap).toBeGreaterThanOrEqual(8 * 0.5 * BASE_MS);
    for (const gap of calm) expect(gap).toBeLessThanOrEqual(8 * 1.5 * BASE_MS + 100);

    // Our second successor changes (our list [1, 2, 3] becomes [1, 3, 4]): the round after the one
    // that saw it comes at the base period.
    list = [nodes[3]!, nodes[4]!];
    const before = gets().length;
    await runFor(40_000);
    const after = gets().slice(before - 1);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(gaps(after).slice(1, 2)[0]).toBeLessThanOrEqual(1.5 * BASE_MS + 100);
  });

  it('keeps rounds spaced out when the list changes past the near successors (news that comes by list pushes)', async () => {
    const nodes = sortByPosition(randomContacts(createSeededRandom(23), 6));
    let list = [nodes[2]!, nodes[3]!];
    const { gets, runFor } = await memberAnswering(nodes, () => list);
    await runFor(100_000);
    // Our list [1, 2, 3] becomes [1, 2, 4]: the third successor changed, the near two did not.
    list = [nodes[2]!, nodes[4]!];
    const before = gets().length;
    await runFor(60_000);
    const after = gets().slice(before - 1);
    expect(after.length).toBeGreaterThanOrEqual(3);
    for (const gap of gaps(after)) expect(gap).toBeGreaterThanOrEqual(8 * 0.5 * BASE_MS);
  });

  it('with a factor of 1 every round waits one base period (± jitter)', async () => {
    const nodes = sortByPosition(randomContacts(createSeededRandom(22), 5));
    CONFIG.stabilizeMaxIntervalFactor = 1;
    try {
      const { gets, runFor } = await memberAnswering(nodes, () => [nodes[2]!]);
      await runFor(60_000);
      const calm = gaps(gets());
      expect(calm.length).toBeGreaterThan(15);
      for (const gap of calm) expect(gap).toBeLessThanOrEqual(1.5 * BASE_MS + 100);
    } finally {
      CONFIG.stabilizeMaxIntervalFactor = 8;
    }
  });
});
