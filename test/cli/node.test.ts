import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CliProcess, LEAK_WARNING, runCliProcess } from './cli-process.js';

const base = mkdtempSync(path.join(tmpdir(), 'peersock-cli-node-'));
const running: CliProcess[] = [];
const start = (args: string[]) => {
  const cli = new CliProcess(args);
  running.push(cli);
  return cli;
};
afterEach(() => {
  for (const cli of running.splice(0)) cli.kill();
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('peersock signal + peersock node', () => {
  it('two nodes connect through a signaling server, chat over stdin, and all three stop with exit 0', async () => {
    const signal = start(['signal', '--port', '0']);
    const [, url] = await signal.waitFor(/^signaling server listening on (ws:\/\/127\.0\.0\.1:\d+)$/m);
    const nodeArgs = (name: string) => ['node', '--signal', url!, '--data-dir', path.join(base, name), '--bind', '127.0.0.1'];

    const alice = start(nodeArgs('alice'));
    const [, aliceId] = await alice.waitFor(/^peer id\s+([0-9a-f]{64})$/m);
    const bob = start([...nodeArgs('bob'), '--connect', aliceId!]);
    const [, bobId] = await bob.waitFor(/^peer id\s+([0-9a-f]{64})$/m);
    const short = (id: string) => id.slice(0, 8);

    await bob.waitFor(new RegExp(`\\] connected\\s+${short(aliceId!)}  \\(dialer, [\\d.]+ ms\\)`));
    await alice.waitFor(new RegExp(`\\] connected\\s+${short(bobId!)}  \\(listener, [\\d.]+ ms\\)`));

    bob.writeLine(`send ${aliceId!.slice(0, 5)} hello  alice, from bob ✓`);
    await alice.waitFor(new RegExp(`\\] message\\s+${short(bobId!)}  chat  "hello  alice, from bob ✓"`));
    await bob.waitFor(new RegExp(`\\] sent\\s+${short(aliceId!)}  chat  "hello  alice, from bob ✓"`));
    alice.writeLine('send all hi bob');
    await bob.waitFor(new RegExp(`\\] message\\s+${short(aliceId!)}  chat  "hi bob"`));

    bob.writeLine('peers');
    await bob.waitFor(new RegExp(`^1 open peer:\\n  ${short(aliceId!)}  ${aliceId}$`, 'm'));
    bob.writeLine('send ffffffff nobody');
    await bob.waitFor(/not sent\s+no open peer starts with ffffffff/);

    const [aliceResult, bobResult] = await Promise.all([alice.stop('SIGINT'), bob.stop('SIGTERM')]);
    const signalResult = await signal.stop('SIGINT');
    for (const result of [aliceResult, bobResult, signalResult]) {
      expect(result.code).toBe(0);
      expect(result.stderr).not.toContain(LEAK_WARNING);
    }
    expect(aliceResult.stdout).toMatch(/stopping\s+\(SIGINT\)/);
    expect(bobResult.stdout).toMatch(/stopping\s+\(SIGTERM\)/);
    expect(aliceResult.stdout).toMatch(/\] stopped$/m);
    expect(signalResult.stdout).toContain('signaling server closed');
    expect(signalResult.stdout).toMatch(/\d+ signals relayed/);

    // The identity persisted: the same data directory gives the same PeerId.
    const again = await runCliProcess(['id', '--data-dir', path.join(base, 'alice')]);
    expect(again.stdout.trim()).toBe(aliceId);
  }, 40_000);

  it('"quit" on stdin stops the node with exit 0', async () => {
    const signal = start(['signal', '--port', '0']);
    const [, url] = await signal.waitFor(/listening on (ws:\/\/\S+)$/m);
    const node = start(['node', '--signal', url!, '--data-dir', path.join(base, 'quitter')]);
    await node.waitFor(/^peer id\s+[0-9a-f]{64}$/m);
    node.writeLine('bogus');
    await node.waitFor(/unknown command "bogus"; type "help"/);
    node.writeLine('quit');
    const result = await node.result();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/stopping\s+\(quit\)/);
    expect((await signal.stop('SIGTERM')).code).toBe(0);
  }, 20_000);

  it('an unreachable signaling server is one error line with a hint and exit 1', async () => {
    const port = await closedPort();
    const result = await runCliProcess(['node', '--signal', `ws://127.0.0.1:${port}`, '--data-dir', path.join(base, 'lonely')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: SIGNALING_UNAVAILABLE: .*ECONNREFUSED/m);
    expect(result.stderr).toContain('hint: is a signaling server running? start one with: peersock signal --port 7700');
  });

  it('a port already in use is reported as EADDRINUSE with exit 1', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as { port: number };
      const result = await runCliProcess(['signal', '--port', String(port), '--log-level', 'silent']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: EADDRINUSE: /m);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
