import type { Io } from './output.js';

/** One `peersock <name>` subcommand. `run` returns the exit code; it throws UsageError for bad arguments. */
export interface Command {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** Full `peersock <name> --help` text. */
  readonly help: string;
  run(argv: readonly string[], io: Io, host?: CliHost): Promise<number>;
}

/**
 * What the process running the CLI offers a command beyond its output: given only by main.ts,
 * the `peersock` executable itself (runCli called from a test or a program offers nothing).
 */
export interface CliHost {
  /**
   * Restarts Node for a simulation of `nodes` nodes when that makes it faster or lets it fit
   * (sim-relaunch.ts), tells `io` so, and resolves the restarted run's exit status; resolves
   * undefined when this process should run it.
   */
  relaunchForSimulation?(nodes: number, io: Io): Promise<number | undefined>;
}
