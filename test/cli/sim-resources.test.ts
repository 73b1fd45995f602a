import { describe, expect, it } from 'vitest';
import { LARGE_SIM_NODES, SIM_HEAP_BYTES_PER_NODE, simResourceWarnings } from '../../src/cli/sim-resources.js';
import { runCliProcess } from './cli-process.js';

const GiB = 2 ** 30;
const FAST = ['--max-semi-space-size=128', '--no-allocation-site-pretenuring'];

describe('peersock sim: warnings about the Node process before a large run', () => {
  it('warns that 10,000 nodes will not fit a 2-GiB heap, with a limit that would hold them, and names the speed flags', () => {
    const warnings = simResourceWarnings(10_000, { heapLimitBytes: 2 * GiB, execArgv: [] });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^10000 nodes need about 2\.9 GiB of heap and this Node process allows 2\.0 GiB/);
    const suggestedMiB = Number(/--max-old-space-size=(\d+)/.exec(warnings[0]!)?.[1]);
    expect(suggestedMiB * 2 ** 20).toBeGreaterThan(10_000 * SIM_HEAP_BYTES_PER_NODE);
    expect(warnings[1]).toContain('--max-semi-space-size=128 --no-allocation-site-pretenuring');
  });

  it('says nothing when the heap is large enough and the flags are given, whatever young-generation size was chosen', () => {
    expect(simResourceWarnings(10_000, { heapLimitBytes: 4 * GiB, execArgv: FAST })).toEqual([]);
    expect(simResourceWarnings(10_000, { heapLimitBytes: 4 * GiB, execArgv: ['--max-semi-space-size=64', '--no-allocation-site-pretenuring'] })).toEqual([]);
  });

  it('names only the flag that is missing, and none below the large-run size', () => {
    const [hint] = simResourceWarnings(LARGE_SIM_NODES, { heapLimitBytes: 4 * GiB, execArgv: ['--max-semi-space-size=128'] });
    expect(hint).toContain('start Node with --no-allocation-site-pretenuring,');
    expect(hint).not.toContain('--max-semi-space-size');
    expect(simResourceWarnings(LARGE_SIM_NODES - 1, { heapLimitBytes: 4 * GiB, execArgv: [] })).toEqual([]);
  });

  it('the CLI prints the heap warning on stderr before it runs, and still runs', async () => {
    // Node's heap limit at --max-old-space-size=96 is ~144 MiB: 500 nodes are estimated at ~146 MiB.
    const result = await runCliProcess(['sim', '--nodes', '500', '--duration', '1s', '--quiet', '0s'], 60_000, ['--max-old-space-size=96']);
    expect(result.stderr).toMatch(/^peersock sim: 500 nodes need about 146 MiB of heap and this Node process allows \d+ MiB: it may run out of memory\./m);
    expect(result.stdout).toContain('peersock sim: 500 nodes, 1s virtual');
    expect(result.stdout).toContain('alive at the end');
  });
});
