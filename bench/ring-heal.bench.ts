/**
 * Ring healing: 1,000 nodes form a ring; then 10% crash at once (silently); virtual time
 * until the ring is fully correct again (checkRing: every successor, predecessor and
 * successor list, one cycle), reported as failure-detection timeout + stabilization
 * rounds. Target (DESIGN §5): ≤ 5 rounds after detection. Production settings
 * (DEFAULT_RING_CONFIG, DEFAULT_CONNECTION_CONFIG).
 *
 * Environment: PEERSOCK_BENCH_HEAL_NODES (default 1000), PEERSOCK_BENCH_BUDGET_SEC (wall
 * budget for the whole run, default 900). A ring that does not form or heal within its
 * virtual limit or the budget is reported as such, with how far it got.
 */
import { pathToFileURL } from 'node:url';
import { exitWithJson } from './bench-child.js';
import { checkRing, describeViolations } from '../sim/invariants.js';
import { applyStep } from '../sim/scenario.js';
import { createSimulator, type Simulator } from '../sim/simulator.js';
import { DEFAULT_RING_CONFIG } from '../src/actors/ring/ring-config.js';
import { DEFAULT_CONNECTION_CONFIG } from '../src/actors/transport/connection-config.js';
import { detectionTimeoutMs } from '../src/cli/sim-profile.js';
import { defaultJoinWindowMs } from '../src/cli/sim-run.js';

const FORM_LIMIT_MS = 15 * 60_000;
const HEAL_LIMIT_MS = 5 * 60_000;
const HEAL_CHECK_MS = 250;
const FORM_CHECK_MS = 1_000;

export async function runRingHealBench(): Promise<Record<string, unknown>> {
  const nodes = Number(process.env.PEERSOCK_BENCH_HEAL_NODES ?? 1_000);
  const budgetMs = Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 900) * 1_000;
  const started = performance.now();
  const overBudget = () => performance.now() - started > budgetMs;
  const ring = DEFAULT_RING_CONFIG;
  const detectionMs = detectionTimeoutMs(DEFAULT_CONNECTION_CONFIG);
  const sim = createSimulator({ seed: 1, ring, traceLimit: 1_000 });
  const violations = () => checkRing(sim.ringViews(), { successorListLength: ring.successorListLength, alive: sim.alive().map((node) => node.id) });
  const base = {
    bench: 'ringHeal',
    nodes,
    detectionTimeoutMs: detectionMs,
    stabilizeIntervalMs: ring.stabilizeIntervalMs,
    targets: { healRoundsAfterDetection: 5 },
  };

  const window = defaultJoinWindowMs(nodes);
  for (let i = 0; i < nodes; i += 1) {
    await sim.advanceTo(Math.round((i * window) / nodes));
    sim.addNode();
  }
  console.log(`${nodes} nodes joined over ${window / 1_000} virtual s (wall ${wall(started)} s); waiting for a correct ring`);
  const formedAt = await waitCorrect(sim, violations, FORM_LIMIT_MS, FORM_CHECK_MS, overBudget, (at, count) =>
    console.log(`  forming: ${at / 1_000} virtual s, ${count} violations, wall ${wall(started)} s`),
  );
  if (formedAt === undefined) {
    const left = violations();
    console.log(`the ring did not form within ${(sim.now() / 1_000).toFixed(0)} virtual s${overBudget() ? ' (wall budget)' : ''}; ${left.length} violations, e.g.:\n${describeViolations(left, 5)}`);
    return { ...base, formed: false, formVirtualSecChecked: sim.now() / 1_000, violationsLeft: left.length, healRoundsAfterDetection: null, healVirtualMs: null, wallSec: Number(wall(started)) };
  }
  console.log(`ring correct at ${formedAt / 1_000} virtual s (wall ${wall(started)} s)`);

  const crashAt = sim.now();
  await applyStep(sim, { at: crashAt, op: 'massCrash', fraction: 0.1, pick: 7 });
  console.log(`${nodes - sim.alive().length} nodes crashed at once at ${crashAt / 1_000} virtual s`);
  const healedAt = await waitCorrect(sim, violations, HEAL_LIMIT_MS, HEAL_CHECK_MS, overBudget, (at, count) =>
    console.log(`  healing: +${((at - crashAt) / 1_000).toFixed(2)} virtual s, ${count} violations, wall ${wall(started)} s`),
  );
  const result =
    healedAt === undefined
      ? { ...base, formed: true, formedAtMs: formedAt, healed: false, healVirtualMs: null, healRoundsAfterDetection: null, violationsLeft: violations().length }
      : {
          ...base,
          formed: true,
          formedAtMs: formedAt,
          healed: true,
          healVirtualMs: healedAt - crashAt,
          healRoundsAfterDetection: Math.round(((healedAt - crashAt - detectionMs) / ring.stabilizeIntervalMs) * 100) / 100,
          healResolutionMs: HEAL_CHECK_MS,
        };
  console.log(
    healedAt === undefined
      ? `the ring did not heal within ${HEAL_LIMIT_MS / 1_000} virtual s`
      : `healed after ${(healedAt - crashAt) / 1_000} virtual s = detection ${detectionMs / 1_000} s + ${result.healRoundsAfterDetection} rounds of ${ring.stabilizeIntervalMs / 1_000} s`,
  );
  return { ...result, wallSec: Number(wall(started)) };
}

/** First checked instant with no violation, or undefined past `limitMs` of virtual time or the wall budget. */
async function waitCorrect(
  sim: Simulator,
  violations: () => readonly unknown[],
  limitMs: number,
  stepMs: number,
  overBudget: () => boolean,
  log: (at: number, count: number) => void,
): Promise<number | undefined> {
  const end = sim.now() + limitMs;
  let lastLog = performance.now();
  while (sim.now() <= end && !overBudget()) {
    const count = violations().length;
    if (count === 0) return sim.now();
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(sim.now(), count);
    }
    await sim.advance(stepMs);
  }
  return undefined;
}

const wall = (started: number) => ((performance.now() - started) / 1_000).toFixed(1);

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  exitWithJson(await runRingHealBench());
}
