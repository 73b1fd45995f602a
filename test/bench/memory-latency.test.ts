import { describe, expect, it } from 'vitest';
import { createLatencyProbe, latencySummary, singleCycle } from '../../bench/memory-latency.js';

describe('memory latency probe', () => {
  it('chains every slot into one cycle', () => {
    for (const entries of [2, 3, 17, 1_000]) {
      const next = singleCycle(entries);
      const seen = new Set<number>();
      let p = 0;
      for (let i = 0; i < entries; i += 1) {
        seen.add(p);
        p = next[p]!;
      }
      expect(p).toBe(0);
      expect(seen.size).toBe(entries);
    }
  });

  it('is the same chain every time', () => {
    expect([...singleCycle(50)]).toEqual([...singleCycle(50)]);
  });

  it('gives a time per access and refuses nonsense', () => {
    const probe = createLatencyProbe(1 << 16);
    const ns = probe.sample(10_000);
    expect(Number.isFinite(ns) && ns > 0).toBe(true);
    expect(() => probe.sample(0)).toThrow(RangeError);
    expect(() => createLatencyProbe(1)).toThrow(RangeError);
  });

  it('summarises samples', () => {
    expect(latencySummary([])).toBeNull();
    expect(latencySummary([100, 900, 150])).toEqual({ medianNs: 150, minNs: 100, maxNs: 900, samples: 3 });
    expect(latencySummary([200, 100, 160, 150])).toEqual({ medianNs: 155, minNs: 100, maxNs: 200, samples: 4 });
  });
});
