/**
 * The network-size estimate from a successor list's span, and the partition-merge probe that
 * spaces out with it (RingConfig.mergeReferenceSize): in a large network every node probing
 * once a minute was a new connection per node per minute.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { estimateNetworkSize, mergePeriodFactor } from '../../src/actors/ring/network-size.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const R = 8;

function ring(n: number, seed: number): Contact[] {
  return sortByPosition(randomContacts(createSeededRandom(seed), n));
}

/** The estimate each of `count` evenly spread nodes of the ring makes from its r successors. */
function estimates(nodes: readonly Contact[], count: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < count; k += 1) {
    const i = Math.floor((k * nodes.length) / count);
    const successors = Array.from({ length: R }, (_, j) => nodes[(i + 1 + j) % nodes.length]!);
    out.push(estimateNetworkSize(nodes[i]!, successors, R));
  }
  return out.sort((a, b) => a - b);
}

describe('network-size estimate', () => {
  it('is the exact count when the successor list is not full (the node sees the whole ring)', () => {
    const nodes = ring(5, 1);
    expect(estimateNetworkSize(nodes[0]!, nodes.slice(1), R)).toBe(5);
    expect(estimateNetworkSize(nodes[0]!, [], R)).toBe(1);
  });

  it.each([1_000, 10_000])('among %i nodes: most estimates within a factor of 2, the median within a quarter', (n) => {
    const all = estimates(ring(n, n), 200);
    const median = all[all.length >> 1]!;
    expect(Math.abs(median / n - 1)).toBeLessThan(0.25);
    const within = all.filter((e) => e > n / 2 && e < 2 * n).length;
    expect(within / all.length).toBeGreaterThan(0.9);
  });

  it('spaces the merge probe only past the reference size, and never beyond the cap', () => {
    expect(mergePeriodFactor(10, 1_000, 16)).toBe(1);
    expect(mergePeriodFactor(4_000, 1_000, 16)).toBe(4);
    expect(mergePeriodFactor(1e9, 1_000, 16)).toBe(16);
  });
});

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** Merge probes a member sends in `minutes` when its successors span what `n` nodes would. */
async function mergeProbes(n: number, minutes: number, config: RingConfig, options: { firstAnswerListed?: number } = {}): Promise<number> {
  const nodes = ring(n, 3);
  const [self, successors, predecessor] = [nodes[0]!, nodes.slice(1, 1 + R), nodes.at(-1)!];
  running = startRingActor(self, config, { linked: [...successors, predecessor].map((c) => c.id), bootstrap: [successors[0]!.id] });
  const h = running;
  await advance(h.clock, 0);
  const join = h.sends.find((s) => s.message.t === 'find');
  if (join?.message.t !== 'find') throw new Error('no join lookup');
  h.from(successors[0]!, { t: 'found', rid: join.message.rid, target: join.message.target, node: successors[0]!.id, path: [self.id] });
  // A joiner among nodes that are joining too may first learn only part of its list.
  const listed = options.firstAnswerListed ?? R - 1;
  h.from(successors[0]!, { t: 'neighbours', successors: successors.slice(1, 1 + listed).map((c) => c.id) });
  // A predecessor, or the node would look its own position up to find one (seekPredecessor).
  h.from(predecessor, { t: 'notify' });
  expect(h.successors()).toEqual(successors.slice(0, 1 + listed).map((c) => c.id));
  expect(h.actor.getSnapshot().context.predecessor?.id).toBe(predecessor.id);
  const start = h.sends.length;
  // The successors answer stabilization (or the list would empty itself out as silent).
  let answered = start;
  for (let second = 0; second < minutes * 60; second += 1) {
    await advance(h.clock, 1_000);
    for (const sent of h.sends.slice(answered)) {
      const at = successors.findIndex((c) => c.id === sent.to);
      if (sent.message.t === 'get' && at >= 0) {
        h.from(successors[at]!, { t: 'neighbours', predecessor: self.id, successors: nodes.slice(at + 2, at + 2 + R).map((c) => c.id) });
      }
    }
    answered = h.sends.length;
  }
  expect(h.successors()).toEqual(successors.map((c) => c.id));
  // A merge probe looks up our own position (the per-round probe looks up the point past it).
  return h.sends.slice(start).filter((s) => s.message.t === 'find' && s.message.target === self.position).length;
}

describe('partition-merge probe period', () => {
  const config: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: R, mergeIntervalMs: 60_000, mergeReferenceSize: 1_000, mergeMaxIntervalFactor: 16 };

  it('is mergeIntervalMs in a small network', async () => {
    const probes = await mergeProbes(200, 30, config);
    expect(probes).toBeGreaterThanOrEqual(20);
    expect(probes).toBeLessThanOrEqual(40);
  });

  it('grows with the estimated size: about 8 times longer among ~8,000 nodes', async () => {
    const probes = await mergeProbes(8_000, 30, config);
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(8);
  });

  it("is timed afresh once a joiner's short list fills: no probe a minute after joining a large network", async () => {
    // It becomes a member with 1 successor, then its first answer names 2 (a ring of 3 at
    // most, as far as it can tell: factor 1, a probe within 90 s); its first round fills the
    // list (this seed's span reads ~7,200 nodes: factor ~7.2, the probe 3.6 to 10.8 minutes out).
    const probes = await mergeProbes(8_000, 3, config, { firstAnswerListed: 1 });
    expect(probes).toBe(0);
  });
});
