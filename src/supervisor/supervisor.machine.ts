import { enqueueActions, sendTo, setup } from 'xstate';
import type { AnyActorLogic, AnyActorRef, DoneActorEvent, ErrorActorEvent } from 'xstate';
import { PeerSockError } from '../errors.js';
import { silentLogger } from '../ports/logger.js';
import type { Logger } from '../ports/logger.js';
import { stableActorId } from './inspection.js';
import { decideRestart, validateRestartPolicy } from './restart-policy.js';
import type { RestartPolicy } from './restart-policy.js';

/**
 * One-for-one supervisor.
 *
 * - Every child in `children` is spawned when the supervisor starts, with its `id`,
 *   `systemId` and `input`.
 * - A child that fails (`xstate.error.actor.<id>`) is stopped and, if the restart
 *   policy allows, spawned again with the same id/systemId/input after the backoff
 *   delay. The delay is a delayed raised event, so it runs on the actor system's
 *   clock (`createActor(root, { clock })`). Siblings are never touched.
 * - A child that finishes normally (`xstate.done.actor.<id>`) is not restarted
 *   ("transient" semantics): finishing is its own decision, not a fault.
 * - When the policy escalates, the supervisor stops all its children, enters
 *   `escalated` and then FAILS: its snapshot becomes `{ value: 'escalated',
 *   status: 'error', error }` where `error` is a PeerSockError with code
 *   SUPERVISOR_ESCALATED naming the child, the restart count and the window, with
 *   the child's error as `cause`. Because it fails (rather than reaching a final
 *   state, which would look like a normal finish), a parent supervisor receives
 *   `xstate.error.actor.<thisId>` and applies its own policy: supervisors nest
 *   into a tree. At the root, the owner must subscribe with an `error` observer
 *   (`actor.subscribe({ error })`), otherwise XState reports the error as
 *   unhandled.
 *
 * Why `escalated` is not `type: 'final'`: a final root state makes the actor
 * "done", which a parent would treat as a normal finish. The failure is produced
 * in a second macrostep (a self-sent error event nobody handles) so that the
 * children are really stopped first: when a transition throws, XState skips the
 * deferred stops and leaves the children running.
 */
export interface ChildSpec {
  id: string;
  systemId?: string;
  logic: AnyActorLogic;
  input?: unknown;
}

export interface SupervisorInput {
  children: readonly ChildSpec[];
  policy: RestartPolicy;
  /** The node's clock (`Clock.now`), used only to date failures for the policy window. */
  now: () => number;
  logger?: Logger;
}

export type ChildStatus = 'running' | 'restarting' | 'done';

export interface SupervisedChild {
  spec: ChildSpec;
  status: ChildStatus;
  /** Times of restarts still inside the policy window (at most `maxRestarts`). */
  restarts: number[];
}

export interface SupervisorContext {
  policy: RestartPolicy;
  now: () => number;
  logger: Logger;
  children: Record<string, SupervisedChild>;
  escalation: PeerSockError | undefined;
}

export type SupervisorEvent =
  | { type: 'supervisor.restart'; id: string }
  | { type: 'supervisor.escalate' }
  | ErrorActorEvent
  | DoneActorEvent;

/** The event the supervisor sends itself to fail; deliberately handled by nobody. */
const ESCALATION_ACTOR_ID = 'supervisor.escalation';
const ESCALATION_EVENT_TYPE = `xstate.error.actor.${ESCALATION_ACTOR_ID}` as const;

function initialChildren(specs: readonly ChildSpec[]): Record<string, SupervisedChild> {
  const children: Record<string, SupervisedChild> = {};
  const systemIds = new Set<string>();
  for (const spec of specs) {
    if (Object.hasOwn(children, spec.id)) {
      throw new PeerSockError('INVALID_ARGUMENT', `duplicate supervised child id '${spec.id}'`);
    }
    if (spec.systemId !== undefined) {
      if (systemIds.has(spec.systemId)) {
        throw new PeerSockError('INVALID_ARGUMENT', `duplicate supervised child systemId '${spec.systemId}'`);
      }
      systemIds.add(spec.systemId);
    }
    children[spec.id] = { spec, status: 'running', restarts: [] };
  }
  return children;
}

/**
 * XState does not stop the children of an actor that fails by throwing (only of one
 * that is stopped or fails through an unhandled child error), so a crashed child's
 * own children would keep running, with their timers, forever. Stop them here.
 * `xstate.stop` is the event every built-in actor logic handles as "stop".
 */
function reapOrphans(crashed: AnyActorRef | undefined): void {
  const snapshot: unknown = crashed?.getSnapshot();
  if (typeof snapshot !== 'object' || snapshot === null || !('children' in snapshot)) return;
  const { children } = snapshot as { children: Record<string, AnyActorRef | undefined> };
  for (const orphan of Object.values(children)) {
    orphan?.send({ type: 'xstate.stop' });
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
  },
  // Children come from the input, not from named implementations; declaring the
  // actor map as string-keyed lets `spawnChild` take a logic object plus an id.
  actors: {} as Record<string, AnyActorLogic>,
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => {
    validateRestartPolicy(input.policy);
    return {
      policy: input.policy,
      now: input.now,
      logger: input.logger ?? silentLogger,
      children: initialChildren(input.children),
      escalation: undefined,
    };
  },
  initial: 'running',
  states: {
    running: {
      entry: enqueueActions(({ context, enqueue }) => {
        for (const { spec } of Object.values(context.children)) {
          // A mapper, so that an input which is itself a function is passed as is.
          enqueue.spawnChild(spec.logic, { id: spec.id, systemId: spec.systemId, input: () => spec.input });
        }
      }),
      on: {
        'xstate.error.actor.*': {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            const { actorId: id, error } = event as ErrorActorEvent;
            const child = context.children[id];
            // Only a running child can fail; anything else is a stale or foreign event.
            if (child === undefined || child.status !== 'running') return;
            const crashed = self.getSnapshot().children[id] as AnyActorRef | undefined;
            enqueue(() => reapOrphans(crashed));
            const decision = decideRestart(child.restarts, context.now(), context.policy);

            if (decision.action === 'restart') {
              const { delayMs, recentRestarts } = decision;
              enqueue(() =>
                context.logger.warn('supervised child failed; restarting', {
                  child: id,
                  error: errorMessage(error),
                  delayMs,
                  restartsInWindow: recentRestarts.length,
                }),
              );
              enqueue.assign({
                children: {
                  ...context.children,
                  [id]: { ...child, status: 'restarting', restarts: decision.recentRestarts },
                },
              });
              enqueue.stopChild(id);
              enqueue.raise({ type: 'supervisor.restart', id }, { delay: decision.delayMs });
              return;
            }

            const escalation = new PeerSockError(
              'SUPERVISOR_ESCALATED',
              `supervisor '${stableActorId(self)}': child '${id}' failed after ${decision.recentRestarts.length} ` +
                `restart(s) within ${context.policy.windowMs} ms (limit ${context.policy.maxRestarts}); escalating`,
              { cause: error },
            );
            enqueue(() =>
              context.logger.error('supervised child failed too often; escalating', {
                child: id,
                error: errorMessage(error),
                restartsInWindow: decision.recentRestarts.length,
              }),
            );
            enqueue.assign({
              escalation,
              children: { ...context.children, [id]: { ...child, restarts: decision.recentRestarts } },
            });
            for (const childId of Object.keys(self.getSnapshot().children)) {
              enqueue.stopChild(childId);
            }
            enqueue.raise({ type: 'supervisor.escalate' });
          }),
        },
        'xstate.done.actor.*': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { actorId: id } = event as DoneActorEvent;
            const child = context.children[id];
            if (child === undefined || child.status !== 'running') return;
            enqueue.assign({ children: { ...context.children, [id]: { ...child, status: 'done' } } });
            // Drop the finished ref from the snapshot's children (bounded memory).
            enqueue.stopChild(id);
          }),
        },
        'supervisor.restart': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const child = context.children[event.id];
            if (child === undefined || child.status !== 'restarting') return;
            const { spec } = child;
            enqueue.assign({ children: { ...context.children, [event.id]: { ...child, status: 'running' } } });
            enqueue.spawnChild(spec.logic, { id: spec.id, systemId: spec.systemId, input: () => spec.input });
          }),
        },
        'supervisor.escalate': { target: 'escalated' },
      },
    },
    escalated: {
      entry: sendTo(
        ({ self }) => self,
        ({ context }) => ({
          type: ESCALATION_EVENT_TYPE,
          actorId: ESCALATION_ACTOR_ID,
          error: context.escalation,
        }),
      ),
      on: {
        // Other children's failures queued before ours must not replace the
        // escalation error: swallow them, and leave only ours unhandled.
        'xstate.error.actor.*': {
          guard: ({ event }) => event.type !== ESCALATION_EVENT_TYPE,
        },
      },
    },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
