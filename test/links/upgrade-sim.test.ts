/**
 * Upgrades of busy routed conversations in the simulator: real node runtimes on a formed ring,
 * every signaling server gone. Two nodes without a link exchange enough routed messages to make
 * their conversation busy; a direct link opens, signaled through the overlay; later messages use
 * it; once the conversation goes quiet, the link closes again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { createSimulator, type SimNodeHandle, type Simulator } from '../../sim/simulator.js';
import type { RingConfig } from '../../src/actors/ring/ring-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import type { NodeEvent } from '../../src/node/node-api.js';
import { closedAfterEach } from '../helpers/simulators.js';

const RING: RingConfig = { ...PROPERTY_RING_CONFIG, successorListLength: 2 };
const UPGRADE = { threshold: 8, windowMs: 5_000, idleMs: 20_000 };

const open = closedAfterEach();
afterEach(() => {
  vi.restoreAllMocks();
});

function simulator(upgrade: typeof UPGRADE | false): Simulator {
  const sim = createSimulator({ seed: 17, nodes: 12, connection: PROPERTY_CONNECTION, ring: RING, routing: { ackTimeoutMs: 4_000 }, upgrade });
  open.push(sim);
  return sim;
}

async function formedWithoutServers(sim: Simulator): Promise<void> {
  const ok = await sim.runUntil(() => checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false }).length === 0, 60_000);
  expect(ok).toBe(true);
  await sim.advance(5_000);
  sim.shutdownSignaling();
}

/** Two nodes with no link either way, neither a ring neighbour of the other. */
function unlinkedPair(sim: Simulator): [SimNodeHandle, SimNodeHandle] {
  for (const a of sim.alive()) {
    for (const b of sim.alive()) {
      if (a !== b && !a.node.peers().includes(b.id) && !b.node.peers().includes(a.id)) return [a, b];
    }
  }
  throw new Error('every pair of nodes is linked');
}

function record(node: SimNodeHandle): NodeEvent[] {
  const events: NodeEvent[] = [];
  node.node.events$.subscribe((event) => events.push(event));
  return events;
}

async function converse(sim: Simulator, a: SimNodeHandle, b: SimNodeHandle, messages: number): Promise<void> {
  for (let i = 0; i < messages; i += 1) {
    await sim.until(a.node.send(b.id, 'app/chat', new Uint8Array([i])), 5_000);
    await sim.advance(100);
  }
}

describe('upgrading a busy routed conversation (simulator, no server left)', () => {
  it('opens a direct link through the overlay at the threshold, uses it, and closes it when the conversation goes quiet, and XState never warns', async () => {
    // The upgrade actor and the router drove the transport from inside their actions: XState
    // warned "Custom actions should not call assign()" (10 times here). Their ports are deferred.
    const warn = vi.spyOn(console, 'warn');
    const sim = simulator(UPGRADE);
    await formedWithoutServers(sim);
    const [a, b] = unlinkedPair(sim);
    const events = record(a);
    const signalsBefore = a.node.signalPaths();

    await converse(sim, a, b, UPGRADE.threshold + 4);
    await sim.runUntil(() => a.node.peers().includes(b.id), 5_000);
    expect(a.node.peers()).toContain(b.id);
    expect(events).toContainEqual({ type: 'upgrade.opened', peer: b.id });
    // No server could have carried its signals.
    const signals = a.node.signalPaths();
    expect(signals.overlaySent).toBeGreaterThan(signalsBefore.overlaySent);
    expect(signals.serverReceived).toBe(signalsBefore.serverReceived);

    // Kept while it is used, closed after idleMs of silence.
    await converse(sim, a, b, 10);
    await sim.advance(UPGRADE.idleMs / 2);
    await converse(sim, a, b, 2);
    expect(a.node.peers()).toContain(b.id);
    await sim.runUntil(() => !a.node.peers().includes(b.id), 2 * UPGRADE.idleMs);
    expect(a.node.peers()).not.toContain(b.id);
    expect(events).toContainEqual({ type: 'upgrade.closed', peer: b.id, reason: 'idle' });
    // And the conversation goes on, routed.
    await converse(sim, a, b, 1);
    expect(warn.mock.calls.filter((args) => String(args[0]).includes('Custom actions should not call'))).toEqual([]);
  });

  it('control: with upgrades off, the same conversation stays routed', async () => {
    const sim = simulator(false);
    await formedWithoutServers(sim);
    const [a, b] = unlinkedPair(sim);
    await converse(sim, a, b, UPGRADE.threshold + 4);
    await sim.advance(2_000);
    expect(a.node.peers()).not.toContain(b.id);
  });
});
