import { planChurn, type ChurnModel, type ChurnPlan } from '../../sim/churn.js';
import { checkNetwork } from '../../sim/check-network.js';
import { checkRing, type Violation } from '../../sim/invariants.js';
import { summarizeRun, type RunEvent, type RunSample, type RunSummary } from '../../sim/report.js';
import { applyStep, type ScenarioStep } from '../../sim/scenario.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../sim/simulator.js';
import { DEFAULT_CONNECTION_CONFIG, type ConnectionConfig } from '../actors/transport/connection-config.js';
import type { RingConfig } from '../actors/ring/ring-config.js';
import { ringTransientTimeouts } from './sim-profile.js';

/**
 * One churn run of the simulator with the ring enabled, sampled at a bounded rate: what
 * `peersock sim` and the simulator benchmarks run. Steps come from a churn plan; between
 * them virtual time advances sample point by sample point, and at each one the ring is
 * checked (every invariant while N is small) and the traffic counters are read.
 */
export interface ChurnRunOptions {
  nodes: number;
  durationMs: number;
  seed: number;
  model: ChurnModel;
  ring: RingConfig;
  connection?: Partial<ConnectionConfig>;
  /** The initial joins are spread over this (default: 100 ms per node, 1–60 s). */
  joinWindowMs?: number;
  /** Virtual ms between checks (default 1 s). */
  sampleMs?: number;
  /** Above this many alive nodes only the ring is checked at sample points (default 1,000). */
  fullCheckMaxNodes?: number;
  /** Virtual ms run after the churn stops, before the final check (default 30 s). */
  quietMs?: number;
  traceFile?: string;
  /** Trace entries kept in memory (default 1,000: the checks need only the live state map). */
  traceLimit?: number;
  /** Called after each sample. */
  onProgress?(progress: RunProgress): void;
  /** Polled after each sample and step; true ends the run early (a wall-time budget). */
  shouldStop?(): boolean;
  /** Stop every node at the end (default true); false leaves that to the caller (`result.simulator`). */
  close?: boolean;
  /** Extra simulator options (latency model...). */
  simulator?: Partial<SimulatorOptions>;
}

export interface RunProgress {
  virtualMs: number;
  totalMs: number;
  /** Trace entries so far. */
  events: number;
  /** Timer callbacks run so far (message deliveries, actor delays, heartbeats). */
  timers: number;
  alive: number;
  ringOk: boolean;
}

export interface ChurnRunResult {
  plan: ChurnPlan;
  samples: RunSample[];
  events: RunEvent[];
  skipped: { step: ScenarioStep; reason: string }[];
  summary: RunSummary;
  /** checkNetwork after the quiet period (empty: every invariant holds). */
  final: Violation[];
  endAt: number;
  stoppedEarly: boolean;
  traceTotal: number;
  traceHash: string;
  alive: number;
  simulator: Simulator;
}

export function defaultJoinWindowMs(nodes: number): number {
  return Math.min(60_000, Math.max(1_000, nodes * 100));
}

export async function runChurn(options: ChurnRunOptions): Promise<ChurnRunResult> {
  const sampleMs = options.sampleMs ?? 1_000;
  if (!(sampleMs > 0)) throw new RangeError(`sampleMs must be positive, got ${sampleMs}`);
  const plan = planChurn(options.model, {
    nodes: options.nodes,
    durationMs: options.durationMs,
    seed: options.seed,
    joinWindowMs: options.joinWindowMs ?? defaultJoinWindowMs(options.nodes),
  });
  const sim = createSimulator({
    ...options.simulator,
    seed: options.seed,
    ring: options.ring,
    ...(options.connection ? { connection: options.connection } : {}),
    traceLimit: options.traceLimit ?? 1_000,
    ...(options.traceFile !== undefined ? { traceFile: options.traceFile } : {}),
  });
  const r = options.ring.successorListLength;
  const timeouts = ringTransientTimeouts(options.ring);
  const fullMax = options.fullCheckMaxNodes ?? 1_000;
  const quietMs = options.quietMs ?? 30_000;
  const totalMs = options.durationMs + quietMs;
  const samples: RunSample[] = [];
  const events: RunEvent[] = [];
  const skipped: ChurnRunResult['skipped'] = [];
  let stoppedEarly = false;

  const sample = () => {
    const alive = sim.alive();
    const violations = checkRing(sim.ringViews(), { successorListLength: r, alive: alive.map((node) => node.id) });
    const ringOk = violations.length === 0;
    const wrongSuccessors = violations.filter((v) => v.kind === 'successor' || v.kind === 'missing-view').length;
    const successorsRight = alive.length === 0 ? 1 : 1 - wrongSuccessors / alive.length;
    const { messagesSent, bytesSent } = sim.network.traffic();
    const entry: RunSample = { at: sim.now(), ringOk, alive: alive.length, successorsRight, messagesSent, bytesSent };
    // Only a correct ring can pass every invariant: skip the rest when it is not.
    if (alive.length <= fullMax) entry.allOk = ringOk && checkNetwork(sim, { ring: { successorListLength: r }, timeouts, actors: sim.traced }).length === 0;
    samples.push(entry);
    options.onProgress?.({ virtualMs: entry.at, totalMs, events: sim.traceTotal(), timers: sim.clock.firedTimers(), alive: alive.length, ringOk });
    if (options.shouldStop?.()) stoppedEarly = true;
  };
  let nextSample = sampleMs;
  const sampleUpTo = async (time: number) => {
    while (!stoppedEarly && nextSample <= time) {
      await sim.advanceTo(nextSample);
      sample();
      // A graceful leave runs the clock itself: never sample the same instant twice.
      nextSample = Math.max(nextSample, sim.now()) + sampleMs;
    }
  };

  try {
    for (const step of plan.steps) {
      await sampleUpTo(step.at);
      if (!stoppedEarly && options.shouldStop?.()) stoppedEarly = true;
      if (stoppedEarly) break;
      await sim.advanceTo(step.at);
      events.push({ at: sim.now(), op: step.op, sampleIndex: samples.length });
      const reason = await applyStep(sim, step);
      if (reason !== undefined) skipped.push({ step, reason });
    }
    await sampleUpTo(totalMs);
    if (!stoppedEarly) {
      await sim.advanceTo(totalMs);
      // The last instant is always sampled (a leave may have pushed the sample grid past it).
      if ((samples.at(-1)?.at ?? -1) < sim.now()) sample();
    }
    const final = checkNetwork(sim, { ring: { successorListLength: r }, timeouts, actors: sim.traced });
    const summary = summarizeRun(samples, events, { joinedAt: plan.joinedAt });
    return {
      plan,
      samples,
      events,
      skipped,
      summary,
      final,
      endAt: sim.now(),
      stoppedEarly,
      traceTotal: sim.traceTotal(),
      traceHash: sim.traceHash(),
      alive: sim.alive().length,
      simulator: sim,
    };
  } finally {
    if (options.close ?? true) await sim.close();
  }
}

/** Connection settings in effect for a run (defaults filled in). */
export function effectiveConnection(connection: Partial<ConnectionConfig> | undefined): ConnectionConfig {
  return { ...DEFAULT_CONNECTION_CONFIG, ...connection };
}
