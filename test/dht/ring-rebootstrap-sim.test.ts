/**
 * The ring's re-bootstrap seam fed by the DHT: with every signaling server down, a node whose
 * predecessor and whole successor list crash re-joins through the DHT's contacts (the only
 * peers it can still name), and the ring is whole again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeViolations } from '../../sim/invariants.js';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import type { RingConfig } from '../../src/actors/ring/ring-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG, detectionTimeoutMs } from '../../src/cli/sim-profile.js';

/** Short successor lists, so exhausting one takes few crashes in a small network. */
const RING: RingConfig = { ...PROPERTY_RING_CONFIG, successorListLength: 3 };
const NODES = 20;

const open: Simulator[] = [];
afterEach(async () => {
  for (const sim of open.splice(0)) await sim.close();
});

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
    for (const id of [view.predecessor!, ...view.successors]) sim.crash(sim.byId(id)!);
    const states: string[] = [];
    const healed = await sim.runUntil(() => {
      const state = node.ring()!.state;
      if (states.at(-1) !== state) states.push(state);
      return ringCheck(sim).length === 0;
    }, detectionTimeoutMs(PROPERTY_CONNECTION) + 30_000);
    expect(healed, describeViolations(ringCheck(sim))).toBe(true);

    // Its successor list ran out, so it re-bootstrapped; with the servers down, only the DHT
    // could name a peer to join through: had it named none, sampling would have gone straight
    // to `member` as a ring of one (the path the ring takes when it has no candidate at all).
    const rebootstrap = states.indexOf('rebootstrapping');
    expect(rebootstrap, states.join(' → ')).toBeGreaterThanOrEqual(0);
    expect(states.slice(rebootstrap), states.join(' → ')).toContain('joining.locating');
  }, 300_000);
});
