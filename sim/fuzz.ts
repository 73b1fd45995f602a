/**
 * `npm run fuzz`: the churn properties of test/sim/ring-sim.test.ts (with routed messages in
 * the background) and test/sim/serverless-sim.test.ts (every signaling server gone after the
 * network formed; PEERSOCK_FUZZ_SERVERLESS=1 picks it) over many more cases than CI runs. After each arbitrary scenario and its quiet period every invariant must hold.
 * On failure it prints fast-check's report (seed, path, shrunk counterexample) and writes
 * the shrunk scenario, with the simulator settings it ran under, to a file that
 * `peersock sim --replay <file>` reproduces.
 *
 * PEERSOCK_FUZZ_DHT=1 runs either with the DHT on and checks lookups too, as
 * test/dht/dht-churn-sim.test.ts does.
 *
 * Environment: PEERSOCK_FUZZ_RUNS (default 200), PEERSOCK_FUZZ_SEED (fast-check seed, to
 * rerun a reported failure), PEERSOCK_FUZZ_MAX_NODES (default 16), PEERSOCK_FUZZ_MAX_STEPS
 * (default 10), PEERSOCK_FUZZ_QUIET_MS (quiet period, default 60000), PEERSOCK_FUZZ_OUT (directory for the failure file, default the current one).
 */
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROPERTY_CONNECTION, PROPERTY_DHT_CONFIG, PROPERTY_RING_CONFIG } from '../src/cli/sim-profile.js';
import { describeViolations } from './invariants.js';
import { propertyViolations } from './property-checks.js';
import { arbitraryScenario, arbitraryServerlessScenario, runScenario, type Scenario } from './scenario.js';
import { replayFileText } from './replay-file.js';
import { createSimulator } from './simulator.js';

const intEnv = (name: string, fallback: number): number => {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return value;
};

const numRuns = intEnv('PEERSOCK_FUZZ_RUNS', 200);
const fcSeed = process.env.PEERSOCK_FUZZ_SEED ? intEnv('PEERSOCK_FUZZ_SEED', 0) : undefined;
const maxNodes = intEnv('PEERSOCK_FUZZ_MAX_NODES', 16);
const maxSteps = intEnv('PEERSOCK_FUZZ_MAX_STEPS', 10);
const quietMs = intEnv('PEERSOCK_FUZZ_QUIET_MS', 60_000);
const outDir = process.env.PEERSOCK_FUZZ_OUT ?? process.cwd();
const ring = PROPERTY_RING_CONFIG;
const connection = PROPERTY_CONNECTION;

let cases = 0;
let lastFailure: { scenario: Scenario; report: string } | undefined;

const serverless = process.env.PEERSOCK_FUZZ_SERVERLESS === '1';
// With the DHT on, as test/dht/dht-churn-sim.test.ts: lookups are checked too.
const dht = process.env.PEERSOCK_FUZZ_DHT === '1' ? PROPERTY_DHT_CONFIG : undefined;
const settings = { ring, connection, ...(dht ? { dht } : {}) };
const scenarios = serverless
  ? arbitraryServerlessScenario({ minNodes: 4, maxNodes, maxSteps, serversGoneAtMs: 40_000, maxGapMs: 10_000, quietMs, routedEveryMs: 1_000 })
  : arbitraryScenario({ maxNodes, maxSteps, maxGapMs: 10_000, quietMs, routedEveryMs: 1_000 });

const property = fc.asyncProperty(scenarios, async (scenario) => {
  cases += 1;
  if (cases % 10 === 0) process.stderr.write(`fuzz: ${cases} cases\n`);
  const sim = createSimulator({ seed: scenario.seed, ...settings, traceLimit: 1_000 });
  try {
    const { routed } = await runScenario(sim, scenario);
    const violations = await propertyViolations(sim, { seed: scenario.seed, routed }, { ring, dht: dht !== undefined });
    if (violations.length > 0) {
      // The last failing case fast-check tries is the shrunk counterexample it reports.
      lastFailure = { scenario, report: describeViolations(violations) };
      throw new Error(`${violations.length} invariant violations:\n${lastFailure.report}`);
    }
  } finally {
    await sim.close();
  }
});

try {
  await fc.assert(property, { numRuns, ...(fcSeed !== undefined ? { seed: fcSeed } : {}) });
  console.log(`fuzz: ${numRuns} ${serverless ? 'serverless ' : ''}${dht ? 'DHT ' : ''}scenarios (up to ${maxNodes} nodes, ${maxSteps} steps) passed`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  if (lastFailure) {
    console.error(`\nviolations of the shrunk scenario:\n${lastFailure.report}`);
    const file = path.resolve(outDir, `fuzz-failure-${lastFailure.scenario.seed}.json`);
    writeFileSync(file, replayFileText(lastFailure.scenario, settings));
    console.error(`\nshrunk scenario written to ${file}\nreproduce with: npm run peersock -- sim --replay ${file}`);
  }
  process.exitCode = 1;
}
