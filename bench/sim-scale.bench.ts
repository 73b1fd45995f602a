/**
 * Simulator scale: 1,000 and 10,000 nodes (the real actor trees with the ring) for 10
 * virtual minutes under exponential churn (median session 30 min): wall time, events
 * (trace entries) per wall second, peak memory per node. Each size runs in its own process
 * so peaks do not mix. Target (DESIGN §5): 10,000 nodes in ≤ 5 min wall, ≤ 4 GiB.
 *
 * Beside each run this process samples the machine's memory latency (memory-latency.ts), which
 * the simulator is bound by and which drifts: printed with the figures as `…MemoryLatencyNs`.
 *
 * A run that cannot make it stops at its wall-time budget and reports how far it got
 * (virtual seconds done) instead of hanging the bench. Environment:
 *   PEERSOCK_BENCH_MAX_NODES   largest N run (default 10000)
 *   PEERSOCK_BENCH_BUDGET_SEC  wall-time budget per size (default 300, the target)
 *   PEERSOCK_BENCH_SIZES       comma-separated sizes instead of 1000,10000
 *   PEERSOCK_BENCH_SIGNATURES  `ed25519` (default) or `simulated`: keyed hashes that verify
 *                              exactly like ed25519 inside the simulation (sim/simulated-signatures.ts)
 *   PEERSOCK_BENCH_CRYPTO      `thread` (default with ed25519): on a second thread, each operation
 *                              taking 2 virtual ms (sim/crypto-lane.ts); `inline`: on the
 *                              simulation's thread, answered at once (every figure before 2026-12-07)
 *   PEERSOCK_BENCH_CRYPTO_DELAY_MS  virtual ms per operation on the thread (default 2)
 *   PEERSOCK_BENCH_TRACE       `off` (default) or `full`: whether actor events are traced
 *                              (SimulatorOptions.trace; the actors behave the same either way)
 *   PEERSOCK_BENCH_TIME_RESOLUTION_MS  virtual-clock resolution (default 1; 0: exact)
 *   PEERSOCK_BENCH_BASELINE    `1` (default): first run 1,000 nodes traced on an exact clock,
 *                              the configuration of every figure before 2026-12-06, as the
 *                              baseline measured in the same run; `0`: skip it
 */
import { pathToFileURL } from 'node:url';
import { exitWithJson, runBenchChild } from './bench-child.js';
import { DEFAULT_RING_CONFIG } from '../src/actors/ring/ring-config.js';
import { runChurn, type ChurnRunOptions } from '../src/cli/sim-run.js';
import { DEFAULT_CRYPTO_DELAY_MS } from '../sim/simulator.js';
import { machineState } from './machine.js';
import { createLatencyProbe, latencySummary } from './memory-latency.js';
import { roundTo } from './round.js';

const SIZES = [1_000, 10_000];
const DURATION_MS = 10 * 60_000;
const MEDIAN_SESSION_MS = 30 * 60_000;
const MiB = 1024 * 1024;

export interface ScaleFigures extends Omit<ScaleSettings, 'cryptoDelayMs'> {
  nodes: number;
  /** Deadlines at which the simulation had to wait for the crypto thread. */
  cryptoWaits: number | null;
  wallSec: number;
  virtualSecDone: number;
  /** Wall time for the full 600 virtual s at the pace reached (a projection when stopped early). */
  projectedWallSec: number;
  completed: boolean;
  /** Why a run ended before its virtual time, when it was not the wall budget. */
  failure?: string;
  /** Trace entries (actor events and states; only the simulator's own operations with trace 'off'). */
  events: number;
  eventsPerSec: number;
  /** Timer callbacks run (message deliveries, actor delays, heartbeats): the simulation's events in either trace mode. */
  timersFired: number;
  timersPerSec: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  /** Most nodes alive at once (the per-node figures divide by it). */
  peakAlive: number;
  rssKiBPerNode: number;
  heapKiBPerNode: number;
  ringCorrectFraction: number | null;
  /** Mean fraction of alive nodes with the right successor, over the samples after the joins. */
  successorsRightMean: number | null;
  formedAtSec: number | null;
  /**
   * Wall time until JOIN_PHASE_MS of virtual time (the joins and their first links), and the wall
   * time per virtual second after it: the two halves of the run, which different work dominates
   * (connections being set up; keepalives and churn). null when the run did not get past it.
   */
  joinPhaseWallSec: number | null;
  steadyWallPerVirtualSec: number | null;
}

/** The joins' window (60 s for 1,000 nodes and more: defaultJoinWindowMs) and 20 s for their links. */
const JOIN_PHASE_MS = 80_000;

/**
 * The run this benchmark times, but for its simulator settings and callbacks: N nodes joining,
 * then exponential churn for 10 virtual minutes. bench/actor-floor.bench.ts counts its work.
 */
export function scaleScenario(nodes: number): Omit<ChurnRunOptions, 'simulator' | 'onProgress' | 'shouldStop'> {
  return {
    nodes,
    durationMs: DURATION_MS,
    seed: 1,
    model: { kind: 'exponential', medianMs: MEDIAN_SESSION_MS },
    ring: DEFAULT_RING_CONFIG,
    // Checking is not what is measured: the ring only, every 5 virtual seconds.
    sampleMs: 5_000,
    fullCheckMaxNodes: 0,
    quietMs: 0,
    // Stopping 10,000 nodes is not part of the run: the child process exits instead.
    close: false,
  };
}

/** One size, in this process. */
function signaturesSetting(): 'ed25519' | 'simulated' {
  const value = process.env.PEERSOCK_BENCH_SIGNATURES ?? 'ed25519';
  if (value !== 'ed25519' && value !== 'simulated') throw new Error(`PEERSOCK_BENCH_SIGNATURES must be ed25519 or simulated, got ${value}`);
  return value;
}

function cryptoSetting(signatures: 'ed25519' | 'simulated'): 'thread' | 'inline' {
  const value = process.env.PEERSOCK_BENCH_CRYPTO ?? (signatures === 'ed25519' ? 'thread' : 'inline');
  if (value !== 'thread' && value !== 'inline') throw new Error(`PEERSOCK_BENCH_CRYPTO must be thread or inline, got ${value}`);
  return value;
}

/** The delay on the crypto thread, the simulator's default included, so the printed figures say what ran. */
function cryptoDelaySetting(crypto: 'thread' | 'inline'): { cryptoDelayMs?: number } {
  if (crypto === 'inline') return {};
  const text = process.env.PEERSOCK_BENCH_CRYPTO_DELAY_MS;
  if (text === undefined) return { cryptoDelayMs: DEFAULT_CRYPTO_DELAY_MS };
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`PEERSOCK_BENCH_CRYPTO_DELAY_MS must be a number ≥ 0, got ${text}`);
  return { cryptoDelayMs: value };
}

function traceSetting(): 'full' | 'off' {
  const value = process.env.PEERSOCK_BENCH_TRACE ?? 'off';
  if (value !== 'full' && value !== 'off') throw new Error(`PEERSOCK_BENCH_TRACE must be full or off, got ${value}`);
  return value;
}

function resolutionSetting(): number {
  const value = Number(process.env.PEERSOCK_BENCH_TIME_RESOLUTION_MS ?? 1);
  if (!Number.isFinite(value) || value < 0) throw new Error(`PEERSOCK_BENCH_TIME_RESOLUTION_MS must be a number ≥ 0, got ${process.env.PEERSOCK_BENCH_TIME_RESOLUTION_MS}`);
  return value;
}

/** This run's settings from the environment, read once (each reader above refuses a bad value). */
interface ScaleSettings {
  signatures: 'ed25519' | 'simulated';
  crypto: 'thread' | 'inline';
  /** Only with the thread. */
  cryptoDelayMs?: number;
  trace: 'full' | 'off';
  timeResolutionMs: number;
}

function scaleSettings(): ScaleSettings {
  const signatures = signaturesSetting();
  const crypto = cryptoSetting(signatures);
  return { signatures, crypto, ...cryptoDelaySetting(crypto), trace: traceSetting(), timeResolutionMs: resolutionSetting() };
}

export async function runSimScale(nodes: number, budgetSec: number): Promise<ScaleFigures> {
  const settings = scaleSettings();
  const { signatures, crypto, trace, timeResolutionMs } = settings;
  let peakRss = 0;
  let peakHeap = 0;
  const sampleMemory = () => {
    const { rss, heapUsed } = process.memoryUsage();
    peakRss = Math.max(peakRss, rss);
    peakHeap = Math.max(peakHeap, heapUsed);
  };
  const timer = setInterval(sampleMemory, 1_000);
  const started = performance.now();
  let lastLog = started;
  let virtualMs = 0;
  // Per-node memory is over the nodes actually simulated (a run stopped early may not have joined them all).
  let peakAlive = 0;
  let joinPhase: { wallMs: number; virtualMs: number } | undefined;
  try {
    const result = await runChurn({
      ...scaleScenario(nodes),
      simulator: settings,
      onProgress: (progress) => {
        sampleMemory();
        virtualMs = progress.virtualMs;
        peakAlive = Math.max(peakAlive, progress.alive);
        const now = performance.now();
        if (joinPhase === undefined && progress.virtualMs >= JOIN_PHASE_MS) joinPhase = { wallMs: now - started, virtualMs: progress.virtualMs };
        if (now - lastLog > 15_000) {
          lastLog = now;
          console.log(
            `  n=${nodes}: ${(progress.virtualMs / 1_000).toFixed(0)} virtual s, wall ${((now - started) / 1_000).toFixed(0)} s, ` +
              `events ${progress.events}, timers ${progress.timers}, alive ${progress.alive}, rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`,
          );
        }
      },
      shouldStop: () => performance.now() - started > budgetSec * 1_000,
    });
    sampleMemory();
    const wallSec = (performance.now() - started) / 1_000;
    virtualMs = result.stoppedEarly ? virtualMs : result.endAt;
    const timersFired = result.simulator.clock.firedTimers();
    const cryptoStats = result.simulator.cryptoStats();
    return {
      nodes,
      signatures,
      crypto,
      cryptoWaits: cryptoStats?.waits ?? null,
      trace,
      timeResolutionMs,
      wallSec: roundTo(wallSec, 1),
      virtualSecDone: roundTo(virtualMs / 1_000, 1),
      projectedWallSec: Math.round(virtualMs > 0 ? (wallSec * DURATION_MS) / virtualMs : Infinity),
      completed: !result.stoppedEarly,
      events: result.traceTotal,
      eventsPerSec: Math.round(result.traceTotal / wallSec),
      timersFired,
      timersPerSec: Math.round(timersFired / wallSec),
      peakRssMiB: Math.round(peakRss / MiB),
      peakHeapMiB: Math.round(peakHeap / MiB),
      peakAlive,
      rssKiBPerNode: roundTo(peakRss / 1024 / Math.max(1, peakAlive), 1),
      heapKiBPerNode: roundTo(peakHeap / 1024 / Math.max(1, peakAlive), 1),
      ringCorrectFraction: result.summary.correctFraction === undefined ? null : roundTo(result.summary.correctFraction, 3),
      successorsRightMean: result.summary.meanSuccessorsRight === undefined ? null : roundTo(result.summary.meanSuccessorsRight, 4),
      formedAtSec: result.summary.formedAt === undefined ? null : result.summary.formedAt / 1_000,
      ...phaseSplit(joinPhase, wallSec, virtualMs),
    };
  } finally {
    clearInterval(timer);
  }
}

/** Each size in a child process (heap limit 4 GiB, the target). */
export async function runSimScaleBench(): Promise<Record<string, unknown>> {
  const maxNodes = Number(process.env.PEERSOCK_BENCH_MAX_NODES ?? 10_000);
  const budgetSec = Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 300);
  const settings = scaleSettings();
  const machine = machineState();
  // Sampled in this (otherwise idle) process while each child runs: the child's own memory and
  // figures stay untouched, and the run is bound by the same memory.
  const latency = createLatencyProbe();
  console.log(`node ${machine.node}, ${machine.cores} cores, load average ${machine.loadAverage1m}`);
  const out: Record<string, unknown> = { bench: 'simScale', ...settings, machine };
  // PEERSOCK_BENCH_SIZES (e.g. "10000") runs only those sizes.
  const sizes = process.env.PEERSOCK_BENCH_SIZES ? process.env.PEERSOCK_BENCH_SIZES.split(',').map(Number) : SIZES;
  const runs: { nodes: number; key: string; mode: ChildMode }[] = [];
  // The baseline: what every figure before 2026-12-06 measured (each actor event traced, exact clock).
  if ((process.env.PEERSOCK_BENCH_BASELINE ?? '1') !== '0' && sizes.includes(1_000)) {
    runs.push({ nodes: 1_000, key: 'sim1kTraced', mode: { trace: 'full', timeResolutionMs: 0, crypto: 'inline' } });
  }
  for (const nodes of sizes.filter((n) => n <= maxNodes)) {
    runs.push({ nodes, key: `sim${nodes / 1_000}k`, mode: { trace: settings.trace, timeResolutionMs: settings.timeResolutionMs, crypto: settings.crypto } });
  }
  for (const { nodes, key, mode } of runs) {
    console.log(
      `${nodes} nodes, 10 virtual min, exponential churn (median 30 min), budget ${budgetSec} s wall, ${settings.signatures} signatures (${mode.crypto}), ` +
        `trace ${mode.trace}, clock ${mode.timeResolutionMs === 0 ? 'exact' : `${mode.timeResolutionMs} ms`}`,
    );
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(latency.sample()), LATENCY_SAMPLE_MS);
    const figures = await child(nodes, budgetSec, mode, settings.signatures).finally(() => clearInterval(sampler));
    const memoryLatency = latencySummary(samples);
    console.log(
      `${nodes} nodes: ${figures.completed ? 'completed' : `STOPPED (${figures.failure ?? 'wall budget'}) after ${figures.virtualSecDone} of 600 virtual s`} in ${figures.wallSec} s wall (full run projected at ${figures.projectedWallSec} s); ` +
        `${figures.timersPerSec} timers/s, ${figures.eventsPerSec} trace entries/s; peak rss ${figures.peakRssMiB} MiB (${figures.rssKiBPerNode} KiB/node over ${figures.peakAlive} alive), heap ${figures.peakHeapMiB} MiB; ` +
        `ring correct ${figures.ringCorrectFraction === null ? '—' : `${(figures.ringCorrectFraction * 100).toFixed(1)}%`} of samples, ` +
        `successors right ${figures.successorsRightMean === null ? '—' : `${(figures.successorsRightMean * 100).toFixed(2)}%`} of nodes on average, formed ${figures.formedAtSec === null ? 'never' : `at ${figures.formedAtSec} s`}` +
        (figures.joinPhaseWallSec === null ? '' : `; the first ${JOIN_PHASE_MS / 1_000} virtual s took ${figures.joinPhaseWallSec} s wall, then ${figures.steadyWallPerVirtualSec} s wall per virtual s`) +
        (memoryLatency === null ? '' : `; memory latency meanwhile ${memoryLatency.medianNs} ns median (${memoryLatency.minNs}–${memoryLatency.maxNs}, ${memoryLatency.samples} samples)`),
    );
    out[`${key}WallSec`] = figures.wallSec;
    out[`${key}VirtualSecDone`] = figures.virtualSecDone;
    out[`${key}Completed`] = figures.completed;
    if (figures.failure !== undefined) out[`${key}Failure`] = figures.failure;
    out[`${key}ProjectedWallSec`] = figures.projectedWallSec;
    out[`${key}EventsPerSec`] = figures.eventsPerSec;
    out[`${key}TimersPerSec`] = figures.timersPerSec;
    out[`${key}Crypto`] = figures.crypto;
    if (figures.cryptoWaits !== null) out[`${key}CryptoWaits`] = figures.cryptoWaits;
    out[`${key}PeakMiB`] = figures.peakRssMiB;
    out[`${key}PeakHeapMiB`] = figures.peakHeapMiB;
    out[`${key}PeakAlive`] = figures.peakAlive;
    out[`${key}RssKiBPerNode`] = figures.rssKiBPerNode;
    out[`${key}HeapKiBPerNode`] = figures.heapKiBPerNode;
    out[`${key}RingCorrectFraction`] = figures.ringCorrectFraction;
    out[`${key}SuccessorsRightMean`] = figures.successorsRightMean;
    out[`${key}JoinPhaseWallSec`] = figures.joinPhaseWallSec;
    out[`${key}SteadyWallPerVirtualSec`] = figures.steadyWallPerVirtualSec;
    out[`${key}MemoryLatencyNs`] = memoryLatency;
  }
  out.targets = { sim10kWallSec: 300, sim10kPeakMiB: 4096 };
  return out;
}

/** How often the memory latency is sampled beside a run (each sample ~0.1 s of this process's time). */
const LATENCY_SAMPLE_MS = 10_000;

/** What a child is told of its mode: the rest of its settings it reads from the environment it inherits. */
type ChildMode = Pick<ScaleSettings, 'trace' | 'timeResolutionMs' | 'crypto'>;

/** Runs one size in a child process (bench-child.ts); a child that dies (out of memory) is reported with how far it got. */
async function child(nodes: number, budgetSec: number, mode: ChildMode, signatures: ScaleSettings['signatures']): Promise<ScaleFigures> {
  const started = performance.now();
  let last: { virtualSec: number; events: number; timers: number; alive: number; rssMiB: number } | undefined;
  const outcome = await runBenchChild(
    import.meta.url,
    {
      SIM_SCALE_CHILD: String(nodes),
      PEERSOCK_BENCH_BUDGET_SEC: String(budgetSec),
      PEERSOCK_BENCH_TRACE: mode.trace,
      PEERSOCK_BENCH_TIME_RESOLUTION_MS: String(mode.timeResolutionMs),
      PEERSOCK_BENCH_CRYPTO: mode.crypto,
    },
    {
      onProgress: (line) => {
        const m = /: (\d+) virtual s, wall \d+ s, events (\d+), timers (\d+), alive (\d+), rss (\d+) MiB/.exec(line);
        if (m) last = { virtualSec: Number(m[1]), events: Number(m[2]), timers: Number(m[3]), alive: Number(m[4]), rssMiB: Number(m[5]) };
      },
    },
  );
  try {
    return JSON.parse(outcome.lastLine) as ScaleFigures;
  } catch {
    const wallSec = roundTo((performance.now() - started) / 1_000, 1);
    const { code, signal, outOfMemory: oom } = outcome;
    console.log(`  n=${nodes}: the child died (${oom ? 'JavaScript heap out of memory at the 4 GiB limit' : `exit ${code ?? signal}`}) after ${wallSec} s wall`);
    if (!oom) console.log(outcome.stderrTail.split('\n').slice(-8).join('\n'));
    return {
      nodes,
      signatures,
      crypto: mode.crypto,
      cryptoWaits: null,
      trace: mode.trace,
      timeResolutionMs: mode.timeResolutionMs,
      wallSec,
      virtualSecDone: last?.virtualSec ?? 0,
      projectedWallSec: last && last.virtualSec > 0 ? Math.round((wallSec * DURATION_MS) / 1_000 / last.virtualSec) : -1,
      completed: false,
      failure: oom ? 'out of memory (4 GiB heap)' : `exit ${code ?? signal}`,
      events: last?.events ?? 0,
      eventsPerSec: last ? Math.round(last.events / wallSec) : 0,
      timersFired: last?.timers ?? 0,
      timersPerSec: last ? Math.round(last.timers / wallSec) : 0,
      peakRssMiB: last?.rssMiB ?? 0,
      peakHeapMiB: 4096,
      peakAlive: last?.alive ?? 0,
      rssKiBPerNode: last ? roundTo((last.rssMiB * 1024) / Math.max(1, last.alive), 1) : 0,
      heapKiBPerNode: last ? roundTo((4096 * 1024) / Math.max(1, last.alive), 1) : 0,
      ringCorrectFraction: null,
      successorsRightMean: null,
      formedAtSec: null,
      joinPhaseWallSec: null,
      steadyWallPerVirtualSec: null,
    };
  }
}

/** The run's wall time split at JOIN_PHASE_MS (the first progress report at or past it). */
function phaseSplit(joinPhase: { wallMs: number; virtualMs: number } | undefined, wallSec: number, virtualMs: number) {
  if (!joinPhase || virtualMs <= joinPhase.virtualMs) return { joinPhaseWallSec: null, steadyWallPerVirtualSec: null };
  const joinPhaseWallSec = joinPhase.wallMs / 1_000;
  return {
    joinPhaseWallSec: roundTo(joinPhaseWallSec, 1),
    steadyWallPerVirtualSec: roundTo((wallSec - joinPhaseWallSec) / ((virtualMs - joinPhase.virtualMs) / 1_000), 3),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const childNodes = process.env.SIM_SCALE_CHILD;
  if (childNodes !== undefined) {
    exitWithJson(await runSimScale(Number(childNodes), Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 300)));
  } else {
    console.log(JSON.stringify(await runSimScaleBench()));
  }
}
