import { readFileSync } from 'node:fs';
import { PeerSockError } from '../src/errors.js';
import { scenarioFromJson, validateScenario, type ScenarioStep } from './scenario.js';
import { createSeededRandom, deriveSeed } from './seeded-random.js';

/**
 * Churn models for long simulator runs, as plain scenario steps (sim/scenario.ts), so a run
 * is data: it can be printed, saved and replayed. The initial joins are steps too (spread
 * over a join window), which keeps every `pick` exact: the generator tracks the alive nodes
 * in creation order exactly as `applyStep` will see them.
 *
 *   none                 no churn after the initial joins
 *   exponential:<median> each node's session ~ Exp with that median; when it ends the node
 *                        leaves gracefully or crashes (50/50) and a fresh node joins at the
 *                        same instant, so N stays constant
 *   script:<file>        the steps of a scenario JSON file (times from the start of the run)
 */
export type ChurnModel =
  | { kind: 'none' }
  | { kind: 'exponential'; medianMs: number }
  | { kind: 'script'; file: string; steps: readonly ScenarioStep[] };

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration such as `90s`, `10m`, `1h`, `250ms`, `1.5h` or `1h30m`, in ms. A bare number
 * is seconds. Throws INVALID_ARGUMENT otherwise.
 */
export function parseDuration(text: string): number {
  const trimmed = typeof text === 'string' ? text.trim().toLowerCase() : '';
  const bad = () => new PeerSockError('INVALID_ARGUMENT', `not a duration: ${JSON.stringify(String(text).slice(0, 40))} (use e.g. 90s, 10m, 1h)`);
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1_000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) throw bad();
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(amount) * UNITS[unit!]!;
  if (!Number.isFinite(total)) throw bad();
  return total;
}

/** `90000` → `1m30s`; sub-second values as ms. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 100) / 10;
  const h = Math.floor(totalSeconds / 3_600);
  const m = Math.floor((totalSeconds % 3_600) / 60);
  const s = Math.round((totalSeconds % 60) * 10) / 10;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 || (h === 0 && m === 0) ? `${s}s` : ''}`;
}

/** `none`, `exponential:<median>` or `script:<file>` (the file is read and validated here). */
export function parseChurnModel(text: string, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): ChurnModel {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  if (trimmed === 'none') return { kind: 'none' };
  const colon = trimmed.indexOf(':');
  const kind = colon < 0 ? trimmed : trimmed.slice(0, colon);
  const arg = colon < 0 ? '' : trimmed.slice(colon + 1);
  if (kind === 'exponential') {
    if (arg === '') throw new PeerSockError('INVALID_ARGUMENT', 'churn model exponential needs a median session length, e.g. exponential:30m');
    const medianMs = parseDuration(arg);
    if (medianMs <= 0) throw new PeerSockError('INVALID_ARGUMENT', 'the median session length must be positive');
    return { kind: 'exponential', medianMs };
  }
  if (kind === 'script') {
    if (arg === '') throw new PeerSockError('INVALID_ARGUMENT', 'churn model script needs a file, e.g. script:events.json');
    let text: string;
    try {
      text = readFile(arg);
    } catch (error) {
      throw new PeerSockError('INVALID_ARGUMENT', `cannot read churn script ${arg}: ${(error as Error).message}`);
    }
    return { kind: 'script', file: arg, steps: scriptSteps(text) };
  }
  throw new PeerSockError('INVALID_ARGUMENT', `unknown churn model ${JSON.stringify(trimmed.slice(0, 40))} (none, exponential:<median>, script:<file>)`);
}

/** A scenario file (with its format tag), or a bare JSON array of steps. */
export function scriptSteps(text: string): ScenarioStep[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PeerSockError('INVALID_ARGUMENT', `churn script: not JSON (${(error as Error).message})`);
  }
  if (Array.isArray(parsed)) return validateScenario({ seed: 0, nodes: 0, quietMs: 0, steps: parsed as ScenarioStep[] }).steps;
  return scenarioFromJson(text).steps;
}

export interface ChurnPlanOptions {
  /** Nodes joined at the start, spread evenly over `joinWindowMs`. */
  nodes: number;
  /** Virtual ms of the run; no churn step is at or beyond it. */
  durationMs: number;
  seed: number;
  /** The initial joins happen at i × joinWindowMs / nodes (default 0: all at once). */
  joinWindowMs?: number;
}

export interface ChurnPlan {
  /** Initial joins then churn, in ascending time. */
  steps: ScenarioStep[];
  /** Time of the last initial join. */
  joinedAt: number;
  /** Completed session lengths (exponential model), for statistics. */
  sessions: number[];
}

const CHURN_STREAM = 0x7c0;

export function planChurn(model: ChurnModel, options: ChurnPlanOptions): ChurnPlan {
  const { nodes, durationMs } = options;
  if (!Number.isInteger(nodes) || nodes < 0) throw new RangeError(`nodes must be a non-negative integer, got ${nodes}`);
  if (!(durationMs >= 0)) throw new RangeError(`durationMs must be non-negative, got ${durationMs}`);
  const window = Math.max(0, Math.min(options.joinWindowMs ?? 0, durationMs));
  const joinTimes = Array.from({ length: nodes }, (_, i) => Math.round((i * window) / Math.max(1, nodes)));
  const joins: ScenarioStep[] = joinTimes.map((at) => ({ at, op: 'join' }));
  const joinedAt = joinTimes.at(-1) ?? 0;
  switch (model.kind) {
    case 'none':
      return { steps: joins, joinedAt, sessions: [] };
    case 'script':
      return { steps: mergeByTime(joins, model.steps.filter((step) => step.at < durationMs)), joinedAt, sessions: [] };
    case 'exponential': {
      const { steps, sessions } = exponentialChurn(joinTimes, model.medianMs, durationMs, options.seed);
      return { steps, joinedAt, sessions };
    }
  }
}

/**
 * Sessions ~ Exp(ln 2 / median), one per node from its join. Departures and the joins that
 * replace them are interleaved with the initial joins in time order, and each departure's
 * `pick` is the departing node's index among the alive nodes in creation order at that
 * moment (the numbering applyStep uses).
 */
function exponentialChurn(joinTimes: readonly number[], medianMs: number, durationMs: number, seed: number) {
  const random = createSeededRandom(deriveSeed(seed, CHURN_STREAM));
  const mean = medianMs / Math.LN2;
  const session = () => -mean * Math.log(1 - random.float());
  // Events in a min-heap by (time, sequence): a join creates a node with its departure time.
  type Event = { at: number; seq: number; kind: 'join' } | { at: number; seq: number; kind: 'depart'; node: number };
  const heap: Event[] = [];
  let seq = 0;
  const push = (event: Event) => {
    heap.push(event);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const pop = (): Event | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        let m = i;
        if (l < heap.length && earlier(heap[l]!, heap[m]!)) m = l;
        if (l + 1 < heap.length && earlier(heap[l + 1]!, heap[m]!)) m = l + 1;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  for (const at of joinTimes) push({ at, seq: seq++, kind: 'join' });

  const steps: ScenarioStep[] = [];
  const sessions: number[] = [];
  // Alive node numbers in creation order; node numbers increase with creation.
  const alive: number[] = [];
  const joinedAt = new Map<number, number>();
  let created = 0;
  for (let event = pop(); event !== undefined && event.at < durationMs; event = pop()) {
    const at = Math.round(event.at);
    if (event.kind === 'join') {
      const node = created++;
      alive.push(node);
      joinedAt.set(node, event.at);
      steps.push({ at, op: 'join' });
      push({ at: event.at + session(), seq: seq++, kind: 'depart', node });
      continue;
    }
    // applyStep keeps the last node alive; so does the plan, and its session just goes on.
    const index = binarySearch(alive, event.node);
    if (index < 0) continue;
    if (alive.length <= 1) {
      push({ at: event.at + session(), seq: seq++, kind: 'depart', node: event.node });
      continue;
    }
    alive.splice(index, 1);
    sessions.push(event.at - joinedAt.get(event.node)!);
    joinedAt.delete(event.node);
    steps.push({ at, op: random.float() < 0.5 ? 'leave' : 'crash', pick: index });
    push({ at: event.at, seq: seq++, kind: 'join' });
  }
  return { steps, sessions };
}

function earlier(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function binarySearch(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Stable merge of two step lists already in time order (a's first on ties). */
function mergeByTime(a: readonly ScenarioStep[], b: readonly ScenarioStep[]): ScenarioStep[] {
  const out: ScenarioStep[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.at <= b[j]!.at)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
