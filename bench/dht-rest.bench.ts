/**
 * What the DHT costs a network at rest: new connections, messages, bytes and CPU per node per
 * virtual second once the network has formed and settled, with the DHT on (link budget 32) and,
 * as the baseline measured in the same run, with the ring alone. No churn, no lookups: only
 * maintenance (heartbeats, stabilization, merge probes, link planning and link-set announcements).
 *
 * A DHT that keeps rearranging its links at rest pays a whole WebRTC connection (signals,
 * signed handshake, a connection actor at both ends) per change, plus a link-set message to
 * every link at both ends. Each network: N nodes join over the usual window, run until the ring
 * is correct, settle SETTLE_MS more, then WINDOW_MS is measured. Production settings otherwise
 * (simulated network with the default latency model, ed25519 signatures).
 *
 * Environment: PEERSOCK_BENCH_DHT_REST_NODES (default 300), PEERSOCK_BENCH_BUDGET_SEC (wall
 * budget for each network's formation, default 300: one that has not formed by then gives null
 * figures; the settling and the window are not cut short). Prints one line per network, then one
 * JSON line.
 */
import { pathToFileURL } from 'node:url';
import { exitWithJson } from './bench-child.js';
import { formNetwork } from './dht-sim-network.js';
import { createSimulator } from '../sim/simulator.js';
import { DEFAULT_RING_CONFIG } from '../src/actors/ring/ring-config.js';
import type { PeerId } from '../src/identity/peer-id.js';

const NODES = 300;
/** After the ring is correct: two minutes of link planning (a round every ~10 s). */
const SETTLE_MS = 120_000;
const WINDOW_MS = 30_000;

export interface RestFigures {
  nodes: number;
  /** Virtual s at which the ring was first correct (null: not within the budget). */
  formedAtSec: number | null;
  connectionsPerNodeSec: number | null;
  messagesPerNodeSec: number | null;
  bytesPerNodeSec: number | null;
  /** Process CPU (user + system) over the window, per node and virtual second. */
  cpuUsPerNodeSec: number | null;
  linksPerNode: number | null;
  wallSec: number;
}

export async function measureRest(nodes: number, withDht: boolean, budgetSec: number): Promise<RestFigures> {
  const started = performance.now();
  const wallSec = () => Math.round((performance.now() - started) / 100) / 10;
  const sim = createSimulator({ seed: 7, ring: DEFAULT_RING_CONFIG, trace: 'off', ...(withDht ? { dht: { linkBudget: 32 }, routing: {} } : {}) });
  const label = withDht ? 'ring + DHT' : 'ring alone';
  const formation = await formNetwork(sim, nodes, DEFAULT_RING_CONFIG.successorListLength, new Map<PeerId, number>(), () => performance.now() - started > budgetSec * 1_000, (line) =>
    console.log(`  ${label}: ${line} (wall ${wallSec()} s)`),
  );
  const none = { connectionsPerNodeSec: null, messagesPerNodeSec: null, bytesPerNodeSec: null, cpuUsPerNodeSec: null, linksPerNode: null };
  if (formation.formedAt === undefined) {
    await sim.close();
    return { nodes, formedAtSec: null, ...none, wallSec: wallSec() };
  }
  await sim.advance(SETTLE_MS);
  const before = sim.network.stats();
  const cpu = process.cpuUsage();
  await sim.advance(WINDOW_MS);
  const used = process.cpuUsage(cpu);
  const after = sim.network.stats();
  const perNodeSec = (delta: number, digits = 3) => Math.round((delta / nodes / (WINDOW_MS / 1_000)) * 10 ** digits) / 10 ** digits;
  const figures: RestFigures = {
    nodes,
    formedAtSec: formation.formedAt / 1_000,
    connectionsPerNodeSec: perNodeSec(after.connections - before.connections, 4),
    messagesPerNodeSec: perNodeSec(after.messagesSent - before.messagesSent),
    bytesPerNodeSec: perNodeSec(after.bytesSent - before.bytesSent, 0),
    cpuUsPerNodeSec: perNodeSec(used.user + used.system, 0),
    linksPerNode: Math.round((after.linksOpen / nodes) * 10) / 10,
    wallSec: wallSec(),
  };
  await sim.close();
  return figures;
}

export async function runDhtRestBench(): Promise<Record<string, unknown>> {
  const nodes = Number(process.env.PEERSOCK_BENCH_DHT_REST_NODES ?? NODES);
  const budgetSec = Number(process.env.PEERSOCK_BENCH_BUDGET_SEC ?? 300);
  const out: Record<string, unknown> = { bench: 'dhtRest', dhtRestNodes: nodes, dhtRestWindowSec: WINDOW_MS / 1_000, dhtRestSettleSec: SETTLE_MS / 1_000 };
  for (const withDht of [true, false]) {
    const f = await measureRest(nodes, withDht, budgetSec);
    const prefix = withDht ? 'dhtRest' : 'ringRest';
    console.log(
      `${withDht ? 'ring + DHT' : 'ring alone'}, ${nodes} nodes at rest: ${f.connectionsPerNodeSec} new connections, ${f.messagesPerNodeSec} messages, ${f.bytesPerNodeSec} B, ${f.cpuUsPerNodeSec} µs CPU per node-second; ${f.linksPerNode} links per node (formed at ${f.formedAtSec} virtual s, ${f.wallSec} s wall)`,
    );
    out[`${prefix}ConnectionsPerNodeSec`] = f.connectionsPerNodeSec;
    out[`${prefix}MessagesPerNodeSec`] = f.messagesPerNodeSec;
    out[`${prefix}BytesPerNodeSec`] = f.bytesPerNodeSec;
    out[`${prefix}CpuUsPerNodeSec`] = f.cpuUsPerNodeSec;
    out[`${prefix}LinksPerNode`] = f.linksPerNode;
    out[`${prefix}WallSec`] = f.wallSec;
  }
  out.targets = {};
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  exitWithJson(await runDhtRestBench());
}
