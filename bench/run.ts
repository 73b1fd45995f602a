/**
 * `npm run bench`: runs every benchmark in its own process (so one's threads and heap
 * never skew another's), streams their output, and ends with one JSON object that
 * merges their figures. Each benchmark also prints its own JSON as its last line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchFile, childNodeArgs } from './node-args.js';

const benches = ['throughput.bench.ts', 'verify.bench.ts', 'sim-scale.bench.ts', 'actor-floor.bench.ts', 'ring-events.bench.ts', 'ring-heal.bench.ts', 'maintenance.bench.ts', 'dht-hops.bench.ts', 'dht-rest.bench.ts', 'dht-sim.bench.ts'];
const only = process.argv.slice(2);
const here = fileURLToPath(new URL('.', import.meta.url));

function run(file: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...childNodeArgs(import.meta.url), `${here}${benchFile(file, import.meta.url)}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    // 'close', not 'exit': the child's last line may still be in the pipe when it has exited.
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${file} exited with ${code}`));
      const last = output.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`${file} did not end with a JSON line`));
      }
    });
  });
}

const merged: Record<string, unknown> = {};
for (const file of benches.filter((name) => only.length === 0 || only.some((o) => name.startsWith(o)))) {
  process.stdout.write(`\n== ${file}\n`);
  const { bench, targets, ...figures } = await run(file);
  Object.assign(merged, figures);
  merged[`${String(bench)}Targets`] = targets;
}
console.log(JSON.stringify(merged));
