/**
 * With every signaling server down, a node whose predecessor and whole successor list crash
 * finds its place again through the DHT: its DHT links lie all round the ring, and the ring
 * adopts a linked peer between itself and its successor (ring.machine.ts adoptLinkedSuccessors),
 * so its list never runs dry and it needs no re-join. (Before that rule it re-bootstrapped
 * through the DHT's contacts — the seam `bootstrapCandidates` → dhtBootstrapContacts, unit-tested
 * in dht-providers.test.ts — which stays the way back for a node left with no link at all.)
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeViolations } from '../../sim/invariants.js';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import type { RingConfig } from '../../src/actors/ring/ring-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG, detectionTimeoutMs } from '../../src/cli/sim-profile.js';
import { closedAfterEach } from '../helpers/simulators.js';

/** Short successor lists, so exhausting one takes few crashes in a small network. */
const RING: RingConfig = { ...PROPERTY_RING_CONFIG, successorListLength: 3 };
const NODES = 20;

const open = closedAfterEach();

const ringCheck = (sim: Simulator) => checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false });

describe('ring re-bootstrap through the DHT', () => {
  it('signaling down, predecessor and every successor crashed: the node re-joins through DHT contacts', async () => {
    const sim = createSimulator({ seed: 61, nodes: NODES, connection: PROPERTY_CONNECTION, ring: RING, dht: { planIntervalMs: 2_000 } });
    open.push(sim);
    expect(await sim.runUntil(() => ringCheck(sim).length === 0, 60_000), describeViolations(ringCheck(sim))).toBe(true);
    await sim.advance(10_000);
    sim.shutdownSignaling();

    const node = sim.alive()[5]!;
    const view = node.ring()!;
    const crashed = new Set([view.predecessor!, ...view.successors]);
    const linkedBefore = new Set(node.node.peers().filter((peer) => !crashed.has(peer)));
    expect(linkedBefore.size).toBeGreaterThan(0);
    for (const id of crashed) sim.crash(sim.byId(id)!);
    const states: string[] = [];
    const healed = await sim.runUntil(() => {
      const state = node.ring()!.state;
      if (states.at(-1) !== state) states.push(state);
      return ringCheck(sim).length === 0;
    }, detectionTimeoutMs(PROPERTY_CONNECTION) + 30_000);
    expect(healed, describeViolations(ringCheck(sim))).toBe(true);

    // It kept its place: no re-join, and its new successor is a peer it was already linked to.
    expect(states, states.join(' → ')).not.toContain('rebootstrapping');
    expect(linkedBefore.has(node.ring()!.successors[0]!)).toBe(true);
  }, 300_000);
});
