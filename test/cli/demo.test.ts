import { describe, expect, it } from 'vitest';
import { CliProcess, LEAK_WARNING, runCliProcess } from './cli-process.js';

/** Event lines (`   123.4 ms  event  detail`) of one kind. */
const lines = (text: string, event: string) => text.split('\n').filter((line) => new RegExp(`^\\s*[\\d.]+ ms  ${event}\\s`).test(line));
const line = (text: string, event: string) => lines(text, event)[0] ?? `(no "${event}" line)`;
/** The ring order as labels, e.g. ['n3', 'n0', …, 'n3']. */
const ringOrder = (detail: string) => detail.replace(/^.*ring order\s+/, '').split(' → ');
/** `n4  overlay: 2 sent, 3 received; server: 0 sent, 0 received` → its numbers. */
function signalCounts(detail: string) {
  const m = detail.match(/(n\d+)\s+overlay: (\d+) sent, (\d+) received; server: (\d+) sent, (\d+) received/);
  if (!m) throw new Error(`not a signal paths line: ${detail}`);
  return { node: m[1]!, overlaySent: Number(m[2]), overlayReceived: Number(m[3]), serverSent: Number(m[4]), serverReceived: Number(m[5]) };
}

describe('peersock demo', () => {
  // The ring phase took up to ~15 s on this machine under load, and once failed CI at 20 s (a
  // join waiting out timeouts: see test/transport/abandoned-attempt.test.ts and
  // test/ring/join-lookup-resend.test.ts); 24 runs, six at once, 2026-12-05: 0.5-2.0 s. The
  // limits stay generous: CI shares its cores with the whole suite.
  it('the default story: a ring formed by itself, an exact lookup, routed messages, a heal and an overlay-signaled connection without servers', async () => {
    const result = await runCliProcess(['demo'], 80_000);
    const out = result.stdout;
    // On failure, show what the demo printed: the story says which step went wrong.
    expect(result.stderr, out).toBe('');
    expect(result.code, out).toBe(0);

    // 8 nodes, each with an identity ground to solve the position puzzle.
    expect(lines(out, 'node started')).toHaveLength(8);
    expect(line(out, 'identities')).toMatch(/8 fresh identities, each ground to solve the 12-bit position puzzle/);

    // The ring: every view right, printed once in order, closing on itself, every node in it once.
    expect(line(out, 'ring correct')).toMatch(/every node has the right predecessor and 2 successors, [\d.]+ ms after all started/);
    const formed = ringOrder(lines(out, 'ring order')[0]!);
    expect(formed).toHaveLength(9);
    expect(formed.at(-1)).toBe(formed[0]);
    expect(new Set(formed)).toEqual(new Set(Array.from({ length: 8 }, (_, i) => `n${i}`)));
    expect(lines(out, 'links per node')[0]).toMatch(/n0 \d+, n1 \d+, .*n7 \d+$/);

    // The lookup, checked by the demo against the XOR-closest of all ids.
    expect(line(out, 'lookup answer')).toMatch(/(n\d \w{8}, ){2}n\d \w{8}\s+in [\d.]+ ms.*; exact: the XOR-closest of all nodes$/);

    // Two routed messages between unlinked nodes, both delivered and acknowledged end to end.
    expect(lines(out, 'routing')).toHaveLength(2);
    expect(lines(out, 'message')).toHaveLength(2);
    expect(lines(out, 'acked')).toHaveLength(2);
    for (const acked of lines(out, 'acked')) expect(acked).toMatch(/end-to-end ack after [\d.]+ ms \(sealed for n\d, signed by n\d\)/);

    // Servers gone, one node left, the other 7 healed: the new order lacks exactly the leaver.
    expect(out).toMatch(/server closed\s+no signaling server from now on/);
    const leaver = line(out, 'left').match(/left\s+(n\d)/)?.[1];
    expect(leaver).toBeDefined();
    expect(line(out, 'ring healed')).toMatch(/every remaining node has the right neighbours again/);
    const healed = ringOrder(lines(out, 'ring order')[1]!);
    expect(new Set(healed)).toEqual(new Set(formed.filter((n) => n !== leaver)));
    // The heal line comes after the server closed: no server can have helped.
    expect(out.indexOf('server closed')).toBeLessThan(out.indexOf('ring healed'));

    // The new connection: both ends got their signals through the overlay, none through a server.
    expect(line(out, 'connected')).toMatch(/n\d \w{8} ⇄ n\d \w{8}\s+in [\d.]+ ms/);
    const paths = lines(out, 'signal paths').map(signalCounts);
    expect(paths).toHaveLength(2);
    for (const end of paths) {
      expect(end.overlaySent).toBeGreaterThan(0);
      expect(end.overlayReceived).toBeGreaterThan(0);
      expect(end.serverReceived).toBe(0);
    }

    expect(out).toMatch(/\n\s+[\d.]+ ms  stopped\s+in [\d.]+ ms/);
    const summary = out.trimEnd().split('\n').at(-1);
    expect(summary).toMatch(
      /^summary: 8 nodes, ring formed in [\d.]+ ms, lookup exact, 2 routed messages acked, healed in [\d.]+ ms without servers, overlay-signaled connection opened; \d+ ms elapsed$/,
    );
    // Short ids only: no 64-hex PeerId or position, and no JSON.
    expect(out).not.toMatch(/[0-9a-f]{64}/);
    expect(out).not.toContain('{');
  }, 90_000);

  it('--keep-running stays up after the story and stops gracefully on SIGINT', async () => {
    const cli = new CliProcess(['demo', '--nodes', '3', '--keep-running']);
    try {
      await cli.waitFor(/press Ctrl-C to stop/, 60_000);
      // 3 nodes are all linked to each other: nothing to route or connect, and it says so.
      expect(cli.stdout).toMatch(/summary: 3 nodes, ring formed in [\d.]+ ms, lookup exact, no unlinked pair to route between, .*; ready after \d+ ms/);
      // Still running: nothing has been stopped yet.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(cli.child.exitCode).toBeNull();
      expect(cli.stdout).not.toMatch(/stopping/);
      const result = await cli.stop('SIGINT');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/stopping\s+2 nodes\n.*stopped\s+in [\d.]+ ms/);
      expect(result.stderr).toBe('');
      expect(result.stderr).not.toContain(LEAK_WARNING);
    } finally {
      cli.kill();
    }
  }, 75_000);

  it('a phase that times out is one error line and exit 1, and whatever started is still stopped', async () => {
    // 32 identities cannot be ground and 32 nodes started within 100 ms.
    const result = await runCliProcess(['demo', '--nodes', '32', '--timeout', '100'], 30_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: TIMEOUT: .+ within 100 ms/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toMatch(/stopped\s+in [\d.]+ ms/);
    expect(result.stdout).not.toContain('summary:');
  }, 35_000);

  it('refuses fewer than 3 nodes and the old --messages option (usage errors, exit 2)', async () => {
    for (const argv of [
      ['demo', '--nodes', '2'],
      ['demo', '--messages', '1'],
    ]) {
      const result = await runCliProcess(argv);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('peersock demo --help');
    }
  }, 30_000);
});
