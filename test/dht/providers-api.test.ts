/** provide / unprovide / findProviders on the node API: argument checks, coded rejections, and a round trip. */
import { describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import { DEFAULT_DHT_CONFIG } from '../../src/actors/dht/dht-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import type { NodeEvent } from '../../src/node/node-api.js';
import { settledCode } from '../helpers/error-code.js';
import { closedAfterEach } from '../helpers/simulators.js';

const open = closedAfterEach();

const DHT = { recordTtlMs: 60_000, reannounceIntervalMs: 20_000 };

function simulator(nodes: number): Simulator {
  const sim = createSimulator({ seed: 78, nodes, connection: PROPERTY_CONNECTION, ring: PROPERTY_RING_CONFIG, dht: DHT });
  open.push(sim);
  return sim;
}

describe('provide and findProviders', () => {
  it('rejects bad arguments with INVALID_ARGUMENT', async () => {
    const node = simulator(1).alive()[0]!.node;
    expect(await settledCode(node.provide('has space'))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.provide(''))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.provide('module:x', { ttlMs: DHT.reannounceIntervalMs }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.provide('module:x', { ttlMs: 31 * 60_000 }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.findProviders('x'.repeat(129)))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.findProviders('module:x', { count: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(node.findProviders('module:x', { count: 21 }))).toBe('INVALID_ARGUMENT');
  });

  it('a node that knows nobody rejects with NOT_CONNECTED; without the DHT too', async () => {
    const alone = simulator(1).alive()[0]!.node;
    expect(await settledCode(alone.provide('module:x'))).toBe('NOT_CONNECTED');
    expect(await settledCode(alone.findProviders('module:x'))).toBe('NOT_CONNECTED');
    const plain = createSimulator({ seed: 1, nodes: 1 });
    open.push(plain);
    expect(await settledCode(plain.alive()[0]!.node.provide('module:x'))).toBe('NOT_CONNECTED');
    expect(await settledCode(plain.alive()[0]!.node.findProviders('module:x'))).toBe('NOT_CONNECTED');
  });

  it('two linked nodes: one provides, the other finds its signed record; unprovide stops the rounds; stopped: NODE_STOPPED', async () => {
    const sim = simulator(2);
    await sim.runUntil(() => sim.alive().every((n) => n.node.peers().length === 1), 20_000);
    const [a, b] = sim.alive();
    const rounds: NodeEvent[] = [];
    a!.node.events$.subscribe((event) => event.type === 'dht.announced' && rounds.push(event));
    const handle = await sim.until(a!.node.provide('module:x'), 10_000);
    expect(handle.service).toBe('module:x');
    expect(new Set(handle.holders)).toEqual(new Set([a!.id, b!.id]));
    const records = await sim.until(b!.node.findProviders('module:x'), 10_000);
    expect(records.map((r) => r.provider)).toEqual([a!.id]);
    expect(records[0]!.expiresAt - records[0]!.issuedAt).toBe(DHT.recordTtlMs);
    expect(await sim.until(b!.node.findProviders('module:nobody'), 10_000)).toEqual([]);

    // A round is due one interval later (a little earlier, at random) and runs at the next plan round.
    await sim.advance(DHT.reannounceIntervalMs + DEFAULT_DHT_CONFIG.planIntervalMs + 2_000);
    expect(rounds).toHaveLength(2);
    handle.stop();
    await sim.advance(2 * DHT.reannounceIntervalMs);
    expect(rounds).toHaveLength(2);
    // Nobody renews it now: it is gone once its lifetime is over.
    await sim.advance(DHT.recordTtlMs);
    expect(await sim.until(b!.node.findProviders('module:x'), 10_000)).toEqual([]);

    await sim.leave(a!);
    expect(await settledCode(a!.node.findProviders('module:x'))).toBe('NODE_STOPPED');
    expect(await settledCode(a!.node.provide('module:x'))).toBe('NODE_STOPPED');
  });
});
