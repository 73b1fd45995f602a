/**
 * How to start a benchmark's child process. `npm run bench` runs the compiled JavaScript
 * (.bench-build/): under tsx every function carries a `name` set by esbuild's keepNames,
 * which cost ~48 KB per simulated node and measurable time — figures of the loader, not of
 * PeerSock. Run directly from TypeScript (`npx tsx bench/x.bench.ts`) the children use tsx too.
 */
export function childNodeArgs(selfUrl: string): string[] {
  // A larger young generation: the simulator allocates many short-lived objects (events,
  // snapshots, frames), and with the default 16 MiB semi-space a 300-node run spent ~30% of
  // its wall time in scavenges (25.5 s → 17.4 s with 64 MiB, same trace).
  return [SEMI_SPACE, ...(selfUrl.endsWith('.ts') ? ['--import', 'tsx'] : [])];
}

const SEMI_SPACE = '--max-semi-space-size=64';

/** `name.bench.ts` as this build names it (`.js` when compiled). */
export function benchFile(name: string, selfUrl: string): string {
  return selfUrl.endsWith('.ts') ? name : name.replace(/\.ts$/, '.js');
}
