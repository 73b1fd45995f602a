import { demoCommand } from './commands/demo.js';
import { idCommand } from './commands/id.js';
import { nodeCommand } from './commands/node.js';
import { signalCommand } from './commands/signal.js';
import { simCommand } from './commands/sim.js';
import type { CliHost, Command } from './command.js';
import { processIo, type Io } from './output.js';
import { reportFailure } from './report.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './usage-error.js';
import { packageVersion } from './version.js';

export const COMMANDS: readonly Command[] = [signalCommand, nodeCommand, idCommand, demoCommand, simCommand];

export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `peersock ${packageVersion()}: peer-to-peer networking over identity-bound WebRTC DataChannels

Usage: peersock <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}   ${command.summary}`).join('\n')}

Options:
  -h, --help      Show this help; "peersock <command> --help" shows a command's options
  -v, --version   Print the version

Examples:
  peersock demo --nodes 5
  peersock signal --port 7700
  peersock id --data-dir ./alice
  peersock node --signal ws://127.0.0.1:7700 --data-dir ./alice --connect <bob's PeerId>
  peersock sim --nodes 100 --duration 10m --churn exponential:30m`;
}

/** Parses the command line, runs the command and returns the process exit code. `host`: see CliHost. */
export async function runCli(argv: readonly string[], io: Io = processIo, host?: CliHost): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(topLevelHelp());
    return EXIT_USAGE;
  }
  if (first === '-h' || first === '--help') {
    io.out(topLevelHelp());
    return EXIT_OK;
  }
  if (first === '-v' || first === '--version') {
    io.out(packageVersion());
    return EXIT_OK;
  }
  if (first === 'help') return runCli(rest.length > 0 ? [rest[0]!, '--help'] : ['--help'], io, host);

  const command = COMMANDS.find((candidate) => candidate.name === first);
  try {
    if (command === undefined) {
      const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command "${first}"`;
      const guess = closest(first.replace(/^-+/, ''), COMMANDS.map((candidate) => candidate.name));
      throw new UsageError(`${what}${guess ? ` (did you mean "${guess}"?)` : ''}`);
    }
    return await command.run(rest, io, host);
  } catch (error) {
    if (error instanceof UsageError) {
      const scope = error.command ? `peersock ${error.command}` : 'peersock';
      io.err(`${scope}: ${error.message}`);
      io.err(`run "${scope} --help" for usage`);
      return EXIT_USAGE;
    }
    reportFailure(io, error);
    return EXIT_FAILURE;
  }
}

/** The candidate within two edits of `word`, to suggest for a typo. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word.toLowerCase(), name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
