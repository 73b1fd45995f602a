import type { ScenarioOp } from './scenario.js';

/**
 * The summary of a long simulator run, computed from what was sampled along the way: the
 * ring's correctness at sampled instants, the memory network's traffic counters, and the
 * scenario steps applied. Pure functions over plain data, so they are tested without a
 * simulator and the CLI and the benchmarks report the same figures.
 */
export interface RunSample {
  /** Virtual ms. */
  at: number;
  /** checkRing held (successors, predecessors, lists, one cycle). */
  ringOk: boolean;
  /** Every invariant held (checkNetwork); absent when only the ring was checked. */
  allOk?: boolean;
  alive: number;
  /**
   * Fraction of alive nodes whose successor pointer is right. Under steady churn the whole ring
   * is rarely correct at one instant (a crash stays undetected for the heartbeat timeout), so
   * this is the figure that says how close it stays.
   */
  successorsRight?: number;
  messagesSent: number;
  bytesSent: number;
}

export interface RunEvent {
  at: number;
  op: ScenarioOp;
  /** Samples taken before the step was applied: its heal is looked for from this index on. */
  sampleIndex: number;
}

export interface HealRecord {
  at: number;
  op: ScenarioOp;
  /** Virtual ms until the ring was next seen correct; undefined if it never was. */
  healMs: number | undefined;
}

export interface MaintenanceFigures {
  messagesPerNodeSec: number;
  bytesPerNodeSec: number;
  /** Virtual ms of the windows measured. */
  windowMs: number;
  /** No quiet window existed: the figure includes the traffic of joins and failures. */
  churnIncluded: boolean;
}

export interface RunSummary {
  /** First sampled instant, after the initial joins, at which every checked invariant held. */
  formedAt: number | undefined;
  /** Heal times of the failure events after formation. */
  heals: HealRecord[];
  /** Failure events before formation (not in `heals`: the ring was not yet correct). */
  failuresBeforeFormed: number;
  healMedianMs: number | undefined;
  healMaxMs: number | undefined;
  /** Fraction of the samples after the initial joins where the ring was correct. */
  correctFraction: number | undefined;
  correctSamples: number;
  samples: number;
  /** Mean of `successorsRight` over the samples after the initial joins (when sampled). */
  meanSuccessorsRight: number | undefined;
  /** One character per time bucket: `#` always correct, `+` sometimes, `.` never. */
  timeline: string;
  maintenance: MaintenanceFigures | undefined;
}

/** The operations that break the ring: their heal time is measured. `heal` = a partition ends. */
export const FAILURE_OPS: ReadonlySet<ScenarioOp> = new Set<ScenarioOp>(['crash', 'leave', 'massCrash', 'heal']);

export interface SummarizeOptions {
  /** Virtual time of the last initial join. */
  joinedAt: number;
  /** A maintenance window starts this long after the last step before it (default 10 s). */
  quietMarginMs?: number;
  /** Characters in the timeline (default 50). */
  timelineWidth?: number;
}

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

export function summarizeRun(samples: readonly RunSample[], events: readonly RunEvent[], options: SummarizeOptions): RunSummary {
  const ok = (sample: RunSample) => sample.allOk ?? sample.ringOk;
  const formedIndex = samples.findIndex((sample) => sample.at >= options.joinedAt && ok(sample));
  const formedAt = formedIndex >= 0 ? samples[formedIndex]!.at : undefined;

  const heals: HealRecord[] = [];
  let failuresBeforeFormed = 0;
  for (const event of events) {
    if (!FAILURE_OPS.has(event.op)) continue;
    if (formedIndex < 0 || event.sampleIndex <= formedIndex) {
      failuresBeforeFormed += 1;
      continue;
    }
    let healMs: number | undefined;
    for (let i = event.sampleIndex; i < samples.length; i += 1) {
      if (samples[i]!.ringOk) {
        healMs = Math.max(0, samples[i]!.at - event.at);
        break;
      }
    }
    heals.push({ at: event.at, op: event.op, healMs });
  }
  const healed = heals.flatMap((heal) => (heal.healMs === undefined ? [] : [heal.healMs])).sort((a, b) => a - b);

  const after = samples.filter((sample) => sample.at >= options.joinedAt);
  const correctSamples = after.filter((sample) => sample.ringOk).length;
  return {
    formedAt,
    heals,
    failuresBeforeFormed,
    healMedianMs: median(healed),
    healMaxMs: healed.at(-1),
    correctFraction: after.length > 0 ? correctSamples / after.length : undefined,
    correctSamples,
    samples: after.length,
    meanSuccessorsRight: mean(after.flatMap((sample) => (sample.successorsRight === undefined ? [] : [sample.successorsRight]))),
    timeline: timeline(after, options.timelineWidth ?? 50),
    maintenance: maintenance(samples, events, formedIndex >= 0 ? formedIndex : firstAtOrAfter(samples, options.joinedAt), options.quietMarginMs ?? 10_000),
  };
}

/**
 * Traffic per alive node per second over the sampling intervals after `from` that no step
 * touched (none in [start − margin, end]); when there are none, over every interval after
 * `from`, flagged as churn included.
 */
export function maintenance(samples: readonly RunSample[], events: readonly RunEvent[], from: number, marginMs: number): MaintenanceFigures | undefined {
  if (from < 0) return undefined;
  const times = events.map((event) => event.at);
  const measure = (quietOnly: boolean) => {
    let messages = 0;
    let bytes = 0;
    let nodeSeconds = 0;
    let windowMs = 0;
    for (let i = Math.max(1, from + 1); i < samples.length; i += 1) {
      const a = samples[i - 1]!;
      const b = samples[i]!;
      const dt = b.at - a.at;
      if (dt <= 0) continue;
      if (quietOnly && times.some((t) => t >= a.at - marginMs && t <= b.at)) continue;
      messages += b.messagesSent - a.messagesSent;
      bytes += b.bytesSent - a.bytesSent;
      nodeSeconds += ((a.alive + b.alive) / 2) * (dt / 1_000);
      windowMs += dt;
    }
    return nodeSeconds > 0 ? { messagesPerNodeSec: messages / nodeSeconds, bytesPerNodeSec: bytes / nodeSeconds, windowMs } : undefined;
  };
  const quiet = measure(true);
  // A window shorter than a few stabilization rounds is noise.
  if (quiet && quiet.windowMs >= 5_000) return { ...quiet, churnIncluded: false };
  const all = measure(false);
  return all ? { ...all, churnIncluded: true } : undefined;
}

export function median(sorted: readonly number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function firstAtOrAfter(samples: readonly RunSample[], at: number): number {
  return samples.findIndex((sample) => sample.at >= at);
}

function timeline(samples: readonly RunSample[], width: number): string {
  if (samples.length === 0) return '';
  const buckets = Math.min(width, samples.length);
  let out = '';
  for (let b = 0; b < buckets; b += 1) {
    const slice = samples.slice(Math.floor((b * samples.length) / buckets), Math.floor(((b + 1) * samples.length) / buckets));
    const good = slice.filter((sample) => sample.ringOk).length;
    out += good === slice.length ? '#' : good === 0 ? '.' : '+';
  }
  return out;
}
