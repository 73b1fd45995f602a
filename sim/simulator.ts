import type { Subscription } from 'rxjs';
import { DEFAULT_CONNECTION_CONFIG, validateConnectionConfig, type ConnectionConfig } from '../src/actors/transport/connection-config.js';
import type { RingView } from '../src/actors/ring/ring-view.js';
import { createCryptoPort } from '../src/crypto/crypto-port.js';
import { NativeKeyCache } from '../src/crypto/native-key-cache.js';
import { identityFromSecretKeyNative, type Identity } from '../src/identity/identity.js';
import { generateIdentityMeetingPuzzle } from '../src/identity/position-puzzle.js';
import type { PeerId } from '../src/identity/peer-id.js';
import type { PeerSockNode } from '../src/node/node-api.js';
import { createNodeRuntime, type NodeRuntimeOptions } from '../src/node/node-runtime.js';
import { silentLogger } from '../src/ports/logger.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from '../src/supervisor/restart-policy.js';
import { advanceTo, runUntil, settle } from './drive.js';
import { createLatencyModel, type LatencyModel, type LatencyModelOptions } from './latency-model.js';
import { createMemoryNetwork, type MemoryNetwork } from './memory-network.js';
import { createMemorySignalingHub, type MemorySignalingHub } from './memory-signaling.js';
import { createCryptoLane, type CryptoLaneStats } from './crypto-lane.js';
import { createSeededRandom, deriveSeed, type SeededRandom } from './seeded-random.js';
import { createSimulatedClock, type VirtualClock } from './simulated-clock.js';
import { SimulatedSignatures } from './simulated-signatures.js';
import { createTraceRecorder, type ActorStateRecord, type SimTraceEntry, type TraceRecorder } from './trace.js';

/**
 * The discrete-event simulator: N nodes, each the production actor tree and API
 * (`createNodeRuntime`) over simulated ports — the memory network as transport, one shared
 * virtual clock, a per-node seeded PRNG, inline crypto (no worker threads), the in-memory
 * signaling hub and a silent logger. Same seed and same calls, same trace: nothing here
 * reads wall time, Math.random or real timers (identities, nonces and fingerprints come
 * from seeded streams; promise settling between clock steps is ordered, not timed).
 */

/** The ring configuration createNodeRuntime accepts, once it accepts one (`unknown` until then). */
export type SimRingOptions = NodeRuntimeOptions extends { ring?: infer R } ? R : unknown;

export interface SimulatorOptions {
  seed: number;
  /** Nodes added at once (default 0). */
  nodes?: number;
  latency?: Omit<LatencyModelOptions, 'seed' | 'clock'>;
  /** Added to the link latency for signaling relays (the detour through a server; default 20 ms). */
  signalingOverheadMs?: number;
  /** Whether a partition also splits the signaling service (default true: each side keeps its own servers). */
  partitionSignaling?: boolean;
  connection?: Partial<ConnectionConfig>;
  /** Passed through to createNodeRuntime for the ring actor. */
  ring?: SimRingOptions;
  /** Passed through to createNodeRuntime for routed messages (needs `ring`). */
  routing?: NodeRuntimeOptions['routing'];
  /** Passed through to createNodeRuntime for the DHT actor (needs `ring`). */
  dht?: NodeRuntimeOptions['dht'];
  /** Passed through to createNodeRuntime: upgrades of busy routed conversations (default on with `ring`). */
  upgrade?: NodeRuntimeOptions['upgrade'];
  /** Passed through to createNodeRuntime (default true: ring members signal through the overlay). */
  overlaySignaling?: boolean | 'first' | 'fallback';
  maxConnections?: number;
  maxPendingInbound?: number;
  /** Position-puzzle difficulty: identities are ground to solve it (seeded), and peers check it. Default 0. */
  puzzleBits?: number;
  restartPolicy?: Partial<RestartPolicy>;
  connectTimeoutMs?: number;
  /**
   * `ed25519` (default): each node's crypto port is the production one. `simulated`: keyed
   * hashes that verify exactly like ed25519 within the simulation at a fraction of the cost,
   * but reject real signatures made outside it (see simulated-signatures.ts). For scale runs.
   */
  signatures?: 'ed25519' | 'simulated';
  /**
   * Where ed25519 runs (with `signatures: 'ed25519'`). `inline` (default): on the simulation's
   * thread, answered at the instant asked. `thread`: on a second thread (sim/crypto-lane.ts),
   * each signature or verification taking `cryptoDelayMs` of virtual time; the same seed still
   * gives the same run, and a large run finishes sooner on a machine with a core to spare.
   */
  crypto?: 'inline' | 'thread';
  /** Virtual ms one signature or verification takes with `crypto: 'thread'` (default 2). */
  cryptoDelayMs?: number;
  /** Trace entries kept in memory (default 200,000). */
  traceLimit?: number;
  /**
   * 'full' (default): every actor event and state enters the trace (its hash proves two runs
   * identical; stuck-state and actor-error checks read it). 'off': the nodes run uninspected
   * and the trace holds only the simulator's own operations, so actorStates() and
   * actorErrors() throw. The actors behave the same either way; 'off' is for scale runs,
   * where inspection and tracing were 27% of the wall time (10,000 nodes, joining).
   */
  trace?: 'full' | 'off';
  /** Virtual-clock resolution: deadlines round up to a multiple of this (ms; default 0, exact). See SimulatedClockOptions. */
  timeResolutionMs?: number;
  /** Writes every trace entry to this file as JSON lines. */
  traceFile?: string;
}

export type SimNodeStatus = 'alive' | 'crashed' | 'leaving' | 'left';

export interface SimNodeHandle {
  /** Creation order, from 0. */
  readonly index: number;
  readonly id: PeerId;
  /** Leading hex of the id, as used in the trace. */
  readonly shortId: string;
  readonly identity: Identity;
  readonly node: PeerSockNode;
  status(): SimNodeStatus;
  ring(): RingView | undefined;
}

export interface Simulator {
  readonly seed: number;
  readonly clock: VirtualClock;
  readonly network: MemoryNetwork;
  readonly signaling: MemorySignalingHub;
  readonly latency: LatencyModel;
  /** The stream scenario operations draw from (group assignment of late joiners...). */
  readonly random: SeededRandom;
  readonly config: ConnectionConfig;
  /** The crypto thread's counters with `crypto: 'thread'`; undefined inline. */
  cryptoStats(): CryptoLaneStats | undefined;
  /** Retained trace window (see traceTotal for the full count). */
  readonly trace: readonly SimTraceEntry[];
  now(): number;
  addNode(): SimNodeHandle;
  /** Every node ever added, in creation order. */
  nodes(): readonly SimNodeHandle[];
  alive(): SimNodeHandle[];
  byId(id: PeerId | string): SimNodeHandle | undefined;
  /** The node vanishes without a word; its actors stop in the background, cut off from everything. */
  crash(node: SimNodeHandle): void;
  /** Graceful stop (peers are told); advances virtual time until the node is gone. */
  leave(node: SimNodeHandle): Promise<void>;
  /** Nodes in different groups cannot reach each other; alive nodes in no group join the first. */
  partition(groups: readonly (readonly SimNodeHandle[])[]): void;
  heal(): void;
  partitioned(): boolean;
  setLoss(probability: number): void;
  /** Every latency × factor for `durationMs` of virtual time from now. */
  spike(factor: number, durationMs: number): void;
  shutdownSignaling(): void;
  restoreSignaling(): void;
  advance(ms: number): Promise<void>;
  advanceTo(time: number): Promise<void>;
  /** Steps until `done()` holds or `maxMs` passed; returns whether it held. */
  runUntil(done: () => boolean, maxMs: number): Promise<boolean>;
  /** Advances virtual time until `promise` settles (at most `maxMs`), then returns its outcome. */
  until<T>(promise: Promise<T>, maxMs: number): Promise<T>;
  /** a.connect(b) with virtual time running. */
  connect(a: SimNodeHandle, b: SimNodeHandle, maxMs?: number): Promise<void>;
  /** Open peers of every alive node, for `checkConnected`. */
  adjacency(): Map<PeerId, readonly PeerId[]>;
  /** Ring views of the alive nodes that have one. */
  ringViews(): RingView[];
  /** Whether actor events are traced (SimulatorOptions.trace): actorStates() and actorErrors() need it. */
  readonly traced: boolean;
  actorStates(): ActorStateRecord[];
  actorErrors(): readonly SimTraceEntry[];
  traceHash(): string;
  traceTotal(): number;
  /** Stops every node (silently, like a crash) and closes the trace file. */
  close(): Promise<void>;
}

const SHORT_ID_LENGTH = 10;
const UNTRACED = "this simulator runs with trace 'off': actor states and errors are not recorded";
/** Enough for every key of a 10,000-node run with churn. */
const SHARED_KEY_CACHE_CAPACITY = 65_536;
/**
 * Virtual time of one signature or verification on the crypto thread: long enough for the
 * thread to work while the simulation runs the events due meanwhile (see crypto-lane.ts).
 */
export const DEFAULT_CRYPTO_DELAY_MS = 2;
/** Stream numbers of the seeded PRNGs; a node's is NODE_STREAM + its index. */
const NETWORK_STREAM = 1;
const SIGNALING_STREAM = 2;
const CONTROL_STREAM = 3;
const NODE_STREAM = 0x1000;

interface NodeRecord extends SimNodeHandle {
  state: SimNodeStatus;
  subscription: Subscription | undefined;
  stopping: Promise<void> | undefined;
  stopped: boolean;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const { seed } = options;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const traced = (options.trace ?? 'full') === 'full';
  if (options.trace !== undefined && options.trace !== 'full' && options.trace !== 'off') {
    throw new RangeError(`trace must be 'full' or 'off', got ${String(options.trace)}`);
  }
  const clock = createSimulatedClock(undefined, { resolutionMs: options.timeResolutionMs ?? 0 });
  // One parsed-key cache for every simulated node: they all verify the same few thousand keys.
  const keyCache = new NativeKeyCache(SHARED_KEY_CACHE_CAPACITY);
  if (options.signatures !== undefined && options.signatures !== 'ed25519' && options.signatures !== 'simulated') {
    throw new RangeError(`signatures must be 'ed25519' or 'simulated', got ${String(options.signatures)}`);
  }
  const simulatedSignatures = options.signatures === 'simulated' ? new SimulatedSignatures() : undefined;
  const cryptoDelayMs = cryptoThreadDelay(options);
  const latency = createLatencyModel({ seed, clock, ...options.latency });
  const network = createMemoryNetwork({
    clock,
    random: createSeededRandom(deriveSeed(seed, NETWORK_STREAM)),
    latencyMs: (from, to) => latency.latency(from, to),
    pairLatencyMs: (from, to) => latency.between(from, to),
  });
  const overheadMs = options.signalingOverheadMs ?? 20;
  const partitionSignaling = options.partitionSignaling ?? true;
  const signaling = createMemorySignalingHub({
    clock,
    random: createSeededRandom(deriveSeed(seed, SIGNALING_STREAM)),
    latencyMs: (from, to) => latency.latency(from, to) + overheadMs,
    reachable: (from, to) => !partitionSignaling || !network.isPartitioned(from, to),
  });
  const random = createSeededRandom(deriveSeed(seed, CONTROL_STREAM));
  const config = validateConnectionConfig({ ...DEFAULT_CONNECTION_CONFIG, ...options.connection });
  const restartPolicy: RestartPolicy = { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy };
  const trace: TraceRecorder = createTraceRecorder({
    ...(options.traceLimit !== undefined ? { limit: options.traceLimit } : {}),
    ...(options.traceFile !== undefined ? { file: options.traceFile } : {}),
  });
  // Started last, once nothing more can throw: a thread started before a failure would leak.
  const cryptoLane = cryptoDelayMs === undefined ? undefined : createCryptoLane({ clock, delayMs: cryptoDelayMs, keyCache });
  const records: NodeRecord[] = [];
  // The alive ones in creation order, kept as they change: churn steps ask for them each time, and
  // filtering every record ever added read ~12,000 scattered objects per step (10,000 nodes).
  const aliveRecords: NodeRecord[] = [];
  const noLongerAlive = (record: NodeRecord) => {
    const index = aliveRecords.indexOf(record);
    if (index >= 0) aliveRecords.splice(index, 1);
  };
  const byId = new Map<string, NodeRecord>();
  let groupCount = 0;

  const note = (node: string, type: string) => trace.record({ at: clock.now(), node, actor: 'sim', kind: 'sim', type });

  function addNode(): SimNodeHandle {
    const index = records.length;
    const nodeRandom = createSeededRandom(deriveSeed(seed, NODE_STREAM + index));
    const identity = options.puzzleBits ? generateIdentityMeetingPuzzle(options.puzzleBits, { random: nodeRandom }) : identityFromSecretKeyNative(nodeRandom.bytes(32));
    const id = identity.peerId;
    const shortId = id.slice(0, SHORT_ID_LENGTH);
    const transport = network.transport(id);
    const crypto = simulatedSignatures?.port(identity) ?? cryptoLane?.port(identity) ?? createCryptoPort({ identity, keyCache });
    const port = signaling.port(id);
    if (groupCount > 0) network.setGroup(id, Math.floor(random.float() * groupCount));
    const runtimeOptions: NodeRuntimeOptions = {
      identity,
      clock,
      random: nodeRandom,
      transport,
      crypto,
      signaling: port,
      logger: silentLogger,
      config,
      maxConnections: options.maxConnections ?? 64,
      maxPendingInbound: options.maxPendingInbound ?? 16,
      ...(options.puzzleBits ? { puzzleBits: options.puzzleBits } : {}),
      restartPolicy,
      connectTimeoutMs: options.connectTimeoutMs ?? 60_000,
      // Every simulated node reads the same virtual clock: their routed messages' dates compare.
      wallClock: () => clock.now(),
      inspect: traced,
      release: async () => {
        await Promise.allSettled([port.close(), transport.close(), crypto.close()]);
      },
    };
    if (options.ring !== undefined) Object.assign(runtimeOptions, { ring: options.ring });
    if (options.routing !== undefined) runtimeOptions.routing = options.routing;
    if (options.dht !== undefined) runtimeOptions.dht = options.dht;
    if (options.upgrade !== undefined) runtimeOptions.upgrade = options.upgrade;
    if (options.overlaySignaling !== undefined) runtimeOptions.overlaySignaling = options.overlaySignaling;
    note(shortId, 'join');
    const node = createNodeRuntime(runtimeOptions);
    const record: NodeRecord = {
      index,
      id,
      shortId,
      identity,
      node,
      state: 'alive',
      subscription: undefined,
      stopping: undefined,
      stopped: false,
      status: () => record.state,
      ring: () => node.ring(),
    };
    if (traced) {
      record.subscription = node.inspect$.subscribe((event) => trace.recordInspection(clock.now(), shortId, event));
      // The runtime starts its actors before returning, so their first snapshots predate the
      // subscription: they enter the trace from the state map instead (type `sim.initial`), so
      // an actor stuck in its initial state is still seen with its entry time.
      for (const [actor, view] of node.states()) {
        trace.recordInspection(clock.now(), shortId, { kind: 'snapshot', actor, type: 'sim.initial', state: view.state, status: view.status });
      }
    }
    records.push(record);
    aliveRecords.push(record);
    byId.set(id, record);
    return record;
  }

  const recordOf = (handle: SimNodeHandle): NodeRecord => {
    const record = byId.get(handle.id);
    if (!record) throw new Error(`node ${handle.shortId} is not part of this simulation`);
    return record;
  };

  const beginStop = (record: NodeRecord) => {
    record.stopping ??= record.node.stop().then(
      () => {
        record.stopped = true;
      },
      () => {
        record.stopped = true;
      },
    );
    return record.stopping;
  };

  function crash(handle: SimNodeHandle): void {
    const record = recordOf(handle);
    if (record.state !== 'alive' && record.state !== 'leaving') return;
    if (record.state === 'alive') noLongerAlive(record);
    record.state = 'crashed';
    note(record.shortId, 'crash');
    // Cut off first: whatever the stopping actors still send goes nowhere.
    network.crash(record.id);
    signaling.unregister(record.id);
    record.subscription?.unsubscribe();
    trace.forgetNode(record.shortId);
    void beginStop(record);
  }

  async function leave(handle: SimNodeHandle): Promise<void> {
    const record = recordOf(handle);
    if (record.state !== 'alive') return;
    record.state = 'leaving';
    noLongerAlive(record);
    note(record.shortId, 'leave');
    void beginStop(record);
    const limit = config.closeTimeoutMs * 3 + config.sendTimeoutMs;
    if (!(await runUntil(clock, () => record.stopped, limit))) {
      throw new Error(`node ${record.shortId} did not stop within ${limit} virtual ms of a graceful leave`);
    }
    signaling.unregister(record.id);
    record.subscription?.unsubscribe();
    trace.forgetNode(record.shortId);
    // A crash during the leave (e.g. a mass failure) wins.
    if (record.state === 'leaving') record.state = 'left';
  }

  function partition(groups: readonly (readonly SimNodeHandle[])[]): void {
    if (groups.length < 2) throw new RangeError('a partition needs at least two groups');
    const names = groups.map((group) => group.map((handle) => recordOf(handle).id as string));
    const listed = new Set(names.flat());
    for (const record of records) if (!listed.has(record.id)) names[0]!.push(record.id);
    groupCount = groups.length;
    note('-', `partition:${names.map((group) => group.length).join('/')}`);
    network.partitionGroups(names);
  }

  function heal(): void {
    note('-', 'heal');
    groupCount = 0;
    network.healAll();
  }

  async function until<T>(promise: Promise<T>, maxMs: number): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    if (!(await runUntil(clock, () => settled, maxMs))) {
      throw new Error(`not settled within ${maxMs} virtual ms`);
    }
    return watched;
  }

  const alive = () => aliveRecords.slice();

  const simulator: Simulator = {
    seed,
    clock,
    network,
    signaling,
    latency,
    random,
    config,
    cryptoStats: () => cryptoLane?.stats(),
    trace: trace.entries,
    now: () => clock.now(),
    addNode,
    nodes: () => records,
    alive,
    byId: (id) => byId.get(id),
    crash,
    leave,
    partition,
    heal,
    partitioned: () => groupCount > 0,
    setLoss(probability) {
      network.setLoss(probability);
      note('-', `loss:${probability}`);
    },
    spike(factor, durationMs) {
      latency.spike(factor, clock.now() + durationMs);
      note('-', `spike:${factor}x${durationMs}`);
    },
    shutdownSignaling() {
      signaling.shutdown();
      note('-', 'signaling-down');
    },
    restoreSignaling() {
      signaling.restore();
      note('-', 'signaling-up');
    },
    advance: (ms) => advanceTo(clock, clock.now() + ms),
    advanceTo: (time) => advanceTo(clock, Math.max(time, clock.now())),
    runUntil: (done, maxMs) => runUntil(clock, done, maxMs),
    until,
    connect: (a, b, maxMs = options.connectTimeoutMs ?? 60_000) => until(a.node.connect(b.id), maxMs + 1),
    adjacency: () => new Map(alive().map((record) => [record.id, record.node.peers()] as const)),
    ringViews: () => alive().flatMap((record) => record.node.ring() ?? []),
    traced,
    actorStates: () => {
      if (!traced) throw new Error(UNTRACED);
      return trace.actorStates();
    },
    actorErrors: () => {
      if (!traced) throw new Error(UNTRACED);
      return trace.errors();
    },
    traceHash: () => trace.hash(),
    traceTotal: () => trace.total(),
    async close() {
      for (const record of records) {
        if (record.state === 'alive' || record.state === 'leaving') crash(record);
      }
      const limit = config.closeTimeoutMs * 3 + config.sendTimeoutMs;
      try {
        await runUntil(clock, () => records.every((record) => record.stopped), limit);
        await settle();
      } finally {
        await cryptoLane?.close();
        trace.close();
      }
    },
  };
  for (let i = 0; i < (options.nodes ?? 0); i += 1) addNode();
  return simulator;
}

/** The crypto thread's delay when the options ask for one, undefined for inline (validated: a typo must not silently run inline). */
function cryptoThreadDelay(options: SimulatorOptions): number | undefined {
  const mode = options.crypto ?? 'inline';
  if (mode !== 'inline' && mode !== 'thread') throw new RangeError(`crypto must be 'inline' or 'thread', got ${String(mode)}`);
  if (mode === 'inline') {
    if (options.cryptoDelayMs !== undefined) throw new RangeError("cryptoDelayMs needs crypto: 'thread'");
    return undefined;
  }
  if (options.signatures === 'simulated') throw new RangeError("crypto: 'thread' runs ed25519; it cannot be combined with signatures: 'simulated'");
  const delayMs = options.cryptoDelayMs ?? DEFAULT_CRYPTO_DELAY_MS;
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`cryptoDelayMs must be a finite number ≥ 0, got ${delayMs}`);
  return delayMs;
}
