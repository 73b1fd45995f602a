import { availableParallelism, loadavg } from 'node:os';

/**
 * What a benchmark's figures depend on besides the code, printed with them so runs on
 * different days or machines can be told apart: the same code's 10,000-node simulation took
 * 361.1–474.8 s within an hour on the development machine.
 */
export interface MachineState {
  node: string;
  cores: number;
  /** At the start of the run: other load skews every figure. */
  loadAverage1m: number;
}

export function machineState(): MachineState {
  return {
    node: process.version,
    cores: availableParallelism(),
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  };
}
