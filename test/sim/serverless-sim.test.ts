/**
 * "All signaling servers gone" (issue 4): the network forms with servers, then every server
 * goes down for good and nodes crash, leave, lose packets and slow down. After a quiet period
 * the rest must have healed alone — new links signaled through the overlay — and every routed
 * message sent meanwhile must have been acked or failed with a reason.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { propertyViolations } from '../../sim/property-checks.js';
import { routedSummary } from '../../sim/routed-traffic.js';
import { arbitraryServerlessScenario, runScenario } from '../../sim/scenario.js';
import { createSimulator } from '../../sim/simulator.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { expectNoViolations } from '../helpers/scenario-verdict.js';

const RING = PROPERTY_RING_CONFIG;

describe('with every signaling server gone', () => {
  it('after any crashes, leaves, loss and spikes and a quiet period, the ring is whole and every routed message settled', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryServerlessScenario({ minNodes: 4, maxNodes: 10, maxSteps: 5, serversGoneAtMs: 40_000, maxGapMs: 10_000, quietMs: 60_000, routedEveryMs: 1_000 }),
        async (scenario) => {
          const sim = createSimulator({ seed: scenario.seed, connection: PROPERTY_CONNECTION, ring: RING });
          try {
            const { routed } = await runScenario(sim, scenario);
            const violations = await propertyViolations(sim, { seed: scenario.seed, routed }, { ring: RING, dht: false });
            expectNoViolations(violations, scenario, { ring: RING, connection: PROPERTY_CONNECTION }, `routed: ${JSON.stringify(routedSummary(routed))}`);
          } finally {
            await sim.close();
          }
        },
      ),
      { numRuns: Number(process.env.PEERSOCK_FUZZ_RUNS ?? 10) },
    );
  }, 120_000);
});
