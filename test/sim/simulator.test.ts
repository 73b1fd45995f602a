import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { checkConnected, checkNoActorErrors, checkNoStuckTransients, connectionTransientTimeouts } from '../../sim/invariants.js';
import { createSimulator, type SimNodeHandle, type Simulator, type SimulatorOptions } from '../../sim/simulator.js';
import type { NodeEvent } from '../../src/node/node-api.js';
import { closedAfterEach } from '../helpers/simulators.js';

/**
 * The simulator running the production node runtime, checked at the transport level: nodes
 * connect through the in-memory hub, and crashes, leaves, partitions, loss, latency spikes
 * and a signaling outage have the effects they should. The ring-level properties live in
 * ring-sim.pending.ts until the ring actor lands.
 */
const FAST: SimulatorOptions['connection'] = { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 3_000 };

const open = closedAfterEach();
function simulator(options: Partial<SimulatorOptions> = {}): Simulator {
  const sim = createSimulator({ seed: 1, connection: FAST, ...options });
  open.push(sim);
  return sim;
}

function events(node: SimNodeHandle, sim: Simulator) {
  const seen: (NodeEvent & { at: number })[] = [];
  node.node.events$.subscribe((event) => seen.push({ ...event, at: sim.now() }));
  return seen;
}

/** Connects node i to i+1 and 0 to every other: a small mesh. */
async function mesh(sim: Simulator): Promise<void> {
  const nodes = sim.alive();
  for (let i = 0; i + 1 < nodes.length; i += 1) await sim.connect(nodes[i]!, nodes[i + 1]!);
  for (let i = 2; i < nodes.length; i += 1) await sim.connect(nodes[0]!, nodes[i]!);
}

/** A fixed run touching every fault the simulator offers; returns the trace hash. */
async function standardRun(seed: number): Promise<{ hash: string; total: number; sim: Simulator }> {
  const sim = simulator({ seed, nodes: 6, latency: { jitterMs: 5 } });
  await mesh(sim);
  const [a, b, c, d, e, f] = sim.nodes() as SimNodeHandle[];
  for (let i = 0; i < 20; i += 1) void a!.node.send(b!.id, 'app/test', new Uint8Array([i]));
  sim.setLoss(0.05);
  sim.spike(3, 2_000);
  await sim.advance(3_000);
  sim.crash(f!);
  sim.partition([[a!, b!, c!], [d!, e!]]);
  await sim.advance(5_000);
  sim.heal();
  sim.setLoss(0);
  await sim.leave(c!);
  await sim.connect(d!, b!);
  await sim.advance(2_000);
  return { hash: sim.traceHash(), total: sim.traceTotal(), sim };
}

describe('simulator: determinism', () => {
  it('the same seed and the same run give the identical trace hash; another seed does not', async () => {
    const first = await standardRun(11);
    const second = await standardRun(11);
    const other = await standardRun(12);
    expect(first.total).toBeGreaterThan(250);
    expect(second.total).toBe(first.total);
    expect(second.hash).toBe(first.hash);
    expect(other.hash).not.toBe(first.hash);
    // Identities come from the seed too.
    expect(second.sim.nodes().map((n) => n.id)).toEqual(first.sim.nodes().map((n) => n.id));
    expect(other.sim.nodes()[0]!.id).not.toBe(first.sim.nodes()[0]!.id);
  });

  it('the trace names actors by stable ids only, never XState session ids', async () => {
    const { sim } = await standardRun(3);
    const actors = new Set(sim.trace.map((entry) => entry.actor));
    expect(actors.size).toBeGreaterThan(3);
    for (const actor of actors) {
      // Invoked children get ids from their state path (`0.peer.attempt.authenticating.proving`): stable too.
      expect(actor).toMatch(/^(sim|root|transport)(\/peer:[0-9a-f]{64}(\/[\w.]+)?|\/heartbeat)?$/);
      expect(actor).not.toMatch(/\bx:\d+/);
    }
    expect(checkNoActorErrors(sim.trace)).toEqual([]);
  });

  it('sim/ reads no wall time, no Math.random and sets no real timers', () => {
    const dir = new URL('../../sim/', import.meta.url);
    const offenders: string[] = [];
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, dir), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const pattern of [/Date\.now/, /Math\.random/, /performance\.now/, /new Date\(/, /(?<![.\w])set(Timeout|Interval)\((?!\w+\s*:)/]) {
        if (pattern.test(source)) offenders.push(`${file}: ${pattern}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('simulator: nodes over the hub and the memory network', () => {
  it('nodes find each other through the hub, connect, authenticate and exchange messages', async () => {
    const sim = simulator({ nodes: 4 });
    const [a, b] = sim.nodes() as SimNodeHandle[];
    // Actors started before the simulator subscribed are in the trace from their first state on.
    const initial = sim.actorStates().filter((s) => s.node === a!.shortId);
    expect(initial.map((s) => [s.actor, s.since]).sort()).toEqual([
      ['root', 0],
      ['transport', 0],
    ]);
    const sample = await sim.until(a!.node.samplePeers(10), 1_000);
    expect([...sample].sort()).toEqual(sim.nodes().slice(1).map((n) => n.id).sort());
    await mesh(sim);
    expect(checkConnected(sim.adjacency())).toEqual([]);
    expect([...a!.node.peers()].sort()).toEqual(sim.nodes().slice(1).map((n) => n.id).sort());
    const received: string[] = [];
    b!.node.messages$.subscribe((m) => received.push(`${m.from.slice(0, 4)}:${Buffer.from(m.data).toString()}`));
    await sim.until(a!.node.send(b!.id, 'app/hello', Buffer.from('hi')), 1_000);
    await sim.advance(500);
    expect(received).toEqual([`${a!.id.slice(0, 4)}:hi`]);
    expect(sim.signaling.stats().signalsDelivered).toBeGreaterThan(0);
    const states = sim.actorStates();
    expect(states.some((s) => s.state === 'attempt.open.alive')).toBe(true);
    expect(checkNoStuckTransients(states, sim.now(), connectionTransientTimeouts(sim.config))).toEqual([]);
  });

  it('a crash is silent: peers learn of it only by heartbeat timeout, and the node leaves no trace after it', async () => {
    const sim = simulator({ nodes: 3 });
    await mesh(sim);
    const [a, b, c] = sim.nodes() as SimNodeHandle[];
    const seenByA = events(a!, sim);
    await sim.advance(500);
    const crashAt = sim.now();
    sim.crash(c!);
    expect(sim.alive().map((n) => n.id)).toEqual([a!.id, b!.id]);
    expect(c!.status()).toBe('crashed');
    expect(sim.signaling.isRegistered(c!.id)).toBe(false);
    await sim.advance(FAST!.heartbeatTimeoutMs! + 2 * FAST!.heartbeatIntervalMs!);
    const closed = seenByA.filter((e) => e.type === 'peer.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ peer: c!.id, failure: { code: 'HEARTBEAT_TIMEOUT' } });
    expect(closed[0]!.at - crashAt).toBeGreaterThanOrEqual(FAST!.heartbeatTimeoutMs! - FAST!.heartbeatIntervalMs!);
    expect(sim.trace.filter((entry) => entry.node === c!.shortId && entry.at > crashAt)).toEqual([]);
    expect(sim.actorStates().filter((s) => s.node === c!.shortId)).toEqual([]);
    await expect(sim.until(a!.node.connect(c!.id, { timeoutMs: 5_000 }), 6_000)).rejects.toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER' });
  });

  it('a graceful leave closes its connections at once, without a failure', async () => {
    const sim = simulator({ nodes: 3 });
    await mesh(sim);
    const [a, , c] = sim.nodes() as SimNodeHandle[];
    const seenByA = events(a!, sim);
    const leftAt = sim.now();
    await sim.leave(c!);
    expect(c!.status()).toBe('left');
    const closed = seenByA.filter((e) => e.type === 'peer.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ peer: c!.id });
    expect((closed[0] as { failure?: unknown }).failure).toBeUndefined();
    expect(closed[0]!.at - leftAt).toBeLessThan(1_000);
    expect(a!.node.peers()).not.toContain(c!.id);
  });

  it('a partition cuts links and signaling between groups; after heal the sides reconnect', async () => {
    const sim = simulator({ nodes: 4 });
    await mesh(sim);
    const [a, b, c, d] = sim.nodes() as SimNodeHandle[];
    sim.partition([[a!, b!], [c!, d!]]);
    expect(sim.partitioned()).toBe(true);
    await sim.advance(FAST!.heartbeatTimeoutMs! + 2 * FAST!.heartbeatIntervalMs!);
    expect([...a!.node.peers()]).toEqual([b!.id]);
    expect([...c!.node.peers()]).toEqual([d!.id]);
    expect(checkConnected(sim.adjacency())).toHaveLength(1);
    expect(checkNetwork(sim).map((v) => v.kind)).toEqual(['disconnected']);
    await expect(sim.until(a!.node.connect(c!.id, { timeoutMs: 5_000 }), 6_000)).rejects.toMatchObject({ code: 'SIGNAL_UNKNOWN_PEER' });
    // A node joining during the split lands on one side.
    const late = sim.addNode();
    const reachable = sim.nodes().filter((n) => n !== late && !sim.network.isPartitioned(late.id, n.id));
    expect(reachable.length === 2).toBe(true);
    sim.heal();
    await sim.connect(a!, c!);
    await sim.connect(b!, d!);
    await sim.connect(late, a!);
    expect(checkNetwork(sim)).toEqual([]);
  });

  it('loss delays messages by retransmissions but loses none and keeps their order', async () => {
    const sim = simulator({ nodes: 2 });
    const [a, b] = sim.nodes() as SimNodeHandle[];
    await sim.connect(a!, b!);
    sim.setLoss(0.05);
    const received: number[] = [];
    b!.node.messages$.subscribe((m) => received.push(new DataView(m.data.buffer, m.data.byteOffset).getUint16(0)));
    for (let i = 0; i < 400; i += 1) {
      const data = new Uint8Array(2);
      new DataView(data.buffer).setUint16(0, i);
      await sim.until(a!.node.send(b!.id, 'app/seq', data), 1_000);
      await sim.advance(5);
    }
    await sim.advance(2_000);
    expect(received).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(sim.network.stats().messagesRetransmitted).toBeGreaterThan(5);
  });

  it('a latency spike slows connection set-up by its factor, then passes', async () => {
    const timeToConnect = async (spike: number) => {
      const sim = simulator({ nodes: 2, seed: 4 });
      const [a, b] = sim.nodes() as SimNodeHandle[];
      if (spike > 1) sim.spike(spike, 60_000);
      const start = sim.now();
      await sim.connect(a!, b!);
      return sim.now() - start;
    };
    const calm = await timeToConnect(1);
    const spiked = await timeToConnect(5);
    expect(spiked).toBeGreaterThan(calm * 2.5);
    const sim = simulator({ nodes: 1 });
    sim.spike(5, 1_000);
    expect(sim.latency.spikeFactor()).toBe(5);
    await sim.advance(1_000);
    expect(sim.latency.spikeFactor()).toBe(1);
  });

  it('with signaling down, existing links live on and new connections fail until it is back', async () => {
    const sim = simulator({ nodes: 3 });
    const [a, b, c] = sim.nodes() as SimNodeHandle[];
    await sim.connect(a!, b!);
    sim.shutdownSignaling();
    await expect(sim.until(a!.node.samplePeers(2), 1_000)).rejects.toMatchObject({ code: 'SIGNALING_UNAVAILABLE' });
    await expect(sim.until(a!.node.connect(c!.id, { timeoutMs: 5_000 }), 6_000)).rejects.toMatchObject({ code: 'SIGNALING_UNAVAILABLE' });
    await sim.advance(10_000);
    expect([...a!.node.peers()]).toEqual([b!.id]);
    sim.restoreSignaling();
    await sim.connect(a!, c!);
    expect([...a!.node.peers()].sort()).toEqual([b!.id, c!.id].sort());
  });
});

describe('simulator: trace storage', () => {
  it('keeps a bounded window in memory while the hash and the file cover everything', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'peersock-trace-')), 'trace.jsonl');
    const sim = simulator({ nodes: 3, traceLimit: 20, traceFile: file });
    await mesh(sim);
    await sim.advance(3_000);
    const total = sim.traceTotal();
    // Three times the retained window (20).
    expect(total).toBeGreaterThan(60);
    expect(sim.trace.length).toBeLessThan(40);
    expect(sim.trace.length).toBeGreaterThanOrEqual(20);
    const hash = sim.traceHash();
    await sim.close();
    const text = readFileSync(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    // close() records the final crashes of the nodes it stops.
    const atHash = lines.slice(0, total).map((line) => `${line}\n`).join('');
    expect(createHash('sha256').update(atHash).digest('hex')).toBe(hash);
    expect(lines).toHaveLength(sim.traceTotal());
    expect(JSON.parse(lines[lines.length - 1]!)).toEqual([sim.trace.at(-1)!.at, sim.trace.at(-1)!.node, 'sim', 'sim', 'crash', null, null]);
  });
});
