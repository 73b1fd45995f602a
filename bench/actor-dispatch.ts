import { createActor, setup, type Actor } from 'xstate';
import { leastMs } from './least-time.js';

/**
 * The least an event can cost an XState actor, in the two kinds the simulation's events come
 * in (bench/actor-work.ts tells them apart):
 * - `change`: a transition to another state with no action at all (the cheapest event that
 *   changes an actor's state);
 * - `unhandled`: an event no state of the machine takes (the cheapest event an actor can be
 *   sent: XState still looks for a transition and hands back its snapshot).
 * Real machines cost more per event (guards, nested and parallel states, actions, timers).
 */
const toggle = setup({ types: { events: {} as { type: 'go' } | { type: 'nothing' } } }).createMachine({
  id: 'toggle',
  initial: 'idle',
  states: {
    idle: { on: { go: 'busy' } },
    busy: { on: { go: 'idle' } },
  },
});

export type EventKind = 'change' | 'unhandled';

export interface DispatchCost {
  population: number;
  kind: EventKind;
  /** Events per timed round. */
  events: number;
  /** The least of the rounds. */
  usPerEvent: number;
  /** Actors whose final state matches the events they were sent (checked after the timing): all of them. */
  actorsInExpectedState: number;
}

/**
 * µs per event sent to `population` started actors, each event to an actor picked at random
 * (a fixed LCG: the same sequence every run): the least of `rounds` timed rounds of `events`
 * each, after a warm-up of twice the population (most actors get an event before the timing).
 * With many actors most events find their actor's objects out of the processor's caches;
 * 1,000 actors' objects stay in them.
 */
export function dispatchCost(population: number, events: number, kind: EventKind, rounds = 3): DispatchCost {
  if (!Number.isInteger(population) || population < 1) throw new RangeError(`population must be a positive integer, got ${population}`);
  if (!Number.isInteger(events) || events < 1) throw new RangeError(`events must be a positive integer, got ${events}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  const warmUp = 2 * population;
  const actors: Actor<typeof toggle>[] = [];
  for (let i = 0; i < population; i += 1) actors.push(createActor(toggle).start());
  const event = kind === 'change' ? ({ type: 'go' } as const) : ({ type: 'nothing' } as const);
  const sequence = pickSequence(population);
  for (let i = 0; i < warmUp; i += 1) actors[sequence()]!.send(event);
  const usPerEvent = (leastMs(rounds, () => {
    for (let i = 0; i < events; i += 1) actors[sequence()]!.send(event);
  }) * 1_000) / events;
  // The same sequence again, outside the timing: how many events each actor was sent. A toggle
  // ends busy after an odd number, so its state shows that a `change` event was processed each
  // time; with `unhandled` every actor must still be idle (no event changed anything).
  const sent = new Uint32Array(population);
  const replay = pickSequence(population);
  for (let i = 0; i < warmUp + rounds * events; i += 1) {
    const index = replay();
    sent[index] = sent[index]! + 1;
  }
  let actorsInExpectedState = 0;
  actors.forEach((actor, i) => {
    const expected = kind === 'change' && sent[i]! % 2 === 1 ? 'busy' : 'idle';
    if (actor.getSnapshot().value === expected) actorsInExpectedState += 1;
    actor.stop();
  });
  return { population, kind, events, usPerEvent, actorsInExpectedState };
}

/** Actor indexes from a fixed LCG: the same sequence on every call. */
export function pickSequence(population: number): () => number {
  let state = 12_345;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state % population;
  };
}
