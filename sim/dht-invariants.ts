import type { ProviderRecord } from '../src/actors/dht/provider-record.js';
import { isPeerSockError } from '../src/errors.js';
import type { PeerId } from '../src/identity/peer-id.js';
import type { SimNodeHandle, Simulator } from './simulator.js';

/**
 * "A provider record is found while its provider lives" (issue 4, item 6), as a pure check over
 * what findProviders answered and what the simulator knows (who is alive, who crashed when),
 * plus the driver that asks. The other half of the same property: a record outlives its
 * provider by at most its lifetime, so a provider crashed longer ago than that is never named.
 */
export type ProviderViolationKind =
  /** A live provider was not named by a query for its service. */
  | 'provider-missing'
  /** A provider named after its last record must have expired (crashed more than a lifetime ago), or a record returned expired. */
  | 'provider-stale'
  /** A query that did not resolve (timeout, no peers): a live provider was not found. */
  | 'provider-query-failed';

export interface ProviderViolation {
  kind: ProviderViolationKind;
  node: string;
  message: string;
}

export interface ServiceProvider {
  service: string;
  provider: PeerId;
}

export interface ProviderQueryResult {
  asker: PeerId;
  service: string;
  /** The records returned, or the error code the query failed with. */
  outcome: { records: readonly ProviderRecord[] } | { error: string };
}

export interface ProviderTruth {
  /** Wall time of the queries (the simulator's virtual time: its nodes use it as their wall clock). */
  now: number;
  alive: ReadonlySet<PeerId>;
  /** When each crashed (or departed) provider went. */
  goneAt: ReadonlyMap<PeerId, number>;
  /** The longest lifetime a record may have (the providers' recordTtlMs). */
  ttlMs: number;
}

const short = (id: string) => id.slice(0, 10);

/** Violations of the property in `results`; empty when it holds. */
export function providerViolations(results: readonly ProviderQueryResult[], provided: readonly ServiceProvider[], truth: ProviderTruth): ProviderViolation[] {
  const violations: ProviderViolation[] = [];
  for (const result of results) {
    const live = provided.filter((p) => p.service === result.service && truth.alive.has(p.provider));
    if ('error' in result.outcome) {
      if (live.length > 0) {
        violations.push({ kind: 'provider-query-failed', node: short(result.asker), message: `${result.service}: query failed with ${result.outcome.error} while ${live.length} provider(s) live` });
      }
      continue;
    }
    // An expired record names nobody: it is reported below, and does not count as finding its provider.
    const named = new Set(result.outcome.records.filter((record) => record.expiresAt > truth.now).map((record) => record.provider));
    for (const { provider } of live) {
      if (!named.has(provider)) violations.push({ kind: 'provider-missing', node: short(result.asker), message: `${result.service}: live provider ${short(provider)} not found` });
    }
    for (const record of result.outcome.records) {
      const goneAt = truth.goneAt.get(record.provider);
      if (record.expiresAt <= truth.now) {
        violations.push({ kind: 'provider-stale', node: short(result.asker), message: `${result.service}: record of ${short(record.provider)} returned expired (${record.expiresAt} <= ${truth.now})` });
      } else if (goneAt !== undefined && truth.now >= goneAt + truth.ttlMs) {
        violations.push({ kind: 'provider-stale', node: short(result.asker), message: `${result.service}: ${short(record.provider)} gone at ${goneAt}, still named at ${truth.now} (lifetime ${truth.ttlMs} ms)` });
      }
    }
  }
  return violations;
}

/** Asks every service from every asker in turn, with virtual time running; never throws for a failed query. */
export async function queryProviders(sim: Simulator, askers: readonly SimNodeHandle[], services: readonly string[], maxMs: number): Promise<ProviderQueryResult[]> {
  const results: ProviderQueryResult[] = [];
  for (const asker of askers) {
    for (const service of services) {
      try {
        const records = await sim.until(asker.node.findProviders(service), maxMs);
        results.push({ asker: asker.id, service, outcome: { records } });
      } catch (error) {
        results.push({ asker: asker.id, service, outcome: { error: isPeerSockError(error) ? error.code : String(error) } });
      }
    }
  }
  return results;
}

export function describeProviderViolations(violations: readonly ProviderViolation[], max = 20): string {
  const lines = violations.slice(0, max).map((v) => `- [${v.kind}] ${v.node}: ${v.message}`);
  if (violations.length > max) lines.push(`- … and ${violations.length - max} more`);
  return lines.join('\n');
}
