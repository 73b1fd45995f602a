/**
 * The figures bench/dht-sim.bench.ts prints, from the probes' records (dht-sim-probes.ts).
 * Percentiles are nearest-rank over the samples (p99 of 100 samples is the 99th smallest).
 */
import { TOP, type LookupRecord, type SendRecord } from './dht-sim-probes.js';

/** What the figures read of a lookup record: not who asked or for what (dht-sim-pool.ts sends records without them). */
export type LookupOutcomeRecord = Omit<LookupRecord, 'origin' | 'target'>;
/** What the figures read of a send record: not between whom. */
export type SendOutcomeRecord = Omit<SendRecord, 'from' | 'to'>;

/** Nearest-rank percentile; null without samples. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A latency percentile in whole virtual ms. */
const ms = (values: readonly number[], p: number): number | null => {
  const value = percentile(values, p);
  return value === null ? null : Math.round(value);
};

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : Math.round((part / whole) * 100_000) / 100_000);
const tally = (keys: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const key of keys) out[key] = (out[key] ?? 0) + 1;
  return out;
};

export interface LookupFigures {
  /** Lookups that count: settled (or never settled) with their origin alive. */
  counted: number;
  excluded: number;
  /** Resolved with the truly closest alive peer first (exact or firstRight). */
  success: number | null;
  /** Resolved with exactly the truly closest `count` alive peers. */
  exact: number | null;
  /** Resolved with exactly the truly closest TOP (5) alive peers first. */
  exactTop: number | null;
  hopsMedian: number | null;
  hopsP99: number | null;
  hopsMax: number | null;
  /** Issue → answer, virtual ms, over every resolved lookup (right or wrong). */
  latencyMedianMs: number | null;
  latencyP99Ms: number | null;
  /** What the unsuccessful ones were: rejected:<code>, wrong:<cause>, pending. */
  failures: Record<string, number>;
  /** wrong:answeredDeparted by how the answered peer departed, and its median age then (virtual ms). */
  departedAnswers: { crash: number; leave: number; agoMedianMs: number | null };
}

export function lookupFigures(records: readonly LookupOutcomeRecord[]): LookupFigures {
  const counted = records.filter((r) => r.result !== 'excluded');
  const resolved = counted.filter((r) => r.result === 'exact' || r.result === 'firstRight' || r.result === 'wrong');
  const hops = resolved.flatMap((r) => (r.hops === undefined ? [] : [r.hops]));
  const latencies = resolved.map((r) => r.settledAt! - r.issuedAt);
  const good = resolved.filter((r) => r.result !== 'wrong').length;
  return {
    counted: counted.length,
    excluded: records.length - counted.length,
    success: ratio(good, counted.length),
    exact: ratio(counted.filter((r) => r.result === 'exact').length, counted.length),
    exactTop: ratio(counted.filter((r) => r.topExact === true).length, counted.length),
    hopsMedian: percentile(hops, 50),
    hopsP99: percentile(hops, 99),
    hopsMax: hops.length === 0 ? null : Math.max(...hops),
    latencyMedianMs: ms(latencies, 50),
    latencyP99Ms: ms(latencies, 99),
    failures: tally(
      counted.flatMap((r) => (r.result === 'rejected' ? [`rejected:${r.code}`] : r.result === 'wrong' ? [`wrong:${r.cause}`] : r.result === 'pending' ? ['pending'] : [])),
    ),
    departedAnswers: {
      crash: counted.filter((r) => r.departed?.how === 'crash').length,
      leave: counted.filter((r) => r.departed?.how === 'leave').length,
      agoMedianMs: ms(counted.flatMap((r) => (r.departed === undefined ? [] : [r.departed.agoMs])), 50),
    },
  };
}

export interface SendFigures {
  /** Sends with both ends alive until the outcome (or still pending at the end). */
  counted: number;
  excluded: number;
  acked: number;
  timeout: number;
  /** Rejections other than TIMEOUT, by code. */
  failed: Record<string, number>;
  pending: number;
  /** acked / counted. */
  delivery: number | null;
  /** Reached the target's application (its messages$), acked or not. */
  reachedTarget: number | null;
  /** Send → target's messages$, virtual ms (one way, end to end). */
  oneWayMedianMs: number | null;
  oneWayP99Ms: number | null;
  /** Send → ack resolved the promise, virtual ms (round trip). */
  ackMedianMs: number | null;
  ackP99Ms: number | null;
}

export function sendFigures(records: readonly SendOutcomeRecord[]): SendFigures {
  const counted = records.filter((r) => r.result !== 'excluded');
  const acked = counted.filter((r) => r.result === 'acked');
  const delivered = counted.filter((r) => r.deliveredAt !== undefined);
  return {
    counted: counted.length,
    excluded: records.length - counted.length,
    acked: acked.length,
    timeout: counted.filter((r) => r.result === 'timeout').length,
    failed: tally(counted.filter((r) => r.result === 'failed').map((r) => r.code ?? '?')),
    pending: counted.filter((r) => r.result === 'pending').length,
    delivery: ratio(acked.length, counted.length),
    reachedTarget: ratio(delivered.length, counted.length),
    oneWayMedianMs: ms(delivered.map((r) => r.deliveredAt! - r.issuedAt), 50),
    oneWayP99Ms: ms(delivered.map((r) => r.deliveredAt! - r.issuedAt), 99),
    ackMedianMs: ms(acked.map((r) => r.settledAt! - r.issuedAt), 50),
    ackP99Ms: ms(acked.map((r) => r.settledAt! - r.issuedAt), 99),
  };
}
