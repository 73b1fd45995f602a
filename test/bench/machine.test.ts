import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { machineState } from '../../bench/machine.js';

describe('machine state printed with benchmark figures', () => {
  it('describes this process and machine', () => {
    const state = machineState();
    expect(state.node).toBe(process.version);
    expect(state.cores).toBe(availableParallelism());
    expect(Number.isFinite(state.loadAverage1m) && state.loadAverage1m >= 0).toBe(true);
  });
});
