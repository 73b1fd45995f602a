import { roundTo } from './round.js';

/**
 * How long one access to memory outside the caches takes right now: a chain of dependent loads
 * in random order through a table far larger than the processor's caches (each load's address
 * comes from the previous one, so neither prefetching nor overlap hides the latency).
 *
 * Why a benchmark wants it: a large simulation is bound by exactly this (a 10,000-node run
 * touches ~3 GiB of scattered actor objects), and on the development machine, a virtual
 * machine, it moved between 162 and 222 ns within five minutes (a probe through 512 MiB) while a
 * loop of register arithmetic mostly stayed at 0.47–0.61 ns per step; the same 10,000-node run took 361 to 475 s within an hour. Sampled
 * beside a run, it tells a slow hour from slower code.
 */
export interface LatencyProbe {
  /** ns per access over `steps` dependent loads (continuing the chain where the last sample left it). */
  sample(steps?: number): number;
  /** Entries in the chain. */
  readonly entries: number;
}

/** 32 Mi entries of 4 bytes: 128 MiB, several times any cache here. */
const DEFAULT_ENTRIES = 32 * 1024 * 1024;
const DEFAULT_STEPS = 400_000;

/**
 * A single cycle through all `entries` slots (Sattolo's shuffle, from a fixed seed), so a walk
 * never falls into a short loop that would stay in the cache.
 */
export function createLatencyProbe(entries = DEFAULT_ENTRIES): LatencyProbe {
  if (!Number.isInteger(entries) || entries < 2 || entries > 2 ** 32) throw new RangeError(`entries must be an integer in [2, 2^32], got ${entries}`);
  const next = singleCycle(entries);
  let at = 0;
  return {
    entries,
    sample(steps = DEFAULT_STEPS) {
      if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
      let p = at;
      const started = performance.now();
      for (let i = 0; i < steps; i += 1) p = next[p]!;
      const ns = ((performance.now() - started) * 1e6) / steps;
      at = p;
      return ns;
    },
  };
}

/** next[i] is the slot after i; following it from any slot visits every slot once before returning. */
export function singleCycle(entries: number): Uint32Array {
  const next = new Uint32Array(entries);
  for (let i = 0; i < entries; i += 1) next[i] = i;
  // A fixed LCG: the same chain every run.
  let seed = 0x2545f491;
  for (let i = entries - 1; i > 0; i -= 1) {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const j = Math.floor((seed / 2 ** 32) * i);
    const swap = next[i]!;
    next[i] = next[j]!;
    next[j] = swap;
  }
  return next;
}

/**
 * Median, least and most of the samples taken (ns per access, one decimal); null when none were.
 * The median, not the mean: one sample taken while the machine stalled (662.5 ns among 41 whose
 * least was 161.4, in a 10,000-node run) moved the mean by ~10 ns.
 */
export function latencySummary(samples: readonly number[]): { medianNs: number; minNs: number; maxNs: number; samples: number } | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { medianNs: roundTo(median, 1), minNs: roundTo(sorted[0]!, 1), maxNs: roundTo(sorted.at(-1)!, 1), samples: sorted.length };
}
