import { afterEach, describe, expect, it } from 'vitest';
import { crashedIds } from '../../sim/check-network.js';
import { checkRoutedSettled, startRoutedTraffic, type RoutedRecord } from '../../sim/routed-traffic.js';
import { scenarioFromJson, scenarioToJson, validateScenario } from '../../sim/scenario.js';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const a = 'a'.repeat(64) as PeerId;
const b = 'b'.repeat(64) as PeerId;
const record = (outcome: string, deliveries = outcome === 'acked' ? 1 : 0): RoutedRecord => ({ id: 0, origin: a, target: b, sentAt: 0, outcome, deliveries });

describe('routed traffic invariant', () => {
  it('holds for acked and explicitly failed sends', () => {
    expect(checkRoutedSettled([record('acked'), record('UNREACHABLE'), record('TIMEOUT'), record('TTL_EXPIRED')], new Set())).toEqual([]);
  });

  it('flags a send that never settled, one failed without a reason, one delivered twice, and an ack without delivery', () => {
    const kinds = (records: RoutedRecord[]) => checkRoutedSettled(records, new Set()).map((v) => v.kind);
    expect(kinds([record('pending')])).toEqual(['routed-unsettled']);
    expect(kinds([record('uncoded: Error: boom')])).toEqual(['routed-unsettled']);
    expect(kinds([record('acked', 2)])).toEqual(['routed-duplicate']);
    expect(kinds([record('acked', 0)])).toEqual(['routed-unsettled']);
  });

  it('exempts a crashed origin from settling (its promises died with it), not from duplicates', () => {
    expect(checkRoutedSettled([record('pending')], new Set([a]))).toEqual([]);
    expect(checkRoutedSettled([record('pending', 2)], new Set([a])).map((v) => v.kind)).toEqual(['routed-duplicate']);
  });

  it('scenarios carry routedEveryMs through a replay file, and refuse a bad one', () => {
    const scenario = { seed: 1, nodes: 3, steps: [], quietMs: 1_000, routedEveryMs: 500 };
    expect(scenarioFromJson(scenarioToJson(scenario))).toEqual(scenario);
    expect(() => validateScenario({ ...scenario, routedEveryMs: 0 })).toThrow(/routedEveryMs/);
  });
});

describe('routed traffic in the simulator', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('sends between unlinked nodes, and each send settles: acked and delivered once, or failed with a code', async () => {
    sim = createSimulator({ seed: 9, nodes: 12, connection: PROPERTY_CONNECTION, ring: { ...PROPERTY_RING_CONFIG, successorListLength: 2 }, routing: { ackTimeoutMs: 3_000 } });
    await sim.advance(30_000);
    const traffic = startRoutedTraffic(sim, { everyMs: 200, seed: 9 });
    await sim.advance(10_000);
    sim.crash(sim.alive()[3]!);
    await sim.advance(5_000);
    traffic.stop();
    await sim.advance(5_000);
    expect(traffic.records.length).toBeGreaterThan(40);
    expect(traffic.records.filter((r) => r.outcome === 'acked').length).toBeGreaterThan(traffic.records.length / 2);
    expect(checkRoutedSettled(traffic.records, crashedIds(sim))).toEqual([]);
  });
});
