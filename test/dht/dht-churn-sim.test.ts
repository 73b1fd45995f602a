/**
 * The churn properties with the DHT on (issue 4, item 6): after any scenario of the ring issue
 * (joins, leaves, crashes, mass failure, partitions, loss, spikes, signaling outages) — and
 * after "all signaling servers gone" scenarios — and a quiet period, the ring is whole, every
 * routed message sent meanwhile settled explicitly, and lookups from random nodes return
 * exactly the XOR-closest alive peers. A failure prints the violations and a replayable scenario.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { propertyViolations } from '../../sim/property-checks.js';
import { routedSummary } from '../../sim/routed-traffic.js';
import { arbitraryScenario, arbitraryServerlessScenario, runScenario, type Scenario } from '../../sim/scenario.js';
import { createSimulator } from '../../sim/simulator.js';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import { PROPERTY_CONNECTION, PROPERTY_DHT_CONFIG, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { expectNoViolations } from '../helpers/scenario-verdict.js';

const RING = PROPERTY_RING_CONFIG;
const DHT: Partial<DhtConfig> = PROPERTY_DHT_CONFIG;
const RUNS = Number(process.env.PEERSOCK_FUZZ_RUNS ?? 8);

async function holds(scenario: Scenario): Promise<void> {
  const sim = createSimulator({ seed: scenario.seed, connection: PROPERTY_CONNECTION, ring: RING, dht: DHT });
  try {
    const { routed } = await runScenario(sim, scenario);
    const violations = await propertyViolations(sim, { seed: scenario.seed, routed }, { ring: RING, dht: true });
    expectNoViolations(violations, scenario, { ring: RING, connection: PROPERTY_CONNECTION, dht: DHT }, `routed: ${JSON.stringify(routedSummary(routed))}`);
  } finally {
    await sim.close();
  }
}

describe('DHT under churn in the simulator', () => {
  it('after any churn scenario and a quiet period: ring whole, routed messages settled, lookups exact', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryScenario({ maxNodes: 10, maxSteps: 5, maxGapMs: 10_000, quietMs: 60_000, routedEveryMs: 1_000, minNodes: 2 }), holds),
      { numRuns: RUNS },
    );
  }, 180_000);

  it('with every signaling server gone: the same after crashes, leaves, loss and spikes', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryServerlessScenario({ minNodes: 4, maxNodes: 10, maxSteps: 5, serversGoneAtMs: 40_000, maxGapMs: 10_000, quietMs: 60_000, routedEveryMs: 1_000 }),
        holds,
      ),
      { numRuns: RUNS },
    );
  }, 180_000);
});
