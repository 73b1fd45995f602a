/**
 * The floor under `sim-scale` at 10,000 nodes: what the work the run must do costs on this
 * machine before any of PeerSock's own logic runs, to set against the 300-s target.
 *
 *  1. count: sim-scale's scenario at 1,000 nodes (bench/sim-scale.bench.ts `scaleScenario`),
 *     traced so that every event an actor processes is counted, with the actors alive per node
 *     at the end and the identity proofs signed and checked. The work per node is the same at
 *     10,000 nodes (sim-scale's timers: 13,762,872 against 1,388,989, 9.9×), so the floor
 *     scales these counts by 10.
 *  2. dispatch: the cheapest XState event (bench/actor-dispatch.ts) through populations of
 *     1,000 actors (the baseline: XState's rate when its actors fit in the caches) and of the
 *     actors of 1,000 and of 10,000 simulated nodes (actors per node × N).
 *  3. crypto: node:crypto ed25519 sign and verify of a handshake-sized transcript with parsed
 *     keys, as the simulator's crypto port does them.
 *
 * floor10kSec = 10 × (events × dispatch µs at the 10,000-node population + signatures × sign µs
 * + verifications × verify µs). Every simulated event is at least one such transition, so no
 * simulator of this design (an XState actor per concern, one per peer connection) runs faster on this
 * machine; real machines cost more per event, and the network, timers and garbage come on top.
 * Each measurement runs in its own child process with sim-scale's heap settings.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nativePrivateKey, nativePublicKey, nativeSign, nativeVerify } from '../src/crypto/ed25519-native.js';
import { generateIdentity } from '../src/identity/identity.js';
import { runChurn } from '../src/cli/sim-run.js';
import { createSeededRandom } from '../sim/seeded-random.js';
import { dispatchCost, type DispatchCost } from './actor-dispatch.js';
import { countActorWork, floorOf, type ActorWork } from './actor-work.js';
import { childNodeArgs } from './node-args.js';
import { scaleScenario } from './sim-scale.bench.js';

const COUNTED_NODES = 1_000;
const TARGET_NODES = 10_000;
const DISPATCH_EVENTS = 2_000_000;
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
    const started = performance.now();
    for (let i = 0; i < operations; i += 1) run();
    return ((performance.now() - started) * 1_000) / operations;
  };
  const signUs = time(() => nativeSign(privateKey, message));
  const verifyUs = time(() => {
    if (!nativeVerify(publicKey, message, signature)) throw new Error('a valid signature failed to verify');
  });
  return { signUs, verifyUs };
}

/** One measurement in a child process (4-GiB heap, sim-scale's young generation); returns its JSON line. */
function inChild<T>(mode: string): Promise<T> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--max-old-space-size=4096', ...childNodeArgs(import.meta.url), self], {
      env: { ...process.env, ACTOR_FLOOR_CHILD: mode },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    proc.on('exit', (code) => {
      const last = output.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`actor-floor child ${mode} exited with ${code}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`actor-floor child ${mode} did not end with a JSON line: ${last.slice(0, 200)}`));
      }
    });
  });
}

async function runChild(mode: string): Promise<unknown> {
  if (mode === 'count') return countWork();
  if (mode === 'crypto') return cryptoCost();
  const population = /^dispatch:(\d+)$/.exec(mode);
  if (population) return dispatchCost(Number(population[1]), DISPATCH_EVENTS);
  throw new Error(`unknown ACTOR_FLOOR_CHILD mode ${mode}`);
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function runActorFloorBench(): Promise<Record<string, unknown>> {
  console.log(`counting the actor work of sim-scale's run at ${COUNTED_NODES} nodes (traced, ed25519)…`);
  const counted = await inChild<Counted>('count');
  const actorsPerNode = counted.liveActorsAtEnd / counted.aliveAtEnd;
  console.log(
    `${COUNTED_NODES} nodes, 600 virtual s: ${counted.work.events} actor events (${Math.round(counted.work.events / COUNTED_NODES)} per node), ` +
      `${counted.work.actorsStarted} actors started, ${actorsPerNode.toFixed(1)} alive per node at the end, ` +
      `${counted.work.signatures} proofs signed and ${counted.work.verifications} checked (${round(counted.wallSec, 1)} s wall, traced)`,
  );
  const populations = [BASELINE_POPULATION, Math.round(actorsPerNode * COUNTED_NODES), Math.round(actorsPerNode * TARGET_NODES)];
  const dispatch: DispatchCost[] = [];
  for (const population of populations) {
    const cost = await inChild<DispatchCost>(`dispatch:${population}`);
    console.log(`cheapest XState event through ${population} actors: ${cost.usPerEvent.toFixed(2)} µs (${cost.events} events)`);
    dispatch.push(cost);
  }
  const crypto = await inChild<CryptoCost>('crypto');
  console.log(`ed25519 (node:crypto): sign ${crypto.signUs.toFixed(1)} µs, verify ${crypto.verifyUs.toFixed(1)} µs`);
  const [baseline, at1k, at10k] = dispatch as [DispatchCost, DispatchCost, DispatchCost];
  const floor = floorOf({ nodes: TARGET_NODES, work: counted.work, countedNodes: COUNTED_NODES, dispatchUs: at10k.usPerEvent, ...crypto });
  console.log(
    `floor at ${TARGET_NODES} nodes: ${floor.dispatchSec.toFixed(0)} s of dispatch + ${floor.cryptoSec.toFixed(0)} s of ed25519 = ${floor.totalSec.toFixed(0)} s (target 300 s for the whole run)`,
  );
  return {
    bench: 'actorFloor',
    actorEventsPerNode: round(counted.work.events / COUNTED_NODES, 1),
    actorsPerNode: round(actorsPerNode, 1),
    signaturesPerNode: round(counted.work.signatures / COUNTED_NODES, 1),
    verificationsPerNode: round(counted.work.verifications / COUNTED_NODES, 1),
    dispatchUsBaseline: round(baseline.usPerEvent, 2),
    dispatchUsBaselineActors: baseline.population,
    dispatchUs1kNodes: round(at1k.usPerEvent, 2),
    dispatchUs1kNodesActors: at1k.population,
    dispatchUs10kNodes: round(at10k.usPerEvent, 2),
    dispatchUs10kNodesActors: at10k.population,
    signUs: round(crypto.signUs, 1),
    verifyUs: round(crypto.verifyUs, 1),
    floor10kDispatchSec: round(floor.dispatchSec, 1),
    floor10kCryptoSec: round(floor.cryptoSec, 1),
    floor10kSec: round(floor.totalSec, 1),
    targets: { sim10kWallSec: 300 },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const mode = process.env.ACTOR_FLOOR_CHILD;
  if (mode !== undefined) {
    console.log(JSON.stringify(await runChild(mode)));
    // Nodes left running by the counted run must not keep the child alive.
    process.exit(0);
  } else {
    console.log(JSON.stringify(await runActorFloorBench()));
  }
}
