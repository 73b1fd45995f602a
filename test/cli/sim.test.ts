import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replayFileText } from '../../sim/replay-file.js';
import { scenarioToJson } from '../../sim/scenario.js';
import { PROPERTY_CONNECTION, PROPERTY_DHT_CONFIG, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { runCliProcess } from './cli-process.js';

const base = mkdtempSync(path.join(tmpdir(), 'peersock-cli-sim-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const ROWS = [
  'time to form the ring',
  'failure events',
  'heal times',
  'heal median / max',
  'ring correct over time',
  'correctness timeline',
  'maintenance msgs/node/s',
  'maintenance bytes/node/s',
  'final invariants',
];

/** The value column of a summary row. */
function row(stdout: string, name: string): string {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(`${name}  `));
  if (line === undefined) throw new Error(`no row "${name}" in:\n${stdout}`);
  return line.slice(name.length).trim();
}

describe('peersock sim', () => {
  it('runs 12 nodes for 60 virtual seconds, forms the ring and prints the summary table', async () => {
    const trace = path.join(base, 'run.jsonl');
    const result = await runCliProcess(['sim', '--nodes', '12', '--duration', '60s', '--seed', '3', '--trace', trace], 60_000);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const name of ROWS) expect(result.stdout).toContain(name);
    expect(row(result.stdout, 'time to form the ring')).toMatch(/^\d+(\.\d)?s /);
    expect(row(result.stdout, 'final invariants')).toBe('hold');
    expect(row(result.stdout, 'alive at the end')).toBe('12');
    const fraction = Number(/^([\d.]+)%/.exec(row(result.stdout, 'ring correct over time'))?.[1]);
    expect(fraction).toBeGreaterThan(0);
    expect(fraction).toBeLessThanOrEqual(100);
    expect(Number(row(result.stdout, 'maintenance bytes/node/s'))).toBeGreaterThan(0);
    // Not a terminal: the progress bar is plain lines on stderr, ending at 100%.
    expect(result.stderr).toMatch(/\[#{24}\] 1m30s\/1m30s virtual/);
    expect(result.stderr).not.toContain('\r');
    // The trace is JSON lines naming stable actor ids (no XState session ids like x:12).
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(100);
    const entries = lines.map((line) => JSON.parse(line) as unknown[]);
    expect(entries.some((entry) => entry[2] === 'ring')).toBe(true);
    expect(entries.every((entry) => !/^x:\d+$/.test(String(entry[2])))).toBe(true);
  });

  it('is deterministic: the same seed writes the same trace', async () => {
    const runs = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const trace = path.join(base, `det-${name}.jsonl`);
        const result = await runCliProcess(['sim', '--nodes', '5', '--duration', '20s', '--quiet', '5s', '--seed', '11', '--churn', 'exponential:10s', '--trace', trace], 60_000);
        expect(result.code === 0 || result.code === 1, result.stderr).toBe(true);
        return readFileSync(trace, 'utf8');
      }),
    );
    expect(runs[0]!.length).toBeGreaterThan(0);
    expect(runs[1]).toBe(runs[0]);
  });

  it('--crypto thread runs ed25519 on a second thread: the ring forms and the same seed writes the same trace', async () => {
    // One after the other: each process runs two busy threads, and the suite shares two cores
    // with real-WebRTC tests whose handshakes must finish in time.
    const runs: string[] = [];
    for (const name of ['a', 'b']) {
      const trace = path.join(base, `thread-${name}.jsonl`);
      const result = await runCliProcess(['sim', '--nodes', '8', '--duration', '30s', '--quiet', '10s', '--seed', '5', '--crypto', 'thread', '--trace', trace], 60_000);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain('crypto on a second thread');
      expect(row(result.stdout, 'final invariants')).toBe('hold');
      runs.push(readFileSync(trace, 'utf8'));
    }
    expect(runs[0]!.length).toBeGreaterThan(0);
    expect(runs[1]).toBe(runs[0]);
  });

  it.each([
    [['--nodes', 'many']],
    [['--duration', 'soon']],
    [['--churn', 'poisson:5m']],
    [['--churn', 'script:/nonexistent/file.json']],
    [['--bogus']],
    [['--ring-r', '0']],
    [['--replay', 'x.json', '--nodes', '5']],
    [['--crypto', 'gpu']],
    [['--replay', 'x.json', '--crypto', 'thread']],
  ])('bad usage %j exits 2 with a pointer to --help', async (args) => {
    const result = await runCliProcess(['sim', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('peersock sim');
    expect(result.stderr).toContain('--help');
    expect(result.stdout).toBe('');
  });

  it('--replay runs a scenario file and reports that the invariants hold', async () => {
    const file = path.join(base, 'ok.json');
    writeFileSync(file, scenarioToJson({ seed: 5, nodes: 6, steps: [{ at: 20_000, op: 'crash', pick: 2 }], quietMs: 40_000 }));
    const result = await runCliProcess(['sim', '--replay', file], 60_000);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('1 steps applied, 0 skipped; 5 nodes alive');
    expect(result.stdout).toContain('invariants: all hold');
  });

  it('--replay reports the invariants that fail and exits 1', async () => {
    // No quiet period after a crash: nobody has noticed it yet, so the ring is still broken.
    const file = path.join(base, 'broken.json');
    writeFileSync(file, scenarioToJson({ seed: 5, nodes: 6, steps: [{ at: 30_000, op: 'crash', pick: 2 }], quietMs: 0 }));
    const result = await runCliProcess(['sim', '--replay', file], 60_000);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/invariants: FAIL — \d+ violations \(.*(successor|predecessor).*\)/);
    expect(result.stdout).toMatch(/- \[(successor|predecessor|successor-list)\] /);
  });

  it('--replay with DHT settings runs the DHT and checks lookups too (the three joiners of stop 18 heal)', async () => {
    // Fuzzed with the DHT on: a partition 0.6 s into 7 nodes' joins left 3 of them
    // re-bootstrapping for good beside a ring of five (ring.machine.ts, failedWaysIn).
    const file = path.join(base, 'dht.json');
    const scenario = {
      seed: 923_842_562,
      nodes: 7,
      steps: [
        { at: 627, op: 'partition' as const, groups: 2, pick: 26_334 },
        { at: 7_917, op: 'join' as const },
        { at: 7_917, op: 'heal' as const },
      ],
      quietMs: 60_000,
      routedEveryMs: 1_000,
    };
    writeFileSync(file, replayFileText(scenario, { ring: PROPERTY_RING_CONFIG, connection: PROPERTY_CONNECTION, dht: PROPERTY_DHT_CONFIG }));
    const result = await runCliProcess(['sim', '--replay', file], 60_000);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('DHT on ({"planIntervalMs":2000,"lookupTimeoutMs":5000,"linkBudget":32}): lookups are checked too');
    expect(result.stdout).toContain('8 nodes alive');
    expect(result.stdout).toContain('invariants: all hold');
  });

  it('--replay with DHT settings that are not numbers exits 2', async () => {
    const file = path.join(base, 'bad-dht.json');
    const json = JSON.parse(scenarioToJson({ seed: 1, nodes: 2, steps: [], quietMs: 0 })) as object;
    writeFileSync(file, JSON.stringify({ ...json, sim: { dht: { k: 'twenty' } } }));
    const result = await runCliProcess(['sim', '--replay', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"sim.dht" must be an object of numbers');
  });

  it('--replay of a file that is not a scenario exits 2', async () => {
    const file = path.join(base, 'bad.json');
    writeFileSync(file, '{"format": "something-else"}');
    const result = await runCliProcess(['sim', '--replay', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('peersock-scenario/1');
  });
});
