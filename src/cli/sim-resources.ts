import { getHeapStatistics } from 'node:v8';

/**
 * Heap a simulated node holds at its peak, rounded up: sim-scale's 10,000-node run peaked at
 * 275.6 KiB of heap per node (README, Benchmarks). The simulator's cost is linear in the nodes
 * past ~1,000, so the product is a fair estimate of a large run's need.
 */
export const SIM_HEAP_BYTES_PER_NODE = 300 * 1024;

/** From here on the Node flags the benchmarks use are worth the hint (they pay off at scale). */
export const LARGE_SIM_NODES = 2_000;

/** The flags the benchmarks' children run with (bench/node-args.ts says why; src/ cannot import bench/). */
const SPEED_FLAGS = ['--max-semi-space-size=128', '--no-allocation-site-pretenuring'];

export interface NodeProcessLimits {
  /** V8's heap limit for this process, in bytes. */
  heapLimitBytes: number;
  /** The flags Node was started with (process.execArgv). */
  execArgv: readonly string[];
}

export function currentProcessLimits(): NodeProcessLimits {
  return { heapLimitBytes: getHeapStatistics().heap_size_limit, execArgv: process.execArgv };
}

/**
 * What to tell someone starting a simulation of `nodes` nodes in this Node process, before it
 * runs: that it will likely run out of heap (Node's default limit depends on the machine's
 * memory: ~2 GiB on an 8-GB laptop, where 10,000 nodes need ~3 GiB), and which flags make a large
 * run faster. Warnings, not refusals: the estimate is an estimate, and the run is the user's.
 */
export function simResourceWarnings(nodes: number, limits: NodeProcessLimits = currentProcessLimits()): string[] {
  const warnings: string[] = [];
  const needed = nodes * SIM_HEAP_BYTES_PER_NODE;
  // 10% under the limit: a heap that full spends most of its time collecting.
  if (needed > 0.9 * limits.heapLimitBytes) {
    const suggestedMiB = Math.ceil((needed * 1.3) / 2 ** 20 / 512) * 512;
    warnings.push(
      `${nodes} nodes need about ${size(needed)} of heap and this Node process allows ${size(limits.heapLimitBytes)}: ` +
        `it may run out of memory. Start Node with more, e.g. node --max-old-space-size=${suggestedMiB} (README, The simulator).`,
    );
  }
  const missing = SPEED_FLAGS.filter((flag) => !limits.execArgv.some((arg) => arg === flag || arg.startsWith(`${flag.split('=')[0]}=`)));
  if (nodes >= LARGE_SIM_NODES && missing.length > 0) {
    warnings.push(`for ${nodes} nodes, start Node with ${missing.join(' ')}, as the benchmarks do: their 10,000-node run was 13% faster with pretenuring off (README, The simulator).`);
  }
  return warnings;
}

function size(bytes: number): string {
  return bytes < 2 ** 30 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
