import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliHost } from '../../src/cli/command.js';
import type { Io } from '../../src/cli/output.js';
import { runCli } from '../../src/cli/run.js';
import { NO_RELAUNCH_ENV, RELAUNCHED_ENV, simRelaunchFlags, type RelaunchInputs } from '../../src/cli/sim-relaunch.js';
import { LARGE_SIM_NODES } from '../../src/cli/sim-resources.js';
import { ROOT } from './cli-process.js';

const GiB = 2 ** 30;
const SPEED = ['--max-semi-space-size=128', '--no-allocation-site-pretenuring'];
const roomy: RelaunchInputs = { limits: { heapLimitBytes: 4 * GiB, nodeFlags: [] }, env: {}, totalMemoryBytes: 23 * GiB };

describe('peersock sim: which Node flags it restarts Node with', () => {
  it('adds the speed flags from the large-run size on, and only the missing ones', () => {
    expect(simRelaunchFlags(LARGE_SIM_NODES - 1, roomy)).toBeUndefined();
    expect(simRelaunchFlags(LARGE_SIM_NODES, roomy)).toEqual(SPEED);
    expect(simRelaunchFlags(10_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: ['--max_semi_space_size=64'] } })).toEqual([SPEED[1]]);
    expect(simRelaunchFlags(10_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: SPEED } })).toBeUndefined();
    // Pretenuring turned on by hand is the user's decision too.
    expect(simRelaunchFlags(10_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: ['--allocation-site-pretenuring'] } })).toEqual([SPEED[0]]);
  });

  it('raises a default heap limit the run would not fit, if the machine has the memory, but never one the user set', () => {
    // 20,000 nodes: ~5.7 GiB estimated, over a 4-GiB default.
    expect(simRelaunchFlags(20_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: SPEED } })).toEqual(['--max-old-space-size=6656']);
    // Not on an 8-GiB machine: 6.5 GiB is more than three quarters of it (the warning stays).
    expect(simRelaunchFlags(20_000, { ...roomy, totalMemoryBytes: 8 * GiB, limits: { heapLimitBytes: 4 * GiB, nodeFlags: SPEED } })).toBeUndefined();
    expect(simRelaunchFlags(20_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: [...SPEED, '--max-old-space-size=4096'] } })).toBeUndefined();
    expect(simRelaunchFlags(500, { ...roomy, limits: { heapLimitBytes: 64 * 2 ** 20, nodeFlags: ['--max_old_space_size=64'] } })).toBeUndefined();
    for (const flag of ['--max-heap-size=1000', '--max-old-space-size-percentage=10']) {
      expect(simRelaunchFlags(20_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: [...SPEED, flag] } }), flag).toBeUndefined();
    }
  });

  it('raises the heap below the large-run size too, on a machine whose default heap is small', () => {
    // 1,500 nodes: ~439 MiB estimated, over a 256-MiB default; 512 MiB fits a 1-GiB container.
    const small: RelaunchInputs = { limits: { heapLimitBytes: 256 * 2 ** 20, nodeFlags: [] }, env: {}, totalMemoryBytes: GiB };
    expect(simRelaunchFlags(1_500, small)).toEqual(['--max-old-space-size=512']);
  });

  it('never in a relaunched process, one asked to stay, or one under a debugger', () => {
    expect(simRelaunchFlags(10_000, { ...roomy, env: { [RELAUNCHED_ENV]: '1' } })).toBeUndefined();
    expect(simRelaunchFlags(10_000, { ...roomy, env: { [NO_RELAUNCH_ENV]: '' } })).toBeUndefined();
    expect(simRelaunchFlags(10_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: ['--inspect=9229'] } })).toBeUndefined();
    expect(simRelaunchFlags(10_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: ['--inspect-brk'] } })).toBeUndefined();
    expect(simRelaunchFlags(10_000, { ...roomy, debugging: true })).toBeUndefined();
    // A port named for a debugger not opened is no debugger.
    expect(simRelaunchFlags(10_000, { ...roomy, limits: { heapLimitBytes: 4 * GiB, nodeFlags: ['--inspect-port=9300'] } })).toEqual(SPEED);
  });
});

describe('peersock sim: the command asks its host before it runs', () => {
  function capture(): Io & { outLines: string[] } {
    const outLines: string[] = [];
    return { outLines, out: (line) => void outLines.push(line), err: () => undefined };
  }

  it('returns the relaunched run’s exit status without running the simulation itself', async () => {
    const asked: number[] = [];
    const host: CliHost = { relaunchForSimulation: async (nodes) => (asked.push(nodes), 5) };
    const io = capture();
    expect(await runCli(['sim', '--nodes', '2000', '--duration', '1s'], io, host)).toBe(5);
    expect(asked).toEqual([2000]);
    expect(io.outLines).toEqual([]);
  });

  it('runs the simulation in this process when the host declines', async () => {
    const asked: number[] = [];
    const host: CliHost = { relaunchForSimulation: async (nodes) => void asked.push(nodes) };
    const io = capture();
    expect(await runCli(['sim', '--nodes', '3', '--duration', '1s', '--quiet', '5s'], io, host)).toBe(0);
    expect(asked).toEqual([3]);
    expect(io.outLines.some((line) => line.startsWith('alive at the end'))).toBe(true);
  }, 60_000);
});

/** Runs the probe fixture (`node --import tsx`), collecting its output; resolves on exit. */
function runProbe(
  mode: string,
  onStdout?: (text: string, pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'relaunch-probe.ts'), mode, 'extra arg'], {
    cwd: ROOT,
    env: { ...process.env, [RELAUNCHED_ENV]: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    onStdout?.(stdout, child.pid!);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe('relaunchWithNodeFlags: a real second Node process', () => {
  it('puts the flags before Node’s own, keeps the loader and the arguments, marks the child, and passes its exit status back', async () => {
    const result = await runProbe('exit');
    expect(result.code, result.stderr).toBe(3);
    const [started, parent] = result.stdout.split('\n');
    expect(JSON.parse(started!)).toEqual({ execArgv: ['--max-semi-space-size=16', '--import', 'tsx'], args: ['exit', 'extra arg'], marker: '1' });
    // The parent stops passing signals on once the child is gone.
    expect(parent).toBe('parent: 3, SIGTERM listeners left 0');
  }, 30_000);

  it('passes a signal sent to the first process on to the second, and waits for it', async () => {
    let sent = false;
    const result = await runProbe('wait', (stdout, pid) => {
      if (sent || !stdout.includes('ready\n')) return;
      sent = true;
      process.kill(pid, 'SIGTERM');
    });
    expect(sent).toBe(true);
    expect(result.stdout).toContain('child got SIGTERM');
    expect(result.code, result.stderr).toBe(7);
  }, 30_000);

  it('ends by the signal that ended the second process, as a shell would see it without the restart', async () => {
    const result = await runProbe('die');
    expect(result.signal, result.stdout + result.stderr).toBe('SIGTERM');
    expect(result.code).toBeNull();
    expect(result.stdout).not.toContain('parent:');
  }, 30_000);
});
