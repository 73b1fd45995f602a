import { describe, it, expect } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { supervisorMachine } from '../../src/supervisor/supervisor.machine.js';
import type { RestartPolicy } from '../../src/supervisor/restart-policy.js';
import { PeerSockError, isPeerSockError } from '../../src/errors.js';
import { silentLogger } from '../../src/ports/logger.js';
import { startSupervisor, statusOf, worker } from './fixtures.js';

const policy: RestartPolicy = { maxRestarts: 3, windowMs: 10_000, backoffBaseMs: 100, backoffMaxMs: 1_000 };

function crash(actor: AnyActorRef, systemId: string): void {
  const target = actor.system.get(systemId) as AnyActorRef | undefined;
  if (target === undefined) throw new Error(`no live actor '${systemId}' to crash`);
  target.send({ type: 'crash' });
}

describe('supervisor: one-for-one restart', () => {
  it('spawns every child with its id, systemId and input', () => {
    const clock = new SimulatedClock();
    const { actor } = startSupervisor(clock, [worker('a'), worker('b', null)], policy);
    const a = actor.system.get('a') as AnyActorRef;
    expect(a.id).toBe('a');
    expect(a.getSnapshot().context.label).toBe('a');
    expect(actor.getSnapshot().children.b?.getSnapshot().context.label).toBe('b');
    expect(actor.system.get('b')).toBeUndefined();
    expect(actor.getSnapshot().value).toBe('running');
  });

  it('restarts a crashed child only after the backoff delay, under the same systemId, leaving siblings alone', () => {
    const clock = new SimulatedClock();
    const { actor, errors } = startSupervisor(clock, [worker('a'), worker('b')], policy);
    const a1 = actor.system.get('a') as AnyActorRef;
    const b = actor.system.get('b') as AnyActorRef;
    b.send({ type: 'ping' });

    crash(actor, 'a');
    expect(statusOf(a1)).toBe('error');
    expect(actor.system.get('a')).toBeUndefined();
    expect(actor.getSnapshot().children.a).toBeUndefined();
    clock.increment(99);
    expect(actor.system.get('a')).toBeUndefined();
    clock.increment(1);
    const a2 = actor.system.get('a') as AnyActorRef | undefined;
    expect(a2).toBeDefined();
    expect(a2).not.toBe(a1);
    expect(statusOf(a2)).toBe('active');
    expect(actor.getSnapshot().children.a).toBe(a2);
    expect(a2!.getSnapshot().context).toEqual({ label: 'a', pings: 0 });

    expect(actor.system.get('b')).toBe(b);
    expect(statusOf(b)).toBe('active');
    expect(b.getSnapshot().context.pings).toBe(1);
    expect(actor.getSnapshot().value).toBe('running');
    expect(errors).toEqual([]);
  });

  it('doubles the backoff for each restart inside the window', () => {
    const clock = new SimulatedClock();
    const { actor } = startSupervisor(clock, [worker('a')], policy);
    for (const delay of [100, 200, 400]) {
      crash(actor, 'a');
      clock.increment(delay - 1);
      expect(actor.system.get('a')).toBeUndefined();
      clock.increment(1);
      expect(statusOf(actor.system.get('a'))).toBe('active');
    }
    expect(actor.getSnapshot().context.children.a?.restarts).toEqual([0, 100, 300]);
  });

  it('stops the crashed child’s own children instead of leaving them running', () => {
    const clock = new SimulatedClock();
    const { actor } = startSupervisor(clock, [worker('a')], policy);
    const a1 = actor.system.get('a') as AnyActorRef;
    const ticker1 = a1.getSnapshot().children.ticker as AnyActorRef;
    expect(statusOf(ticker1)).toBe('active');
    crash(actor, 'a');
    expect(statusOf(ticker1)).toBe('stopped');
    clock.increment(100);
    const ticker2 = (actor.system.get('a') as AnyActorRef).getSnapshot().children.ticker as AnyActorRef;
    expect(ticker2).not.toBe(ticker1);
    expect(statusOf(ticker2)).toBe('active');
  });

  it('does not restart a child that finishes normally', () => {
    const clock = new SimulatedClock();
    const { actor, errors } = startSupervisor(clock, [worker('a'), worker('b')], policy);
    const a = actor.system.get('a') as AnyActorRef;
    a.send({ type: 'finish' });
    expect(statusOf(a)).toBe('done');
    clock.increment(60_000);
    expect(actor.system.get('a')).toBeUndefined();
    expect(actor.getSnapshot().children.a).toBeUndefined();
    expect(actor.getSnapshot().context.children.a?.status).toBe('done');
    expect(statusOf(actor.system.get('b'))).toBe('active');
    expect(actor.getSnapshot().value).toBe('running');
    expect(errors).toEqual([]);
  });

  it('never escalates when crashes are spaced wider than the window', () => {
    const clock = new SimulatedClock();
    const { actor, errors } = startSupervisor(clock, [worker('a')], policy);
    for (let i = 0; i < 4 * policy.maxRestarts; i++) {
      const before = actor.system.get('a');
      crash(actor, 'a');
      clock.increment(policy.backoffBaseMs - 1);
      expect(actor.system.get('a')).toBeUndefined();
      clock.increment(1);
      expect(actor.system.get('a')).not.toBe(before);
      expect(statusOf(actor.system.get('a'))).toBe('active');
      clock.increment(policy.windowMs - policy.backoffBaseMs);
    }
    expect(actor.getSnapshot().value).toBe('running');
    expect(errors).toEqual([]);
  });
});

describe('supervisor: escalation', () => {
  function crashUntilEscalated(clock: SimulatedClock, actor: AnyActorRef): void {
    for (let i = 0; i < policy.maxRestarts; i++) {
      crash(actor, 'a');
      clock.increment(policy.backoffMaxMs);
      expect(actor.getSnapshot().value).toBe('running');
    }
    crash(actor, 'a');
  }

  it('fails with SUPERVISOR_ESCALATED naming the child, count and window after maxRestarts crashes in the window', () => {
    const clock = new SimulatedClock();
    const { actor, errors } = startSupervisor(clock, [worker('a'), worker('b')], policy);
    const b = actor.system.get('b') as AnyActorRef;
    const childrenWhileEscalated: string[][] = [];
    // An observer without an error callback makes XState report the escalation as unhandled.
    actor.subscribe({
      next: (s) => {
        if (s.value === 'escalated') childrenWhileEscalated.push(Object.keys(s.children));
      },
      error: () => {},
    });
    crashUntilEscalated(clock, actor);
    // Children are gone as soon as `escalated` is entered, before the failure.
    expect(childrenWhileEscalated).toEqual([[]]);

    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe('escalated');
    expect(snapshot.status).toBe('error');
    expect(snapshot.children).toEqual({});
    expect(statusOf(b)).toBe('stopped');
    expect(actor.system.get('a')).toBeUndefined();
    expect(actor.system.get('b')).toBeUndefined();

    expect(errors).toHaveLength(1);
    const error = errors[0];
    expect(error).toBe(snapshot.error);
    expect(isPeerSockError(error, 'SUPERVISOR_ESCALATED')).toBe(true);
    const { message, cause } = error as PeerSockError;
    expect(message).toContain(`'a'`);
    expect(message).toContain(`${policy.maxRestarts} restart(s)`);
    expect(message).toContain(`${policy.windowMs} ms`);
    expect((cause as Error).message).toBe('crash:a');
    expect(snapshot.context.escalation).toBe(error);
  });

  it('leaves no timers behind: later time does not resurrect anything', () => {
    const clock = new SimulatedClock();
    const { actor } = startSupervisor(clock, [worker('a'), worker('b')], policy);
    crashUntilEscalated(clock, actor);
    clock.increment(10 * policy.windowMs);
    expect(actor.system.get('a')).toBeUndefined();
    expect(actor.getSnapshot().status).toBe('error');
  });

  it('keeps its own escalation error even if another child failure is queued behind it', () => {
    const clock = new SimulatedClock();
    const late = new Error('late failure of b');
    let send: ((event: unknown) => void) | undefined;
    const logger = {
      ...silentLogger,
      // Runs inside the escalating transition: the event lands in the mailbox first.
      error: () => send?.({ type: 'xstate.error.actor.b', actorId: 'b', error: late }),
    };
    const { actor, errors } = startSupervisor(clock, [worker('a'), worker('b')], { ...policy, maxRestarts: 0 }, { logger });
    send = (event) => actor.send(event as never);
    crash(actor, 'a');
    expect(errors).toHaveLength(1);
    expect(isPeerSockError(errors[0], 'SUPERVISOR_ESCALATED')).toBe(true);
  });

  it('rejects duplicate child ids or systemIds and invalid policies by failing at start', () => {
    const clock = new SimulatedClock();
    const dup = startSupervisor(clock, [worker('a'), worker('a', 'other')], policy);
    expect(isPeerSockError(dup.errors[0], 'INVALID_ARGUMENT')).toBe(true);
    const dupSystemId = startSupervisor(clock, [worker('a', 'x'), worker('b', 'x')], policy);
    expect(isPeerSockError(dupSystemId.errors[0], 'INVALID_ARGUMENT')).toBe(true);
    const bad = startSupervisor(clock, [worker('a')], { ...policy, windowMs: 0 });
    expect(isPeerSockError(bad.errors[0], 'INVALID_ARGUMENT')).toBe(true);
  });
});

describe('supervisor: nesting', () => {
  const innerPolicy: RestartPolicy = { maxRestarts: 1, windowMs: 10_000, backoffBaseMs: 10, backoffMaxMs: 10 };

  function nested(clock: SimulatedClock, outerPolicy: RestartPolicy) {
    return startSupervisor(
      clock,
      [
        {
          id: 'inner',
          systemId: 'inner',
          logic: supervisorMachine,
          input: { children: [worker('leaf')], policy: innerPolicy, now: () => clock.now() },
        },
        worker('sibling'),
      ],
      outerPolicy,
    );
  }

  function escalateInner(clock: SimulatedClock, outer: AnyActorRef): void {
    crash(outer, 'leaf');
    clock.increment(innerPolicy.backoffBaseMs);
    crash(outer, 'leaf');
  }

  it('sees an inner escalation as a child failure and restarts the inner supervisor', () => {
    const clock = new SimulatedClock();
    const { actor, errors } = nested(clock, policy);
    const inner1 = actor.system.get('inner') as AnyActorRef;
    const leaf1 = actor.system.get('leaf') as AnyActorRef;
    const sibling = actor.system.get('sibling') as AnyActorRef;

    escalateInner(clock, actor);
    expect(inner1.getSnapshot().value).toBe('escalated');
    expect(statusOf(inner1)).toBe('error');
    expect(actor.system.get('leaf')).toBeUndefined();
    expect(actor.getSnapshot().context.children.inner?.status).toBe('restarting');

    clock.increment(policy.backoffBaseMs - 1);
    expect(actor.system.get('inner')).toBeUndefined();
    clock.increment(1);
    const inner2 = actor.system.get('inner') as AnyActorRef;
    expect(inner2).not.toBe(inner1);
    expect(inner2.getSnapshot().value).toBe('running');
    const leaf2 = actor.system.get('leaf') as AnyActorRef;
    expect(leaf2).not.toBe(leaf1);
    expect(statusOf(leaf2)).toBe('active');

    expect(actor.system.get('sibling')).toBe(sibling);
    expect(actor.getSnapshot().value).toBe('running');
    expect(errors).toEqual([]);
  });

  it('escalates all the way up with the cause chain when the outer policy also gives up', () => {
    const clock = new SimulatedClock();
    const { actor, errors } = nested(clock, { ...policy, maxRestarts: 0 });
    escalateInner(clock, actor);
    expect(actor.getSnapshot().status).toBe('error');
    expect(actor.system.get('sibling')).toBeUndefined();
    const outer = errors[0] as PeerSockError;
    expect(isPeerSockError(outer, 'SUPERVISOR_ESCALATED')).toBe(true);
    expect(outer.message).toContain(`'inner'`);
    const inner = outer.cause as PeerSockError;
    expect(isPeerSockError(inner, 'SUPERVISOR_ESCALATED')).toBe(true);
    expect(inner.message).toContain(`'inner'`);
    expect(inner.message).toContain(`'leaf'`);
    expect((inner.cause as Error).message).toBe('crash:leaf');
  });
});
