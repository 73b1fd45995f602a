/**
 * Every engine actor's context keeps to MAX_CONTEXT_FIELDS top-level fields. XState copies the
 * context on every `assign` with `Object.assign({}, context, update)`, and V8 (Node 20) stores an
 * object built by more than 19 such property additions in slow, dictionary mode: copying the
 * ring's 26-field context took ~10 µs (0.6 with 18 fields), and every read of a field was a hash
 * lookup. The ring's context had 26 fields until its rarely written ones were grouped
 * (ring.machine.ts, `join` and `rounds`). A machine that outgrows the limit should group fields
 * the same way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor } from 'xstate';
import { checkNetwork } from '../../sim/check-network.js';
import { createSimulator } from '../../sim/simulator.js';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { closedAfterEach } from '../helpers/simulators.js';

const MAX_CONTEXT_FIELDS = 19;
const DHT: Partial<DhtConfig> = { planIntervalMs: 2_000, lookupTimeoutMs: 5_000, linkBudget: 8, k: 4, replication: 4 };

type Processing = { _process(event: unknown): void; logic: { id?: string }; getSnapshot(): { context?: unknown } };

const open = closedAfterEach();
const prototype = Actor.prototype as unknown as Processing;
const original = prototype._process;
afterEach(() => {
  prototype._process = original;
});

/** The most top-level context fields each machine (by id) held after any event, over a run. */
function watchContextFields(): Map<string, number> {
  const widest = new Map<string, number>();
  prototype._process = function watched(this: Processing, event: unknown) {
    original.call(this, event);
    const context = this.getSnapshot().context;
    if (context === null || typeof context !== 'object' || this.logic.id === undefined) return;
    widest.set(this.logic.id, Math.max(widest.get(this.logic.id) ?? 0, Object.keys(context).length));
  };
  return widest;
}

describe('actor contexts', () => {
  it(`keep to ${MAX_CONTEXT_FIELDS} top-level fields in every machine a node runs`, async () => {
    const widest = watchContextFields();
    const sim = createSimulator({
      seed: 5,
      nodes: 10,
      connection: PROPERTY_CONNECTION,
      ring: PROPERTY_RING_CONFIG,
      dht: DHT,
      routing: { ackTimeoutMs: 3_000 },
    });
    open.push(sim);
    const formed = await sim.runUntil(
      () => checkNetwork(sim, { ring: { successorListLength: PROPERTY_RING_CONFIG.successorListLength }, connected: false }).length === 0,
      60_000,
    );
    expect(formed).toBe(true);
    // Churn: a crash and a graceful leave run the failure and goodbye paths too.
    sim.crash(sim.alive()[0]!);
    await sim.leave(sim.alive()[0]!);
    await sim.advance(30_000);
    // The machines that must have been seen (each has run events by now).
    for (const id of ['supervisor', 'transport', 'peer', 'ring', 'dht', 'kBucket', 'router', 'upgrade']) expect(widest.has(id), `no ${id} actor ran`).toBe(true);
    const over = [...widest].filter(([, fields]) => fields > MAX_CONTEXT_FIELDS);
    expect(over, `contexts over ${MAX_CONTEXT_FIELDS} fields`).toEqual([]);
  });
});
