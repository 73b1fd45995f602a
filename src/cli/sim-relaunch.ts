import { spawn } from 'node:child_process';
import { url as inspectorUrl } from 'node:inspector';
import { constants as osConstants, totalmem } from 'node:os';
import type { CliHost } from './command.js';
import { currentProcessLimits, missingSpeedFlags, setsHeapLimit, suggestedHeapMiB, type NodeProcessLimits } from './sim-resources.js';

/** Set in the relaunched process: it never relaunches again, whatever it finds. */
export const RELAUNCHED_ENV = 'PEERSOCK_SIM_RELAUNCHED';
/** Set (to anything) by a user who wants `peersock sim` to stay in the Node process they started. */
export const NO_RELAUNCH_ENV = 'PEERSOCK_SIM_NO_RELAUNCH';

/**
 * A heap limit is raised only to what leaves a quarter of the machine's memory to everything
 * else: past that the estimate stays a warning (the user may know better, or may not have it).
 */
const MAX_HEAP_SHARE_OF_MEMORY = 0.75;

/** Node's debugger flags: a second process would fight the first for the inspector's port. */
const INSPECTOR_FLAG = /^--(inspect|inspect-brk|inspect-wait|debug|debug-brk)(=|$)/;

export interface RelaunchInputs {
  limits: NodeProcessLimits;
  /** The process's environment (RELAUNCHED_ENV, NO_RELAUNCH_ENV). */
  env: Readonly<Record<string, string | undefined>>;
  /** The memory this process may use: the machine's, or its container's if less (availableMemoryBytes). */
  totalMemoryBytes: number;
  /** Whether a debugger is attached (an inspector opened at run time has no flag to show it). */
  debugging?: boolean;
}

/** The machine's memory, or the container's limit (cgroup) where that is less: what V8 sizes its heap by. */
export function availableMemoryBytes(): number {
  const machine = totalmem();
  // Node ≥ 19.6; 0 or undefined where it cannot tell, 2^64 where there is no limit.
  const constrained = process.constrainedMemory?.();
  return constrained && constrained < machine ? constrained : machine;
}

/**
 * The Node flags a simulation of `nodes` nodes should be restarted with, or undefined to run in
 * this process: the speed flags the benchmarks use when they are missing (from 2,000 nodes:
 * sim-resources.ts), and a heap limit when the estimate does not fit V8's default one but does
 * fit the memory (a limit the user set is theirs: it stays, with the warning). Never in a
 * process that was relaunched already, that was asked not to (NO_RELAUNCH_ENV), or that runs
 * under a debugger.
 */
export function simRelaunchFlags(nodes: number, inputs: RelaunchInputs): string[] | undefined {
  const { limits, env, totalMemoryBytes } = inputs;
  if (env[RELAUNCHED_ENV] !== undefined || env[NO_RELAUNCH_ENV] !== undefined) return undefined;
  if (inputs.debugging || limits.nodeFlags.some((flag) => INSPECTOR_FLAG.test(flag))) return undefined;
  const flags = missingSpeedFlags(nodes, limits.nodeFlags);
  const heapMiB = setsHeapLimit(limits.nodeFlags) ? undefined : suggestedHeapMiB(nodes, limits.heapLimitBytes);
  if (heapMiB !== undefined && heapMiB * 2 ** 20 <= MAX_HEAP_SHARE_OF_MEMORY * totalMemoryBytes) flags.push(`--max-old-space-size=${heapMiB}`);
  return flags.length > 0 ? flags : undefined;
}

/** The signals a relaunching parent passes on: whoever stops the parent means the run. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs this same command line again in a new Node process with `flags` before process.execArgv
 * (kept, so a loader such as tsx still applies; the flags are ones the user did not give, and
 * placed first, any the user did give would win), its output on this terminal. Resolves the
 * child's exit code. A child ended by a signal ends this process by the same signal, so a shell
 * sees what it would have seen without the restart (a loop stops on Ctrl-C, an out-of-memory kill
 * shows as one); where that does not end it (no such signal here), it resolves 128 + the
 * signal's number. Signals sent to this process go on to the child, and this process waits for
 * it rather than leave it running alone. (Ctrl-C in a terminal reaches both, so the child gets
 * SIGINT twice: harmless while `sim` keeps Node's default handling of it.) Rejects only if the
 * child cannot be started (the caller then runs in this process).
 */
export function relaunchWithNodeFlags(flags: readonly string[]): Promise<number> {
  const script = process.argv[1];
  if (script === undefined) return Promise.reject(new Error('no script path in process.argv to relaunch'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, ...process.execArgv, script, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [RELAUNCHED_ENV]: '1' },
    });
    let started = false;
    const forward = (signal: NodeJS.Signals) => {
      try {
        child.kill(signal);
      } catch {
        // A signal this platform cannot send (SIGHUP on Windows): the child is not told, and runs on.
      }
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const stopForwarding = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    child.once('spawn', () => {
      started = true;
    });
    child.on('error', (error) => {
      // After the start, an error is a failed kill: the child runs on and its exit still comes.
      if (started) return;
      stopForwarding();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
      if (signal !== null) process.kill(process.pid, signal);
      resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
    });
  });
}

/**
 * The `peersock` executable's CliHost: relaunches a simulation when simRelaunchFlags asks for it.
 * If the new process cannot be started, says why and lets this one run the simulation.
 */
export const relaunchingHost: CliHost = {
  async relaunchForSimulation(nodes, io) {
    const flags = simRelaunchFlags(nodes, {
      limits: currentProcessLimits(),
      env: process.env,
      totalMemoryBytes: availableMemoryBytes(),
      debugging: inspectorUrl() !== undefined,
    });
    if (flags === undefined) return undefined;
    io.err(`peersock sim: restarting Node with ${flags.join(' ')} for ${nodes} nodes (README, The simulator; ${NO_RELAUNCH_ENV}=1 keeps this process)`);
    try {
      return await relaunchWithNodeFlags(flags);
    } catch (error) {
      io.err(`peersock sim: could not restart Node (${error instanceof Error ? error.message : String(error)}); running in this process`);
      return undefined;
    }
  },
};
