/**
 * Maintenance traffic in steady state (no churn) at 1,000 and 10,000 nodes: bytes and
 * messages per node per second from the memory network's counters (every frame the actors
 * send: ring stabilization, heartbeats, merge probes) over a window of virtual time after
 * the ring formed and its links settled. Production settings. Target (DESIGN §5): ≤ 500 B/s per node at 10,000.
 * Each size runs in its own process.
 *
 * Environment: PEERSOCK_BENCH_MAX_NODES (default 10000), PEERSOCK_BENCH_BUDGET_SEC (wall
 * budget per size, default 600), PEERSOCK_BENCH_SIZES (e.g. "1000" instead of 1000,10000). Past the budget
 * the run stops where it is and reports no traffic figures (`settled: false`, `nodesJoined`): a
 * window measured while the ring is still forming is not steady state, and simulating it took
 * minutes of wall time past the budget (the bench looked hung).
 */
import { pathToFileURL } from 'node:url';
import { exitWithJson, runBenchChild } from './bench-child.js';
import { checkRing } from '../sim/invariants.js';
import { createSimulator } from '../sim/simulator.js';
import { DEFAULT_RING_CONFIG } from '../src/actors/ring/ring-config.js';
import { defaultJoinWindowMs } from '../src/cli/sim-run.js';

const SIZES = [1_000, 10_000];
const SETTLE_LIMIT_MS = 5 * 60_000;
const WINDOW_MS = 20_000;

export interface MaintenanceFigures {
  nodes: number;
  nodesJoined: number;
  /** The ring was correct at the start and at the end of the window. */
  ringCorrect: boolean;
  /** The run reached steady state (joined everyone, ring formed or settle limit reached) within the budget. */
  settled: boolean;
  windowStartSec: number;
  /** null when the run did not settle within its budget. */
  bytesPerNodeSec: number | null;
  messagesPerNodeSec: number | null;
  wallSec: number;
  /** The run died (e.g. out of memory): no figures. */
  failure?: string;
}

export async function runMaintenance(nodes: number, budgetSec: number): Promise<MaintenanceFigures> {
  const started = performance.now();
  const overBudget = () => performance.now() - started > budgetSec * 1_000;
  const ring = DEFAULT_RING_CONFIG;
  const sim = createSimulator({ seed: 2, ring, traceLimit: 1_000 });
  const correct = () => checkRing(sim.ringViews(), { successorListLength: ring.successorListLength, alive: sim.alive().map((node) => node.id) }).length === 0;
  const window = defaultJoinWindowMs(nodes);
  let settled = true;
  for (let i = 0; i < nodes; i += 1) {
    if (i % 100 === 0 && overBudget()) {
      settled = false;
      break;
    }
    await sim.advanceTo(Math.round((i * window) / nodes));
    sim.addNode();
  }
  console.log(`  n=${nodes}: ${sim.nodes().length} joined by ${sim.now() / 1_000} virtual s (wall ${wall(started)} s)`);
  const settleEnd = sim.now() + SETTLE_LIMIT_MS;
  let lastLog = performance.now();
  while (settled && !correct() && sim.now() < settleEnd) {
    if (overBudget()) {
      settled = false;
      break;
    }
    await sim.advance(5_000);
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      console.log(`  n=${nodes}: settling, ${sim.now() / 1_000} virtual s, wall ${wall(started)} s`);
    }
  }
  if (!settled) {
    return { nodes, nodesJoined: sim.nodes().length, ringCorrect: false, settled, windowStartSec: sim.now() / 1_000, bytesPerNodeSec: null, messagesPerNodeSec: null, wallSec: Number(wall(started)) };
  }
  // Steady state is also links settled: far successors are linked only once they have stayed
  // listed ring.linkSettleMs (the ring raises links.settled then), and setting a link up takes a
  // few round trips: two base periods of margin. Measured from the moment the ring was correct,
  // the window held those links being set up (1,000 nodes: 111 B/s against 68 B/s before
  // settling existed).
  await sim.advance(ring.linkSettleMs + 2 * ring.stabilizeIntervalMs);
  const correctAtStart = correct();
  const windowStart = sim.now();
  const before = sim.network.stats();
  await sim.advance(WINDOW_MS);
  const after = sim.network.stats();
  const alive = sim.alive().length;
  const nodeSeconds = alive * (WINDOW_MS / 1_000);
  return {
    nodes,
    nodesJoined: sim.nodes().length,
    ringCorrect: correctAtStart && correct(),
    settled,
    windowStartSec: windowStart / 1_000,
    bytesPerNodeSec: Math.round((after.bytesSent - before.bytesSent) / nodeSeconds),
    messagesPerNodeSec: Math.round(((after.messagesSent - before.messagesSent) / nodeSeconds) * 100) / 100,
    wallSec: Number(wall(started)),
  };
}

export async function runMaintenanceBench(): Promise<Record<string, unknown>> {
  const maxNodes = Number(process.env.PEERSOCK_BENCH_MAX_NODES ?? 10_000);
  const budgetSec = Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 600);
  const out: Record<string, unknown> = { bench: 'maintenance' };
  let largest: MaintenanceFigures | undefined;
  const sizes = process.env.PEERSOCK_BENCH_SIZES ? process.env.PEERSOCK_BENCH_SIZES.split(',').map(Number) : SIZES;
  for (const nodes of sizes.filter((n) => n <= maxNodes)) {
    console.log(`${nodes} nodes, no churn, ${WINDOW_MS / 1_000} virtual s window, budget ${budgetSec} s wall`);
    const figures = await child(nodes, budgetSec);
    const key = `maint${nodes / 1_000}k`;
    console.log(
      figures.settled
        ? `${nodes} nodes: ${figures.bytesPerNodeSec} B/s and ${figures.messagesPerNodeSec} msg/s per node from ${figures.windowStartSec} virtual s; ` +
            `ring ${figures.ringCorrect ? 'correct' : 'NOT correct'} during the window; wall ${figures.wallSec} s`
        : `${nodes} nodes: NOT settled within the budget (${figures.nodesJoined} joined by ${figures.windowStartSec} virtual s): no figures; wall ${figures.wallSec} s`,
    );
    if (figures.failure !== undefined) {
      console.log(`${nodes} nodes: no figures, the run died (${figures.failure}) after ${figures.wallSec} s wall`);
      out[`${key}Failure`] = figures.failure;
      continue;
    }
    if (figures.settled) largest = figures;
    out[`${key}BytesPerNodeSec`] = figures.bytesPerNodeSec;
    out[`${key}MsgPerNodeSec`] = figures.messagesPerNodeSec;
    out[`${key}RingCorrect`] = figures.ringCorrect;
    out[`${key}Settled`] = figures.settled;
    out[`${key}NodesJoined`] = figures.nodesJoined;
  }
  // At the largest N that settled and produced figures (maintNodes says which).
  out.maintBytesPerNodeSec = largest?.bytesPerNodeSec ?? null;
  out.maintNodes = largest?.nodesJoined ?? null;
  out.targets = { maintBytesPerNodeSec: 500 };
  return out;
}

/** Runs one size in a child process (bench-child.ts); a child that dies (out of memory) is reported as such. */
async function child(nodes: number, budgetSec: number): Promise<MaintenanceFigures> {
  const started = performance.now();
  const outcome = await runBenchChild(import.meta.url, { MAINT_CHILD: String(nodes), PEERSOCK_BENCH_BUDGET_SEC: String(budgetSec) });
  try {
    return JSON.parse(outcome.lastLine) as MaintenanceFigures;
  } catch {
    const failure = outcome.outOfMemory ? 'out of memory (4 GiB heap)' : `exit ${outcome.code ?? outcome.signal}`;
    if (!outcome.outOfMemory) console.log(outcome.stderrTail.split('\n').slice(-8).join('\n'));
    return { nodes, nodesJoined: 0, ringCorrect: false, settled: false, windowStartSec: 0, bytesPerNodeSec: null, messagesPerNodeSec: null, wallSec: Number(wall(started)), failure };
  }
}

const wall = (started: number) => ((performance.now() - started) / 1_000).toFixed(1);

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const childNodes = process.env.MAINT_CHILD;
  if (childNodes !== undefined) {
    exitWithJson(await runMaintenance(Number(childNodes), Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 600)));
  } else {
    console.log(JSON.stringify(await runMaintenanceBench()));
  }
}
