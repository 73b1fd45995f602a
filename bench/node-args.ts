/**
 * How to start a benchmark's child process. `npm run bench` runs the compiled JavaScript
 * (.bench-build/): under tsx every function carries a `name` set by esbuild's keepNames,
 * which cost ~48 KB per simulated node and measurable time — figures of the loader, not of
 * PeerSock. Run directly from TypeScript (`npx tsx bench/x.bench.ts`) the children use tsx too.
 */
export function childNodeArgs(selfUrl: string): string[] {
  // A larger young generation: the simulator allocates many short-lived objects (events,
  // snapshots, frames), and with the default 16 MiB semi-space a 300-node run spent ~30% of
  // its wall time in scavenges (25.5 s → 17.4 s with 64 MiB, same trace). 128 MiB once
  // pretenuring is off (below), since more of those objects now start young: sim-scale's
  // 10,000-node child 676.7 s against 722.0 s with 64 MiB (side by side, the same 8,679,355
  // timers, peak RSS 3,005 against 2,984 MiB); at 1,000 nodes 55.0 against 56.9 s. (With
  // pretenuring on, 128 MiB had gained nothing.)
  return [SEMI_SPACE, NO_PRETENURING, ...(selfUrl.endsWith('.ts') ? ['--import', 'tsx'] : [])];
}

const SEMI_SPACE = '--max-semi-space-size=128';

/**
 * V8 allocates objects straight into the old generation from sites whose objects mostly
 * survived a scavenge. Here that is the wrong bet: an actor's snapshot or a frame outlives one
 * scavenge and dies soon after, so pretenured it is old-generation garbage, and every young
 * object it points to is a remembered-set entry the next scavenge must visit. Off, sim-scale's
 * 10,000-node child ran 622.7 s against 716.8 s (two runs side by side, the same 8,679,355
 * timers), peak RSS 3,013 against 3,568 MiB; at 1,000 nodes, three runs each, 36.9–43.6 s
 * against 43.4–45.6 s.
 */
const NO_PRETENURING = '--no-allocation-site-pretenuring';

/** `name.bench.ts` as this build names it (`.js` when compiled). */
export function benchFile(name: string, selfUrl: string): string {
  return selfUrl.endsWith('.ts') ? name : name.replace(/\.ts$/, '.js');
}
