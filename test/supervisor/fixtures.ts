import { assign, createActor, setup, spawnChild } from 'xstate';
import type { AnyActorRef, SimulatedClock } from 'xstate';
import { supervisorMachine } from '../../src/supervisor/supervisor.machine.js';
import type { ChildSpec } from '../../src/supervisor/supervisor.machine.js';
import type { RestartPolicy } from '../../src/supervisor/restart-policy.js';
import type { Logger } from '../../src/ports/logger.js';

/** A grandchild that keeps a timer running, so an orphan would be observable. */
export const tickerMachine = setup({}).createMachine({
  id: 'ticker',
  initial: 'ticking',
  states: { ticking: { after: { 1_000: { target: 'ticking', reenter: true } } } },
});

/**
 * Worker under test: `crash` makes an action throw (the actor fails), `toggle`
 * flips idle/busy, `ping` counts, `finish` reaches a final state.
 */
export const workerMachine = setup({
  types: {
    context: {} as { label: string; pings: number },
    input: {} as { label: string },
    events: {} as { type: 'crash' } | { type: 'toggle' } | { type: 'ping' } | { type: 'finish' },
  },
  actors: { ticker: tickerMachine },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ label: input.label, pings: 0 }),
  entry: spawnChild('ticker', { id: 'ticker' }),
  initial: 'idle',
  on: {
    crash: {
      actions: ({ context }) => {
        throw new Error(`crash:${context.label}`);
      },
    },
    ping: { actions: assign({ pings: ({ context }) => context.pings + 1 }) },
    finish: '.finished',
  },
  states: {
    idle: { on: { toggle: 'busy' } },
    busy: { on: { toggle: 'idle' } },
    finished: { type: 'final' },
  },
});

/** `systemId: null` spawns the worker without a systemId. */
export function worker(id: string, systemId: string | null = id): ChildSpec {
  return { id, systemId: systemId ?? undefined, logic: workerMachine, input: { label: id } };
}

export interface Started {
  actor: ReturnType<typeof createActor<typeof supervisorMachine>>;
  errors: unknown[];
}

export function startSupervisor(
  clock: SimulatedClock,
  children: ChildSpec[],
  policy: RestartPolicy,
  options: { inspect?: (event: never) => void; logger?: Logger; systemId?: string } = {},
): Started {
  const actor = createActor(supervisorMachine, {
    clock,
    input: { children, policy, now: () => clock.now(), logger: options.logger },
    inspect: options.inspect as never,
    systemId: options.systemId,
  });
  const errors: unknown[] = [];
  // Without an error observer XState rethrows a root failure as unhandled.
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return { actor, errors };
}

export function statusOf(ref: AnyActorRef | undefined): string | undefined {
  return (ref?.getSnapshot() as { status?: string } | undefined)?.status;
}
