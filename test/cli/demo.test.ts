import { describe, expect, it } from 'vitest';
import { CliProcess, LEAK_WARNING, runCliProcess } from './cli-process.js';

const lines = (text: string, event: string) => text.split('\n').filter((line) => new RegExp(`^\\s*[\\d.]+ ms  ${event}\\s`).test(line));

describe('peersock demo', () => {
  it('--nodes 3: every connection authenticated, every greeting delivered, exits 0 by itself', async () => {
    const started = performance.now();
    const result = await runCliProcess(['demo', '--nodes', '3'], 30_000);
    const wall = performance.now() - started;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // 3 nodes each dialing the next two: pairs 0-1, 0-2, 1-2; one greeting each way on each.
    expect(lines(result.stdout, 'node started')).toHaveLength(3);
    expect(lines(result.stdout, 'authenticated')).toHaveLength(3);
    expect(lines(result.stdout, 'message')).toHaveLength(6);
    expect(result.stdout).toMatch(/all connected\s+3 of 3 connections authenticated on both sides/);
    expect(result.stdout).toMatch(/all delivered\s+6 of 6 greetings/);
    expect(result.stdout).toMatch(/\n\s+[\d.]+ ms  stopped\s/);
    const summary = result.stdout.trimEnd().split('\n').at(-1);
    expect(summary).toMatch(/^summary: 3 nodes, 3 authenticated connections, 6 messages delivered, \d+ ms elapsed$/);
    // Short ids only: no 64-hex PeerId and no JSON in the output.
    expect(result.stdout).not.toMatch(/[0-9a-f]{64}/);
    expect(result.stdout).not.toContain('{');
    expect(wall).toBeLessThan(30_000);
  }, 35_000);

  it('--keep-running stays up after the greetings and stops gracefully on SIGINT', async () => {
    const cli = new CliProcess(['demo', '--nodes', '2', '--messages', '2', '--keep-running']);
    try {
      await cli.waitFor(/press Ctrl-C to stop/, 25_000);
      expect(cli.stdout).toMatch(/summary: 2 nodes, 1 authenticated connection, 4 messages delivered, ready after \d+ ms/);
      // Still running: nothing has been stopped yet.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(cli.child.exitCode).toBeNull();
      expect(cli.stdout).not.toMatch(/stopping/);
      const result = await cli.stop('SIGINT');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/stopped\s+in [\d.]+ ms/);
      expect(result.stderr).not.toContain(LEAK_WARNING);
    } finally {
      cli.kill();
    }
  }, 35_000);

  it('a phase that times out is one error line and exit 1, and whatever started is still stopped', async () => {
    // 32 nodes cannot all start and connect within 100 ms; whichever phase runs out reports it.
    const result = await runCliProcess(['demo', '--nodes', '32', '--timeout', '100'], 30_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: TIMEOUT: .+ within 100 ms/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toMatch(/stopped\s+in [\d.]+ ms/);
    expect(result.stdout).not.toContain('summary:');
  }, 35_000);
});
