import { spawn } from 'node:child_process';
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
const INSPECTOR_FLAG = /^--(inspect|debug)/;

export interface RelaunchInputs {
  limits: NodeProcessLimits;
  /** The process's environment (RELAUNCHED_ENV, NO_RELAUNCH_ENV). */
  env: Readonly<Record<string, string | undefined>>;
  /** os.totalmem(). */
  totalMemoryBytes: number;
}

/**
 * The Node flags a simulation of `nodes` nodes should be restarted with, or undefined to run in
 * this process: the speed flags the benchmarks use when they are missing (from 2,000 nodes:
 * sim-resources.ts), and a heap limit when the estimate does not fit V8's default one but does
 * fit the machine (a limit the user set is theirs: it stays, with the warning). Never in a
 * process that was relaunched already, that was asked not to (NO_RELAUNCH_ENV), or that runs
 * under a debugger.
 */
export function simRelaunchFlags(nodes: number, inputs: RelaunchInputs): string[] | undefined {
  const { limits, env, totalMemoryBytes } = inputs;
  if (env[RELAUNCHED_ENV] !== undefined || env[NO_RELAUNCH_ENV] !== undefined) return undefined;
  if (limits.nodeFlags.some((flag) => INSPECTOR_FLAG.test(flag))) return undefined;
  const flags = missingSpeedFlags(nodes, limits.nodeFlags);
  const heapMiB = setsHeapLimit(limits.nodeFlags) ? undefined : suggestedHeapMiB(nodes, limits.heapLimitBytes);
  if (heapMiB !== undefined && heapMiB * 2 ** 20 <= MAX_HEAP_SHARE_OF_MEMORY * totalMemoryBytes) flags.push(`--max-old-space-size=${heapMiB}`);
  return flags.length > 0 ? flags : undefined;
}

/** The signals a relaunching parent passes on: whoever stops the parent means the run. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs this same command line again in a new Node process with `flags` added to process.execArgv
 * (kept, so a loader such as tsx still applies; after it, since V8 takes a flag's last value), its output on this process's
 * terminal, and resolves its exit status: the child's code, or 128 + the signal's number if a
 * signal ended it (as a shell reports it). Signals sent to this process go on to the child, and
 * this process waits for it rather than leave it running alone. Rejects if the child cannot be
 * started (the caller then runs in this process).
 */
export function relaunchWithNodeFlags(flags: readonly string[]): Promise<number> {
  const script = process.argv[1];
  if (script === undefined) return Promise.reject(new Error('no script path in process.argv to relaunch'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [RELAUNCHED_ENV]: '1' },
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const stopForwarding = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    child.once('error', (error) => {
      stopForwarding();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
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
    const flags = simRelaunchFlags(nodes, { limits: currentProcessLimits(), env: process.env, totalMemoryBytes: totalmem() });
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
