import { PeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Position } from '../ring/id-space.js';
import { serviceKey, type ProviderRecord } from './provider-record.js';

/**
 * The provider records a node stores for the keys it is close to. Records must be verified
 * (`verifyProviderRecord`) before `put`; the store only keeps them bounded and fresh:
 *   - one record per (service, provider): the one issued last wins, so a provider re-announcing
 *     replaces its old record and a replayed older one is refused;
 *   - at most `maxPerService` providers per service and `maxTotal` records in all, so a flood
 *     of announcements cannot grow memory; a full service makes room by dropping the record that
 *     expires soonest, if the newcomer outlives it;
 *   - expired records are never returned and are swept by `sweep(now)`.
 *
 * Mutable for the same reason as RoutingTable (one owner actor, mutated only from its actions;
 * `version` bumps on every change). Time is passed in (wall-clock ms, as in the records).
 */

export interface ProviderStoreConfig {
  maxPerService: number;
  maxTotal: number;
}

export const DEFAULT_PROVIDER_STORE_CONFIG: ProviderStoreConfig = Object.freeze({
  maxPerService: 20,
  maxTotal: 10_000,
});

export type PutResult =
  | 'added'
  | 'replaced'
  /** An equal or newer record from the same provider is already stored. */
  | 'stale'
  | 'expired'
  /** No room: the service is full of records that outlive this one, or the store is full. */
  | 'full';

export class ProviderStore {
  readonly config: ProviderStoreConfig;
  version = 0;
  private readonly byKey = new Map<Position, Map<PeerId, ProviderRecord>>();
  private total = 0;
  /** No record expires before this (a lower bound), so `sweep` can return at once when nothing is due. */
  private earliestExpiry = Number.POSITIVE_INFINITY;

  constructor(config: Partial<ProviderStoreConfig> = {}) {
    this.config = { ...DEFAULT_PROVIDER_STORE_CONFIG, ...config };
    for (const name of ['maxPerService', 'maxTotal'] as const) {
      const value = this.config[name];
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new PeerSockError('INVALID_ARGUMENT', `provider store ${name} must be a positive integer, got ${value}`);
      }
    }
  }

  get size(): number {
    return this.total;
  }

  put(record: ProviderRecord, now: number): PutResult {
    if (record.expiresAt <= now) return 'expired';
    const key = serviceKey(record.service);
    const providers = this.byKey.get(key);
    const existing = providers?.get(record.provider);
    if (existing !== undefined) {
      if (existing.issuedAt >= record.issuedAt) return 'stale';
      providers!.set(record.provider, record);
      this.noteExpiry(record);
      this.version += 1;
      return 'replaced';
    }
    if (providers !== undefined && providers.size >= this.config.maxPerService) {
      const soonest = soonestExpiring(providers);
      if (soonest === undefined || soonest.expiresAt >= record.expiresAt) return 'full';
      providers.delete(soonest.provider);
      providers.set(record.provider, record);
      this.noteExpiry(record);
      this.version += 1;
      return 'added';
    }
    if (this.total >= this.config.maxTotal) {
      this.sweep(now);
      if (this.total >= this.config.maxTotal) return 'full';
    }
    const map = this.byKey.get(key) ?? new Map<PeerId, ProviderRecord>();
    if (map.size === 0) this.byKey.set(key, map);
    map.set(record.provider, record);
    this.total += 1;
    this.noteExpiry(record);
    this.version += 1;
    return 'added';
  }

  /** Unexpired records for `key` (a `serviceKey`), latest expiry first, at most `limit`. */
  get(key: Position, now: number, limit: number = this.config.maxPerService): ProviderRecord[] {
    const providers = this.byKey.get(key);
    if (providers === undefined) return [];
    const live = [...providers.values()].filter((r) => r.expiresAt > now);
    live.sort((a, b) => b.expiresAt - a.expiresAt || (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
    return live.slice(0, Math.max(0, limit));
  }

  /** Drops every record expired at `now`; returns how many went. */
  sweep(now: number): number {
    if (now < this.earliestExpiry) return 0;
    let removed = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, providers] of this.byKey) {
      for (const [provider, record] of providers) {
        if (record.expiresAt <= now) {
          providers.delete(provider);
          removed += 1;
        } else {
          earliest = Math.min(earliest, record.expiresAt);
        }
      }
      if (providers.size === 0) this.byKey.delete(key);
    }
    this.total -= removed;
    this.earliestExpiry = earliest;
    if (removed > 0) this.version += 1;
    return removed;
  }

  /** Keys (service keys) with at least one stored record. */
  keys(): Position[] {
    return [...this.byKey.keys()];
  }

  private noteExpiry(record: ProviderRecord): void {
    this.earliestExpiry = Math.min(this.earliestExpiry, record.expiresAt);
  }
}

function soonestExpiring(providers: ReadonlyMap<PeerId, ProviderRecord>): ProviderRecord | undefined {
  let soonest: ProviderRecord | undefined;
  for (const record of providers.values()) if (soonest === undefined || record.expiresAt < soonest.expiresAt) soonest = record;
  return soonest;
}
