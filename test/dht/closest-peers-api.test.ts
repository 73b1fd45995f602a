/** closestPeers on the node API: argument checks and the coded rejections, on small simulations. */
import { describe, expect, it } from 'vitest';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../sim/simulator.js';
import { positionHex } from '../../src/actors/ring/id-space.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { settledCode } from '../helpers/error-code.js';
import { closedAfterEach } from '../helpers/simulators.js';

const open = closedAfterEach();

function simulator(nodes: number, extra: Partial<SimulatorOptions> = {}): Simulator {
  const sim = createSimulator({ seed: 77, nodes, connection: PROPERTY_CONNECTION, ring: PROPERTY_RING_CONFIG, dht: {}, ...extra });
  open.push(sim);
  return sim;
}

describe('closestPeers', () => {
  it('rejects bad arguments with INVALID_ARGUMENT', async () => {
    const node = simulator(1).alive()[0]!.node;
    expect(await settledCode(node.closestPeers('not an id'))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.closestPeers({ position: 'zz' }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.closestPeers(node.id, 0))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.closestPeers(node.id, 33))).toBe('INVALID_ARGUMENT');
  });

  it('a node that knows nobody rejects with NOT_CONNECTED; without the DHT too', async () => {
    const alone = simulator(1).alive()[0]!;
    expect(await settledCode(alone.node.closestPeers({ position: positionHex(alone.id) }))).toBe('NOT_CONNECTED');
    const plain = createSimulator({ seed: 1, nodes: 1 });
    open.push(plain);
    expect(await settledCode(plain.alive()[0]!.node.closestPeers(plain.alive()[0]!.id))).toBe('NOT_CONNECTED');
  });

  it('the DHT without the ring is refused up front', () => {
    expect(() => createSimulator({ seed: 1, nodes: 1, dht: {} })).toThrow(/ring/);
  });

  it('two linked nodes answer each other at once, and a stopped node rejects with NODE_STOPPED', async () => {
    const sim = simulator(2);
    await sim.runUntil(() => sim.alive().every((n) => n.node.peers().length === 1), 20_000);
    const [a, b] = sim.alive();
    const peers = await sim.until(a!.node.closestPeers(b!.id, 2), 1_000);
    expect(new Set(peers)).toEqual(new Set([a!.id, b!.id]));
    expect(peers[0]).toBe(b!.id);
    await sim.leave(a!);
    expect(await settledCode(a!.node.closestPeers(b!.id))).toBe('NODE_STOPPED');
  });
});
