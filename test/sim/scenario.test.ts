import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_LOSS,
  MAX_MASS_CRASH_FRACTION,
  arbitraryScenario,
  runScenario,
  scenarioFromJson,
  scenarioToJson,
  validateScenario,
  type Scenario,
} from '../../sim/scenario.js';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import { closedAfterEach } from '../helpers/simulators.js';

const open = closedAfterEach();
function simulatorFor(scenario: Scenario): Simulator {
  const sim = createSimulator({ seed: scenario.seed, connection: { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 3_000 } });
  open.push(sim);
  return sim;
}

const sample: Scenario = {
  seed: 42,
  nodes: 8,
  steps: [
    { at: 0, op: 'loss', probability: 0.02 },
    { at: 500, op: 'join' },
    { at: 1_000, op: 'joinBurst', count: 3 },
    { at: 1_500, op: 'crash', pick: 3 },
    { at: 2_000, op: 'leave', pick: 1 },
    { at: 2_500, op: 'massCrash', fraction: 0.5, pick: 17 },
    { at: 3_000, op: 'partition', groups: 2, pick: 5 },
    { at: 3_000, op: 'spike', factor: 4, durationMs: 1_000 },
    { at: 4_000, op: 'signalingDown' },
    { at: 5_000, op: 'heal' },
    { at: 5_000, op: 'signalingUp' },
  ],
  quietMs: 2_000,
};

describe('scenario JSON', () => {
  it('round-trips every kind of step', () => {
    const text = scenarioToJson(sample);
    expect(JSON.parse(text)).toMatchObject({ format: 'peersock-scenario/1' });
    expect(scenarioFromJson(text)).toEqual(sample);
  });

  it('round-trips arbitrary scenarios', () => {
    fc.assert(
      fc.property(arbitraryScenario({ maxNodes: 20, maxSteps: 15 }), (scenario) => {
        expect(scenarioFromJson(scenarioToJson(scenario))).toEqual(scenario);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses malformed replay files with a message naming the problem', () => {
    const bad = (patch: object) => JSON.stringify({ format: 'peersock-scenario/1', ...sample, ...patch });
    expect(() => scenarioFromJson('{')).toThrow(/not JSON/);
    expect(() => scenarioFromJson(JSON.stringify(sample))).toThrow(/format/);
    expect(() => scenarioFromJson(bad({ seed: -1 }))).toThrow(/seed/);
    expect(() => scenarioFromJson(bad({ steps: [{ at: 5, op: 'join' }, { at: 1, op: 'join' }] }))).toThrow(/ascending/);
    expect(() => scenarioFromJson(bad({ steps: [{ at: 0, op: 'explode' }] }))).toThrow(/unknown op/);
    expect(() => scenarioFromJson(bad({ steps: [{ at: 0, op: 'massCrash', fraction: 0.9, pick: 0 }] }))).toThrow(/fraction/);
    expect(() => scenarioFromJson(bad({ steps: [{ at: 0, op: 'partition', groups: 1, pick: 0 }] }))).toThrow(/groups/);
    expect(() => scenarioFromJson(bad({ steps: [{ at: 0, op: 'crash' }] }))).toThrow(/pick/);
  });
});

describe('arbitrary scenarios', () => {
  it('are valid: ordered, within the churn limits, never above maxNodes, and end with the network whole', () => {
    fc.assert(
      fc.property(arbitraryScenario({ maxNodes: 12, maxSteps: 25 }), (scenario) => {
        expect(() => validateScenario(scenario)).not.toThrow();
        let alive = scenario.nodes;
        let split = false;
        let signaling = true;
        for (const step of scenario.steps) {
          if (step.op === 'join') alive += 1;
          if (step.op === 'joinBurst') alive += step.count;
          if (step.op === 'leave' || step.op === 'crash') alive = Math.max(1, alive - 1);
          if (step.op === 'massCrash') {
            expect(step.fraction).toBeLessThanOrEqual(MAX_MASS_CRASH_FRACTION);
            alive = Math.max(1, alive - Math.max(1, Math.floor(alive * step.fraction)));
          }
          if (step.op === 'partition') {
            expect([2, 3]).toContain(step.groups);
            split = true;
          }
          if (step.op === 'heal') split = false;
          if (step.op === 'loss') expect(step.probability).toBeLessThanOrEqual(MAX_LOSS);
          if (step.op === 'signalingDown') signaling = false;
          if (step.op === 'signalingUp') signaling = true;
          expect(alive).toBeLessThanOrEqual(12);
        }
        expect(split).toBe(false);
        expect(signaling).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('cover every kind of step', () => {
    const ops = new Set<string>();
    fc.assert(
      fc.property(arbitraryScenario({ maxNodes: 10, maxSteps: 10 }), (scenario) => {
        for (const step of scenario.steps) ops.add(step.op);
      }),
      { numRuns: 300, seed: 1 },
    );
    expect([...ops].sort()).toEqual(['crash', 'heal', 'join', 'joinBurst', 'leave', 'loss', 'massCrash', 'partition', 'signalingDown', 'signalingUp', 'spike']);
  });

  it('shrink to a minimal counterexample', () => {
    // A property that fails whenever a mass crash happens: the shrunk case is that one step.
    const details = fc.check(
      fc.property(arbitraryScenario({ maxNodes: 12, maxSteps: 20 }), (scenario) => !scenario.steps.some((s) => s.op === 'massCrash')),
      { numRuns: 500, seed: 7 },
    );
    expect(details.failed).toBe(true);
    const [shrunk] = details.counterexample as [Scenario];
    expect(shrunk.steps).toEqual([{ at: 0, op: 'massCrash', fraction: 0.01, pick: 0 }]);
    expect(shrunk.seed).toBe(0);
    expect(shrunk.nodes).toBe(1);
  });
});

describe('runScenario', () => {
  it('applies the steps at their times on the simulator', async () => {
    const sim = simulatorFor(sample);
    const result = await runScenario(sim, sample);
    expect(result.skipped).toEqual([]);
    expect(result.applied).toBe(sample.steps.length);
    // 8 + 1 + 3 joined; one crash and one leave leave 10; half of them crash at once.
    expect(sim.nodes()).toHaveLength(12);
    expect(sim.alive()).toHaveLength(5);
    expect(sim.nodes().filter((n) => n.status() === 'crashed')).toHaveLength(6);
    expect(sim.nodes().filter((n) => n.status() === 'left')).toHaveLength(1);
    expect(sim.partitioned()).toBe(false);
    expect(sim.signaling.available).toBe(true);
    expect(result.endAt).toBeGreaterThanOrEqual(5_000 + sample.quietMs);
    const ops = sim.trace.filter((e) => e.kind === 'sim').map((e) => e.type!.replace(/:.*/, ''));
    expect(ops.filter((op) => op === 'join')).toHaveLength(12);
    expect(ops).toContain('partition');
    expect(ops.indexOf('heal')).toBeGreaterThan(ops.indexOf('partition'));
  });

  it('skips what cannot apply instead of emptying the network', async () => {
    const scenario: Scenario = { seed: 1, nodes: 1, steps: [{ at: 0, op: 'crash', pick: 0 }, { at: 0, op: 'partition', groups: 3, pick: 0 }], quietMs: 0 };
    const sim = simulatorFor(scenario);
    const result = await runScenario(sim, scenario);
    expect(result.skipped.map((s) => s.step.op)).toEqual(['crash', 'partition']);
    expect(sim.alive()).toHaveLength(1);
  });

  it('is deterministic: one scenario, one trace hash; another seed, another hash', async () => {
    const run = async (scenario: Scenario) => {
      const sim = simulatorFor(scenario);
      await runScenario(sim, scenario);
      return sim.traceHash();
    };
    const first = await run(sample);
    expect(await run(sample)).toBe(first);
    expect(await run({ ...sample, seed: 43 })).not.toBe(first);
  });

  it('refuses a simulator with another seed', async () => {
    const sim = simulatorFor({ ...sample, seed: 1 });
    await expect(runScenario(sim, sample)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
