import { describe, it, expect } from 'vitest';
import { SimulatedClock, createActor, setup, spawnChild, stopChild } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { createInspection, stableActorId } from '../../src/supervisor/inspection.js';
import type { ActorStateView, TraceEvent } from '../../src/supervisor/inspection.js';
import type { RestartPolicy } from '../../src/supervisor/restart-policy.js';
import { startSupervisor, worker } from './fixtures.js';

const policy: RestartPolicy = { maxRestarts: 1, windowMs: 10_000, backoffBaseMs: 100, backoffMaxMs: 100 };
const SESSION_ID = /^x:\d+$|(^|\/)x:\d+(\/|$)/;

function setup3(options: { systemId?: string } = {}) {
  const clock = new SimulatedClock();
  const inspection = createInspection();
  const events: TraceEvent[] = [];
  const maps: ReadonlyMap<string, ActorStateView>[] = [];
  inspection.events$.subscribe((event) => events.push(event));
  inspection.snapshots$.subscribe((map) => maps.push(map));
  const started = startSupervisor(clock, [worker('a'), worker('b', null)], policy, {
    inspect: inspection.inspect,
    ...options,
  });
  return { clock, inspection, events, maps, ...started, latest: () => maps.at(-1) };
}

describe('inspection', () => {
  it('names actors by systemId, else by id path, never by session id', () => {
    const { events, actor } = setup3();
    const actors = new Set(events.map((event) => event.actor));
    expect([...actors].sort()).toEqual(['a', 'a/ticker', 'root', 'root/b', 'root/b/ticker'].sort());
    for (const event of events) {
      expect(event.actor).not.toMatch(SESSION_ID);
      if (event.source !== undefined) expect(event.source).not.toMatch(SESSION_ID);
    }
    expect(events).toContainEqual({ kind: 'actor', actor: 'a' });
    expect(stableActorId(actor)).toBe('root');
  });

  it('roots paths at the nearest systemId', () => {
    const { events } = setup3({ systemId: 'sup' });
    expect(new Set(events.map((event) => event.actor))).toEqual(
      new Set(['sup', 'a', 'a/ticker', 'sup/b', 'sup/b/ticker']),
    );
  });

  it('marks the last snapshot of an actor its successor under the same id already replaced', () => {
    // As the connection manager does: on a child's done event, a new child under the same id.
    // XState hands the parent the done event before it reports the child's final snapshot.
    const child = setup({}).createMachine({ initial: 'working', states: { working: { on: { finish: 'finished' } }, finished: { type: 'final' } } });
    const parent = setup({ actors: { child } }).createMachine({
      entry: spawnChild('child', { id: 'c' }),
      on: { 'xstate.done.actor.c': { actions: [stopChild('c'), spawnChild('child', { id: 'c' })] } },
    });
    const inspection = createInspection();
    const events: TraceEvent[] = [];
    inspection.events$.subscribe((event) => events.push(event));
    const actor = createActor(parent, { id: 'p', inspect: inspection.inspect }).start();
    const first = actor.getSnapshot().children.c!;
    events.length = 0;
    first.send({ type: 'finish' });
    const second = actor.getSnapshot().children.c!;
    expect(second).not.toBe(first);
    const ofChild = events.filter((event) => event.kind === 'snapshot' && event.actor === 'p/c');
    expect(ofChild).toEqual([
      { kind: 'snapshot', actor: 'p/c', type: 'xstate.init', state: 'working', status: 'active' },
      { kind: 'snapshot', actor: 'p/c', type: 'finish', state: 'finished', status: 'done', superseded: true },
    ]);
    // The successor stays the live actor under that id.
    expect(inspection.snapshot().get('p/c')).toEqual({ actor: 'p/c', state: 'working', status: 'active' });
    second.send({ type: 'finish' });
    expect(events.at(-1)).toMatchObject({ actor: 'p/c', state: 'finished', status: 'done', superseded: true });
  });

  it('uses an explicit root id when there is no systemId', () => {
    const inspection = createInspection();
    const seen: string[] = [];
    inspection.events$.subscribe((event) => seen.push(event.actor));
    const machine = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });
    createActor(machine, { id: 'node-1', inspect: inspection.inspect }).start();
    expect(new Set(seen)).toEqual(new Set(['node-1']));
  });

  it('delivers received events with their type, target and source', () => {
    const { events, actor } = setup3();
    events.length = 0;
    (actor.system.get('a') as AnyActorRef).send({ type: 'toggle' });
    expect(events).toContainEqual({ kind: 'event', actor: 'a', type: 'toggle' });
    expect(events).toContainEqual({ kind: 'snapshot', actor: 'a', type: 'toggle', state: 'busy', status: 'active' });
    (actor.system.get('a') as AnyActorRef).send({ type: 'crash' });
    expect(events).toContainEqual({ kind: 'event', actor: 'root', source: 'a', type: 'xstate.error.actor.a' });
  });

  it('reflects state changes and drops stopped, failed and finished actors from snapshots', () => {
    const { clock, actor, inspection, latest } = setup3();
    expect([...latest()!.keys()].sort()).toEqual(['a', 'a/ticker', 'root', 'root/b', 'root/b/ticker']);
    expect(latest()!.get('a')).toEqual({ actor: 'a', state: 'idle', status: 'active' });
    expect(latest()!.get('root')?.state).toBe('running');

    (actor.system.get('a') as AnyActorRef).send({ type: 'toggle' });
    expect(latest()!.get('a')?.state).toBe('busy');

    (actor.system.get('a') as AnyActorRef).send({ type: 'crash' });
    expect(latest()!.has('a')).toBe(false);
    expect(latest()!.has('a/ticker')).toBe(false);
    expect(inspection.snapshot().has('a')).toBe(false);

    clock.increment(policy.backoffBaseMs);
    expect(latest()!.get('a')).toEqual({ actor: 'a', state: 'idle', status: 'active' });
    expect(latest()!.has('a/ticker')).toBe(true);

    actor.getSnapshot().children.b?.send({ type: 'finish' });
    expect(latest()!.has('root/b')).toBe(false);
    expect(latest()!.has('root/b/ticker')).toBe(false);

    actor.stop();
    expect(latest()!.size).toBe(0);
    expect(inspection.snapshot().size).toBe(0);
  });

  it('drops everything when the supervisor escalates', () => {
    const { actor, clock, latest, errors } = setup3();
    (actor.system.get('a') as AnyActorRef).send({ type: 'crash' });
    clock.increment(policy.backoffBaseMs);
    (actor.system.get('a') as AnyActorRef).send({ type: 'crash' });
    expect(errors).toHaveLength(1);
    expect(latest()!.size).toBe(0);
  });

  it('stops emitting and forgets actors once completed', () => {
    const { actor, inspection, events, maps } = setup3();
    let completed = 0;
    inspection.events$.subscribe({ complete: () => completed++ });
    inspection.snapshots$.subscribe({ complete: () => completed++ });
    inspection.complete();
    expect(completed).toBe(2);
    const counts = [events.length, maps.length];
    (actor.system.get('a') as AnyActorRef).send({ type: 'toggle' });
    expect([events.length, maps.length]).toEqual(counts);
    expect(inspection.snapshot().size).toBe(0);
  });

  it('buffers nothing for late subscribers', () => {
    const { actor, inspection } = setup3();
    const late: TraceEvent[] = [];
    inspection.events$.subscribe((event) => late.push(event));
    expect(late).toEqual([]);
    (actor.system.get('a') as AnyActorRef).send({ type: 'toggle' });
    expect(late.length).toBeGreaterThan(0);
  });
});
