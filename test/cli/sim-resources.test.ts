import { describe, expect, it } from 'vitest';
import { LARGE_SIM_NODES, SIM_HEAP_BYTES_PER_NODE, simResourceWarnings } from '../../src/cli/sim-resources.js';
import { runCliProcess } from './cli-process.js';

const GiB = 2 ** 30;
const FAST = ['--max-semi-space-size=128', '--no-allocation-site-pretenuring'];

describe('peersock sim: warnings about the Node process before a large run', () => {
  it('warns that 10,000 nodes will not fit a 2-GiB heap, with a limit that would hold them, and names the speed flags', () => {
    const warnings = simResourceWarnings(10_000, { heapLimitBytes: 2 * GiB, nodeFlags: [] });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^10000 nodes need about 2\.9 GiB of heap and this Node process allows 2\.0 GiB: it may run out of memory/);
    const suggestedMiB = Number(/NODE_OPTIONS=--max-old-space-size=(\d+) peersock sim/.exec(warnings[0]!)?.[1]);
    expect(0.9 * suggestedMiB * 2 ** 20).toBeGreaterThanOrEqual(10_000 * SIM_HEAP_BYTES_PER_NODE);
    expect(warnings[1]).toContain('start Node with --max-semi-space-size=128 --no-allocation-site-pretenuring as the benchmarks do: with pretenuring off');
  });

  it('keeps 10% of the heap spare: a heap the estimate would fill past 90% gets the warning', () => {
    const needed = 1_000 * SIM_HEAP_BYTES_PER_NODE;
    // The estimate at 95% of the limit: warned; at 85%: not.
    expect(simResourceWarnings(1_000, { heapLimitBytes: needed / 0.95, nodeFlags: [] })).toHaveLength(1);
    expect(simResourceWarnings(1_000, { heapLimitBytes: needed / 0.85, nodeFlags: [] })).toEqual([]);
  });

  it('says nothing when the heap is large enough and the flags are given, in any spelling V8 takes', () => {
    const roomy = 4 * GiB;
    expect(simResourceWarnings(10_000, { heapLimitBytes: roomy, nodeFlags: FAST })).toEqual([]);
    expect(simResourceWarnings(10_000, { heapLimitBytes: roomy, nodeFlags: ['--max_semi_space_size=64', '--no_allocation_site_pretenuring'] })).toEqual([]);
    expect(simResourceWarnings(10_000, { heapLimitBytes: roomy, nodeFlags: ['--max-semi-space-size=128', '--noallocation-site-pretenuring'] })).toEqual([]);
  });

  it('names only the flag that is missing, and none below the large-run size', () => {
    const [hint] = simResourceWarnings(LARGE_SIM_NODES, { heapLimitBytes: 4 * GiB, nodeFlags: ['--max-semi-space-size=128'] });
    expect(hint).toContain('start Node with --no-allocation-site-pretenuring as the benchmarks do');
    expect(hint).not.toContain('--max-semi-space-size');
    const [semiSpaceOnly] = simResourceWarnings(LARGE_SIM_NODES, { heapLimitBytes: 4 * GiB, nodeFlags: ['--no-allocation-site-pretenuring'] });
    expect(semiSpaceOnly).toContain('start Node with --max-semi-space-size=128 as the benchmarks do (');
    expect(simResourceWarnings(LARGE_SIM_NODES - 1, { heapLimitBytes: 4 * GiB, nodeFlags: [] })).toEqual([]);
  });

  it('the CLI prints the heap warning on stderr before it runs, and still runs', async () => {
    // With --max-old-space-size=64 and a 1-MiB semi-space the whole heap limit is 67 MiB on Node 20, 24
    // and 26 alike (the young generation's default size differs between them); 250 nodes are estimated at 73 MiB.
    const result = await runCliProcess(['sim', '--nodes', '250', '--duration', '1s', '--quiet', '0s'], 60_000, ['--max-old-space-size=64', '--max-semi-space-size=1']);
    expect(result.stderr).toMatch(/^peersock sim: 250 nodes need about 73 MiB of heap and this Node process allows \d+ MiB: it may run out of memory\./m);
    expect(result.stdout).toContain('peersock sim: 250 nodes, 1s virtual');
    expect(result.stdout).toContain('alive at the end');
  });
});
