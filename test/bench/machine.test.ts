import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { machineState, selectedMode } from '../../bench/machine.js';

describe('machine state printed with benchmark figures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peersock-machine-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads the selected entry of a sysfs choice list', () => {
    expect(selectedMode(file('madvise', 'always [madvise] never\n'))).toBe('madvise');
    expect(selectedMode(file('always', '[always] madvise never\n'))).toBe('always');
  });

  it('gives null where there is nothing to read or nothing selected', () => {
    expect(selectedMode(join(dir, 'absent'))).toBeNull();
    expect(selectedMode(file('plain', 'always madvise never\n'))).toBeNull();
  });

  it('describes this process and machine', () => {
    const state = machineState(file('never', 'always madvise [never]\n'));
    expect(state.node).toBe(process.version);
    expect(state.cores).toBeGreaterThan(0);
    expect(state.loadAverage1m).toBeGreaterThanOrEqual(0);
    expect(state.transparentHugePages).toBe('never');
  });
});
