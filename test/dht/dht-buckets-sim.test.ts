/**
 * The bucket actors in the simulator: every node runs them under `dht/bucket-<index>`, idle
 * buckets refresh, full ones check their least-recently-seen contact, and the run stays
 * deterministic: the same seed gives the same trace hash.
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { closedAfterEach } from '../helpers/simulators.js';

const RING = PROPERTY_RING_CONFIG;
// k = 4: buckets fill with a few nodes, so newcomers find them full and checks happen.
const DHT: Partial<DhtConfig> = { planIntervalMs: 2_000, lookupTimeoutMs: 5_000, linkBudget: 8, k: 4, replication: 4 };
const NODES = 16;
/** Past the longest idle period of a bucket (15 min + 25%). */
const RUN_MS = 20 * 60_000;

const open = closedAfterEach();

async function run(seed: number): Promise<{ hash: string; states: Map<string, number>; sim: Simulator }> {
  const sim = createSimulator({ seed, nodes: NODES, connection: PROPERTY_CONNECTION, ring: RING, dht: DHT });
  open.push(sim);
  const formed = await sim.runUntil(() => checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false }).length === 0, 60_000);
  expect(formed).toBe(true);
  await sim.advance(RUN_MS);
  // How often bucket actors entered each state, over the whole retained trace.
  const states = new Map<string, number>();
  for (const entry of sim.trace) {
    if (entry.kind !== 'snapshot' || !/^dht\/bucket-\d+$/.test(entry.actor) || entry.state === undefined) continue;
    states.set(entry.state, (states.get(entry.state) ?? 0) + 1);
  }
  return { hash: sim.traceHash(), states, sim };
}

describe('k-bucket actors in the simulator', () => {
  it('refresh when idle, check liveness when full, and the same seed gives the same trace', async () => {
    const first = await run(5);
    console.log(`dht-buckets-sim: ${NODES} nodes, ${RUN_MS / 60_000} virtual min, bucket actor snapshots by state ${JSON.stringify(Object.fromEntries(first.states))}`);
    expect(first.states.get('refreshing') ?? 0).toBeGreaterThan(0);
    expect(first.states.get('checkingLiveness') ?? 0).toBeGreaterThan(0);
    for (const node of first.sim.alive()) {
      expect([...node.node.states().keys()].some((id) => /^dht\/bucket-\d+$/.test(id))).toBe(true);
    }
    const second = await run(5);
    expect(second.hash).toBe(first.hash);
  }, 300_000);
});
