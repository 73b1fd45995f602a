import { describe, expect, it } from 'vitest';
import { formatDuration, parseChurnModel, parseDuration, planChurn, scriptSteps } from '../../sim/churn.js';
import { scenarioToJson, type ScenarioStep } from '../../sim/scenario.js';
import { createSimulator } from '../../sim/simulator.js';
import { applyStep } from '../../sim/scenario.js';
import { summarizeRun, type RunEvent, type RunSample } from '../../sim/report.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['1h30m', 5_400_000],
    ['2m15s', 135_000],
    ['45', 45_000],
    [' 3S ', 3_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '10x', '-5s', 'm', '1h 30m', '10m10', 's10'])('refuses %j with INVALID_ARGUMENT', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('formatDuration reads back through parseDuration', () => {
    for (const ms of [0, 999, 1_000, 90_000, 135_500, 3_600_000, 5_400_000]) {
      expect(parseDuration(formatDuration(ms))).toBeCloseTo(ms, -2);
    }
  });
});

describe('parseChurnModel', () => {
  it('knows none, exponential and script', () => {
    expect(parseChurnModel('none')).toEqual({ kind: 'none' });
    expect(parseChurnModel('exponential:30m')).toEqual({ kind: 'exponential', medianMs: 1_800_000 });
    const file = JSON.stringify([{ at: 1_000, op: 'crash', pick: 0 }]);
    expect(parseChurnModel('script:events.json', () => file)).toEqual({ kind: 'script', file: 'events.json', steps: [{ at: 1_000, op: 'crash', pick: 0 }] });
  });

  it.each(['', 'poisson:3m', 'exponential', 'exponential:', 'exponential:0s', 'exponential:soon', 'script:'])('refuses %j', (text) => {
    expect(() => parseChurnModel(text, () => '[]')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('says which script file it could not read', () => {
    expect(() =>
      parseChurnModel('script:nope.json', () => {
        throw new Error('ENOENT');
      }),
    ).toThrow(/nope\.json/);
  });
});

describe('script model', () => {
  const steps: ScenarioStep[] = [
    { at: 5_000, op: 'crash', pick: 1 },
    { at: 8_000, op: 'joinBurst', count: 2 },
    { at: 20_000, op: 'leave', pick: 0 },
  ];

  it('reads a scenario file or a bare array of steps', () => {
    expect(scriptSteps(JSON.stringify(steps))).toEqual(steps);
    expect(scriptSteps(scenarioToJson({ seed: 4, nodes: 3, steps, quietMs: 0 }))).toEqual(steps);
    expect(() => scriptSteps(JSON.stringify([{ at: 5, op: 'explode' }]))).toThrow(/unknown op/);
    expect(() => scriptSteps('{"steps": []}')).toThrow(/format/);
  });

  it('follows the initial joins, in time order, and stops at the duration', () => {
    const plan = planChurn({ kind: 'script', file: 'x', steps }, { nodes: 4, durationMs: 10_000, seed: 1, joinWindowMs: 6_000 });
    expect(plan.joinedAt).toBe(4_500);
    expect(plan.steps).toEqual([
      { at: 0, op: 'join' },
      { at: 1_500, op: 'join' },
      { at: 3_000, op: 'join' },
      { at: 4_500, op: 'join' },
      { at: 5_000, op: 'crash', pick: 1 },
      { at: 8_000, op: 'joinBurst', count: 2 },
    ]);
  });
});

describe('exponential model', () => {
  it('none is just the initial joins, spread over the window', () => {
    const plan = planChurn({ kind: 'none' }, { nodes: 5, durationMs: 60_000, seed: 1, joinWindowMs: 10_000 });
    expect(plan.steps.map((step) => [step.at, step.op])).toEqual([0, 2_000, 4_000, 6_000, 8_000].map((at) => [at, 'join']));
  });

  it('sessions have the requested median, departures split between leave and crash, N stays constant', () => {
    const medianMs = 60_000;
    const plan = planChurn({ kind: 'exponential', medianMs }, { nodes: 200, durationMs: 3_600_000, seed: 42 });
    // ~200 × 60 min / (60 s / ln 2) ≈ 8,300 sessions complete: the sample median is within a few %.
    expect(plan.sessions.length).toBeGreaterThan(5_000);
    const sorted = [...plan.sessions].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1]!;
    expect(median).toBeGreaterThan(medianMs * 0.93);
    expect(median).toBeLessThan(medianMs * 1.07);
    // Exponential, not e.g. constant: the mean is median / ln 2.
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    expect(mean / median).toBeGreaterThan(1.3);
    expect(mean / median).toBeLessThan(1.6);

    const leaves = plan.steps.filter((step) => step.op === 'leave').length;
    const crashes = plan.steps.filter((step) => step.op === 'crash').length;
    expect(leaves + crashes).toBe(plan.sessions.length);
    expect(leaves / (leaves + crashes)).toBeGreaterThan(0.45);
    expect(leaves / (leaves + crashes)).toBeLessThan(0.55);
    const joins = plan.steps.filter((step) => step.op === 'join').length;
    expect(joins).toBe(200 + leaves + crashes);
    // Ascending times, all within the duration.
    expect(plan.steps.every((step, i) => step.at < 3_600_000 && (i === 0 || step.at >= plan.steps[i - 1]!.at))).toBe(true);
  });

  it('is seeded: the same seed gives the same plan, another seed another', () => {
    const plan = (seed: number) => planChurn({ kind: 'exponential', medianMs: 30_000 }, { nodes: 20, durationMs: 300_000, seed });
    expect(plan(7)).toEqual(plan(7));
    expect(plan(8).steps).not.toEqual(plan(7).steps);
  });

  it("each departure's pick names the node whose session ended, as the simulator numbers them", async () => {
    // Replays the plan's bookkeeping on a real simulator (without the ring): the node that
    // departs is the one that joined at the recorded time, and N stays constant.
    const plan = planChurn({ kind: 'exponential', medianMs: 5_000 }, { nodes: 6, durationMs: 30_000, seed: 3, joinWindowMs: 600 });
    const sim = createSimulator({ seed: 3 });
    try {
      const joinTime = new Map<string, number>();
      const departed: { sessionMs: number }[] = [];
      for (const step of plan.steps) {
        await sim.advanceTo(step.at);
        const before = sim.alive();
        if (step.op === 'leave' || step.op === 'crash') {
          const node = before[step.pick % before.length]!;
          departed.push({ sessionMs: step.at - joinTime.get(node.id)! });
        }
        expect(await applyStep(sim, step)).toBeUndefined();
        if (step.op === 'join') joinTime.set(sim.nodes().at(-1)!.id, step.at);
        if (step.op === 'join' && plan.steps.indexOf(step) >= 6) expect(sim.alive().length).toBe(6);
      }
      expect(departed.length).toBe(plan.sessions.length);
      departed.forEach(({ sessionMs }, i) => expect(sessionMs).toBeCloseTo(plan.sessions[i]!, -1));
    } finally {
      await sim.close();
    }
  });
});

describe('run summary (sim/report.ts)', () => {
  /** One sample per second; `ok` lists the seconds at which the ring was correct. 10 nodes, 100 msgs and 5,000 B per second. */
  const samples = (seconds: number, ok: (t: number) => boolean): RunSample[] =>
    Array.from({ length: seconds }, (_, i) => ({ at: (i + 1) * 1_000, ringOk: ok(i + 1), alive: 10, messagesSent: (i + 1) * 100, bytesSent: (i + 1) * 5_000 }));

  it('formation, heal times after failures, correctness fraction and quiet-window traffic', () => {
    // Correct from 5 s, broken by a crash at 20.5 s until 24 s, by a leave at 40.2 s until 41 s.
    const s = samples(60, (t) => t >= 5 && !(t > 20 && t < 24) && !(t > 40 && t < 41));
    const events: RunEvent[] = [
      { at: 1_000, op: 'join', sampleIndex: 0 },
      { at: 20_500, op: 'crash', sampleIndex: 20 },
      { at: 30_000, op: 'join', sampleIndex: 29 },
      { at: 40_200, op: 'leave', sampleIndex: 40 },
    ];
    const summary = summarizeRun(s, events, { joinedAt: 2_000, quietMarginMs: 5_000 });
    expect(summary.formedAt).toBe(5_000);
    expect(summary.heals).toEqual([
      { at: 20_500, op: 'crash', healMs: 3_500 },
      { at: 40_200, op: 'leave', healMs: 800 },
    ]);
    expect(summary.healMedianMs).toBe(2_150);
    expect(summary.healMaxMs).toBe(3_500);
    // Samples from 2 s: 59; wrong at 2, 3, 4, 21, 22, 23.
    expect(summary.samples).toBe(59);
    expect(summary.correctSamples).toBe(53);
    expect(summary.timeline).toMatch(/^\.+#+[.+]+#+/);
    expect(summary.maintenance).toEqual({ messagesPerNodeSec: 10, bytesPerNodeSec: 500, windowMs: expect.any(Number), churnIncluded: false });
    // Quiet: after 5 s, no step within 5 s before an interval's start: excludes 15.5–21.5, 25–31, 35.2–41.2.
    expect(summary.maintenance!.windowMs).toBeLessThan(55_000);
    expect(summary.maintenance!.windowMs).toBeGreaterThan(30_000);
  });

  it('a failure never healed, a ring never formed, churn everywhere', () => {
    const broken = samples(10, (t) => t < 5);
    const events: RunEvent[] = [{ at: 4_500, op: 'massCrash', sampleIndex: 4 }];
    expect(summarizeRun(broken, events, { joinedAt: 0 }).heals).toEqual([{ at: 4_500, op: 'massCrash', healMs: undefined }]);
    const never = summarizeRun(samples(10, () => false), [], { joinedAt: 0 });
    expect(never.formedAt).toBeUndefined();
    expect(never.correctFraction).toBe(0);
    const busy: RunEvent[] = Array.from({ length: 10 }, (_, i) => ({ at: i * 1_000 + 500, op: 'join', sampleIndex: i }));
    expect(summarizeRun(samples(10, () => true), busy, { joinedAt: 0 }).maintenance).toMatchObject({ churnIncluded: true, bytesPerNodeSec: 500 });
  });

  it('averages the fraction of right successors over the samples after the joins', () => {
    const s = samples(4, () => false).map((sample, i) => ({ ...sample, successorsRight: [0.1, 0.9, 0.95, 1][i]! }));
    expect(summarizeRun(s, [], { joinedAt: 2_000 }).meanSuccessorsRight).toBeCloseTo((0.9 + 0.95 + 1) / 3, 10);
    expect(summarizeRun(samples(4, () => true), [], { joinedAt: 0 }).meanSuccessorsRight).toBeUndefined();
  });
});
