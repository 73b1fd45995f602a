/**
 * The actor-floor benchmark's parts (bench/actor-work.ts, bench/actor-dispatch.ts): the work it
 * reads off a trace must be the work the actors did, and its floor only the arithmetic it says.
 */
import { Actor } from 'xstate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dispatchCost } from '../../bench/actor-dispatch.js';
import { timeActorEvents } from '../../bench/actor-time.js';
import { countActorWork, floorOf } from '../../bench/actor-work.js';
import { checkNetwork } from '../../sim/check-network.js';
import { createSimulator } from '../../sim/simulator.js';
import { SimulatedSignatures } from '../../sim/simulated-signatures.js';
import type { SimTraceEntry } from '../../sim/trace.js';
import { stateText } from '../../src/supervisor/state-text.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { closedAfterEach } from '../helpers/simulators.js';

const open = closedAfterEach();
afterEach(() => {
  vi.restoreAllMocks();
});

const entry = (kind: SimTraceEntry['kind'], type?: string, state?: string, actor = 'a', status?: string): SimTraceEntry => ({
  at: 0,
  node: 'n',
  actor,
  kind,
  ...(type !== undefined ? { type } : {}),
  ...(state !== undefined ? { state } : {}),
  ...(status !== undefined ? { status } : {}),
});

describe('countActorWork', () => {
  it('counts processed events, not first states, the simulator’s own entries or error notices, and which of them changed state', () => {
    const work = countActorWork([
      entry('sim', 'join'),
      entry('snapshot', 'sim.initial', 'running', 'root'),
      entry('actor'),
      entry('snapshot', 'xstate.init', 'signaling'),
      entry('snapshot', 'link.open', 'authenticating'), // changed
      entry('snapshot', 'auth.signed', 'authenticating'), // stayed
      entry('snapshot', 'auth.verified', 'open'), // changed
      entry('snapshot', 'auth.verified', 'open'), // stayed
      entry('snapshot', 'watch.changed', 'running', 'root'), // stayed
      entry('snapshot', 'link.closed', 'closed', 'a', 'done'), // ended: changed
      entry('snapshot', 'late', 'x', 'unknown'), // an actor whose state was never seen: counted as stayed
      entry('snapshot', 'later', 'y', 'unknown'), // and so are its later events
      entry('snapshot', 'xstate.init', undefined, 'promise'),
      entry('snapshot', 'xstate.promise.resolve', undefined, 'promise', 'done'), // no states to change
      entry('snapshot', 'xstate.init', 'member.(maintenance.waiting|merging.idle)', 'ring'),
      entry('snapshot', 'ring.message', 'member.(maintenance.waiting|merging.idle)', 'ring'), // stayed
      entry('snapshot', 'xstate.after', 'member.(maintenance.stabilizing|merging.idle)', 'ring'), // changed in one region
      entry('event', 'xstate.error.actor.x'),
    ]);
    expect(work).toEqual({ events: 11, stateChanges: 4, actorsStarted: 1, signatures: 1, verifications: 2 });
  });

  it('equals the transitions XState ran and the proofs the crypto ports made and checked', async () => {
    // Every transition XState runs, and whether it left a machine actor in another state (or ended it).
    type Processing = { _process(event: unknown): void; getSnapshot(): { value?: unknown; status: string } };
    const process = (Actor.prototype as unknown as Processing)._process;
    let transitions = 0;
    let stateChanges = 0;
    vi.spyOn(Actor.prototype as unknown as Processing, '_process').mockImplementation(function (this: Processing, event: unknown) {
      const before = this.getSnapshot();
      process.call(this, event);
      const after = this.getSnapshot();
      transitions += 1;
      if (before.value !== undefined && (after.status !== before.status || stateText(after.value) !== stateText(before.value))) stateChanges += 1;
    });
    const proofs = { signed: 0, checked: 0 };
    const port = SimulatedSignatures.prototype.port;
    vi.spyOn(SimulatedSignatures.prototype, 'port').mockImplementation(function (this: SimulatedSignatures, identity) {
      const real = port.call(this, identity);
      return {
        ...real,
        sign: (message) => {
          proofs.signed += 1;
          return real.sign(message);
        },
        verify: (key, message, signature) => {
          proofs.checked += 1;
          return real.verify(key, message, signature);
        },
      };
    });
    const sim = createSimulator({ seed: 41, nodes: 10, ring: PROPERTY_RING_CONFIG, connection: PROPERTY_CONNECTION, traceLimit: 1_000_000, signatures: 'simulated' });
    open.push(sim);
    const correct = () => checkNetwork(sim, { ring: { successorListLength: PROPERTY_RING_CONFIG.successorListLength }, connected: false }).length === 0;
    expect(await sim.runUntil(correct, 60_000)).toBe(true);
    expect(sim.traceTotal()).toBe(sim.trace.length);
    const work = countActorWork(sim.trace);
    expect(work.events).toBeGreaterThan(0);
    expect(work.events).toBe(transitions);
    expect(work.stateChanges).toBeGreaterThan(0);
    expect(work.stateChanges).toBe(stateChanges);
    const linkEnds = sim.alive().reduce((sum, handle) => sum + handle.node.peers().length, 0);
    expect(linkEnds).toBeGreaterThan(0);
    expect(work.signatures).toBeGreaterThanOrEqual(linkEnds);
    expect(work.signatures).toBe(proofs.signed);
    expect(work.verifications).toBe(proofs.checked);
  });
});

describe('floorOf', () => {
  it('scales the counted work to the target size and prices each event and proof', () => {
    const floor = floorOf({
      nodes: 10_000,
      countedNodes: 1_000,
      work: { events: 2_000_000, stateChanges: 500_000, actorsStarted: 0, signatures: 100_000, verifications: 50_000 },
      changeUs: 5,
      unhandledUs: 2,
      signUs: 40,
      verifyUs: 100,
    });
    expect(floor.dispatchSec).toBeCloseTo(55, 9); // 10 × (0.5 M × 5 µs + 1.5 M × 2 µs)
    expect(floor.cryptoSec).toBeCloseTo(90, 9); // 10 × (100 k × 40 µs + 50 k × 100 µs)
    expect(floor.totalSec).toBeCloseTo(145, 9);
  });
});

describe('dispatchCost', () => {
  it('delivers every event it times: each actor ends in the state its events lead to', () => {
    for (const kind of ['change', 'unhandled'] as const) {
      const cost = dispatchCost(50, 5_001, kind, 2);
      expect(cost).toMatchObject({ population: 50, kind, events: 5_001, actorsInExpectedState: 50 });
      expect(Number.isFinite(cost.usPerEvent)).toBe(true);
    }
  });

  it('rejects sizes that are not counts', () => {
    expect(() => dispatchCost(0, 10, 'change')).toThrow(/population/);
    expect(() => dispatchCost(10, 1.5, 'change')).toThrow(/events/);
    expect(() => dispatchCost(10, 10, 'change', 0)).toThrow(/rounds/);
  });
});

describe('timeActorEvents', () => {
  it('times every event by machine, each once, within the wall time, and puts XState back as it was', async () => {
    const original = (Actor.prototype as unknown as { _process: unknown })._process;
    // Before the simulator: an actor binds _process when it is created.
    const timing = timeActorEvents();
    const started = performance.now();
    const sim = createSimulator({ seed: 43, nodes: 8, ring: PROPERTY_RING_CONFIG, connection: PROPERTY_CONNECTION, traceLimit: 1_000_000, signatures: 'simulated' });
    open.push(sim);
    const correct = () => checkNetwork(sim, { ring: { successorListLength: PROPERTY_RING_CONFIG.successorListLength }, connected: false }).length === 0;
    expect(await sim.runUntil(correct, 60_000)).toBe(true);
    const wallMs = performance.now() - started;
    const times = timing.stop();
    expect((Actor.prototype as unknown as { _process: unknown })._process).toBe(original);
    const events = [...times.values()].reduce((sum, time) => sum + time.events, 0);
    expect(events).toBe(countActorWork(sim.trace).events);
    expect([...times.keys()]).toEqual(expect.arrayContaining(['ring', 'peer', 'transport']));
    const exclusiveMs = [...times.values()].reduce((sum, time) => sum + time.exclusiveMs, 0);
    for (const time of times.values()) expect(time.exclusiveMs).toBeGreaterThanOrEqual(0);
    expect(exclusiveMs).toBeGreaterThan(0);
    expect(exclusiveMs).toBeLessThanOrEqual(wallMs);
  });
});
