import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childNodeArgs } from './node-args.js';

/** How a benchmark's child process ended, and what it left. */
export interface ChildOutcome {
  /** Its last line on stdout: its figures as JSON when it finished. */
  lastLine: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last ~4,000 characters it wrote to stderr. */
  stderrTail: string;
  /** Its stderr says V8 ran out of heap. */
  outOfMemory: boolean;
}

export interface ChildOptions {
  /** Old-space limit (default 4,096 MiB, the simulator target's memory bound). */
  heapMiB?: number;
  /** Lines starting with two spaces are progress: each is printed, then handed here. */
  onProgress?(line: string): void;
}

/**
 * Runs the benchmark file at `selfUrl` again as a child process, with `env` added to this
 * process's environment, the heap limit and the benchmarks' young generation (node-args.ts),
 * so that each measurement has a heap of its own. Resolves on 'close', not 'exit': the child's
 * last line may still be in the pipe when it has exited.
 */
export function runBenchChild(selfUrl: string, env: Record<string, string>, options: ChildOptions = {}): Promise<ChildOutcome> {
  const heapMiB = options.heapMiB ?? 4_096;
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, ...childNodeArgs(selfUrl), fileURLToPath(selfUrl)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stderrTail = '';
    // Decoded as streams: a character split across two chunks stays whole.
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    // A line may arrive in two chunks: the unfinished end waits for the next one.
    let unfinished = '';
    proc.stdout.on('data', (chunk: string) => {
      output += chunk;
      const lines = (unfinished + chunk).split('\n');
      unfinished = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('  ')) continue;
        console.log(line);
        options.onProgress?.(line);
      }
    });
    proc.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4_000);
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      resolve({
        lastLine: output.trim().split('\n').at(-1) ?? '',
        code,
        signal,
        stderrTail,
        outOfMemory: /heap out of memory|Allocation failed/i.test(stderrTail),
      });
    });
  });
}

/**
 * A benchmark's last act: its figures as one JSON line on stdout, then exit once the line is
 * written. A pipe takes it asynchronously, and exiting at once can cut it short; and exiting at
 * all matters, since stopping thousands of simulated nodes is not part of any measurement.
 */
export function exitWithJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`, () => process.exit(0));
}
