import { Actor } from 'xstate';

/** Events one kind of actor processed, and the time they took. */
export interface MachineTime {
  events: number;
  /** Wall ms inside its transitions and their actions, less the events of other actors run meanwhile. */
  exclusiveMs: number;
}

type Processing = { _process(event: unknown): void; logic: { id?: string } };

/**
 * Times every event that actors created from now on process until `stop()` (an actor binds
 * `_process` to its mailbox when it is created), by machine id (actors
 * of logic without an id, such as promises, under `other`). An actor's action that sends to
 * another actor runs the other's transition at once, inside its own: that time is counted
 * for the other actor only. Hooks XState's `Actor._process`, the one method every event goes
 * through (test/bench/actor-floor.test.ts checks that count against the trace); it throws if
 * a later XState no longer has it. For benchmarks only: two clock reads per event.
 */
export function timeActorEvents(): { stop(): Map<string, MachineTime> } {
  const prototype = Actor.prototype as unknown as Processing;
  const process = prototype._process;
  if (typeof process !== 'function') throw new Error('this XState version has no Actor._process to time events by');
  const times = new Map<string, MachineTime>();
  // Time spent in nested events, per level of nesting.
  const nested: number[] = [];
  // Actors created meanwhile keep the timed method (bound at creation): it stops timing with stop().
  let stopped = false;
  prototype._process = function timedProcess(this: Processing, event: unknown) {
    if (stopped) return process.call(this, event);
    const started = performance.now();
    nested.push(0);
    try {
      process.call(this, event);
    } finally {
      const elapsed = performance.now() - started;
      const inner = nested.pop()!;
      if (nested.length > 0) nested[nested.length - 1] = nested[nested.length - 1]! + elapsed;
      const id = this.logic.id ?? 'other';
      let time = times.get(id);
      if (time === undefined) {
        time = { events: 0, exclusiveMs: 0 };
        times.set(id, time);
      }
      time.events += 1;
      time.exclusiveMs += elapsed - inner;
    }
  };
  return {
    stop() {
      stopped = true;
      prototype._process = process;
      return times;
    },
  };
}
