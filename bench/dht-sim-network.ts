/**
 * The simulated network bench/dht-sim.bench.ts measures: forming it within a wall budget,
 * watching every node's link count, and churn that starts from the formed network.
 */
import { planChurn } from '../sim/churn.js';
import { checkRing } from '../sim/invariants.js';
import type { ScenarioStep } from '../sim/scenario.js';
import type { Simulator } from '../sim/simulator.js';
import { defaultJoinWindowMs } from '../src/cli/sim-run.js';
import type { PeerId } from '../src/identity/peer-id.js';

export interface Formation {
  /** Nodes added (fewer than asked when the budget ran out while joining). */
  joined: number;
  /** Virtual ms at which the ring was first fully correct; undefined if it never was. */
  formedAt?: number;
  /** Ring violations at the last check (0 once formed; -1: not checked, the joins did not finish). */
  violations: number;
  /** Why formation stopped short: 'wall budget' or the virtual limit. */
  stopped?: string;
}

/**
 * Joins `nodes` spread over the usual join window (as the other simulator benches do), then
 * runs until the ring is fully correct (checkRing, checked every virtual second), `limitMs`
 * of virtual time passed, or the budget ran out. `joinedAt` gets each node's join time.
 */
export async function formNetwork(
  sim: Simulator,
  nodes: number,
  successorListLength: number,
  joinedAt: Map<PeerId, number>,
  overBudget: () => boolean,
  log: (line: string) => void,
  limitMs = 15 * 60_000,
): Promise<Formation> {
  const window = defaultJoinWindowMs(nodes);
  let lastLog = performance.now();
  const progress = (what: string) => {
    if (performance.now() - lastLog < 15_000) return;
    lastLog = performance.now();
    log(`${what}: ${sim.nodes().length} joined, ${(sim.now() / 1_000).toFixed(0)} virtual s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  };
  for (let i = 0; i < nodes; i += 1) {
    if (i % 50 === 0 && overBudget()) return { joined: sim.nodes().length, violations: -1, stopped: 'wall budget (while joining)' };
    await sim.advanceTo(Math.round((i * window) / nodes));
    const node = sim.addNode();
    joinedAt.set(node.id, sim.now());
    progress('joining');
  }
  const violations = () => checkRing(sim.ringViews(), { successorListLength, alive: sim.alive().map((node) => node.id) }).length;
  const end = sim.now() + limitMs;
  for (;;) {
    const count = violations();
    if (count === 0) return { joined: nodes, formedAt: sim.now(), violations: 0 };
    if (overBudget()) return { joined: nodes, violations: count, stopped: 'wall budget (ring not yet correct)' };
    if (sim.now() >= end) return { joined: nodes, violations: count, stopped: `ring not correct within ${limitMs / 1_000} virtual s` };
    progress(`forming (${count} ring violations)`);
    await sim.advance(1_000);
  }
}

/** Links per node (open authenticated connections, ring links included), sampled over a run. */
export class LinkDegrees {
  private maxSeen = 0;
  private samples = 0;
  private overSum = 0;
  private meanSum = 0;

  constructor(private readonly budget: number) {}

  sample(sim: Simulator): void {
    const degrees = sim.alive().map((node) => node.node.peers().length);
    if (degrees.length === 0) return;
    this.samples += 1;
    this.maxSeen = Math.max(this.maxSeen, ...degrees);
    this.overSum += degrees.filter((d) => d > this.budget).length / degrees.length;
    this.meanSum += degrees.reduce((sum, d) => sum + d, 0) / degrees.length;
  }

  figures(): { linksMax: number; linksMean: number | null; overBudgetMeanFraction: number | null; samples: number } {
    const mean = (sum: number) => (this.samples === 0 ? null : Math.round((sum / this.samples) * 10_000) / 10_000);
    return { linksMax: this.maxSeen, linksMean: mean(this.meanSum), overBudgetMeanFraction: mean(this.overSum), samples: this.samples };
  }
}

/**
 * Exponential churn (sim/churn.ts, median session `medianMs`) starting at `startAt` from the
 * `nodes` nodes alive then, which must be every node created so far, in creation order. The
 * plan's initial joins stand for those nodes: sessions are memoryless, so a node's remaining
 * session at `startAt` has the same law as a fresh one, and the network is in its steady churn
 * regime from the first instant (no join wave, no cohort that all leaves together). Each
 * departure (leave or crash, 50/50) is replaced by a join at the same instant: N stays constant.
 */
export function churnFrom(startAt: number, nodes: number, medianMs: number, durationMs: number, seed: number): ScenarioStep[] {
  const plan = planChurn({ kind: 'exponential', medianMs }, { nodes, durationMs, seed, joinWindowMs: 0 });
  const initial = plan.steps.slice(0, nodes);
  if (initial.length !== nodes || initial.some((step) => step.op !== 'join' || step.at !== 0)) {
    throw new Error('churn plan: expected the initial joins first, all at time 0');
  }
  return plan.steps.slice(nodes).map((step) => ({ ...step, at: step.at + startAt }));
}
