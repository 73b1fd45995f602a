/**
 * The DHT in the simulator (issue 4, item 8): the real node runtimes with ring, DHT (link budget
 * 32, ring links included) and routed messages, on virtual time with the simulator's default
 * latency model (5–150 ms one way by distance on a unit square), production settings otherwise.
 * Unlike bench/dht-hops.bench.ts (a routing-level model), every lookup here is real traffic
 * between actors, under the same link churn, timeouts and failures as in production.
 *
 * Runs, each in its own child process with its own wall budget:
 *   hops (N = 100, 1,000, 10,000; one run each): the network forms without churn (joins over
 *     the usual window, then until the ring is fully correct), the DHT gets SETTLE_MS more to
 *     plan its links, then lookups for uniformly random points from random members, and routed
 *     sends alongside. Figures: median / p99 hops (the `dht.lookup` event's count of links
 *     crossed), and the fraction that returned exactly the truly closest alive peers (all
 *     `count`, in order; also the first TOP). A size that cannot form within the budget gives
 *     null figures and a reason saying how far it got (joined, virtual s, ring state).
 *   churn30m, churn5m (N = CHURN_NODES, see there why not 1,000; CHURN_SEEDS runs each, pooled
 *     by dht-sim-pool.ts, seeds runSeeds()): formed as above, then
 *     exponential churn (sim/churn.ts: each departure a
 *     graceful leave or a crash, 50/50, replaced at once by a fresh join) with median session
 *     30 min / 5 min, starting from the formed network (see churnFrom: sessions are memoryless,
 *     so the churn is in its steady regime at once). After WARMUP_MS of churn, lookups and
 *     routed sends are issued at a fixed rate until the window or the budget ends; then the
 *     run drains (churn going on) until every probe has settled.
 *
 * Definitions (dht-sim-probes.ts):
 *   - A lookup starts at a uniformly random alive ring member (ring actor in `member.*`: a node
 *     still joining cannot look anything up yet) and asks for the `count` peers nearest a
 *     uniformly random point.
 *   - It SUCCEEDS when its promise resolves and the first peer of the answer is the truly
 *     closest alive peer at the instant it resolves: the XOR-nearest of every node the
 *     simulator has alive then (joining members included, the origin included). Everything
 *     else fails: a rejection (TIMEOUT...), a wrong first peer, or no outcome by the end of the
 *     drain. A lookup whose origin departed before the outcome is excluded (nobody waits for
 *     it) and counted apart. Failures are broken down by cause (LookupFigures.failures); an
 *     answer naming a departed peer first also by how (crash or leave) and how long before
 *     (LookupFigures.departedAnswers).
 *   - Lookup latency: issue → resolution, virtual ms, over every resolved lookup.
 *   - A routed send goes between two random alive members with no direct link either way, 8
 *     bytes. It counts when both ends stayed alive until its outcome: acked (the promise
 *     resolved on the target's ack), failed (rejected with a reason other than TIMEOUT, by
 *     code), timeout. Delivery rate = acked / counted. Latency: one way (send → the target's
 *     messages$) and round trip (send → ack).
 *
 * Environment:
 *   PEERSOCK_BENCH_BUDGET_SEC      wall budget per run (default 300); a run stops early and says so
 *   PEERSOCK_BENCH_DHT_HOPS_SIZES  N of the hops runs, comma-separated (default 100,1000,10000)
 *   PEERSOCK_BENCH_DHT_CHURN_NODES N of the churn runs (default 100: see CHURN_NODES)
 *   PEERSOCK_BENCH_DHT_CHURN_SEEDS seeds of each churn run (default 5: see CHURN_SEEDS)
 *   PEERSOCK_BENCH_DHT_RUNS        comma-separated subset of hops,churn30m,churn5m (default all)
 *   PEERSOCK_BENCH_DHT_LOOKUPS     lookups of a hops run (default 500)
 *   PEERSOCK_BENCH_DHT_RATE        lookups and routed sends per virtual second under churn (default 4 each)
 *   PEERSOCK_BENCH_DHT_WINDOW_SEC  virtual seconds of measurement under churn (default 600; the budget may cut it)
 *   PEERSOCK_BENCH_DHT_HEAP_MIB    each run's heap limit (default 4096)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exitWithJson, runBenchChild } from './bench-child.js';
import { lookupFigures, sendFigures, type LookupFigures, type SendFigures } from './dht-sim-figures.js';
import { churnFrom, formNetwork, LinkDegrees, type Formation } from './dht-sim-network.js';
import { poolSeeds, probeRecords, seedSummary, type ProbeRecords } from './dht-sim-pool.js';
import { DhtProbes, TOP, type DepartureKind } from './dht-sim-probes.js';
import { applyStep, type ScenarioStep } from '../sim/scenario.js';
import { createSeededRandom, deriveSeed } from '../sim/seeded-random.js';
import { createSimulator, type Simulator } from '../sim/simulator.js';
import { DEFAULT_DHT_CONFIG, type DhtConfig } from '../src/actors/dht/dht-config.js';
import { DEFAULT_RING_CONFIG } from '../src/actors/ring/ring-config.js';
import type { PeerId } from '../src/identity/peer-id.js';

const RING = DEFAULT_RING_CONFIG;
const DHT: Partial<DhtConfig> = { linkBudget: 32 };
/** Peers asked of each lookup: the API's default (k). */
const COUNT = DEFAULT_DHT_CONFIG.k;
/** After the ring is correct: time for the DHT's link planning (a round every ~10 s) before measuring. */
const SETTLE_MS = 60_000;
/** Churn before the probes start, so the tables carry churn's damage when measured. */
const WARMUP_MS = 60_000;
/** After the last probe: longer than the lookup timeout (5 s) and the ack timeout (10 s). */
const DRAIN_MS = 20_000;
const HOPS_RATE = 10;
const DEGREE_SAMPLE_MS = 5_000;
/** Stop issuing probes at this share of the budget: the drain needs wall time too. */
const ISSUE_SHARE = 0.9;
const PROBE_STREAM = 0xd4e;

type RunName = 'hops' | 'churn30m' | 'churn5m';
const RUNS: readonly RunName[] = ['hops', 'churn30m', 'churn5m'];
const HOPS_SIZES = [100, 1_000, 10_000];
/**
 * The churn runs' N. The issue asks for 1,000 "or smaller if the budget forces", and it does.
 * Measured on this shared 2-core machine (2026-11-24): with the DHT, 1,000 nodes had not even
 * finished joining after 300 s wall (850 joined, 51 virtual s; commit 2853678), and 300 nodes
 * had no correct ring after 197 virtual s / 200 s wall (commit 74570e6: 25,497 connections and
 * 1.0 GB sent in that time; with overlaySignaling off the same network formed at 59.9 virtual s
 * in 33 s wall). 100 nodes form in ~50–100 virtual s and leave room for a 600-s window.
 */
const CHURN_NODES = 100;
const MEDIAN_SESSION_MS = { churn30m: 30 * 60_000, churn5m: 5 * 60_000 } as const;
/**
 * Seeds of each churn run. One seed's 2,401 lookups put a 99.9% target at two or three events:
 * the same code measured 99.83–99.96% on three seeds (2026-12-06). Five give 12,005 lookups;
 * each is a whole run (~35–55 s wall at N = 100).
 */
const CHURN_SEEDS = 5;

/** The seeds of a run: its first is the one a single run used before (hops 1, churn30m 2, churn5m 3), then every tenth. */
export function runSeeds(run: RunName, count: number): number[] {
  return Array.from({ length: count }, (_, i) => RUNS.indexOf(run) + 1 + 10 * i);
}

export interface RunFigures {
  run: RunName;
  nodes: number;
  seed: number;
  formation: Formation & { formedAtSec: number | null; virtualSecReached: number };
  /** Why no figures (or partial ones): the budget, a virtual limit, a crash of the run. */
  stopped?: string;
  lookups?: LookupFigures;
  sends?: SendFigures;
  links?: ReturnType<LinkDegrees['figures']>;
  /** Virtual seconds between the first and the last probe issued. */
  windowSec?: number;
  /** Churn departures (leave + crash) from the start of churn to the end of the run. */
  departures?: number;
  wallSec: number;
  peakRssMiB: number;
  /** Churn runs: every probe's outcome, for pooling the seeds (dropped once pooled). */
  records?: ProbeRecords;
}

/** One run, in this process. */
export async function runDhtSim(run: RunName, nodes: number, budgetSec: number, seed: number): Promise<RunFigures> {
  const started = performance.now();
  const wallSec = () => Math.round((performance.now() - started) / 100) / 10;
  const overBudget = (share = 1) => performance.now() - started > budgetSec * 1_000 * share;
  let peakRss = 0;
  const memory = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 1_000);
  const log = (line: string) => console.log(`  ${run} n=${nodes} seed ${seed}: ${line} (wall ${wallSec()} s)`);
  // Untraced: the figures come from the nodes' own APIs and ring views, never from the trace, and
  // an untraced run makes exactly the same moves (test/sim/scale-options.test.ts) in less time.
  const sim = createSimulator({ seed, ring: RING, dht: DHT, routing: {}, trace: 'off' });
  const joinedAt = new Map<PeerId, number>();
  const departedAt = new Map<PeerId, { at: number; how: DepartureKind }>();
  const degrees = new LinkDegrees(DHT.linkBudget!);
  const probes = new DhtProbes({ sim, random: createSeededRandom(deriveSeed(seed, PROBE_STREAM)), count: COUNT, joinedAt, departedAt });
  const result = (extra: Partial<RunFigures>): RunFigures => {
    clearInterval(memory);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return {
      run,
      nodes,
      seed,
      formation: { ...formation, formedAtSec: formation.formedAt === undefined ? null : formation.formedAt / 1_000, virtualSecReached: sim.now() / 1_000 },
      links: degrees.figures(),
      ...extra,
      wallSec: wallSec(),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
    };
  };

  const formation = await formNetwork(sim, nodes, RING.successorListLength, joinedAt, () => overBudget(), log);
  if (formation.formedAt === undefined) {
    const ring = formation.violations < 0 ? 'ring not checked yet' : `${formation.violations} ring violations`;
    log(`stopped: ${formation.stopped}; ${formation.joined} joined, ${ring} at ${sim.now() / 1_000} virtual s`);
    return result({ stopped: formation.stopped });
  }
  log(`ring correct at ${formation.formedAt / 1_000} virtual s; the DHT settles for ${SETTLE_MS / 1_000} s`);
  const timeline = new Timeline(sim, joinedAt, departedAt, degrees);
  if (!(await timeline.runTo(sim.now() + SETTLE_MS, () => overBudget()))) return result({ stopped: 'wall budget (while the DHT settled)' });

  let issued = 0;
  let firstAt: number | undefined;
  let lastAt = 0;
  const issue = (lookup: boolean, send: boolean) => {
    firstAt ??= sim.now();
    lastAt = sim.now();
    if (lookup && probes.lookup()) issued += 1;
    if (send) probes.send();
  };
  let stopped: string | undefined;
  let departuresFrom = 0;
  if (run === 'hops') {
    const lookups = Number(process.env.PEERSOCK_BENCH_DHT_LOOKUPS ?? 500);
    log(`${lookups} lookups at ${HOPS_RATE} per virtual s`);
    const complete = await timeline.runTo(sim.now() + (lookups * 1_000) / HOPS_RATE, () => overBudget(ISSUE_SHARE), {
      everyMs: 1_000 / HOPS_RATE,
      tick: () => issue(issued < lookups, true),
    });
    if (!complete) stopped = `wall budget: ${issued} of ${lookups} lookups issued`;
  } else {
    const medianMs = MEDIAN_SESSION_MS[run];
    const windowMs = Number(process.env.PEERSOCK_BENCH_DHT_WINDOW_SEC ?? 600) * 1_000;
    const rate = Number(process.env.PEERSOCK_BENCH_DHT_RATE ?? 4);
    departuresFrom = sim.nodes().length;
    timeline.churn(churnFrom(sim.now(), nodes, medianMs, WARMUP_MS + windowMs + DRAIN_MS, seed));
    log(`churn (median session ${medianMs / 60_000} min) from ${sim.now() / 1_000} virtual s; probes after ${WARMUP_MS / 1_000} s of it`);
    if (!(await timeline.runTo(sim.now() + WARMUP_MS, () => overBudget(ISSUE_SHARE)))) {
      return result({ stopped: 'wall budget (during the churn warm-up)', departures: sim.nodes().length - departuresFrom });
    }
    const complete = await timeline.runTo(sim.now() + windowMs, () => overBudget(ISSUE_SHARE), { everyMs: 1_000 / rate, tick: () => issue(true, true) });
    if (!complete) stopped = `wall budget: measured ${((lastAt - (firstAt ?? lastAt)) / 1_000).toFixed(0)} of ${windowMs / 1_000} virtual s`;
  }
  log(`${issued} lookups and ${probes.sends.length} routed sends issued; draining`);
  await timeline.runTo(sim.now() + DRAIN_MS, () => probes.pendingCount() === 0);
  probes.close();
  const figures = result({
    lookups: lookupFigures(probes.lookups),
    sends: sendFigures(probes.sends),
    windowSec: Math.round((lastAt - (firstAt ?? lastAt)) / 100) / 10,
    ...(run.startsWith('churn') ? { departures: sim.nodes().length - departuresFrom, records: probeRecords(probes.lookups, probes.sends) } : {}),
    ...(stopped !== undefined ? { stopped } : {}),
  });
  return figures;
}

/**
 * Virtual time driven forward with churn steps applied at their instants, a probe tick at a
 * fixed period, and link degrees sampled every DEGREE_SAMPLE_MS. A graceful leave runs the
 * clock itself; steps and ticks it passed over happen as soon as it returns.
 */
class Timeline {
  private steps: readonly ScenarioStep[] = [];
  private nextStep = 0;
  private nextSample: number;

  constructor(
    private readonly sim: Simulator,
    private readonly joinedAt: Map<PeerId, number>,
    private readonly departedAt: Map<PeerId, { at: number; how: DepartureKind }>,
    private readonly degrees: LinkDegrees,
  ) {
    this.nextSample = sim.now();
  }

  churn(steps: readonly ScenarioStep[]): void {
    this.steps = steps;
    this.nextStep = 0;
  }

  /** Runs to `endAt`; false if `stop()` held first (checked at every event). */
  async runTo(endAt: number, stop: () => boolean, probes?: { everyMs: number; tick: () => void }): Promise<boolean> {
    const { sim } = this;
    let nextTick = probes ? sim.now() : Infinity;
    for (;;) {
      if (stop()) return false;
      const step = this.steps[this.nextStep];
      const at = Math.min(step?.at ?? Infinity, nextTick, this.nextSample);
      if (at > endAt) break;
      await sim.advanceTo(at);
      if (step !== undefined && step.at === at) {
        this.nextStep += 1;
        const before = sim.nodes().length;
        // The node applyStep picks (sim/scenario.ts): recorded before a leave runs the clock.
        if (step.op === 'leave' || step.op === 'crash') {
          const alive = sim.alive();
          if (alive.length > 1) this.departedAt.set(alive[step.pick % alive.length]!.id, { at, how: step.op });
        }
        await applyStep(sim, step);
        for (const node of sim.nodes().slice(before)) this.joinedAt.set(node.id, sim.now());
      } else if (at === this.nextSample) {
        this.degrees.sample(sim);
        this.nextSample += DEGREE_SAMPLE_MS;
      } else {
        probes!.tick();
        nextTick += probes!.everyMs;
      }
    }
    await sim.advanceTo(endAt);
    return true;
  }
}

// ---------------------------------------------------------------- parent: one child per run

export async function runDhtSimBench(): Promise<Record<string, unknown>> {
  const budgetSec = Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 300);
  const hopsSizes = process.env.PEERSOCK_BENCH_DHT_HOPS_SIZES ? process.env.PEERSOCK_BENCH_DHT_HOPS_SIZES.split(',').map(Number) : HOPS_SIZES;
  const churnNodes = Number(process.env.PEERSOCK_BENCH_DHT_CHURN_NODES ?? CHURN_NODES);
  const wanted = (process.env.PEERSOCK_BENCH_DHT_RUNS ?? RUNS.join(',')).split(',').map((s) => s.trim());
  const seedCount = Number(process.env.PEERSOCK_BENCH_DHT_CHURN_SEEDS ?? CHURN_SEEDS);
  if (!Number.isInteger(seedCount) || seedCount < 1) {
    throw new Error(`PEERSOCK_BENCH_DHT_CHURN_SEEDS must be a whole number ≥ 1, got ${process.env.PEERSOCK_BENCH_DHT_CHURN_SEEDS}`);
  }
  const jobs = RUNS.filter((name) => wanted.includes(name)).flatMap((run) => (run === 'hops' ? hopsSizes : [churnNodes]).map((n) => [run, n] as const));
  const out: Record<string, unknown> = {
    bench: 'dhtSim',
    dhtSimModel: `simulator: real actors, ring + DHT (linkBudget ${DHT.linkBudget}) + routed messages, default latency model, production settings; lookups ask for ${COUNT} peers`,
    dhtSimBudgetSec: budgetSec,
    dhtSimSource: sourceState(),
  };
  for (const [run, n] of jobs) {
    if (run === 'hops') {
      console.log(`${run}: ${n} nodes, budget ${budgetSec} s wall`);
      const figures = await child(run, n, budgetSec, runSeeds(run, 1)[0]!);
      console.log(describe(figures));
      Object.assign(out, hopsKeys(figures));
      continue;
    }
    const seeds = runSeeds(run, seedCount);
    const perSeed: RunFigures[] = [];
    for (const seed of seeds) {
      console.log(`${run}: ${n} nodes, seed ${seed} (${perSeed.length + 1} of ${seeds.length}), budget ${budgetSec} s wall`);
      perSeed.push(await child(run, n, budgetSec, seed));
      console.log(describe(perSeed.at(-1)!));
    }
    const pooled = poolSeeds(perSeed);
    console.log(`${run} pooled over seeds ${seeds.join(', ')}:\n${describe(pooled)}`);
    Object.assign(out, churnKeys(pooled, perSeed));
  }
  out.targets = { hopsMedian10k: 4, hopsP99_10k: 7, lookupSuccess30m: 0.999, lookupSuccess5m: 0.99 };
  return out;
}

/**
 * The code measured: others edit the tree while benchmarks run, so the figures name the commit
 * and any uncommitted source files (read-only git queries; 'unknown' outside a checkout).
 */
function sourceState(): { commit: string; uncommitted: string[] } {
  const root = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '..' : '../..', import.meta.url));
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'sim'], { cwd: root, encoding: 'utf8' });
    return { commit, uncommitted: status.split('\n').filter((line) => line.trim() !== '').map((line) => line.slice(3)) };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}

/** 1000 → "1k", 10000 → "10k", others as they are. */
const sizeKey = (size: number) => (size % 1_000 === 0 ? `${size / 1_000}k` : String(size));

function hopsKeys(f: RunFigures): Record<string, unknown> {
  const k = sizeKey(f.nodes);
  const l = f.lookups;
  return {
    [`hopsMedian${k}`]: l?.hopsMedian ?? null,
    [`hopsP99_${k}`]: l?.hopsP99 ?? null,
    ...(l === undefined ? { [`hops${k}Reason`]: reason(f) } : {}),
    [`hopsMax${k}`]: l?.hopsMax ?? null,
    [`lookupExact${k}`]: l?.exact ?? null,
    [`lookupExactTop5_${k}`]: l?.exactTop ?? null,
    [`lookupFirstRight${k}`]: l?.success ?? null,
    [`lookupCount${k}`]: l?.counted ?? 0,
    [`lookupFailures${k}`]: l?.failures ?? null,
    [`lookupLatencyMedianMs${k}`]: l?.latencyMedianMs ?? null,
    [`routedDelivery${k}`]: f.sends?.delivery ?? null,
    [`routedCounts${k}`]: f.sends ? counts(f.sends) : null,
    [`hops${k}Links`]: f.links,
    [`hops${k}Formation`]: f.formation,
    ...(f.stopped !== undefined ? { [`hops${k}Stopped`]: f.stopped } : {}),
    [`hops${k}WallSec`]: f.wallSec,
    [`hops${k}PeakRssMiB`]: f.peakRssMiB,
  };
}

function churnKeys(f: RunFigures, perSeed: readonly RunFigures[]): Record<string, unknown> {
  const m = f.run === 'churn30m' ? '30m' : '5m';
  const l = f.lookups;
  const s = f.sends;
  return {
    [`churnNodes${m}`]: f.nodes,
    [`lookupSuccess${m}`]: l?.success ?? null,
    [`lookupSuccessBySeed${m}`]: Object.fromEntries(perSeed.map((s) => [s.seed, s.lookups?.success ?? null])),
    ...(l === undefined ? { [`lookupSuccess${m}Reason`]: reason(f) } : {}),
    [`lookupLatencyMedianMs${m}`]: l?.latencyMedianMs ?? null,
    [`lookupLatencyP99Ms${m}`]: l?.latencyP99Ms ?? null,
    [`lookupExact${m}`]: l?.exact ?? null,
    [`lookupExactTop5_${m}`]: l?.exactTop ?? null,
    [`lookupHopsMedian${m}`]: l?.hopsMedian ?? null,
    [`lookupHopsP99_${m}`]: l?.hopsP99 ?? null,
    [`lookupCount${m}`]: l?.counted ?? 0,
    [`lookupExcluded${m}`]: l?.excluded ?? 0,
    [`lookupFailures${m}`]: l?.failures ?? null,
    [`lookupDepartedAnswers${m}`]: l?.departedAnswers ?? null,
    [`routedDelivery${m}`]: s?.delivery ?? null,
    [`routedReachedTarget${m}`]: s?.reachedTarget ?? null,
    [`routedOneWayMedianMs${m}`]: s?.oneWayMedianMs ?? null,
    [`routedOneWayP99Ms${m}`]: s?.oneWayP99Ms ?? null,
    [`routedAckMedianMs${m}`]: s?.ackMedianMs ?? null,
    [`routedAckP99Ms${m}`]: s?.ackP99Ms ?? null,
    [`routedCounts${m}`]: s ? counts(s) : null,
    [`churnWindowSec${m}`]: f.windowSec ?? 0,
    [`churnDepartures${m}`]: f.departures ?? 0,
    [`churnLinks${m}`]: f.links,
    [`churnSeeds${m}`]: perSeed.map(seedSummary),
    ...(f.stopped !== undefined ? { [`churnStopped${m}`]: f.stopped } : {}),
    [`churnWallSec${m}`]: f.wallSec,
    [`churnPeakRssMiB${m}`]: f.peakRssMiB,
  };
}

const counts = (s: SendFigures) => ({ counted: s.counted, acked: s.acked, timeout: s.timeout, failed: s.failed, pending: s.pending, excluded: s.excluded });

function reason(f: RunFigures): string {
  const { formation: fm } = f;
  return `${f.stopped ?? 'no figures'} — ${fm.joined} of ${f.nodes} nodes joined, ${fm.virtualSecReached.toFixed(0)} virtual s reached in ${f.wallSec} s wall, ring ${fm.formedAt !== undefined ? `formed at ${fm.formedAtSec} virtual s` : fm.violations < 0 ? 'not checked (still joining)' : `not formed (${fm.violations} violations at the last check)`}`;
}

function describe(f: RunFigures): string {
  const head = `${f.run}, ${f.nodes} nodes: ${f.wallSec} s wall, peak rss ${f.peakRssMiB} MiB; ring ${f.formation.formedAt === undefined ? 'NOT formed' : `formed at ${f.formation.formedAtSec} virtual s`}; links max ${f.links?.linksMax ?? '—'}, mean ${f.links?.linksMean ?? '—'}, mean share over budget ${f.links?.overBudgetMeanFraction ?? '—'}`;
  const stop = f.stopped === undefined ? '' : `\n  STOPPED: ${f.stopped}`;
  const l = f.lookups;
  const s = f.sends;
  const lookups = l
    ? `\n  lookups: ${l.counted} counted (${l.excluded} excluded), success ${pct(l.success)}, exact ${pct(l.exact)} (first ${TOP}: ${pct(l.exactTop)}), hops median ${l.hopsMedian} p99 ${l.hopsP99} max ${l.hopsMax}, latency median ${l.latencyMedianMs} ms p99 ${l.latencyP99Ms} ms; failures ${JSON.stringify(l.failures)}; departed answers ${JSON.stringify(l.departedAnswers)}`
    : '';
  const sends = s
    ? `\n  routed: ${s.counted} counted (${s.excluded} excluded), acked ${pct(s.delivery)}, reached target ${pct(s.reachedTarget)}, timeout ${s.timeout}, failed ${JSON.stringify(s.failed)}, pending ${s.pending}; one way median ${s.oneWayMedianMs} ms p99 ${s.oneWayP99Ms} ms, ack median ${s.ackMedianMs} ms p99 ${s.ackP99Ms} ms`
    : '';
  const churn = f.windowSec !== undefined && f.run.startsWith('churn') ? `\n  churn: ${f.departures} departures; probes over ${f.windowSec} virtual s` : '';
  return head + stop + lookups + sends + churn;
}

const pct = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);

/**
 * One run in a child process (bench-child.ts; a 4-GiB heap unless PEERSOCK_BENCH_DHT_HEAP_MIB says
 * otherwise); a child that dies is reported with how far it got.
 */
async function child(run: RunName, nodes: number, budgetSec: number, seed: number): Promise<RunFigures> {
  const heapMiB = Number(process.env.PEERSOCK_BENCH_DHT_HEAP_MIB ?? 4_096);
  const started = performance.now();
  let lastProgress = '';
  const outcome = await runBenchChild(
    import.meta.url,
    { DHT_SIM_CHILD: `${run}:${nodes}:${seed}`, PEERSOCK_BENCH_BUDGET_SEC: String(budgetSec) },
    {
      heapMiB,
      onProgress: (line) => {
        lastProgress = line.trim();
      },
    },
  );
  try {
    return JSON.parse(outcome.lastLine) as RunFigures;
  } catch {
    const failure = outcome.outOfMemory ? `the run died: JavaScript heap out of memory (${heapMiB} MiB)` : `the run died: exit ${outcome.code ?? outcome.signal}`;
    if (!outcome.outOfMemory) console.log(outcome.stderrTail.split('\n').slice(-12).join('\n'));
    return {
      run,
      nodes,
      seed,
      formation: { joined: -1, violations: -1, formedAtSec: null, virtualSecReached: -1 },
      stopped: `${failure}; last progress: ${lastProgress || 'none'}`,
      wallSec: Math.round((performance.now() - started) / 100) / 10,
      peakRssMiB: -1,
    };
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const job = process.env.DHT_SIM_CHILD;
  if (job !== undefined) {
    const [run, nodes, seed] = job.split(':');
    // A churn run's records (~0.5 MB) were cut short when the child exited before the pipe took them.
    exitWithJson(await runDhtSim(run as RunName, Number(nodes), Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 300), Number(seed)));
  } else {
    console.log(JSON.stringify(await runDhtSimBench()));
  }
}
