import { describe, expect, it } from 'vitest';
import { parsePairedArgs, summarisePairs, type ScaleRun } from '../../bench/paired-scale.js';

function run(wallSec: number, over: Partial<ScaleRun> = {}): ScaleRun {
  return { wallSec, joinPhaseWallSec: null, steadyWallPerVirtualSec: null, timersFired: 100, successorsRightMean: 0.99, peakRssMiB: 700, completed: true, ...over };
}

describe('paired sim-scale comparison', () => {
  it('gives each round head / base and the spread of those ratios', () => {
    const summary = summarisePairs([
      { base: run(50), head: run(49) },
      { base: run(60), head: run(63) },
      { base: run(40), head: run(38, { timersFired: 99 }) },
    ]);
    expect(summary.rounds.map((r) => r.ratio)).toEqual([0.98, 1.05, 0.95]);
    expect(summary.rounds.map((r) => r.sameSimulation)).toEqual([true, true, false]);
    expect(summary.ratioMean).toBe(0.993);
    expect(summary.ratioMin).toBe(0.95);
    expect(summary.ratioMax).toBe(1.05);
  });

  it('refuses a round whose run stopped early, and an empty comparison', () => {
    expect(() => summarisePairs([{ base: run(50), head: run(300, { completed: false }) }])).toThrow(/round 1: the head run stopped/);
    expect(() => summarisePairs([])).toThrow(RangeError);
  });

  it('reads --base, --nodes and --rounds, with clear errors', () => {
    expect(parsePairedArgs(['--base', 'abc123'])).toEqual({ base: 'abc123', nodes: 1_000, rounds: 3 });
    expect(parsePairedArgs(['--nodes', '300', '--base', 'HEAD~1', '--rounds', '5'])).toEqual({ base: 'HEAD~1', nodes: 300, rounds: 5 });
    expect(() => parsePairedArgs([])).toThrow(/--base <commit> is required/);
    expect(() => parsePairedArgs(['--base', 'x', '--nodes', '0'])).toThrow(/positive integer/);
    expect(() => parsePairedArgs(['--base'])).toThrow(/'--base <value>' argument missing/);
    expect(() => parsePairedArgs(['--base', 'x', '--seed', '3'])).toThrow(/Unknown option '--seed'/);
  });
});
