import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from there, as `npm run peersock` would. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = 'src/cli/main.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `peersock …` child process; the CLI is run with `node --import tsx`, as a user would via npx tsx. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly waiters = new Set<() => void>();

  /** `nodeArgs`: flags for Node itself, before the script (e.g. a heap limit). */
  constructor(args: readonly string[], nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      for (const wake of this.waiters) wake();
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        for (const wake of this.waiters) wake();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Resolves with the first stdout match of `pattern`; rejects (with the output so far) after `ms` or on exit. */
  waitFor(pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.stdout.match(pattern);
        if (match) {
          done();
          resolve(match);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`process exited before ${pattern} appeared\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${pattern} did not appear within ${ms} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  writeLine(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Sends `signal` and waits for the exit; SIGKILLs it (and fails the wait) after `ms`. */
  async stop(signal: NodeJS.Signals = 'SIGINT', ms = 15_000): Promise<CliResult> {
    this.child.kill(signal);
    return this.result(ms);
  }

  async result(ms = 15_000): Promise<CliResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`process did not exit within ${ms} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** For afterEach: make sure nothing outlives the test. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs `peersock …` to completion with stdin closed. */
export function runCliProcess(args: readonly string[], ms = 15_000, nodeArgs: readonly string[] = []): Promise<CliResult> {
  const cli = new CliProcess(args, nodeArgs);
  cli.child.stdin.end();
  return cli.result(ms);
}

/** The line the CLI prints when something kept it from exiting on its own. */
export const LEAK_WARNING = 'did not exit after shutdown';
