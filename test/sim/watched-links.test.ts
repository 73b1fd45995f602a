/**
 * Watched links in the simulator (ConnectionConfig.unwatchedHeartbeatFactor): a ring node
 * watches its predecessor and first successor closely and its other links loosely, so a crash
 * is noticed within the heartbeat timeout by the victim's two ring neighbours, and within the
 * longer unwatched timeout by the rest of the nodes linked to it; a calm ring then sends far
 * fewer keepalives.
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeViolations } from '../../sim/invariants.js';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import { unwatchedTimeoutMs, type ConnectionConfig } from '../../src/actors/transport/connection-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { closedAfterEach } from '../helpers/simulators.js';

const RING = { ...PROPERTY_RING_CONFIG, successorListLength: 4 };
const { heartbeatIntervalMs: INTERVAL, heartbeatTimeoutMs: TIMEOUT } = PROPERTY_CONNECTION;

const open = closedAfterEach();

async function formedRing(factor: number, connection: Partial<ConnectionConfig> = {}): Promise<Simulator> {
  const sim = createSimulator({ seed: 21, nodes: 12, ring: RING, connection: { ...PROPERTY_CONNECTION, unwatchedHeartbeatFactor: factor, ...connection } });
  open.push(sim);
  const correct = () => checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false }).length === 0;
  expect(await sim.runUntil(correct, 30_000), describeViolations(checkNetwork(sim, { ring: { successorListLength: 4 } }))).toBe(true);
  // Calm: every link has opened and is watched as the ring needs.
  await sim.advance(5 * INTERVAL);
  return sim;
}

/** Crashes one node; returns when each node linked to it saw the link fail, and who its ring neighbours were. */
async function crashOne(sim: Simulator, waitMs: number) {
  const victim = sim.alive()[5]!;
  const neighbours = new Set<PeerId>();
  for (const node of sim.alive()) {
    const view = node.ring();
    if (view?.predecessor === victim.id || view?.successors[0] === victim.id) neighbours.add(node.id);
  }
  const noticed = new Map<PeerId, number>();
  const subscriptions = sim.alive().map((node) =>
    node.node.events$.subscribe((event) => {
      // A node may also close a link it no longer needs once the ring moved on (no failure then).
      if (event.type === 'peer.closed' && event.peer === victim.id && !noticed.has(node.id)) noticed.set(node.id, sim.now());
    }),
  );
  const linked = sim.alive().filter((node) => node.node.peers().includes(victim.id)).map((node) => node.id);
  const start = sim.now();
  sim.crash(victim);
  await sim.advance(waitMs);
  for (const s of subscriptions) s.unsubscribe();
  const after = (id: PeerId) => (noticed.has(id) ? noticed.get(id)! - start : Infinity);
  return { neighbours, linked, after };
}

describe('watched links', () => {
  it('the ring neighbours of a crashed node notice within the timeout, every other link to it is gone within the unwatched timeout', async () => {
    const factor = 4;
    const unwatchedWithin = unwatchedTimeoutMs({ ...PROPERTY_CONNECTION, unwatchedHeartbeatFactor: factor }) + INTERVAL;
    const sim = await formedRing(factor);
    const { neighbours, linked, after } = await crashOne(sim, unwatchedWithin + INTERVAL);
    const others = linked.filter((id) => !neighbours.has(id));
    expect(neighbours.size).toBe(2);
    expect(others.length).toBeGreaterThan(0);
    for (const id of neighbours) expect(after(id)).toBeLessThanOrEqual(TIMEOUT + INTERVAL);
    for (const id of others) expect(after(id)).toBeLessThanOrEqual(unwatchedWithin);
    // Some link was not watched closely: it outlived the short bound (else the factor did nothing).
    expect(Math.max(...others.map(after))).toBeGreaterThan(TIMEOUT + INTERVAL);
  });

  it('with factor 1 every link notices within the timeout', async () => {
    const sim = await formedRing(1);
    const { linked, after } = await crashOne(sim, TIMEOUT + 2 * INTERVAL);
    for (const id of linked) expect(after(id)).toBeLessThanOrEqual(TIMEOUT + INTERVAL);
  });

  it('a calm ring sends fewer than half the messages it sent with every link watched', async () => {
    const rates: number[] = [];
    for (const factor of [1, 4]) {
      const sim = await formedRing(factor);
      const before = sim.network.stats().messagesSent;
      await sim.advance(60_000);
      rates.push(sim.network.stats().messagesSent - before);
    }
    expect(rates[1]!).toBeLessThan(rates[0]! / 2);
  });

  it('a node whose predecessor crashed, taking the crashed node before it as its new one, notices that within watchAnswerTimeoutMs', async () => {
    const factor = 4;
    const answerMs = 1_000;
    const sim = await formedRing(factor, { watchAnswerTimeoutMs: answerMs });
    // Two neighbours crash together; the node after them had the nearer as its watched
    // predecessor and a loosely kept link to the farther (it is in that one's successor list).
    const node = sim.alive()[0]!;
    const near = node.ring()!.predecessor!;
    const far = sim.byId(near)!.ring()!.predecessor!;
    expect(node.node.peers()).toContain(far);
    const closedAt = new Map<PeerId, { at: number; code: string | undefined; message: string | undefined }>();
    const subscription = node.node.events$.subscribe((event) => {
      if (event.type === 'peer.closed' && !closedAt.has(event.peer)) closedAt.set(event.peer, { at: sim.now(), code: event.failure?.code, message: event.failure?.message });
    });
    const start = sim.now();
    sim.crash(sim.byId(near)!);
    sim.crash(sim.byId(far)!);
    await sim.advance(unwatchedTimeoutMs({ ...PROPERTY_CONNECTION, unwatchedHeartbeatFactor: factor }) + 2 * INTERVAL);
    subscription.unsubscribe();
    const nearClosed = closedAt.get(near);
    const farClosed = closedAt.get(far);
    expect(nearClosed!.at - start).toBeLessThanOrEqual(TIMEOUT + INTERVAL);
    // Watched from the moment it became the predecessor, and judged by its answer: not at the
    // next heartbeat ticks, nor after the unwatched timeout.
    expect(farClosed, 'the link to the farther crashed node never failed').toBeDefined();
    expect(farClosed!.message).toContain('no answer to a watch');
    expect(farClosed!.at - nearClosed!.at).toBeLessThanOrEqual(answerMs);
  });
});
