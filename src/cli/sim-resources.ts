import { getHeapStatistics } from 'node:v8';

/**
 * Heap a simulated node holds at its peak, rounded up: sim-scale's 10,000-node run peaked at
 * 275.6 KiB of heap per node (README, Benchmarks). The simulator's cost is linear in the nodes
 * past ~1,000, so the product is a fair estimate of a large run's need.
 */
export const SIM_HEAP_BYTES_PER_NODE = 300 * 1024;

/** From here on the Node flags the benchmarks use are worth the hint (they pay off at scale). */
export const LARGE_SIM_NODES = 2_000;

/** A heap more than this full spends most of its time collecting: the estimate must fit under it. */
const HEAP_HEADROOM = 0.9;

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/**
 * A larger young generation for a large run (the benchmarks' children start with it too:
 * bench/node-args.ts). The simulator allocates many short-lived objects (events, snapshots,
 * frames), and with the default 16 MiB semi-space a 300-node run spent ~30% of its wall time in
 * scavenges (25.5 s → 17.4 s with 64 MiB, same trace). 128 MiB once pretenuring is off (below),
 * since more of those objects then start young: sim-scale's 10,000-node child 676.7 s against
 * 722.0 s with 64 MiB (side by side, the same 8,679,355 timers, peak RSS 3,005 against 2,984
 * MiB); at 1,000 nodes 55.0 against 56.9 s. (With pretenuring on, 128 MiB had gained nothing.)
 */
export const SIM_SEMI_SPACE_FLAG = `${SEMI_SPACE_FLAG}=128`;

/**
 * V8 allocates objects straight into the old generation from sites whose objects mostly
 * survived a scavenge. Here that is the wrong bet: an actor's snapshot or a frame outlives one
 * scavenge and dies soon after, so pretenured it is old-generation garbage, and every young
 * object it points to is a remembered-set entry the next scavenge must visit. Off, sim-scale's
 * 10,000-node child ran 622.7 s against 716.8 s (two runs side by side, the same 8,679,355
 * timers), peak RSS 3,013 against 3,568 MiB; at 1,000 nodes, three runs each, 36.9–43.6 s
 * against 43.4–45.6 s.
 */
export const SIM_NO_PRETENURING_FLAG = '--no-allocation-site-pretenuring';
const PRETENURING_SPELLINGS: ReadonlySet<string> = new Set([SIM_NO_PRETENURING_FLAG, '--noallocation-site-pretenuring', '--allocation-site-pretenuring']);
/** Flags that set the heap's size one way or another (`--max-old-space-size-percentage`: Node 26). */
const HEAP_LIMIT_FLAGS = ['--max-old-space-size=', '--max-heap-size=', '--max-old-space-size-percentage='];

export interface NodeProcessLimits {
  /** V8's heap limit for this process, in bytes. */
  heapLimitBytes: number;
  /** The flags Node was started with: process.execArgv, then NODE_OPTIONS. */
  nodeFlags: readonly string[];
}

export function currentProcessLimits(): NodeProcessLimits {
  const fromEnvironment = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((flag) => flag.length > 0);
  return { heapLimitBytes: getHeapStatistics().heap_size_limit, nodeFlags: [...process.execArgv, ...fromEnvironment] };
}

/**
 * What to tell someone starting a simulation of `nodes` nodes in this Node process, before it
 * runs: that it will likely run out of heap (V8's default limit follows the machine's memory:
 * 4,144 MiB (Node 20) or 4,192 MiB (Node 26) on the 23-GiB development machine, less on smaller
 * ones, where 10,000 nodes' ~3 GiB may not fit), and which flags make a large run faster
 * (SIM_SEMI_SPACE_FLAG and SIM_NO_PRETENURING_FLAG, which the benchmarks' children run with too).
 * Warnings, not refusals: the estimate is an estimate, and the run is the user's. Run as the
 * `peersock` command, `peersock sim` first restarts Node with what it can fix itself
 * (sim-relaunch.ts); these warnings are then what is left to say.
 */
export function simResourceWarnings(nodes: number, limits: NodeProcessLimits = currentProcessLimits()): string[] {
  const warnings: string[] = [];
  const suggestedMiB = suggestedHeapMiB(nodes, limits.heapLimitBytes);
  if (suggestedMiB !== undefined) {
    warnings.push(
      `${nodes} nodes need about ${size(nodes * SIM_HEAP_BYTES_PER_NODE)} of heap and this Node process allows ${size(limits.heapLimitBytes)}: ` +
        `it may run out of memory. Give Node more: NODE_OPTIONS=--max-old-space-size=${suggestedMiB} peersock sim … (README, The simulator).`,
    );
  }
  const missing = missingSpeedFlags(nodes, limits.nodeFlags);
  if (missing.length > 0) {
    const gain = missing.includes(SIM_NO_PRETENURING_FLAG) ? ': with pretenuring off their 10,000-node run was 13% faster' : '';
    warnings.push(
      `for ${nodes} nodes, start Node with ${missing.join(' ')} as the benchmarks do${gain} ` +
        `(node ${missing.join(' ')} "$(command -v peersock)" sim …; README, The simulator).`,
    );
  }
  return warnings;
}

/**
 * The heap limit (MiB, rounded up to 512) that `nodes` nodes fit under with 10% to spare, when
 * the current limit is too small for them; undefined when it is large enough.
 */
export function suggestedHeapMiB(nodes: number, heapLimitBytes: number): number | undefined {
  const needed = nodes * SIM_HEAP_BYTES_PER_NODE;
  if (needed <= HEAP_HEADROOM * heapLimitBytes) return undefined;
  return Math.ceil(needed / HEAP_HEADROOM / 2 ** 20 / 512) * 512;
}

/** The benchmarks' speed flags that `nodeFlags` lacks, for a run of `nodes` (none below LARGE_SIM_NODES). */
export function missingSpeedFlags(nodes: number, nodeFlags: readonly string[]): string[] {
  if (nodes < LARGE_SIM_NODES) return [];
  const flags = nodeFlags.map(normalisedFlag);
  // Pretenuring named either way, on or off, is the user's decision. V8 also reads `--noflag` as `--no-flag`.
  const decidesPretenuring = flags.some((flag) => PRETENURING_SPELLINGS.has(flag));
  return [
    ...(flags.some((flag) => flag.startsWith(`${SEMI_SPACE_FLAG}=`)) ? [] : [SIM_SEMI_SPACE_FLAG]),
    ...(decidesPretenuring ? [] : [SIM_NO_PRETENURING_FLAG]),
  ];
}

/** Whether `nodeFlags` set the heap's limit (HEAP_LIMIT_FLAGS, in any spelling V8 takes). */
export function setsHeapLimit(nodeFlags: readonly string[]): boolean {
  return nodeFlags.some((flag) => {
    const normalised = normalisedFlag(flag);
    return HEAP_LIMIT_FLAGS.some((prefix) => normalised.startsWith(prefix));
  });
}

/** V8 takes `_` for `-` in a flag's name (`--max_semi_space_size=128`). */
function normalisedFlag(flag: string): string {
  const [name = '', ...value] = flag.split('=');
  const dashed = name.replace(/_/g, '-');
  return value.length > 0 ? `${dashed}=${value.join('=')}` : dashed;
}

function size(bytes: number): string {
  return bytes < 2 ** 30 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
