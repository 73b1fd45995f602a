/**
 * The DHT in the simulator: 40 real node runtimes with ring + DHT on virtual time. Lookups must
 * find exactly the XOR-closest alive peers, over links the nodes already hold, while every node
 * keeps within its link budget.
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeViolations } from '../../sim/invariants.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulator, type SimNodeHandle, type Simulator } from '../../sim/simulator.js';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import { closest } from '../../src/actors/dht/xor-distance.js';
import { positionFromBytes, positionHex, type Position } from '../../src/actors/ring/id-space.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG, detectionTimeoutMs } from '../../src/cli/sim-profile.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { closedAfterEach } from '../helpers/simulators.js';

const RING = PROPERTY_RING_CONFIG;
const DHT: Partial<DhtConfig> = { planIntervalMs: 2_000, lookupTimeoutMs: 5_000, linkBudget: 32 };
const NODES = 40;
const COUNT = 5;

const open = closedAfterEach();

function simulator(seed: number): Simulator {
  const sim = createSimulator({ seed, nodes: NODES, connection: PROPERTY_CONNECTION, ring: RING, dht: DHT });
  open.push(sim);
  return sim;
}

const ringCorrect = (sim: Simulator) => checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false }).length === 0;

async function formed(sim: Simulator): Promise<void> {
  const ok = await sim.runUntil(() => ringCorrect(sim), 60_000);
  expect(ok, describeViolations(checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false }))).toBe(true);
}

/** The truth: the `count` alive peers nearest `target`, computed from the simulator's own list. */
function trulyClosest(sim: Simulator, target: Position, count: number): PeerId[] {
  return closest(target, sim.alive(), count, (node) => positionHex(node.id)).map((node) => node.id);
}

/** Looks `target` up from `node` with virtual time running; resolves with the peers and the hops it took. */
async function lookup(sim: Simulator, node: SimNodeHandle, target: Position, count = COUNT): Promise<{ peers: PeerId[]; hops: number }> {
  let hops = -1;
  const subscription = node.node.events$.subscribe((event) => {
    if (event.type === 'dht.lookup') hops = event.hops;
  });
  try {
    const peers = await sim.until(node.node.closestPeers({ position: target }, count), 10_000);
    return { peers, hops };
  } finally {
    subscription.unsubscribe();
  }
}

describe('DHT in the simulator', () => {
  it('40 nodes: links stay within budget and lookups find exactly the XOR-closest peers', async () => {
    const sim = simulator(41);
    await formed(sim);
    await sim.advance(40_000);
    // A link being shed still counts until its graceful close completes, so one instant may
    // show a node one over; within a few hundred virtual ms every node is within budget.
    const degrees = () => sim.alive().map((node) => node.node.peers().length);
    const withinBudget = await sim.runUntil(() => Math.max(...degrees()) <= DHT.linkBudget!, 10_000);
    expect(withinBudget, `degrees ${degrees().join(',')}`).toBe(true);
    const settled = degrees();
    // One bucket actor per non-empty bucket, under the DHT's stable id: a handful per node, not 256.
    const bucketActors = sim.alive().map((node) => [...node.node.states().keys()].filter((id) => /^dht\/bucket-\d+$/.test(id)).length);
    expect(Math.min(...bucketActors)).toBeGreaterThan(0);
    expect(Math.max(...bucketActors)).toBeLessThanOrEqual(12);
    const checks = sim.trace.filter((entry) => entry.actor.startsWith('dht/bucket-') && entry.state === 'checkingLiveness').length;

    const random = createSeededRandom(7);
    const hops: number[] = [];
    const nodes = sim.alive();
    for (let i = 0; i < 10; i += 1) {
      const from = nodes[(i * 7) % nodes.length]!;
      const target = positionFromBytes(random.bytes(32));
      const answer = await lookup(sim, from, target);
      expect(answer.peers).toEqual(trulyClosest(sim, target, COUNT));
      hops.push(answer.hops);
    }
    console.log(
      `dht-sim: ${NODES} nodes, degrees min ${Math.min(...settled)} max ${Math.max(...settled)}, bucket actors per node ${Math.min(...bucketActors)}..${Math.max(...bucketActors)}, liveness checks ${checks}, lookup hops ${JSON.stringify(hops)}`,
    );
    expect(Math.max(...hops)).toBeLessThanOrEqual(4);
  }, 300_000);

  it('after 20% crash and time to detect it, lookups name only alive peers', async () => {
    const sim = simulator(42);
    await formed(sim);
    await sim.advance(30_000);
    const victims = sim.alive().filter((_, i) => i % 5 === 2);
    for (const node of victims) sim.crash(node);
    await sim.advance(detectionTimeoutMs(PROPERTY_CONNECTION) + 3 * DHT.planIntervalMs!);

    const random = createSeededRandom(8);
    const alive = new Set(sim.alive().map((node) => node.id));
    const nodes = sim.alive();
    for (let i = 0; i < 6; i += 1) {
      const from = nodes[(i * 5) % nodes.length]!;
      const target = positionFromBytes(random.bytes(32));
      const { peers } = await lookup(sim, from, target);
      expect(peers.filter((peer) => !alive.has(peer))).toEqual([]);
      expect(peers).toEqual(trulyClosest(sim, target, COUNT));
    }
  }, 300_000);
});
