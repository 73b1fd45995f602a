/**
 * The user asked for something the CLI cannot parse (unknown command, bad option value).
 * Distinct from runtime failures so it maps to exit code 2 and a pointer to `--help`.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  /** `command` is the subcommand whose help the message should point to, if any. */
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
