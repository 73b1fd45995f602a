/**
 * The simulator's two knobs for scale runs: trace 'off' (nodes run uninspected) and a coarse
 * clock (timeResolutionMs). Neither may change what the actors do: an untraced run must make
 * exactly the same moves as a traced one, and a coarse clock must still form a correct ring.
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeViolations } from '../../sim/invariants.js';
import { runChurn, type ChurnRunResult } from '../../src/cli/sim-run.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import type { SimulatorOptions } from '../../sim/simulator.js';

const R = PROPERTY_RING_CONFIG.successorListLength;

function churnRun(simulator: Partial<SimulatorOptions>): Promise<ChurnRunResult> {
  return runChurn({
    nodes: 16,
    durationMs: 40_000,
    seed: 5,
    // Short sessions: a few crashes, leaves and rejoins within the run.
    model: { kind: 'exponential', medianMs: 60_000 },
    ring: PROPERTY_RING_CONFIG,
    connection: PROPERTY_CONNECTION,
    sampleMs: 2_000,
    quietMs: 30_000,
    close: false,
    simulator,
  });
}

const outcome = (result: ChurnRunResult) => ({
  alive: result.alive,
  endAt: result.endAt,
  stats: result.simulator.network.stats(),
  rings: result.simulator.ringViews(),
  timersFired: result.simulator.clock.firedTimers(),
});

describe('simulator: scale options', () => {
  it("trace 'off' runs the same actors to the same end: same messages, same rings, same timers", async () => {
    const traced = await churnRun({});
    const untraced = await churnRun({ trace: 'off' });
    try {
      expect(traced.plan.steps.length).toBeGreaterThan(16);
      expect(untraced.simulator.traced).toBe(false);
      expect(outcome(untraced)).toEqual(outcome(traced));
      // The untraced trace holds the simulator's own operations only.
      expect(untraced.traceTotal).toBeLessThan(traced.traceTotal / 20);
      expect(untraced.traceTotal).toBeGreaterThanOrEqual(traced.plan.steps.length);
      expect(untraced.final, describeViolations(untraced.final)).toEqual([]);
      expect(() => untraced.simulator.actorStates()).toThrow(/trace 'off'/);
      expect(() => untraced.simulator.actorErrors()).toThrow(/trace 'off'/);
      expect(() => checkNetwork(untraced.simulator, { ring: { successorListLength: R } })).toThrow(/trace 'off'/);
      expect(checkNetwork(untraced.simulator, { ring: { successorListLength: R }, actors: false })).toEqual([]);
    } finally {
      await traced.simulator.close();
      await untraced.simulator.close();
    }
  });

  it('a 1-ms clock puts every event on a whole ms and still ends with every invariant holding', async () => {
    const exact = await churnRun({});
    const coarse = await churnRun({ timeResolutionMs: 1 });
    try {
      expect(coarse.simulator.clock.resolutionMs).toBe(1);
      expect(coarse.final, describeViolations(coarse.final)).toEqual([]);
      expect(coarse.alive).toBe(exact.alive);
      // Every trace entry's time is a whole ms: no deadline fell between two.
      expect(coarse.simulator.trace.every((entry) => Number.isInteger(entry.at))).toBe(true);
      expect(exact.simulator.trace.some((entry) => !Number.isInteger(entry.at))).toBe(true);
    } finally {
      await exact.simulator.close();
      await coarse.simulator.close();
    }
  });

  it('refuses an unknown trace mode and a negative resolution', async () => {
    const { createSimulator } = await import('../../sim/simulator.js');
    expect(() => createSimulator({ seed: 1, trace: 'some' as 'off' })).toThrow(/trace must be/);
    expect(() => createSimulator({ seed: 1, timeResolutionMs: -1 })).toThrow(/resolutionMs/);
  });
});
