/**
 * The churn runs' seeds pooled (bench/dht-sim-pool.ts): the pooled success rate is over every
 * seed's lookups, not a mean of rates; nothing a seed measured is dropped, and a seed that
 * stopped early is named.
 */
import { describe, expect, it } from 'vitest';
import { lookupFigures, sendFigures } from '../../bench/dht-sim-figures.js';
import { poolSeeds, probeRecords, seedSummary } from '../../bench/dht-sim-pool.js';
import type { LookupRecord, SendRecord } from '../../bench/dht-sim-probes.js';
import type { RunFigures } from '../../bench/dht-sim.bench.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const peer = 'p' as PeerId;
const target = '0'.repeat(64) as Position;
const right = (settledAt: number): LookupRecord => ({ origin: peer, target, issuedAt: 0, result: 'exact', settledAt, hops: 2, topExact: true });
const wrong: LookupRecord = { origin: peer, target, issuedAt: 0, result: 'wrong', settledAt: 100, hops: 2, cause: 'answeredDeparted' };
const acked: SendRecord = { from: peer, to: peer, issuedAt: 0, result: 'acked', settledAt: 80, deliveredAt: 40 };

function seedRun(seed: number, lookups: LookupRecord[], extra: Partial<RunFigures> = {}): RunFigures {
  return {
    run: 'churn30m',
    nodes: 100,
    seed,
    formation: { joined: 100, violations: 0, formedAt: 12_900, formedAtSec: 12.9, virtualSecReached: 737.9 },
    lookups: lookupFigures(lookups),
    sends: sendFigures([acked]),
    links: { linksMax: 30 + seed, linksMean: 28, overBudgetMeanFraction: 0.01, samples: 100 },
    windowSec: 600,
    departures: 20 + seed,
    wallSec: 30,
    peakRssMiB: 400 + seed,
    records: probeRecords(lookups, [acked]),
    ...extra,
  };
}

describe('poolSeeds', () => {
  it('computes the figures over every seed\'s records together', () => {
    // 1 failure in 4 and 0 in 1: pooled 80%, where a mean of the two rates would say 87.5%.
    const pooled = poolSeeds([seedRun(2, [right(100), right(200), right(300), wrong]), seedRun(12, [right(400)])]);
    expect(pooled.lookups?.counted).toBe(5);
    expect(pooled.lookups?.success).toBe(0.8);
    expect(pooled.lookups?.failures).toEqual({ 'wrong:answeredDeparted': 1 });
    expect(pooled.lookups?.latencyMedianMs).toBe(200);
    expect(pooled.sends?.counted).toBe(2);
    expect(pooled.departures).toBe(22 + 32);
    expect(pooled.windowSec).toBe(1_200);
    expect(pooled.wallSec).toBe(60);
    expect(pooled.peakRssMiB).toBe(412);
    expect(pooled.links).toEqual({ linksMax: 42, linksMean: 28, overBudgetMeanFraction: 0.01, samples: 200 });
    expect(pooled.records).toBeUndefined();
    expect(pooled.stopped).toBeUndefined();
  });

  it('weights the link means by samples and names the seeds that stopped early', () => {
    const short = seedRun(12, [right(100)], { links: { linksMax: 20, linksMean: 10, overBudgetMeanFraction: 0, samples: 300 }, stopped: 'wall budget' });
    const pooled = poolSeeds([seedRun(2, [right(100)]), short]);
    expect(pooled.links?.linksMean).toBe((28 * 100 + 10 * 300) / 400);
    expect(pooled.stopped).toBe('seed 12: wall budget');
  });

  it('keeps what each seed measured on its own', () => {
    const run = seedRun(2, [right(100), wrong]);
    expect(seedSummary(run)).toMatchObject({ seed: 2, lookupSuccess: 0.5, lookupCount: 2, departures: 22, formedAtSec: 12.9 });
  });

  it('refuses an empty list', () => {
    expect(() => poolSeeds([])).toThrow(/no runs/);
  });
});
