/**
 * Is this change faster? sim-scale's child (N nodes, 10 virtual minutes of churn) from this
 * build and from a base commit's, started together, one on each core, round after round.
 *
 * This machine's speed drifts by ±10% from hour to hour and run to run, more than most single
 * changes are worth, so alternating runs compare hours rather than code. Two runs side by side
 * share the hour: the same code against itself gave wall-time ratios of 1.045 and 1.017 at
 * 1,000 nodes (2026-12-07), where single runs of one build took 49.7–57.7 s within an hour.
 * ed25519 runs inline (each process keeps to its core; the crypto thread would make four
 * threads on two cores), so figures are not sim-scale's own, only their ratio is the point.
 *
 * Usage (from the repository root):
 *   npx tsc -p tsconfig.bench.json && node .bench-build/bench/paired-scale.js --base <commit> [--nodes 1000] [--rounds 3]
 * The base is compiled from a temporary git worktree into .bench-base/ with this checkout's
 * TypeScript and node_modules (a base with other dependencies is not comparable this way).
 * The last line is one JSON object: each round's two figures and the ratios head / base.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { exitWithJson, runBenchChild } from './bench-child.js';
import type { ScaleFigures } from './sim-scale.bench.js';
import { roundTo } from './round.js';

/** The figures of one sim-scale child that a comparison reads. */
export type ScaleRun = Pick<
  ScaleFigures,
  'wallSec' | 'joinPhaseWallSec' | 'steadyWallPerVirtualSec' | 'timersFired' | 'successorsRightMean' | 'peakRssMiB' | 'completed'
>;

export interface PairedRound {
  base: ScaleRun;
  head: ScaleRun;
  /** head.wallSec / base.wallSec: below 1, this build was faster. */
  ratio: number;
  /** Both fired as many timers: the change left the simulation itself as it was. */
  sameSimulation: boolean;
}

export interface PairedSummary {
  rounds: PairedRound[];
  ratioMean: number;
  ratioMin: number;
  ratioMax: number;
}

export interface PairedOptions {
  base: string;
  nodes: number;
  rounds: number;
}

/** The two runs of each round, compared; throws on a run that did not complete (its wall time compares nothing). */
export function summarisePairs(pairs: readonly { base: ScaleRun; head: ScaleRun }[]): PairedSummary {
  if (pairs.length === 0) throw new RangeError('no rounds to summarise');
  const rounds = pairs.map(({ base, head }, index) => {
    for (const [name, run] of [['base', base], ['head', head]] as const) {
      if (!run.completed) throw new Error(`round ${index + 1}: the ${name} run stopped before its 10 virtual minutes`);
    }
    return { base, head, ratio: roundTo(head.wallSec / base.wallSec, 3), sameSimulation: head.timersFired === base.timersFired };
  });
  const ratios = rounds.map((r) => r.ratio);
  return {
    rounds,
    ratioMean: roundTo(ratios.reduce((sum, r) => sum + r, 0) / ratios.length, 3),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
  };
}

/** `--base <commit> [--nodes N] [--rounds R]`. */
export function parsePairedArgs(args: readonly string[]): PairedOptions {
  const { values } = parseArgs({
    args: [...args],
    options: { base: { type: 'string' }, nodes: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } },
    strict: true,
    allowPositionals: false,
  });
  if (!values.base) throw new Error('--base <commit> is required: the build to compare this one against');
  const positive = (flag: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${text}`);
    return n;
  };
  return { base: values.base, nodes: positive('--nodes', values.nodes), rounds: positive('--rounds', values.rounds) };
}

/** Compiles `commit`'s sources, as tsconfig.bench.json does, into `<repo>/.bench-base` (resolving packages from the repo). */
function buildBase(repo: string, commit: string): string {
  const worktree = mkdtempSync(join(tmpdir(), 'peersock-base-'));
  const out = join(repo, '.bench-base');
  try {
    execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', worktree, commit], { stdio: 'ignore' });
    symlinkSync(join(repo, 'node_modules'), join(worktree, 'node_modules'), 'dir');
    rmSync(out, { recursive: true, force: true });
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(worktree, 'tsconfig.bench.json'), '--outDir', out], { stdio: 'inherit' });
  } finally {
    execFileSync('git', ['-C', repo, 'worktree', 'remove', '--force', worktree], { stdio: 'ignore' });
  }
  return out;
}

async function scaleRun(buildDir: string, nodes: number): Promise<ScaleRun> {
  const url = pathToFileURL(join(buildDir, 'bench/sim-scale.bench.js')).href;
  const outcome = await runBenchChild(url, { SIM_SCALE_CHILD: String(nodes), PEERSOCK_BENCH_CRYPTO: 'inline', PEERSOCK_BENCH_BUDGET_SEC: '3600' });
  try {
    return JSON.parse(outcome.lastLine) as ScaleRun;
  } catch {
    throw new Error(`the sim-scale child in ${buildDir} ended without its figures (${outcome.code ?? outcome.signal}): ${outcome.stderrTail.slice(-500)}`);
  }
}

async function main(): Promise<void> {
  if (import.meta.url.endsWith('.ts')) throw new Error('run the compiled build: npx tsc -p tsconfig.bench.json && node .bench-build/bench/paired-scale.js --base <commit>');
  const options = parsePairedArgs(process.argv.slice(2));
  const here = fileURLToPath(new URL('.', import.meta.url));
  const headDir = join(here, '..');
  const repo = join(headDir, '..');
  const baseDir = buildBase(repo, options.base);
  const pairs: { base: ScaleRun; head: ScaleRun }[] = [];
  for (let i = 0; i < options.rounds; i += 1) {
    const [base, head] = await Promise.all([scaleRun(baseDir, options.nodes), scaleRun(headDir, options.nodes)]);
    pairs.push({ base, head });
    console.log(`round ${i + 1}: base ${base.wallSec} s, this build ${head.wallSec} s, ratio ${roundTo(head.wallSec / base.wallSec, 3)}`);
  }
  exitWithJson({ bench: 'pairedScale', base: options.base, nodes: options.nodes, ...summarisePairs(pairs) });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
