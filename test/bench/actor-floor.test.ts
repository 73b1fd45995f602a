/**
 * The actor-floor benchmark's parts (bench/actor-work.ts, bench/actor-dispatch.ts): the work it
 * reads off a trace must be the work the actors did, and its floor only the arithmetic it says.
 */
import { Actor } from 'xstate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dispatchCost } from '../../bench/actor-dispatch.js';
import { countActorWork, floorOf } from '../../bench/actor-work.js';
import { checkNetwork } from '../../sim/check-network.js';
import { createSimulator } from '../../sim/simulator.js';
import type { SimTraceEntry } from '../../sim/trace.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { closedAfterEach } from '../helpers/simulators.js';

const open = closedAfterEach();
afterEach(() => {
  vi.restoreAllMocks();
});

const entry = (kind: SimTraceEntry['kind'], type?: string): SimTraceEntry => ({ at: 0, node: 'n', actor: 'a', kind, ...(type !== undefined ? { type } : {}) });

describe('countActorWork', () => {
  it('counts processed events, not first states, the simulator’s own entries or error notices', () => {
    const work = countActorWork([
      entry('sim', 'join'),
      entry('snapshot', 'sim.initial'),
      entry('actor'),
      entry('snapshot', 'xstate.init'),
      entry('snapshot', 'link.open'),
      entry('snapshot', 'auth.signed'),
      entry('snapshot', 'auth.verified'),
      entry('snapshot', 'auth.verified'),
      entry('event', 'xstate.error.actor.x'),
    ]);
    expect(work).toEqual({ events: 4, actorsStarted: 1, signatures: 1, verifications: 2 });
  });

  it('equals the transitions XState ran, and counts a proof for each end of every open link', async () => {
    const processed = vi.spyOn(Actor.prototype as unknown as { _process(event: unknown): void }, '_process');
    const sim = createSimulator({ seed: 41, nodes: 10, ring: PROPERTY_RING_CONFIG, connection: PROPERTY_CONNECTION, traceLimit: 1_000_000 });
    open.push(sim);
    const correct = () => checkNetwork(sim, { ring: { successorListLength: PROPERTY_RING_CONFIG.successorListLength }, connected: false }).length === 0;
    expect(await sim.runUntil(correct, 60_000)).toBe(true);
    expect(sim.traceTotal()).toBe(sim.trace.length);
    const work = countActorWork(sim.trace);
    expect(work.events).toBeGreaterThan(0);
    expect(work.events).toBe(processed.mock.calls.length);
    const linkEnds = sim.alive().reduce((sum, handle) => sum + handle.node.peers().length, 0);
    expect(linkEnds).toBeGreaterThan(0);
    expect(work.signatures).toBeGreaterThanOrEqual(linkEnds);
    expect(work.verifications).toBeGreaterThanOrEqual(linkEnds);
  });
});

describe('floorOf', () => {
  it('scales the counted work to the target size and prices each event and proof', () => {
    const floor = floorOf({
      nodes: 10_000,
      countedNodes: 1_000,
      work: { events: 2_000_000, actorsStarted: 0, signatures: 100_000, verifications: 50_000 },
      dispatchUs: 5,
      signUs: 40,
      verifyUs: 100,
    });
    expect(floor.dispatchSec).toBeCloseTo(100, 9); // 10 × 2 M × 5 µs
    expect(floor.cryptoSec).toBeCloseTo(90, 9); // 10 × (100 k × 40 µs + 50 k × 100 µs)
    expect(floor.totalSec).toBeCloseTo(190, 9);
  });
});

describe('dispatchCost', () => {
  it('delivers every event it times to the population, and rejects sizes that are not counts', () => {
    const cost = dispatchCost(50, 5_000, 1_000);
    expect(cost.processed).toBe(6_000);
    expect(cost.usPerEvent).toBeGreaterThan(0);
    expect(Number.isFinite(cost.usPerEvent)).toBe(true);
    expect(() => dispatchCost(0, 10)).toThrow(/population/);
    expect(() => dispatchCost(10, 1.5)).toThrow(/events/);
  });
});
