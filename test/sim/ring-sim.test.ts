/**
 * Ring properties in the simulator: the real actor trees of every node, on a simulated network
 * and virtual time, checked against the invariants in sim/invariants.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeViolations, type TransientTimeouts } from '../../sim/invariants.js';
import { propertyViolations } from '../../sim/property-checks.js';
import { arbitraryScenario, runScenario, type Scenario } from '../../sim/scenario.js';
import { createSimulator, type SimNodeHandle, type Simulator, type SimulatorOptions } from '../../sim/simulator.js';
import type { RingConfig } from '../../src/actors/ring/ring-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG, detectionTimeoutMs, ringTransientTimeouts } from '../../src/cli/sim-profile.js';
import { expectNoViolations } from '../helpers/scenario-verdict.js';
import { closedAfterEach } from '../helpers/simulators.js';

/** The configuration `peersock sim --replay` uses too (src/cli/sim-profile.ts): replays cannot drift from this test. */
const RING: RingConfig = PROPERTY_RING_CONFIG;
const CONNECTION: SimulatorOptions['connection'] = PROPERTY_CONNECTION;
const R = RING.successorListLength;
/** Failure detection (timeout + one heartbeat interval) plus 5 of the longest stabilization rounds. */
const HEAL_WITHIN_MS = detectionTimeoutMs(PROPERTY_CONNECTION) + 5 * RING.stabilizeIntervalMs * 1.5;
/** A graceful leave heals with no timeout: a few message round trips. */
const LEAVE_HEALS_WITHIN_MS = 1_500;
const FORM_WITHIN_MS = 30_000;
const RING_TIMEOUTS: TransientTimeouts = ringTransientTimeouts(RING);

const open = closedAfterEach();
function simulator(seed: number, nodes = 0): Simulator {
  const sim = createSimulator({ seed, nodes, connection: CONNECTION, ring: RING });
  open.push(sim);
  return sim;
}

const check = (sim: Simulator) => checkNetwork(sim, { ring: { successorListLength: R }, timeouts: RING_TIMEOUTS });
const ringCorrect = (sim: Simulator) => checkNetwork(sim, { ring: { successorListLength: R }, connected: false }).length === 0;

async function formed(sim: Simulator, withinMs = FORM_WITHIN_MS): Promise<void> {
  const ok = await sim.runUntil(() => ringCorrect(sim), withinMs);
  expect(ok, describeViolations(check(sim))).toBe(true);
}

describe('ring in the simulator', () => {
  it('every alive node has a ring view', () => {
    const sim = simulator(1, 3);
    expect(sim.alive().map((node) => node.ring() !== undefined)).toEqual([true, true, true]);
  });

  it('nodes joining one at a time form a correct ring', async () => {
    const sim = simulator(2);
    for (let i = 0; i < 12; i += 1) {
      sim.addNode();
      await sim.advance(500);
    }
    await formed(sim);
    expect(check(sim)).toEqual([]);
  });

  it('a burst of simultaneous joins forms a correct ring', async () => {
    const sim = simulator(3, 16);
    await formed(sim);
  });

  it('3 of 12 crashing at once heal within detection time plus a few rounds', async () => {
    const sim = simulator(4, 12);
    await formed(sim);
    const victims = sim.alive().filter((_, i) => i % 4 === 1) as SimNodeHandle[];
    for (const node of victims) sim.crash(node);
    const start = sim.now();
    expect(await sim.runUntil(() => ringCorrect(sim), HEAL_WITHIN_MS), describeViolations(check(sim))).toBe(true);
    expect(sim.now() - start).toBeLessThanOrEqual(HEAL_WITHIN_MS);
  });

  it('a graceful leave heals without waiting for a timeout', async () => {
    const sim = simulator(5, 10);
    await formed(sim);
    await sim.leave(sim.alive()[3]!);
    expect(await sim.runUntil(() => ringCorrect(sim), LEAVE_HEALS_WITHIN_MS), describeViolations(check(sim))).toBe(true);
  });

  it('two rings formed in a partition merge into one after it heals', async () => {
    const sim = simulator(6, 12);
    await formed(sim);
    const nodes = sim.alive();
    sim.partition([nodes.filter((_, i) => i % 2 === 0), nodes.filter((_, i) => i % 2 === 1)]);
    await sim.advance(20_000);
    sim.heal();
    await formed(sim, 60_000);
  });

  it('is deterministic with the ring running', async () => {
    const scenario: Scenario = {
      seed: 9,
      nodes: 8,
      steps: [
        { at: 5_000, op: 'crash', pick: 2 },
        { at: 6_000, op: 'joinBurst', count: 3 },
      ],
      quietMs: 10_000,
    };
    const hashes: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const sim = simulator(scenario.seed);
      await runScenario(sim, scenario);
      hashes.push(sim.traceHash());
    }
    expect(hashes[1]).toBe(hashes[0]);
  });

  it('a crashed node is not gossiped back into the lists of a small ring (fuzzed counterexample)', async () => {
    // Every list names every node in a ring this small: the crashed id kept coming back
    // from lists still in flight, every 170 ms, until peers remembered whom they saw fail.
    const scenario: Scenario = {
      seed: 22,
      nodes: 4,
      steps: [
        { at: 3_955, op: 'loss', probability: 0 },
        { at: 3_961, op: 'crash', pick: 15 },
        { at: 8_998, op: 'join' },
        { at: 18_980, op: 'massCrash', fraction: 0.01, pick: 3 },
      ],
      quietMs: 60_000,
    };
    const sim = simulator(scenario.seed);
    await runScenario(sim, scenario);
    expect(check(sim), describeViolations(check(sim))).toEqual([]);
  });

  it('after any churn scenario and a quiet period, every invariant holds', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryScenario({ maxNodes: 10, maxSteps: 6, maxGapMs: 10_000, quietMs: 60_000, routedEveryMs: 1_000 }), async (scenario) => {
        const sim = createSimulator({ seed: scenario.seed, connection: CONNECTION, ring: RING });
        try {
          const { routed } = await runScenario(sim, scenario);
          const violations = await propertyViolations(sim, { seed: scenario.seed, routed }, { ring: RING, dht: false });
          // On failure: the violations and a replay file for `peersock sim --replay`.
          expectNoViolations(violations, scenario, { ring: RING, connection: PROPERTY_CONNECTION });
        } finally {
          await sim.close();
        }
      }),
      { numRuns: Number(process.env.PEERSOCK_FUZZ_RUNS ?? 20) },
    );
  });
});
