import type { Io } from './output.js';

/** One `peersock <name>` subcommand. `run` returns the exit code; it throws UsageError for bad arguments. */
export interface Command {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** Full `peersock <name> --help` text. */
  readonly help: string;
  run(argv: readonly string[], io: Io): Promise<number>;
}
