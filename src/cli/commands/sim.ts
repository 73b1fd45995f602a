import { readFileSync } from 'node:fs';
import { formatDuration, parseChurnModel, parseDuration, type ChurnModel } from '../../../sim/churn.js';
import type { ReplaySettings } from '../../../sim/replay-file.js';
import { propertyViolations } from '../../../sim/property-checks.js';
import { routedSummary } from '../../../sim/routed-traffic.js';
import { describeViolations, type Violation } from '../../../sim/invariants.js';
import { runScenario, scenarioFromJson, type Scenario } from '../../../sim/scenario.js';
import { createSimulator, DEFAULT_CRYPTO_DELAY_MS } from '../../../sim/simulator.js';
import type { RunSummary } from '../../../sim/report.js';
import type { DhtConfig } from '../../actors/dht/dht-config.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../actors/ring/ring-config.js';
import type { ConnectionConfig } from '../../actors/transport/connection-config.js';
import { isPeerSockError } from '../../errors.js';
import { integerOption, parseCommandArgs } from '../args.js';
import type { CliHost, Command } from '../command.js';
import { processIo, type Io } from '../output.js';
import { createProgressBar } from '../progress.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../sim-profile.js';
import { simResourceWarnings } from '../sim-resources.js';
import { defaultJoinWindowMs, runChurn, type ChurnRunResult } from '../sim-run.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../usage-error.js';

const NAME = 'sim';
const DEFAULTS = { nodes: 32, duration: '5m', churn: 'none', seed: 1, quiet: '30s', sample: '1s' };

export const simCommand: Command = {
  name: NAME,
  summary: 'Run the ring in the deterministic simulator under churn and report how it heals',
  help: `Usage: peersock sim [--nodes N] [--duration T] [--churn MODEL] [--seed S] [--ring-r R]
                    [--trace FILE] [--sample T] [--quiet T] [--join-window T]
                    [--crypto inline|thread]
       peersock sim --replay FILE [--trace FILE]

Runs N simulated nodes (the production actors over a simulated network and a virtual
clock) with the ring enabled, applies churn for T of virtual time, then prints a summary:
time to form the ring, heal time after each failure, ring correctness over time and
maintenance traffic per node. The same seed and options give the same run.
A progress bar is shown on stderr while it runs. It first restarts Node with the flags
that make a large run faster (from 2,000 nodes) and with a larger heap when the run needs
one and the memory is there, unless PEERSOCK_SIM_NO_RELAUNCH is set (README, The simulator).

Options:
  --nodes N          Nodes joined at the start, spread over the join window (default ${DEFAULTS.nodes})
  --duration T       Virtual time of churn, e.g. 90s, 10m, 1h (default ${DEFAULTS.duration})
  --churn MODEL      none | exponential:<median session> (e.g. exponential:30m; a node
                     leaves or crashes, 50/50, and a new one joins) | script:<file>
                     (the steps of a scenario JSON file) (default ${DEFAULTS.churn})
  --seed S           Seed of the run (default ${DEFAULTS.seed})
  --ring-r R         Successor-list length (default ${DEFAULT_RING_CONFIG.successorListLength})
  --trace FILE       Write the trace (JSON lines, stable actor ids) to FILE
  --sample T         Check the invariants every T of virtual time (default ${DEFAULTS.sample};
                     above 1,000 nodes only the ring is checked at each sample)
  --quiet T          Virtual time run without churn before the final check (default ${DEFAULTS.quiet})
  --join-window T    Spread the initial joins over T (default 100ms per node, 1s to 60s)
  --crypto MODE      Where ed25519 runs: inline (default), or thread: on a second thread,
                     each signature or verification taking ${DEFAULT_CRYPTO_DELAY_MS} ms of virtual time (a large
                     run finishes sooner on a machine with a core to spare; still deterministic)
  --replay FILE      Run a scenario file (as printed by a failing property test or written
                     by npm run fuzz) and report which invariants fail
  -h, --help         Show this help

Exit status: 0 when every invariant holds at the end, 1 when one does not, 2 on bad usage.

Examples:
  peersock sim --nodes 100 --duration 10m --churn exponential:30m --seed 7
  peersock sim --nodes 12 --duration 60s --trace run.jsonl
  peersock sim --replay fuzz-failure-123.json`,

  async run(argv, io, host) {
    const { values } = parseCommandArgs(NAME, argv, {
      nodes: { type: 'string' },
      duration: { type: 'string' },
      churn: { type: 'string' },
      seed: { type: 'string' },
      'ring-r': { type: 'string' },
      trace: { type: 'string' },
      sample: { type: 'string' },
      quiet: { type: 'string' },
      'join-window': { type: 'string' },
      crypto: { type: 'string' },
      replay: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.out(this.help);
      return EXIT_OK;
    }
    const ringR = integerOption(NAME, 'ring-r', values['ring-r'], 1, 64);
    if (values.replay !== undefined) {
      const extra = (['nodes', 'duration', 'churn', 'seed', 'sample', 'quiet', 'join-window', 'crypto'] as const).filter((key) => values[key] !== undefined);
      if (extra.length > 0) throw new UsageError(`--replay runs the scenario file as it is; --${extra[0]} does not apply`, NAME);
      return replay(io, values.replay, ringR, values.trace, host);
    }
    const nodes = integerOption(NAME, 'nodes', values.nodes, 1, 1_000_000) ?? DEFAULTS.nodes;
    const seed = integerOption(NAME, 'seed', values.seed, 0, 0xffff_ffff) ?? DEFAULTS.seed;
    const durationMs = durationOption('duration', values.duration ?? DEFAULTS.duration);
    const sampleMs = durationOption('sample', values.sample ?? DEFAULTS.sample);
    if (sampleMs <= 0) throw new UsageError('--sample must be longer than 0', NAME);
    const quietMs = durationOption('quiet', values.quiet ?? DEFAULTS.quiet);
    const joinWindowMs = values['join-window'] !== undefined ? durationOption('join-window', values['join-window']) : defaultJoinWindowMs(nodes);
    let model: ChurnModel;
    try {
      model = parseChurnModel(values.churn ?? DEFAULTS.churn);
    } catch (error) {
      throw new UsageError(`--churn: ${messageOf(error)}`, NAME);
    }
    const ring: RingConfig = { ...DEFAULT_RING_CONFIG, ...(ringR !== undefined ? { successorListLength: ringR } : {}) };
    const crypto = values.crypto ?? 'inline';
    if (crypto !== 'inline' && crypto !== 'thread') throw new UsageError(`--crypto must be inline or thread, got ${JSON.stringify(crypto)}`, NAME);

    const relaunched = await relaunchOrWarn(io, nodes, host);
    if (relaunched !== undefined) return relaunched;
    io.out(
      `peersock sim: ${nodes} nodes, ${formatDuration(durationMs)} virtual + ${formatDuration(quietMs)} quiet, churn ${describeModel(model)}, seed ${seed}, r = ${ring.successorListLength}${crypto === 'thread' ? ', crypto on a second thread' : ''}`,
    );
    const progress = createProgressBar(io, io === processIo ? process.stderr : undefined);
    const started = performance.now();
    const result = await runChurn({
      nodes,
      durationMs,
      seed,
      model,
      ring,
      sampleMs,
      quietMs,
      joinWindowMs,
      simulator: { crypto },
      ...(values.trace !== undefined ? { traceFile: values.trace } : {}),
      onProgress: (state) => progress.update(state),
    });
    progress.done();
    const wallMs = performance.now() - started;
    for (const line of summaryTable(result, { sampleMs, wallMs })) io.out(line);
    if (result.skipped.length > 0) io.out(`${result.skipped.length} churn step(s) skipped (e.g. ${result.skipped[0]!.step.op}: ${result.skipped[0]!.reason})`);
    if (values.trace !== undefined) io.out(`trace: ${result.traceTotal.toLocaleString('en-US')} entries written to ${values.trace} (hash ${result.traceHash.slice(0, 16)})`);
    if (result.final.length > 0) {
      io.out('final invariant violations:');
      io.out(describeViolations(result.final));
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  },
};

function durationOption(name: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`--${name}: ${messageOf(error)}`, NAME);
  }
}

function messageOf(error: unknown): string {
  if (isPeerSockError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function describeModel(model: ChurnModel): string {
  if (model.kind === 'exponential') return `exponential (median session ${formatDuration(model.medianMs)})`;
  if (model.kind === 'script') return `script ${model.file} (${model.steps.length} steps)`;
  return 'none';
}

const seconds = (ms: number | undefined) => (ms === undefined ? '—' : formatDuration(ms));
const MAX_HEALS_LISTED = 12;

/** Metric / value rows, aligned. */
export function summaryTable(result: ChurnRunResult, run: { sampleMs: number; wallMs: number }): string[] {
  const s: RunSummary = result.summary;
  const heals = s.heals;
  const unhealed = heals.filter((heal) => heal.healMs === undefined).length;
  const listed = heals
    .slice(0, MAX_HEALS_LISTED)
    .map((heal) => `${heal.op}@${formatDuration(heal.at)}→${heal.healMs === undefined ? 'never' : formatDuration(heal.healMs)}`)
    .join(' ');
  const maint = s.maintenance;
  const maintNote = maint ? ` (over ${formatDuration(maint.windowMs)}${maint.churnIncluded ? ', churn included: no quiet window' : ' without joins or failures'})` : '';
  const checks = result.samples.some((sample) => sample.allOk !== undefined) ? 'all invariants' : 'ring only';
  const rows: [string, string][] = [
    ['time to form the ring', s.formedAt === undefined ? 'never formed' : `${formatDuration(s.formedAt)} (initial joins done at ${formatDuration(result.plan.joinedAt)}; ${checks} checked)`],
    ['failure events', `${heals.length} after formation${s.failuresBeforeFormed > 0 ? `, ${s.failuresBeforeFormed} before` : ''}${unhealed > 0 ? `, ${unhealed} not healed` : ''}`],
    ['heal times', heals.length === 0 ? '—' : `${listed}${heals.length > MAX_HEALS_LISTED ? ` … (${heals.length - MAX_HEALS_LISTED} more)` : ''}`],
    ['heal median / max', `${seconds(s.healMedianMs)} / ${seconds(s.healMaxMs)} (resolution ${formatDuration(run.sampleMs)})`],
    ['ring correct over time', s.correctFraction === undefined ? '—' : `${(s.correctFraction * 100).toFixed(1)}% of ${s.samples} samples (every ${formatDuration(run.sampleMs)})`],
    ['successors right', s.meanSuccessorsRight === undefined ? '—' : `${(s.meanSuccessorsRight * 100).toFixed(2)}% of alive nodes on average`],
    ['correctness timeline', s.timeline === '' ? '—' : `${s.timeline}  (# correct, + partly, . not)`],
    ['maintenance msgs/node/s', maint ? `${maint.messagesPerNodeSec.toFixed(2)}${maintNote}` : '—'],
    ['maintenance bytes/node/s', maint ? `${Math.round(maint.bytesPerNodeSec)}` : '—'],
    ['alive at the end', `${result.alive}`],
    ['events (trace entries)', `${result.traceTotal.toLocaleString('en-US')} in ${(run.wallMs / 1_000).toFixed(1)} s wall`],
    ['final invariants', result.final.length === 0 ? 'hold' : `FAIL (${result.final.length} violations)`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [`${'metric'.padEnd(width)}  value`, `${'-'.repeat(width)}  -----`, ...rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`)];
}

export function readReplayFile(text: string): { scenario: Scenario; settings: ReplaySettings } {
  const scenario = scenarioFromJson(text);
  const raw = (JSON.parse(text) as { sim?: unknown }).sim;
  const settings: ReplaySettings = {};
  if (raw !== undefined) {
    const isNumbers = (value: unknown): value is Record<string, number> =>
      typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'number' && Number.isFinite(v));
    const { ring, connection, dht } = raw as { ring?: unknown; connection?: unknown; dht?: unknown };
    if (ring !== undefined && !isNumbers(ring)) throw new UsageError('--replay: "sim.ring" must be an object of numbers', NAME);
    if (connection !== undefined && !isNumbers(connection)) throw new UsageError('--replay: "sim.connection" must be an object of numbers', NAME);
    if (dht !== undefined && !isNumbers(dht)) throw new UsageError('--replay: "sim.dht" must be an object of numbers', NAME);
    if (ring) settings.ring = ring as Partial<RingConfig>;
    if (connection) settings.connection = connection as Partial<ConnectionConfig>;
    if (dht) settings.dht = dht as Partial<DhtConfig>;
  }
  return { scenario, settings };
}

/**
 * Before a run: the host restarts Node for it if that helps (sim-relaunch.ts), and this resolves
 * the restarted run's exit status; otherwise it warns if this Node process looks too small or
 * slow for the run (sim-resources.ts) and resolves undefined: run it here.
 */
async function relaunchOrWarn(io: Io, nodes: number, host: CliHost | undefined): Promise<number | undefined> {
  const relaunched = await host?.relaunchForSimulation?.(nodes, io);
  if (relaunched !== undefined) return relaunched;
  for (const warning of simResourceWarnings(nodes)) io.err(`peersock sim: ${warning}`);
  return undefined;
}

async function replay(io: Io, file: string, ringR: number | undefined, traceFile: string | undefined, host: CliHost | undefined): Promise<number> {
  let parsed: ReturnType<typeof readReplayFile>;
  try {
    parsed = readReplayFile(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--replay ${file}: ${messageOf(error)}`, NAME);
  }
  const { scenario, settings } = parsed;
  const ring: RingConfig = { ...PROPERTY_RING_CONFIG, ...settings.ring, ...(ringR !== undefined ? { successorListLength: ringR } : {}) };
  const connection = { ...PROPERTY_CONNECTION, ...settings.connection };
  const relaunched = await relaunchOrWarn(io, scenario.nodes, host);
  if (relaunched !== undefined) return relaunched;
  io.out(
    `peersock sim --replay ${file}: seed ${scenario.seed}, ${scenario.nodes} initial nodes, ${scenario.steps.length} steps, quiet ${formatDuration(scenario.quietMs)}, r = ${ring.successorListLength}`,
  );
  if (settings.dht) io.out(`DHT on (${JSON.stringify(settings.dht)}): lookups are checked too`);
  const sim = createSimulator({
    seed: scenario.seed,
    ring,
    connection,
    traceLimit: 1_000,
    ...(settings.dht ? { dht: settings.dht } : {}),
    ...(traceFile !== undefined ? { traceFile } : {}),
  });
  let violations: Violation[];
  try {
    const result = await runScenario(sim, scenario);
    io.out(`ran to ${formatDuration(result.endAt)} virtual: ${result.applied} steps applied, ${result.skipped.length} skipped; ${sim.alive().length} nodes alive`);
    for (const { step, reason } of result.skipped) io.out(`skipped ${step.op} at ${formatDuration(step.at)}: ${reason}`);
    violations = await propertyViolations(sim, { seed: scenario.seed, routed: result.routed }, { ring, dht: settings.dht !== undefined });
    if (result.routed.length > 0) io.out(`routed messages: ${Object.entries(routedSummary(result.routed)).map(([outcome, n]) => `${n} ${outcome}`).join(', ')}`);
    if (traceFile !== undefined) io.out(`trace: ${sim.traceTotal().toLocaleString('en-US')} entries written to ${traceFile} (hash ${sim.traceHash().slice(0, 16)})`);
  } finally {
    await sim.close();
  }
  if (violations.length === 0) {
    io.out('invariants: all hold');
    return EXIT_OK;
  }
  const kinds = [...new Set(violations.map((violation) => violation.kind))];
  io.out(`invariants: FAIL — ${violations.length} violations (${kinds.join(', ')})`);
  io.out(describeViolations(violations));
  return EXIT_FAILURE;
}
