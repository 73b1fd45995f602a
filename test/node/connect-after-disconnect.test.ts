/**
 * connect() right after a disconnect() that was not awaited: the connection is being closed, so
 * connect() must not resolve on it (it used to, and the link then closed), and the close it
 * reports first is not connect()'s outcome: the transport dials again once the old one is gone.
 */
import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../sim/simulator.js';
import { closedAfterEach } from '../helpers/simulators.js';

const sims = closedAfterEach();

describe('connect() after an unawaited disconnect()', () => {
  it('resolves on a fresh connection that stays open', async () => {
    const sim = createSimulator({ seed: 5 });
    sims.push(sim);
    const a = sim.addNode();
    const b = sim.addNode();
    await sim.until(a.node.connect(b.id), 5_000);
    expect(a.node.peers()).toContain(b.id);

    const closing = a.node.disconnect(b.id);
    const again = a.node.connect(b.id);
    await sim.until(again, 15_000);
    await sim.until(closing, 5_000);
    await sim.advance(5_000);
    expect(a.node.peers()).toContain(b.id);
    expect(b.node.peers()).toContain(a.id);
    // The old connection closed and a new one opened: two opens on a's side in all.
    expect(sim.network.stats().connections).toBeGreaterThanOrEqual(2);
  });
});
