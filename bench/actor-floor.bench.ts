/**
 * A floor under `sim-scale` at 10,000 nodes: the least the work that run must do can cost on
 * this machine before any of PeerSock's own logic runs, to set against the 300-s target.
 *
 *  1. count: sim-scale's scenario at 1,000 nodes (bench/sim-scale.bench.ts `scaleScenario`),
 *     traced so that every event an actor processes is counted, split into events that changed
 *     the actor's state and events that did not, with the actors alive per node at the end and
 *     the identity proofs signed and checked. The floor assumes the work per node is the same
 *     at 10,000 nodes and scales it by 10: sim-scale's timers are 13,762,872 against 1,388,989
 *     (9.9×), so it overstates the work by ~1%.
 *  2. dispatch: the cheapest XState events (bench/actor-dispatch.ts): a state change with no
 *     action, and an event no state takes, each through 1,000 actors (their objects stay in
 *     the processor's caches; the least of three rounds). For context, not for the floor: the state change
 *     through as many actors as 1,000 and 10,000 simulated nodes hold, each event to an
 *     actor picked at random (what the same event costs once the actors outgrow the caches).
 *  3. crypto: node:crypto ed25519 sign and verify of a handshake-sized transcript with parsed
 *     keys, as the simulator's crypto port does them.
 *  4. attribution, beside the floor: the same run untraced, as sim-scale times it, with each
 *     actor event timed by machine (bench/actor-time.ts): µs per event of each machine, to set
 *     against the floor's few µs. Two clock reads per event add a little to what it reports.
 *
 * floor10kSec = 10 × (state changes × change µs + other events × unhandled µs + signatures ×
 * sign µs + verifications × verify µs). Each unit is priced at the cheapest of its kind, so the
 * run cannot take less with this design's events and proofs; what it takes above the floor is
 * the real machines' guards, actions and nested states, the simulated network, the actors'
 * number (caches) and garbage collection. Each measurement runs in its own child process with
 * sim-scale's heap settings.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { nativePrivateKey, nativePublicKey, nativeSign, nativeVerify } from '../src/crypto/ed25519-native.js';
import { generateIdentity } from '../src/identity/identity.js';
import { runChurn } from '../src/cli/sim-run.js';
import { createSeededRandom } from '../sim/seeded-random.js';
import { exitWithJson, runBenchChild } from './bench-child.js';
import { leastMs } from './least-time.js';
import { dispatchCost, type DispatchCost, type EventKind } from './actor-dispatch.js';
import { timeActorEvents, type MachineTime } from './actor-time.js';
import { countActorWork, floorOf, type ActorWork } from './actor-work.js';
import { scaleScenario } from './sim-scale.bench.js';
import { roundTo } from './round.js';

const COUNTED_NODES = 1_000;
const TARGET_NODES = 10_000;
/** Events per timed round (three rounds, the least kept). */
const DISPATCH_EVENTS = 1_000_000;
const BASELINE_POPULATION = 1_000;
/** Entries a traced 1,000-node run records (~1.1 M): all kept, so all are counted. */
const TRACE_LIMIT = 4_000_000;

interface Counted {
  work: ActorWork;
  aliveAtEnd: number;
  liveActorsAtEnd: number;
  wallSec: number;
}

async function countWork(): Promise<Counted> {
  const started = performance.now();
  const result = await runChurn({
    ...scaleScenario(COUNTED_NODES),
    traceLimit: TRACE_LIMIT,
    simulator: { signatures: 'ed25519', trace: 'full', timeResolutionMs: 1 },
  });
  const sim = result.simulator;
  if (sim.traceTotal() > sim.trace.length) throw new Error(`the trace kept ${sim.trace.length} of ${sim.traceTotal()} entries: raise TRACE_LIMIT`);
  return {
    work: countActorWork(sim.trace),
    aliveAtEnd: sim.alive().length,
    liveActorsAtEnd: sim.actorStates().length,
    wallSec: (performance.now() - started) / 1_000,
  };
}

interface Attributed {
  wallSec: number;
  machines: Record<string, MachineTime>;
}

/**
 * sim-scale's run at 1,000 nodes as sim-scale times it (untraced, 1-ms clock, ed25519), with
 * each actor event timed by machine (bench/actor-time.ts): where the run's time above the
 * floor goes, in µs per event of each machine against the floor's few µs.
 */
async function attributeTime(): Promise<Attributed> {
  const timing = timeActorEvents();
  const started = performance.now();
  await runChurn({ ...scaleScenario(COUNTED_NODES), simulator: { signatures: 'ed25519', trace: 'off', timeResolutionMs: 1 } });
  const wallSec = (performance.now() - started) / 1_000;
  return { wallSec, machines: Object.fromEntries(timing.stop()) };
}

interface CryptoCost {
  signUs: number;
  verifyUs: number;
}

function cryptoCost(operations = 20_000): CryptoCost {
  const identity = generateIdentity(createSeededRandom(1));
  const privateKey = nativePrivateKey(identity.secretKey);
  const publicKey = nativePublicKey(identity.publicKey);
  // A transcript of the identity handshake is ~200 bytes (fingerprints, keys, nonces, role).
  const message = new Uint8Array(200).fill(7);
  const signature = nativeSign(privateKey, message);
  const time = (run: () => unknown) => {
    for (let i = 0; i < 1_000; i += 1) run();
    return (leastMs(3, () => {
      for (let i = 0; i < operations; i += 1) run();
    }) * 1_000) / operations;
  };
  const signUs = time(() => nativeSign(privateKey, message));
  const verifyUs = time(() => {
    if (!nativeVerify(publicKey, message, signature)) throw new Error('a valid signature failed to verify');
  });
  return { signUs, verifyUs };
}

/** One measurement in a child process of its own (bench-child.ts); returns its JSON line. */
async function inChild<T>(mode: string): Promise<T> {
  const outcome = await runBenchChild(import.meta.url, { ACTOR_FLOOR_CHILD: mode });
  const ended = `actor-floor child ${mode} ended with ${outcome.signal ?? `exit code ${outcome.code}`}`;
  if (outcome.code !== 0) throw new Error(`${ended}${outcome.outOfMemory ? ' (out of memory)' : ''}:\n${outcome.stderrTail}`);
  try {
    return JSON.parse(outcome.lastLine) as T;
  } catch {
    throw new Error(`${ended} but not with a JSON line: ${outcome.lastLine.slice(0, 200)}`);
  }
}

async function runChild(mode: string): Promise<unknown> {
  if (mode === 'count') return countWork();
  if (mode === 'attribute') return attributeTime();
  if (mode === 'crypto') return cryptoCost();
  const dispatch = /^dispatch:(change|unhandled):(\d+)$/.exec(mode);
  if (dispatch) {
    const cost = dispatchCost(Number(dispatch[2]), DISPATCH_EVENTS, dispatch[1] as EventKind);
    if (cost.actorsInExpectedState !== cost.population) throw new Error(`only ${cost.actorsInExpectedState} of ${cost.population} actors processed every event sent`);
    return cost;
  }
  throw new Error(`unknown ACTOR_FLOOR_CHILD mode ${mode}`);
}


export async function runActorFloorBench(): Promise<Record<string, unknown>> {
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`counting the actor work of sim-scale's run at ${COUNTED_NODES} nodes (traced, ed25519)…`);
  const counted = await inChild<Counted>('count');
  const { work } = counted;
  const actorsPerNode = counted.liveActorsAtEnd / counted.aliveAtEnd;
  console.log(
    `${COUNTED_NODES} nodes, 600 virtual s: ${work.events} actor events (${Math.round(work.events / COUNTED_NODES)} per node), ` +
      `${work.stateChanges} of them changing their actor's state; ${work.actorsStarted} actors started, ${actorsPerNode.toFixed(1)} alive per node at the end; ` +
      `${work.signatures} proofs signed and ${work.verifications} checked (${roundTo(counted.wallSec, 1)} s wall, traced)`,
  );
  const measure = async (kind: EventKind, population: number) => {
    const cost = await inChild<DispatchCost>(`dispatch:${kind}:${population}`);
    console.log(`${kind === 'change' ? 'a state change' : 'an event no state takes'} through ${population} actors: ${cost.usPerEvent.toFixed(2)} µs (${cost.events} events)`);
    return cost;
  };
  const change = await measure('change', BASELINE_POPULATION);
  const unhandled = await measure('unhandled', BASELINE_POPULATION);
  const change1k = await measure('change', Math.round(actorsPerNode * COUNTED_NODES));
  const change10k = await measure('change', Math.round(actorsPerNode * TARGET_NODES));
  const crypto = await inChild<CryptoCost>('crypto');
  console.log(`timing each actor event of the same run, untraced as sim-scale runs it…`);
  const attributed = await inChild<Attributed>('attribute');
  const machines = Object.entries(attributed.machines).sort((a, b) => b[1].exclusiveMs - a[1].exclusiveMs);
  const actorMs = machines.reduce((sum, [, time]) => sum + time.exclusiveMs, 0);
  console.log(`${roundTo(attributed.wallSec, 1)} s wall, ${roundTo(actorMs / 1_000, 1)} s of it in actor events:`);
  for (const [id, time] of machines) {
    console.log(`  ${id.padEnd(12)} ${String(time.events).padStart(9)} events  ${(time.exclusiveMs / 1_000).toFixed(1).padStart(6)} s  ${((time.exclusiveMs * 1_000) / time.events).toFixed(1).padStart(6)} µs per event`);
  }
  console.log(`ed25519 (node:crypto): sign ${crypto.signUs.toFixed(1)} µs, verify ${crypto.verifyUs.toFixed(1)} µs`);
  const floor = floorOf({ nodes: TARGET_NODES, work, countedNodes: COUNTED_NODES, changeUs: change.usPerEvent, unhandledUs: unhandled.usPerEvent, ...crypto });
  console.log(
    `floor at ${TARGET_NODES} nodes: ${floor.dispatchSec.toFixed(0)} s of event dispatch + ${floor.cryptoSec.toFixed(0)} s of ed25519 = ${floor.totalSec.toFixed(0)} s ` +
      `(target 300 s for the whole run); the same state changes among ${change10k.population} actors cost ${(change10k.usPerEvent / change.usPerEvent).toFixed(1)}× as much`,
  );
  return {
    bench: 'actorFloor',
    actorEventsPerNode: roundTo(work.events / COUNTED_NODES, 1),
    stateChangesPerNode: roundTo(work.stateChanges / COUNTED_NODES, 1),
    actorsPerNode: roundTo(actorsPerNode, 1),
    signaturesPerNode: roundTo(work.signatures / COUNTED_NODES, 1),
    verificationsPerNode: roundTo(work.verifications / COUNTED_NODES, 1),
    changeUs: roundTo(change.usPerEvent, 2),
    unhandledUs: roundTo(unhandled.usPerEvent, 2),
    baselineActors: BASELINE_POPULATION,
    changeUs1kNodes: roundTo(change1k.usPerEvent, 2),
    changeUs1kNodesActors: change1k.population,
    changeUs10kNodes: roundTo(change10k.usPerEvent, 2),
    changeUs10kNodesActors: change10k.population,
    signUs: roundTo(crypto.signUs, 1),
    verifyUs: roundTo(crypto.verifyUs, 1),
    floor10kDispatchSec: roundTo(floor.dispatchSec, 1),
    floor10kCryptoSec: roundTo(floor.cryptoSec, 1),
    floor10kSec: roundTo(floor.totalSec, 1),
    attributedWallSec: roundTo(attributed.wallSec, 1),
    actorEventSec: roundTo(actorMs / 1_000, 1),
    ...Object.fromEntries(machines.flatMap(([id, time]) => [
      [`usPerEvent_${id}`, roundTo((time.exclusiveMs * 1_000) / time.events, 1)],
      [`events_${id}`, time.events],
    ])),
    loadAverage: roundTo(loadavg()[0]!, 2),
    targets: { sim10kWallSec: 300 },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const mode = process.env.ACTOR_FLOOR_CHILD;
  if (mode !== undefined) exitWithJson(await runChild(mode));
  else exitWithJson(await runActorFloorBench());
}
