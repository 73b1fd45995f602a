import { describe, it, expect } from 'vitest';
import { assign, createActor, initialTransition, setup, SimulatedClock, transition, type AnyActorRef } from 'xstate';
import {
  DEFAULT_K_BUCKET_TIMING,
  kBucketMachine,
  type KBucketEvent,
  type KBucketInput,
  type KBucketRequest,
  type KBucketTiming,
} from '../../src/actors/dht/k-bucket.machine.js';
import { RoutingTable } from '../../src/actors/dht/routing-table.js';
import { randomPositionInBucket } from '../../src/actors/dht/xor-distance.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { cpl, idOf, syntheticContact, toPos } from './arbitraries.js';

const SELF = toPos(0n);
const timing: KBucketTiming = { livenessTimeoutMs: 5_000, refreshMs: 600_000, refreshTimeoutMs: 30_000 };
const A = idOf(0xa);
const B = idOf(0xb);

/**
 * The DHT actor as the bucket sees it: spawns the bucket (so `sendParent` reaches it) and
 * records every request with the virtual time it arrived.
 */
function start(input: Partial<KBucketInput> = {}) {
  const parent = setup({
    types: { context: {} as { requests: (KBucketRequest & { at: number })[] }, events: {} as KBucketRequest },
    actors: { bucket: kBucketMachine },
  }).createMachine({
    context: { requests: [] },
    invoke: {
      id: 'bucket',
      src: 'bucket',
      input: { index: 3, self: SELF, k: 2, timing, random: createSeededRandom(1), ...input },
    },
    on: {
      'dht.bucket.*': {
        actions: assign(({ context, event }) => ({ requests: [...context.requests, { ...event, at: clock.now() }] })),
      },
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(parent, { clock }).start();
  const bucket = actor.getSnapshot().children.bucket as AnyActorRef;
  return {
    clock,
    send: (event: KBucketEvent) => bucket.send(event),
    state: () => bucket.getSnapshot().value as string,
    suspect: () => (bucket.getSnapshot().context as { suspect: unknown }).suspect,
    requests: () => actor.getSnapshot().context.requests,
    stop: () => actor.stop(),
  };
}

describe('k-bucket actor: room', () => {
  it('starts available or full from its size, and follows the size the DHT actor reports', () => {
    const empty = start({ size: 0 });
    expect(empty.state()).toBe('available');
    empty.send({ type: 'bucket.activity', size: 2 });
    expect(empty.state()).toBe('full');
    empty.send({ type: 'bucket.activity', size: 1 });
    expect(empty.state()).toBe('available');
    expect(start({ size: 2 }).state()).toBe('full');
  });
});

describe('k-bucket actor: liveness check of the least-recently-seen contact', () => {
  it('pings the suspect and keeps it when it answers; a pong from anyone else does not count', () => {
    const b = start({ size: 2 });
    b.send({ type: 'bucket.full', suspect: A });
    expect(b.state()).toBe('checkingLiveness');
    expect(b.requests()).toEqual([{ type: 'dht.bucket.ping', index: 3, peer: A, at: 0 }]);
    b.clock.increment(1_000);
    b.send({ type: 'bucket.pong', peer: B });
    expect(b.state()).toBe('checkingLiveness');
    b.send({ type: 'bucket.pong', peer: A });
    expect(b.state()).toBe('full');
    expect(b.suspect()).toBeUndefined();
    b.clock.increment(timing.livenessTimeoutMs * 2);
    expect(b.requests().map((r) => r.type)).toEqual(['dht.bucket.ping']);
  });

  it('asks for the eviction of a silent suspect exactly when the liveness timeout expires', () => {
    const b = start({ size: 2 });
    b.clock.increment(100);
    b.send({ type: 'bucket.full', suspect: A });
    b.clock.increment(timing.livenessTimeoutMs - 1);
    expect(b.requests().map((r) => r.type)).toEqual(['dht.bucket.ping']);
    b.clock.increment(1);
    expect(b.requests().at(-1)).toEqual({ type: 'dht.bucket.evict', index: 3, peer: A, at: 100 + timing.livenessTimeoutMs });
    expect(b.state()).toBe('full');
    // The parent evicts; the table promoted a replacement, so the bucket stays full.
    b.send({ type: 'bucket.activity', size: 2 });
    expect(b.state()).toBe('full');
  });

  it('evicts at once when the ping cannot even be sent', () => {
    const b = start({ size: 2 });
    b.send({ type: 'bucket.full', suspect: A });
    b.send({ type: 'bucket.unreachable', peer: B });
    expect(b.state()).toBe('checkingLiveness');
    b.send({ type: 'bucket.unreachable', peer: A });
    expect(b.requests().map((r) => [r.type, 'peer' in r ? r.peer : undefined])).toEqual([
      ['dht.bucket.ping', A],
      ['dht.bucket.evict', A],
    ]);
    expect(b.state()).toBe('full');
  });

  it('checks one contact at a time: newcomers during a check wait in the cache, unpinged', () => {
    const b = start({ size: 2 });
    b.send({ type: 'bucket.full', suspect: A });
    b.send({ type: 'bucket.full', suspect: B });
    b.send({ type: 'bucket.activity', size: 2 });
    expect(b.state()).toBe('checkingLiveness');
    expect(b.suspect()).toBe(A);
    b.clock.increment(timing.livenessTimeoutMs);
    expect(b.requests().map((r) => r.type)).toEqual(['dht.bucket.ping', 'dht.bucket.evict']);
    // The next newcomer starts a new check.
    b.send({ type: 'bucket.full', suspect: B });
    expect(b.requests().at(-1)).toMatchObject({ type: 'dht.bucket.ping', peer: B });
  });
});

describe('k-bucket actor: refresh when idle', () => {
  it('asks for a lookup of a random id inside its range after refreshMs ±25% of idleness', () => {
    const b = start({ size: 1, index: 7 });
    b.clock.increment(timing.refreshMs * 0.75 - 1);
    expect(b.requests()).toEqual([]);
    b.clock.increment(timing.refreshMs * 0.5 + 1);
    const [refresh] = b.requests();
    expect(refresh).toMatchObject({ type: 'dht.bucket.refresh', index: 7 });
    expect(cpl(SELF, (refresh as { target: Position }).target)).toBe(7);
    expect(b.state()).toBe('refreshing');
    b.send({ type: 'bucket.refreshed' });
    expect(b.state()).toBe('available');
  });

  it('activity restarts the idle timer, so a busy bucket is never refreshed', () => {
    const b = start({ size: 2 });
    for (let i = 0; i < 20; i += 1) {
      b.clock.increment(timing.refreshMs * 0.5);
      b.send({ type: 'bucket.activity', size: 2 });
    }
    expect(b.requests()).toEqual([]);
    b.clock.increment(timing.refreshMs * 1.25);
    expect(b.requests().map((r) => r.type)).toEqual(['dht.bucket.refresh']);
  });

  it('gives a refresh up after refreshTimeout, and refreshes again after the next idle period', () => {
    const b = start({ size: 0 });
    b.clock.increment(timing.refreshMs * 1.25);
    expect(b.state()).toBe('refreshing');
    b.clock.increment(timing.refreshTimeoutMs);
    expect(b.state()).toBe('available');
    b.clock.increment(timing.refreshMs * 1.25);
    expect(b.requests().map((r) => r.type)).toEqual(['dht.bucket.refresh', 'dht.bucket.refresh']);
  });

  it('interrupts a refresh for a liveness check, and ignores the late end of the lookup', () => {
    const b = start({ size: 2 });
    b.clock.increment(timing.refreshMs * 1.25);
    b.send({ type: 'bucket.full', suspect: A });
    expect(b.state()).toBe('checkingLiveness');
    b.send({ type: 'bucket.refreshed' });
    expect(b.state()).toBe('checkingLiveness');
    b.send({ type: 'bucket.pong', peer: A });
    expect(b.state()).toBe('full');
  });
});

describe('k-bucket machine: pure transitions with the effects swapped out', () => {
  const quiet = kBucketMachine.provide({ actions: { requestPing: () => {}, requestEviction: () => {}, requestRefresh: () => {} } });
  const input: KBucketInput = { index: 0, self: SELF, k: 2, timing: DEFAULT_K_BUCKET_TIMING, random: createSeededRandom(3), size: 2 };

  it('full + bucket.full → checkingLiveness: requests a ping and schedules the liveness timeout', () => {
    const [full] = initialTransition(quiet, input);
    expect(full.value).toBe('full');
    const [checking, actions] = transition(quiet, full, { type: 'bucket.full', suspect: A });
    expect(checking.value).toBe('checkingLiveness');
    expect(checking.context.suspect).toBe(A);
    expect(actions.map((a) => a.type)).toContain('requestPing');
    const timeout = actions.find((a) => a.type === 'xstate.raise');
    expect(timeout?.params).toMatchObject({ delay: DEFAULT_K_BUCKET_TIMING.livenessTimeoutMs });
  });

  it('jitters the idle delay over refreshMs ±25%, so the buckets of many nodes do not refresh in step', () => {
    const delays = Array.from({ length: 200 }, (_, seed) => {
      const [, actions] = initialTransition(quiet, { ...input, random: createSeededRandom(seed) });
      return (actions.find((a) => a.type === 'xstate.raise')?.params as { delay: number }).delay / DEFAULT_K_BUCKET_TIMING.refreshMs;
    });
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0.75);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1.25);
    expect(Math.min(...delays)).toBeLessThan(0.8);
    expect(Math.max(...delays)).toBeGreaterThan(1.2);
  });

  it('liveness timeout → requests eviction and settles by size', () => {
    const [full] = initialTransition(quiet, input);
    const [checking] = transition(quiet, full, { type: 'bucket.full', suspect: A });
    const [after, actions] = transition(quiet, checking, { type: 'xstate.after.livenessTimeout.kBucket.checkingLiveness' } as never);
    expect(after.value).toBe('full');
    expect(after.context.suspect).toBeUndefined();
    expect(actions.map((a) => a.type)).toContain('requestEviction');
  });
});

describe('k-bucket actor with a routing table: liveness timeout admits the newcomer', () => {
  it('a silent least-recently-seen contact is evicted and the waiting newcomer takes its place', () => {
    const random = createSeededRandom(11);
    const table = new RoutingTable(SELF, 0, { k: 2 });
    const [old, mid, newcomer] = [1, 2, 3].map((n) => syntheticContact(idOf(n), randomPositionInBucket(SELF, 3, random)));
    table.observe(old!, 1, { verified: true });
    table.observe(mid!, 2, { verified: true });
    const b = start({ size: table.bucket(3).length });
    const result = table.observe(newcomer!, 3, { verified: true });
    expect(result.kind).toBe('full');
    if (result.kind === 'full') b.send({ type: 'bucket.full', suspect: result.leastRecentlySeen.id });
    b.clock.increment(timing.livenessTimeoutMs);
    // The DHT actor's handler for the eviction request:
    for (const request of b.requests()) {
      if (request.type === 'dht.bucket.evict') {
        table.evict(request.peer);
        b.send({ type: 'bucket.activity', size: table.bucket(3).length });
      }
    }
    expect(table.bucket(3).map((c) => c.id)).toEqual([mid!.id, newcomer!.id]);
    expect(b.state()).toBe('full');
  });
});
