import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { uncachedTsxEnv } from '../helpers/uncached-tsx.js';

const fixture = fileURLToPath(new URL('./fixtures/open-handles.ts', import.meta.url));

describe('signaling: no dangling handles', () => {
  it('a process that used a server and clients exits on its own once they are closed', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'pipe'], env: uncachedTsxEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const started = performance.now();
    const exit = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 20_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code ?? 'signal');
      });
    });
    const elapsed = performance.now() - started;
    expect(exit, `stderr: ${stderr}\nstdout: ${stdout}`).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(report.sample).toBe(1);
    // Nothing but stdio may hold the loop once everything is closed.
    expect(report.resources).toEqual([]);
    expect(report.lurker).toBe(3); // CLOSED: the server's close() ended it.
    expect(elapsed).toBeLessThan(15_000);
  });
});
