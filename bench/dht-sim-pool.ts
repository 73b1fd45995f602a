/**
 * The churn runs of bench/dht-sim.bench.ts measured over several seeds and pooled: one seed
 * gives 2,401 lookups, and a success target of 99.9% then rests on two or three events (the
 * eleventh and twelfth sessions saw 99.83–99.96% for the same code on three seeds). Each seed is
 * a whole run in its own child (its own network, churn plan and probes); the figures are
 * computed again over every seed's probe records together, and each seed's own figures are
 * kept beside them.
 */
import { lookupFigures, sendFigures, type LookupOutcomeRecord, type SendOutcomeRecord } from './dht-sim-figures.js';
import type { LookupRecord, SendRecord } from './dht-sim-probes.js';
import type { RunFigures } from './dht-sim.bench.js';

/** The probe records a child sends back for pooling, without the peer ids and targets (unused by the figures). */
export interface ProbeRecords {
  lookups: LookupOutcomeRecord[];
  sends: SendOutcomeRecord[];
}

export function probeRecords(lookups: readonly LookupRecord[], sends: readonly SendRecord[]): ProbeRecords {
  return {
    lookups: lookups.map(({ origin: _origin, target: _target, ...rest }) => rest),
    sends: sends.map(({ from: _from, to: _to, ...rest }) => rest),
  };
}

/** What each seed measured on its own, for the JSON beside the pooled figures. */
export function seedSummary(f: RunFigures): Record<string, unknown> {
  return {
    seed: f.seed,
    lookupSuccess: f.lookups?.success ?? null,
    lookupCount: f.lookups?.counted ?? 0,
    lookupFailures: f.lookups?.failures ?? null,
    routedDelivery: f.sends?.delivery ?? null,
    departures: f.departures ?? 0,
    formedAtSec: f.formation.formedAtSec,
    wallSec: f.wallSec,
    ...(f.stopped !== undefined ? { stopped: f.stopped } : {}),
  };
}

/**
 * One RunFigures for the seeds of a run: lookups and sends over all their records, departures,
 * window and wall time summed, the worst peak memory and link degree, the mean link figures
 * weighted by samples; formation and seed are the first seed's. A seed that stopped early adds
 * what it measured, and the pooled figures say which seeds stopped.
 */
export function poolSeeds(runs: readonly RunFigures[]): RunFigures {
  const [first] = runs;
  if (first === undefined) throw new Error('poolSeeds: no runs');
  const records = runs.flatMap((f) => (f.records ? [f.records] : []));
  const stopped = runs.filter((f) => f.stopped !== undefined).map((f) => `seed ${f.seed}: ${f.stopped}`);
  const samples = runs.reduce((sum, f) => sum + (f.links?.samples ?? 0), 0);
  const weighted = (pick: (l: NonNullable<RunFigures['links']>) => number | null) =>
    samples === 0 ? null : Math.round((runs.reduce((sum, f) => sum + (f.links ? (pick(f.links) ?? 0) * f.links.samples : 0), 0) / samples) * 10_000) / 10_000;
  const { stopped: _stopped, records: _records, ...firstSeed } = first;
  return {
    ...firstSeed,
    ...(records.length > 0
      ? { lookups: lookupFigures(records.flatMap((r) => r.lookups)), sends: sendFigures(records.flatMap((r) => r.sends)) }
      : {}),
    links: {
      linksMax: Math.max(...runs.map((f) => f.links?.linksMax ?? 0)),
      linksMean: weighted((l) => l.linksMean),
      overBudgetMeanFraction: weighted((l) => l.overBudgetMeanFraction),
      samples,
    },
    windowSec: Math.round(runs.reduce((sum, f) => sum + (f.windowSec ?? 0), 0) * 10) / 10,
    departures: runs.reduce((sum, f) => sum + (f.departures ?? 0), 0),
    wallSec: Math.round(runs.reduce((sum, f) => sum + f.wallSec, 0) * 10) / 10,
    peakRssMiB: Math.max(...runs.map((f) => f.peakRssMiB)),
    ...(stopped.length > 0 ? { stopped: stopped.join('; ') } : {}),
  };
}
