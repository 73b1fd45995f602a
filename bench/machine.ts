import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

/**
 * What a benchmark's figures depend on besides the code, printed with them so runs on
 * different days or machines can be told apart. The simulator's wall times moved by ±13% within
 * an hour on the development machine, and by ~20% between days with the same code.
 */
export interface MachineState {
  node: string;
  cores: number;
  /** At the start of the run: other load skews every figure. */
  loadAverage1m: number;
  /**
   * The kernel's transparent huge pages mode (`always`, `madvise`, `never`), null where there is
   * none to read. V8 does not ask for huge pages, so only `always` gives its heap any: sim-scale's
   * 1,000-node child ran 3–5% faster with it (README, Benchmarks).
   */
  transparentHugePages: string | null;
}

export function machineState(thpFile = '/sys/kernel/mm/transparent_hugepage/enabled'): MachineState {
  return {
    node: process.version,
    cores: availableParallelism(),
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    transparentHugePages: selectedMode(thpFile),
  };
}

/** The bracketed entry of a sysfs choice list (`always [madvise] never` → `madvise`). */
export function selectedMode(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? null;
}
