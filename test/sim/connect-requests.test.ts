/**
 * The overlay asks for the links it wants every time its view changes; requests for links that
 * are already open or opening never reach the transport actor (node-runtime's requestConnection),
 * and link changes reach the upgrade actor only for links it opened. Both were actor events
 * (and trace entries) with nothing to do: ~70% of the transport's connect events, and one upgrade
 * event per link change, while a large network formed.
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { createSimulator } from '../../sim/simulator.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { closedAfterEach } from '../helpers/simulators.js';

const open = closedAfterEach();

describe('link requests', () => {
  it('a forming ring sends the transport no more connect events than connections it dials, and the upgrade actor no link events', async () => {
    const sim = createSimulator({ seed: 31, nodes: 24, ring: PROPERTY_RING_CONFIG, connection: PROPERTY_CONNECTION, traceLimit: 1_000_000 });
    open.push(sim);
    const correct = () => checkNetwork(sim, { ring: { successorListLength: PROPERTY_RING_CONFIG.successorListLength }, connected: false }).length === 0;
    expect(await sim.runUntil(correct, 60_000)).toBe(true);
    const connects = sim.trace.filter((e) => e.actor === 'transport' && e.kind === 'snapshot' && e.type === 'connect').length;
    const dialled = sim.trace.filter((e) => /^transport\/peer:/.test(e.actor) && e.kind === 'actor').length;
    expect(sim.traceTotal()).toBe(sim.trace.length);
    expect(dialled).toBeGreaterThan(0);
    // Each connect creates an attempt; dialled also counts the listening side's actors.
    expect(connects).toBeLessThanOrEqual(dialled);
    const upgradeLinkEvents = sim.trace.filter((e) => e.actor === 'upgrade' && (e.type === 'link.up' || e.type === 'link.down')).length;
    expect(upgradeLinkEvents).toBe(0);
  });
});
