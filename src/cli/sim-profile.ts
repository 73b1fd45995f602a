import type { TransientTimeouts } from '../../sim/invariants.js';
import type { LookupCheckOptions } from '../../sim/lookup-invariants.js';
import type { SimulatorOptions } from '../../sim/simulator.js';
import type { DhtConfig } from '../actors/dht/dht-config.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../actors/ring/ring-config.js';

/**
 * The simulator configuration the churn property runs with (test/sim/ring-sim.test.ts and
 * `npm run fuzz`): a replay must use the same one or it replays a different run. Faster
 * failure detection and merge probing than production, so scenarios stay short.
 */
export const PROPERTY_RING_CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 8, mergeIntervalMs: 10_000 };
export const PROPERTY_CONNECTION = { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 3_000 } as const satisfies NonNullable<SimulatorOptions['connection']>;

/** The DHT the churn property runs with (test/dht/dht-churn-sim.test.ts, PEERSOCK_FUZZ_DHT=1 npm run fuzz): plans and lookups quick enough for short scenarios. */
export const PROPERTY_DHT_CONFIG = { planIntervalMs: 2_000, lookupTimeoutMs: 5_000, linkBudget: 32 } as const satisfies Partial<DhtConfig>;

/**
 * The lookups the DHT churn property checks after its quiet period (test/dht/dht-churn-sim.test.ts),
 * and `peersock sim --replay` with DHT settings: 3 askers × 3 random targets, the 3 XOR-closest
 * alive peers each, within 10 virtual s, drawn from the scenario's seed.
 */
export function propertyLookupCheck(seed: number): LookupCheckOptions {
  return { askers: 3, targets: 3, count: 3, maxMs: 10_000, seed };
}

/** Scheduling slack on top of each ring timeout. */
const SLACK_MS = 1_000;

/** The ring actor's transient states and how long each may last. */
export function ringTransientTimeouts(ring: RingConfig): TransientTimeouts {
  return (actor, state) => {
    if (!/(^|\/)ring$/.test(actor)) return undefined;
    if (state.startsWith('joining.linking')) return ring.linkTimeoutMs + SLACK_MS;
    if (state.startsWith('joining')) return ring.lookupTimeoutMs + SLACK_MS;
    if (state.startsWith('rebootstrapping')) return ring.rebootstrapMaxMs * 1.5 + SLACK_MS;
    if (state.includes('maintenance.stabilizing')) return ring.requestTimeoutMs + SLACK_MS;
    if (state.includes('maintenance.awaitingLink')) return Math.min(ring.linkTimeoutMs, 2 * ring.requestTimeoutMs) + SLACK_MS;
    return undefined;
  };
}

/** Failure detection after a silent crash: heartbeat timeout plus one heartbeat interval. */
export function detectionTimeoutMs(connection: { heartbeatIntervalMs: number; heartbeatTimeoutMs: number }): number {
  return connection.heartbeatTimeoutMs + connection.heartbeatIntervalMs;
}
