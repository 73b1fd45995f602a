import type { RingConfig } from '../src/actors/ring/ring-config.js';
import { propertyLookupCheck, ringTransientTimeouts } from '../src/cli/sim-profile.js';
import { checkNetwork, crashedIds } from './check-network.js';
import type { Violation } from './invariants.js';
import { checkLookups } from './lookup-invariants.js';
import { checkRoutedSettled, type RoutedRecord } from './routed-traffic.js';
import type { Simulator } from './simulator.js';

/**
 * What a churn property checks once its scenario and quiet period are over: every network
 * invariant (the ring, connectivity, no actor past a transient timeout, no actor error), every
 * routed message settled, and, with the DHT on, lookups (propertyLookupCheck). One definition
 * for the property tests, `npm run fuzz` and `peersock sim --replay`, so a replay judges a
 * scenario exactly as the property that found it did.
 */
export async function propertyViolations(
  sim: Simulator,
  run: { seed: number; routed: readonly RoutedRecord[] },
  settings: { ring: RingConfig; dht: boolean },
): Promise<Violation[]> {
  return [
    ...checkNetwork(sim, { ring: { successorListLength: settings.ring.successorListLength }, timeouts: ringTransientTimeouts(settings.ring) }),
    ...checkRoutedSettled(run.routed, crashedIds(sim)),
    ...(settings.dht ? await checkLookups(sim, propertyLookupCheck(run.seed)) : []),
  ];
}
