import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('stop()', () => {
  it('leaves no open handles: the process exits on its own', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/stop-exits.ts'], { cwd: root });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    clearTimeout(killer);
    expect(code, output).toBe(0);
    const stoppedAt = Number(/stopped at ([\d.]+)/.exec(output)?.[1]);
    const exitingAt = Number(/exiting at ([\d.]+)/.exec(output)?.[1]);
    // Nothing keeps the loop alive: no heartbeat (5 s), signaling ping (20 s) or reconnect timer.
    expect(exitingAt - stoppedAt, output).toBeLessThan(1_000);
  });
});
