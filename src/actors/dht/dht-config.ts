import { PeerSockError } from '../../errors.js';
import { MAX_PEERS, MAX_RECORDS } from './dht-messages.js';
import { DEFAULT_LINK_BUDGET } from './link-planner.js';
import { DEFAULT_PROVIDER_POLICY } from './provider-record.js';
import { DEFAULT_K } from './routing-table.js';

/** Size and timing of the DHT actor. Every wait has a timeout. */
export interface DhtConfig {
  /** Contacts per bucket, and the default answer size of a lookup. */
  k: number;
  /** Links the node holds in total, ring neighbours and links others opened to it included. */
  linkBudget: number;
  /** A lookup this node started that gets no `closest` within this fails with TIMEOUT. */
  lookupTimeoutMs: number;
  /**
   * A lookup with no answer after this is sent again, routed around the peers its silent tries
   * went through (lookup-retry.ts), and again every lookupRetryMs until it settles; at or above
   * lookupTimeoutMs it is never re-sent. Well above a lookup's usual round trip (p99 0.4–0.55 s
   * in the simulator under churn), well below the heartbeat's detection of a crashed link (15–20 s).
   */
  lookupRetryMs: number;
  /** Lookups started here and not yet answered; more are refused with BACKPRESSURE. */
  maxPendingLookups: number;
  /**
   * Mean period of link planning (each round jittered ±50% so nodes never synchronise); also
   * the most often a changed link set is announced to the links, and how long a dial may take
   * before the contact counts as failed.
   */
  planIntervalMs: number;
  /** A contact asked for liveness that stays silent this long has failed. */
  pingTimeoutMs: number;
  /** k': a provider record is stored at this many peers XOR-closest to its service key. */
  replication: number;
  /** Lifetime of the provider records this node signs (at most the provider policy's maxTtlMs). */
  recordTtlMs: number;
  /**
   * A provided service is announced again this often (less than recordTtlMs, so a record is
   * renewed before it expires even if one round fails; a holder that crashed is replaced then).
   */
  reannounceIntervalMs: number;
  /** Holders asked in turn by findProviders when the node a query reaches has no record. */
  providerQueryFanout: number;
  /** Provider records this node holds for others, in all / per service (the store's bounds). */
  maxStoredRecords: number;
  maxProvidersPerService: number;
}

export const DEFAULT_DHT_CONFIG: DhtConfig = Object.freeze({
  k: DEFAULT_K,
  linkBudget: DEFAULT_LINK_BUDGET,
  lookupTimeoutMs: 5_000,
  lookupRetryMs: 1_000,
  maxPendingLookups: 256,
  planIntervalMs: 10_000,
  pingTimeoutMs: 3_000,
  replication: 8,
  recordTtlMs: 20 * 60_000,
  reannounceIntervalMs: 10 * 60_000,
  providerQueryFanout: 3,
  maxStoredRecords: 10_000,
  maxProvidersPerService: MAX_RECORDS,
});

/** Defaults filled in and every field checked; throws PeerSockError INVALID_ARGUMENT. */
export function dhtConfig(partial: Partial<DhtConfig> = {}): DhtConfig {
  const config = { ...DEFAULT_DHT_CONFIG, ...partial };
  const integer = (name: keyof DhtConfig, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const value = config[name];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new PeerSockError('INVALID_ARGUMENT', `dht ${name} must be an integer in ${min}..${max}, got ${String(value)}`);
    }
  };
  // A lookup answer carries at most MAX_PEERS peers on the wire.
  integer('k', 1, MAX_PEERS);
  integer('linkBudget', 1, 1_024);
  integer('lookupTimeoutMs', 1);
  integer('lookupRetryMs', 1);
  integer('maxPendingLookups', 1);
  integer('planIntervalMs', 1);
  integer('pingTimeoutMs', 1);
  integer('replication', 1, config.k);
  // Receivers refuse records that live longer than the policy allows: ours must pass their check.
  integer('recordTtlMs', 1, DEFAULT_PROVIDER_POLICY.maxTtlMs);
  integer('reannounceIntervalMs', 1, config.recordTtlMs - 1);
  integer('providerQueryFanout', 1, MAX_PEERS);
  integer('maxStoredRecords', 1);
  // A `providers` answer carries at most MAX_RECORDS records.
  integer('maxProvidersPerService', 1, MAX_RECORDS);
  return config;
}
