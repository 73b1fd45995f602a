import { assign, createActor, setup, type Actor } from 'xstate';

/**
 * The cheapest event an XState actor can process and still be an actor's work: a toggle
 * between two states with one assign (every event of the simulation's machines changes
 * their context). Real machines cost more per event (guards, nested and parallel states,
 * enqueued actions, timers); this is the floor under them.
 */
const toggle = setup({ types: { context: {} as { count: number }, events: {} as { type: 'go' } } }).createMachine({
  id: 'toggle',
  context: { count: 0 },
  initial: 'idle',
  states: {
    idle: { on: { go: { target: 'busy', actions: assign({ count: ({ context }) => context.count + 1 }) } } },
    busy: { on: { go: { target: 'idle', actions: assign({ count: ({ context }) => context.count + 1 }) } } },
  },
});

export interface DispatchCost {
  population: number;
  events: number;
  usPerEvent: number;
  /** Sum of the actors' counters: equals events + warm-up events when every send was processed. */
  processed: number;
}

/**
 * µs per event sent to `population` started toggle actors, each event to an actor picked at
 * random (a fixed LCG: the same sequence every run), as the simulator's events land on
 * whichever node's actors a message or timer reaches: with many actors, each event finds its
 * actor's objects out of the processor's caches, and that is what the population size costs.
 */
export function dispatchCost(population: number, events: number, warmUp = Math.min(events, 200_000)): DispatchCost {
  if (!Number.isInteger(population) || population < 1) throw new RangeError(`population must be a positive integer, got ${population}`);
  if (!Number.isInteger(events) || events < 1) throw new RangeError(`events must be a positive integer, got ${events}`);
  const actors: Actor<typeof toggle>[] = [];
  for (let i = 0; i < population; i += 1) actors.push(createActor(toggle).start());
  const event = { type: 'go' } as const;
  let state = 12_345;
  const pick = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return actors[state % population]!;
  };
  for (let i = 0; i < warmUp; i += 1) pick().send(event);
  const started = performance.now();
  for (let i = 0; i < events; i += 1) pick().send(event);
  const usPerEvent = ((performance.now() - started) * 1_000) / events;
  let processed = 0;
  for (const actor of actors) {
    processed += actor.getSnapshot().context.count;
    actor.stop();
  }
  return { population, events, usPerEvent, processed };
}
