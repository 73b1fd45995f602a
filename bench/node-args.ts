import { SIM_NO_PRETENURING_FLAG, SIM_SEMI_SPACE_FLAG } from '../src/cli/sim-resources.js';

/**
 * How to start a benchmark's child process. `npm run bench` runs the compiled JavaScript
 * (.bench-build/): under tsx every function carries a `name` set by esbuild's keepNames,
 * which cost ~48 KB per simulated node and measurable time — figures of the loader, not of
 * PeerSock. Run directly from TypeScript (`npx tsx bench/x.bench.ts`) the children use tsx too.
 */
export function childNodeArgs(selfUrl: string): string[] {
  // The flags `peersock sim` restarts Node with for a large run; sim-resources.ts says why.
  return [SIM_SEMI_SPACE_FLAG, SIM_NO_PRETENURING_FLAG, ...(selfUrl.endsWith('.ts') ? ['--import', 'tsx'] : [])];
}

/** `name.bench.ts` as this build names it (`.js` when compiled). */
export function benchFile(name: string, selfUrl: string): string {
  return selfUrl.endsWith('.ts') ? name : name.replace(/\.ts$/, '.js');
}
