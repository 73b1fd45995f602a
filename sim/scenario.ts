import fc from 'fast-check';
import { PeerSockError } from '../src/errors.js';
import { createSeededRandom } from './seeded-random.js';
import { startRoutedTraffic, type RoutedRecord } from './routed-traffic.js';
import type { SimNodeHandle, Simulator } from './simulator.js';

/**
 * A churn scenario as plain data: what happens to the network and when, in virtual ms from
 * the start. It is serialisable (a failing property test prints it, `--replay` reads it
 * back) and runs identically every time on a simulator created with its seed.
 *
 * Nodes are named by `pick`, an integer: for one node, the index into the alive nodes in
 * creation order (modulo their number); for a group of nodes, the seed of a shuffle of
 * them. So a step stays meaningful, and valid, whatever steps before it were shrunk away.
 * A step that cannot apply (a leave with no node alive) is skipped and reported.
 */
export type ScenarioStep =
  | { at: number; op: 'join' }
  | { at: number; op: 'joinBurst'; count: number }
  | { at: number; op: 'leave'; pick: number }
  | { at: number; op: 'crash'; pick: number }
  /** `fraction` of the alive nodes crash at once (at most 0.5, at least one node). */
  | { at: number; op: 'massCrash'; fraction: number; pick: number }
  | { at: number; op: 'partition'; groups: number; pick: number }
  | { at: number; op: 'heal' }
  | { at: number; op: 'loss'; probability: number }
  | { at: number; op: 'spike'; factor: number; durationMs: number }
  | { at: number; op: 'signalingDown' }
  | { at: number; op: 'signalingUp' };

export type ScenarioOp = ScenarioStep['op'];

export interface Scenario {
  seed: number;
  /** Nodes that join at time 0. */
  nodes: number;
  /** In ascending `at` order. */
  steps: ScenarioStep[];
  /** Virtual ms to run after the last step before the invariants are checked. */
  quietMs: number;
  /**
   * Background routed messages (sim/routed-traffic.ts): one every this many virtual ms from the
   * start until the last step, between random unlinked alive nodes. Absent: none.
   */
  routedEveryMs?: number;
}

export interface ScenarioResult {
  /** Virtual time at the end of the quiet period. */
  endAt: number;
  applied: number;
  skipped: { step: ScenarioStep; reason: string }[];
  /** The routed messages sent (when the scenario has routedEveryMs): check them with checkRoutedSettled. */
  routed: readonly RoutedRecord[];
}

export const SCENARIO_FORMAT = 'peersock-scenario/1';
export const MAX_MASS_CRASH_FRACTION = 0.5;
export const MAX_LOSS = 0.05;

/** Runs `scenario` on `simulator`, which must be fresh and created with the scenario's seed. */
export async function runScenario(simulator: Simulator, scenario: Scenario): Promise<ScenarioResult> {
  validateScenario(scenario);
  if (simulator.seed !== scenario.seed) {
    throw new PeerSockError('INVALID_ARGUMENT', `the simulator's seed ${simulator.seed} is not the scenario's ${scenario.seed}`);
  }
  const start = simulator.now();
  const skipped: ScenarioResult['skipped'] = [];
  let applied = 0;
  for (let i = 0; i < scenario.nodes; i += 1) simulator.addNode();
  const traffic = scenario.routedEveryMs !== undefined ? startRoutedTraffic(simulator, { everyMs: scenario.routedEveryMs, seed: scenario.seed }) : undefined;
  for (const step of scenario.steps) {
    await simulator.advanceTo(start + step.at);
    const reason = await applyStep(simulator, step);
    if (reason === undefined) applied += 1;
    else skipped.push({ step, reason });
  }
  // The quiet period lets the last messages settle (it must outlast the routers' ack timeout).
  traffic?.stop();
  await simulator.advance(scenario.quietMs);
  return { endAt: simulator.now(), applied, skipped, routed: traffic?.records ?? [] };
}

/** Applies one step now; returns why it was skipped, if it was. */
export async function applyStep(simulator: Simulator, step: ScenarioStep): Promise<string | undefined> {
  // Listing the alive nodes is O(N): only the steps that pick nodes do (not the joins of a large run).
  const needsAlive = step.op === 'leave' || step.op === 'crash' || step.op === 'massCrash' || step.op === 'partition';
  const alive = needsAlive ? simulator.alive() : [];
  switch (step.op) {
    case 'join':
      simulator.addNode();
      return undefined;
    case 'joinBurst':
      for (let i = 0; i < step.count; i += 1) simulator.addNode();
      return undefined;
    case 'leave':
    case 'crash': {
      // The last node stays: an empty network has nothing left to check.
      if (alive.length <= 1) return 'no node would be left';
      const node = alive[step.pick % alive.length]!;
      if (step.op === 'crash') simulator.crash(node);
      else await simulator.leave(node);
      return undefined;
    }
    case 'massCrash': {
      const count = Math.min(alive.length - 1, Math.max(1, Math.floor(alive.length * step.fraction)));
      if (count < 1) return 'no node would be left';
      for (const node of shuffled(alive, step.pick).slice(0, count)) simulator.crash(node);
      return undefined;
    }
    case 'partition': {
      if (alive.length < step.groups) return `fewer than ${step.groups} nodes alive`;
      const order = shuffled(alive, step.pick);
      const groups: SimNodeHandle[][] = Array.from({ length: step.groups }, () => []);
      order.forEach((node, i) => groups[i % step.groups]!.push(node));
      simulator.partition(groups);
      return undefined;
    }
    case 'heal':
      simulator.heal();
      return undefined;
    case 'loss':
      simulator.setLoss(step.probability);
      return undefined;
    case 'spike':
      simulator.spike(step.factor, step.durationMs);
      return undefined;
    case 'signalingDown':
      simulator.shutdownSignaling();
      return undefined;
    case 'signalingUp':
      simulator.restoreSignaling();
      return undefined;
  }
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = createSeededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random.float() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---- validation and JSON ----

const OPS: readonly ScenarioOp[] = ['join', 'joinBurst', 'leave', 'crash', 'massCrash', 'partition', 'heal', 'loss', 'spike', 'signalingDown', 'signalingUp'];

/** Throws INVALID_ARGUMENT naming the first problem; returns the scenario otherwise. */
export function validateScenario(scenario: Scenario): Scenario {
  const bad = (message: string) => new PeerSockError('INVALID_ARGUMENT', `scenario: ${message}`);
  const isInt = (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
  const isNum = (value: unknown, min: number, max: number) => typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
  if (typeof scenario !== 'object' || scenario === null) throw bad('not an object');
  if (!isInt(scenario.seed, 0, 0xffff_ffff)) throw bad(`seed must be an integer in [0, 2^32), got ${String(scenario.seed)}`);
  if (!isInt(scenario.nodes, 0, 1_000_000)) throw bad(`nodes must be a non-negative integer, got ${String(scenario.nodes)}`);
  if (!isNum(scenario.quietMs, 0, 1e12)) throw bad(`quietMs must be a non-negative number, got ${String(scenario.quietMs)}`);
  if (scenario.routedEveryMs !== undefined && !isNum(scenario.routedEveryMs, 1, 1e12)) {
    throw bad(`routedEveryMs must be a positive number of ms, got ${String(scenario.routedEveryMs)}`);
  }
  if (!Array.isArray(scenario.steps)) throw bad('steps must be an array');
  let last = 0;
  scenario.steps.forEach((step: ScenarioStep, i) => {
    const where = `step ${i}`;
    if (typeof step !== 'object' || step === null) throw bad(`${where} is not an object`);
    if (!OPS.includes(step.op)) throw bad(`${where} has unknown op ${JSON.stringify(step.op)}`);
    if (!isNum(step.at, last, 1e12)) throw bad(`${where} (${step.op}) at ${String(step.at)}: times must be numbers in ascending order`);
    last = step.at;
    switch (step.op) {
      case 'joinBurst':
        if (!isInt(step.count, 1, 100_000)) throw bad(`${where}: joinBurst count must be a positive integer`);
        break;
      case 'leave':
      case 'crash':
        if (!isInt(step.pick, 0)) throw bad(`${where}: pick must be a non-negative integer`);
        break;
      case 'massCrash':
        if (!isInt(step.pick, 0)) throw bad(`${where}: pick must be a non-negative integer`);
        if (!isNum(step.fraction, 0, MAX_MASS_CRASH_FRACTION) || step.fraction === 0) throw bad(`${where}: fraction must be in (0, ${MAX_MASS_CRASH_FRACTION}]`);
        break;
      case 'partition':
        if (!isInt(step.pick, 0)) throw bad(`${where}: pick must be a non-negative integer`);
        if (!isInt(step.groups, 2, 16)) throw bad(`${where}: groups must be an integer in [2, 16]`);
        break;
      case 'loss':
        if (!isNum(step.probability, 0, 1)) throw bad(`${where}: probability must be in [0, 1]`);
        break;
      case 'spike':
        if (!isNum(step.factor, 1, 1000)) throw bad(`${where}: factor must be in [1, 1000]`);
        if (!isNum(step.durationMs, 0, 1e12)) throw bad(`${where}: durationMs must be a non-negative number`);
        break;
      default:
        break;
    }
  });
  return scenario;
}

/** A replay file: the scenario with a format tag, pretty-printed. */
export function scenarioToJson(scenario: Scenario): string {
  validateScenario(scenario);
  return `${JSON.stringify({ format: SCENARIO_FORMAT, ...scenario }, null, 2)}\n`;
}

export function scenarioFromJson(text: string): Scenario {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PeerSockError('INVALID_ARGUMENT', `scenario: not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { format?: unknown }).format !== SCENARIO_FORMAT) {
    throw new PeerSockError('INVALID_ARGUMENT', `scenario: expected "format": "${SCENARIO_FORMAT}"`);
  }
  const { seed, nodes, steps, quietMs, routedEveryMs } = parsed as Scenario;
  return validateScenario({ seed, nodes, steps, quietMs, ...(routedEveryMs !== undefined ? { routedEveryMs } : {}) });
}

// ---- fast-check ----

export interface ArbitraryScenarioOptions {
  /** Most nodes alive at once (joins beyond it are dropped). */
  maxNodes: number;
  maxSteps: number;
  /** Largest gap between two steps (default 20 s). */
  maxGapMs?: number;
  /** Quiet period after the last step (default 60 s). */
  quietMs?: number;
  /** Initial nodes, at least (default 1). */
  minNodes?: number;
  /** Background routed messages, one every this many virtual ms (default none). */
  routedEveryMs?: number;
}

/** A step without its time (distributes over the union, unlike a plain Omit). */
type StepBody = ScenarioStep extends infer S ? (S extends ScenarioStep ? Omit<S, 'at'> : never) : never;
type Gapped = { gap: number; step: StepBody };

/**
 * Scenarios from joins (single and bursts), graceful leaves, crashes, mass failures of up
 * to half the nodes, partitions into 2–3 groups and their healing, loss up to 5% and
 * latency spikes. Steps are drawn with the gap before them, so shrinking removes steps
 * and shortens gaps and every shrunk scenario stays valid. The network ends whole: an open
 * partition is healed and signaling restored at the last step, so what is checked after
 * the quiet period is recovery, not a split that is still there.
 */
export function arbitraryScenario(options: ArbitraryScenarioOptions): fc.Arbitrary<Scenario> {
  const { maxNodes, maxSteps } = options;
  const maxGapMs = options.maxGapMs ?? 20_000;
  const minNodes = Math.min(options.minNodes ?? 1, maxNodes);
  const pick = fc.nat({ max: 0xffff });
  const step: fc.Arbitrary<StepBody> = fc.oneof<fc.Arbitrary<StepBody>[]>(
    fc.constant({ op: 'join' as const }),
    fc.record({ op: fc.constant('joinBurst' as const), count: fc.integer({ min: 2, max: Math.max(2, Math.ceil(maxNodes / 2)) }) }),
    fc.record({ op: fc.constant('leave' as const), pick }),
    fc.record({ op: fc.constant('crash' as const), pick }),
    fc.record({ op: fc.constant('massCrash' as const), fraction: fc.integer({ min: 1, max: 50 }).map((p) => p / 100), pick }),
    fc.record({ op: fc.constant('partition' as const), groups: fc.integer({ min: 2, max: 3 }), pick }),
    fc.constant({ op: 'heal' as const }),
    fc.record({ op: fc.constant('loss' as const), probability: fc.integer({ min: 0, max: 50 }).map((p) => p / 1000) }),
    fc.record({ op: fc.constant('spike' as const), factor: fc.integer({ min: 2, max: 10 }), durationMs: fc.integer({ min: 100, max: 10_000 }) }),
    fc.constant({ op: 'signalingDown' as const }),
    fc.constant({ op: 'signalingUp' as const }),
  );
  const gapped: fc.Arbitrary<Gapped> = fc.record({ gap: fc.integer({ min: 0, max: maxGapMs }), step });
  return fc
    .record({
      seed: fc.nat({ max: 0x7fff_ffff }),
      nodes: fc.integer({ min: minNodes, max: maxNodes }),
      steps: fc.array(gapped, { maxLength: maxSteps }),
    })
    .map(({ seed, nodes, steps }) => ({
      seed,
      nodes,
      steps: wellFormed(nodes, steps, maxNodes),
      quietMs: options.quietMs ?? 60_000,
      ...(options.routedEveryMs !== undefined ? { routedEveryMs: options.routedEveryMs } : {}),
    }));
}

export interface ArbitraryServerlessOptions {
  /** Nodes that form the network while the servers are up (min 2). */
  minNodes: number;
  maxNodes: number;
  maxSteps: number;
  /** When every signaling server goes down for good (the ring should have formed by then). */
  serversGoneAtMs: number;
  maxGapMs?: number;
  quietMs?: number;
  /** Largest fraction of a mass crash (default 0.3). */
  maxMassCrash?: number;
  routedEveryMs?: number;
}

/**
 * "All signaling servers gone": the network forms with servers, then every server goes down
 * and stays down while nodes crash, leave, and links lose packets or slow down. No joins (a
 * newcomer needs a server to meet its first peer) and no partitions (two halves that share
 * no link and no server have no way to find each other again: that is the network split, not
 * a fault to heal). What is checked after the quiet period is that the rest healed alone.
 */
export function arbitraryServerlessScenario(options: ArbitraryServerlessOptions): fc.Arbitrary<Scenario> {
  const maxGapMs = options.maxGapMs ?? 20_000;
  const maxMassCrash = Math.round((options.maxMassCrash ?? 0.3) * 100);
  const pick = fc.nat({ max: 0xffff });
  const step: fc.Arbitrary<StepBody> = fc.oneof<fc.Arbitrary<StepBody>[]>(
    fc.record({ op: fc.constant('leave' as const), pick }),
    fc.record({ op: fc.constant('crash' as const), pick }),
    fc.record({ op: fc.constant('massCrash' as const), fraction: fc.integer({ min: 1, max: maxMassCrash }).map((p) => p / 100), pick }),
    fc.record({ op: fc.constant('loss' as const), probability: fc.integer({ min: 0, max: 50 }).map((p) => p / 1000) }),
    fc.record({ op: fc.constant('spike' as const), factor: fc.integer({ min: 2, max: 10 }), durationMs: fc.integer({ min: 100, max: 10_000 }) }),
  );
  const gapped: fc.Arbitrary<Gapped> = fc.record({ gap: fc.integer({ min: 0, max: maxGapMs }), step });
  return fc
    .record({
      seed: fc.nat({ max: 0x7fff_ffff }),
      nodes: fc.integer({ min: Math.max(2, options.minNodes), max: options.maxNodes }),
      steps: fc.array(gapped, { maxLength: options.maxSteps }),
    })
    .map(({ seed, nodes, steps }) => {
      const faults = wellFormed(nodes, steps, nodes).map((s) => ({ ...s, at: s.at + options.serversGoneAtMs }));
      return {
        seed,
        nodes,
        steps: [{ at: options.serversGoneAtMs, op: 'signalingDown' as const }, ...faults],
        quietMs: options.quietMs ?? 60_000,
        ...(options.routedEveryMs !== undefined ? { routedEveryMs: options.routedEveryMs } : {}),
      };
    });
}

/** Cumulative times, joins capped at maxNodes alive, and the network whole at the end. */
function wellFormed(initial: number, gapped: readonly Gapped[], maxNodes: number): ScenarioStep[] {
  const steps: ScenarioStep[] = [];
  let at = 0;
  let alive = initial;
  let split = false;
  let signalingDown = false;
  for (const { gap, step } of gapped) {
    at += gap;
    if (step.op === 'join' || step.op === 'joinBurst') {
      const room = maxNodes - alive;
      if (room <= 0) continue;
      const count = step.op === 'join' ? 1 : Math.min(step.count, room);
      alive += count;
      steps.push(count === 1 ? { at, op: 'join' } : { at, op: 'joinBurst', count });
      continue;
    }
    if (step.op === 'leave' || step.op === 'crash') alive = Math.max(1, alive - 1);
    if (step.op === 'massCrash') alive = Math.max(1, alive - Math.max(1, Math.floor(alive * step.fraction)));
    if (step.op === 'partition') split = true;
    if (step.op === 'heal') split = false;
    if (step.op === 'signalingDown') signalingDown = true;
    if (step.op === 'signalingUp') signalingDown = false;
    steps.push({ at, ...step } as ScenarioStep);
  }
  if (split) steps.push({ at, op: 'heal' });
  if (signalingDown) steps.push({ at, op: 'signalingUp' });
  return steps;
}
