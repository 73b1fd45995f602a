/**
 * Provider records in the simulator: 40 real node runtimes with ring + DHT on virtual time.
 * "A provider record is found while its provider lives" (sim/dht-invariants.ts), also after 20%
 * of the nodes crash (holders among them) once a re-announce round has passed, and a crashed
 * provider is no longer named once its last record expired.
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeProviderViolations, providerViolations, queryProviders, type ServiceProvider } from '../../sim/dht-invariants.js';
import { describeViolations } from '../../sim/invariants.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulator, type SimNodeHandle, type Simulator } from '../../sim/simulator.js';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG, detectionTimeoutMs } from '../../src/cli/sim-profile.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { closedAfterEach } from '../helpers/simulators.js';

const RING = PROPERTY_RING_CONFIG;
const DHT: Partial<DhtConfig> = { planIntervalMs: 2_000, lookupTimeoutMs: 5_000, linkBudget: 32, recordTtlMs: 60_000, reannounceIntervalMs: 25_000 };
const NODES = 40;

const open = closedAfterEach();

function simulator(seed: number): Simulator {
  const sim = createSimulator({ seed, nodes: NODES, connection: PROPERTY_CONNECTION, ring: RING, dht: DHT });
  open.push(sim);
  return sim;
}

const ringCheck = (sim: Simulator) => checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false });

async function formed(sim: Simulator): Promise<void> {
  const ok = await sim.runUntil(() => ringCheck(sim).length === 0, 60_000);
  expect(ok, describeViolations(ringCheck(sim))).toBe(true);
}

function pick<T>(items: readonly T[], count: number, seed: number): T[] {
  const random = createSeededRandom(seed);
  const pool = [...items];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(Math.floor(random.float() * pool.length), 1)[0]!);
  return chosen;
}

describe('provider records in the simulator', () => {
  it('40 nodes, 5 providers: found from anywhere; after every holder of one record and a provider crash, found again after one re-announce round; the crashed provider ages out', async () => {
    const sim = simulator(51);
    await formed(sim);
    await sim.advance(20_000);

    const providers = sim.alive().filter((_, i) => i % 8 === 3);
    const provided: ServiceProvider[] = providers.map((node, i) => ({ service: `module:svc-${i}`, provider: node.id }));
    const services = provided.map((p) => p.service);
    const holders = new Map<string, readonly PeerId[]>();
    const announcedAt = sim.now();
    for (const [i, node] of providers.entries()) {
      const handle = await sim.until(node.node.provide(services[i]!), 20_000);
      expect(handle.holders).toHaveLength(8);
      holders.set(services[i]!, handle.holders);
    }
    const goneAt = new Map<PeerId, number>();
    const truth = () => ({ now: sim.now(), alive: new Set(sim.alive().map((node) => node.id)), goneAt, ttlMs: DHT.recordTtlMs! });
    const check = async (askers: readonly SimNodeHandle[]) => {
      const results = await queryProviders(sim, askers, services, 20_000);
      const violations = providerViolations(results, provided, truth());
      expect(violations, describeProviderViolations(violations)).toEqual([]);
      return results;
    };

    await check(pick(sim.alive(), 6, 1));

    // ~20% crash: every holder of one service's record (one whose provider holds none itself)
    // and svc-4's provider. Other providers may be among the holders: they are then gone too.
    const target = provided.slice(0, 4).find(({ service, provider }) => !holders.get(service)!.includes(provider))!;
    const victims = new Set<SimNodeHandle>([...holders.get(target.service)!.map((id) => sim.byId(id)!), providers[4]!]);
    expect(victims.size).toBeGreaterThanOrEqual(NODES / 5);
    for (const node of victims) {
      sim.crash(node);
      goneAt.set(node.id, sim.now());
    }
    // Control: with its holders gone and before the next round, the service is not found (so
    // finding it later is the re-announcement's doing, not a holder that happened to survive).
    const [early] = await queryProviders(sim, pick(sim.alive(), 1, 5), [target.service], 20_000);
    expect(sim.now() - announcedAt).toBeLessThan(0.9 * DHT.reannounceIntervalMs!);
    expect('records' in early!.outcome ? early!.outcome.records : []).toEqual([]);
    await sim.advance(detectionTimeoutMs(PROPERTY_CONNECTION) + DHT.reannounceIntervalMs! + 2 * DHT.planIntervalMs!);
    await check(pick(sim.alive(), 6, 3));

    // The crashed provider's last record has expired everywhere by now: nobody names it.
    await sim.advance(DHT.recordTtlMs!);
    const results = await check(pick(sim.alive(), 6, 4));
    const ofCrashed = results.filter((r) => r.service === services[4]);
    expect(ofCrashed.map((r) => ('records' in r.outcome ? r.outcome.records.length : r.outcome.error))).toEqual(ofCrashed.map(() => 0));
  }, 300_000);
});
