import type { SimTraceEntry } from '../sim/trace.js';

/**
 * What the actors of a traced simulation did, read from its trace. The trace holds one
 * `snapshot` entry per event an actor processed (see TraceRecorder.recordInspection), one for
 * each actor's first state (`xstate.init`: not an event it processed) and one per node for the
 * states it started in (`sim.initial`, added by the simulator).
 */
export interface ActorWork {
  /** Events processed by actors (each one a call of XState's transition function). */
  events: number;
  /** Of those, the events that left a machine actor in another state, or ended it. */
  stateChanges: number;
  /** Actors started (machines and their invoked or spawned children). */
  actorsStarted: number;
  /** Identity proofs signed: one per side of each connection that got that far. */
  signatures: number;
  /** Identity proofs checked. */
  verifications: number;
}

export function countActorWork(entries: Iterable<SimTraceEntry>): ActorWork {
  const work: ActorWork = { events: 0, stateChanges: 0, actorsStarted: 0, signatures: 0, verifications: 0 };
  // Each live actor's state as of its latest entry, to tell which events changed it. An event
  // of an actor whose first state was never seen counts as no change (the floor prices it the
  // lower), and so do its later events.
  const states = new Map<string, string | undefined>();
  for (const entry of entries) {
    if (entry.kind === 'actor') work.actorsStarted += 1;
    if (entry.kind !== 'snapshot') continue;
    const key = `${entry.node} ${entry.actor}`;
    if (entry.type === 'xstate.init' || entry.type === 'sim.initial') {
      states.set(key, entry.state);
      continue;
    }
    work.events += 1;
    // A machine's state is known from its first entry on; an actor without states (a promise)
    // never changes one, not even when it ends.
    const before = states.get(key);
    if (entry.superseded) {
      // The last snapshot of an actor whose successor under the same id already runs (only
      // connection actors are replaced so): it ended, and the successor's state stays.
      if (entry.status !== undefined && entry.state !== undefined) work.stateChanges += 1;
    } else if (entry.status !== undefined) {
      if (before !== undefined) work.stateChanges += 1;
      states.delete(key);
    } else {
      if (before !== undefined && before !== entry.state) work.stateChanges += 1;
      if (states.has(key)) states.set(key, entry.state);
    }
    if (entry.type === 'auth.signed') work.signatures += 1;
    else if (entry.type === 'auth.verified') work.verifications += 1;
  }
  return work;
}

export interface FloorInputs {
  /** The size the floor is for. */
  nodes: number;
  /** Work counted in a run of `countedNodes` nodes, assumed to scale with the node count (see the bench). */
  work: ActorWork;
  countedNodes: number;
  /** µs of the cheapest event that changes an actor's state. */
  changeUs: number;
  /** µs of the cheapest event of all (one no state takes). */
  unhandledUs: number;
  signUs: number;
  verifyUs: number;
}

export interface Floor {
  /** Seconds to dispatch the run's events, each at the least its kind can cost. */
  dispatchSec: number;
  /** Seconds of ed25519 signing and verification (0 with simulated signatures). */
  cryptoSec: number;
  totalSec: number;
}

/** A lower bound on the wall time of the run at `nodes`: its events and signatures, each at its least cost. */
export function floorOf(inputs: FloorInputs): Floor {
  const scale = inputs.nodes / inputs.countedNodes;
  const stayed = inputs.work.events - inputs.work.stateChanges;
  const dispatchSec = (scale * (inputs.work.stateChanges * inputs.changeUs + stayed * inputs.unhandledUs)) / 1e6;
  const cryptoSec = (scale * (inputs.work.signatures * inputs.signUs + inputs.work.verifications * inputs.verifyUs)) / 1e6;
  return { dispatchSec, cryptoSec, totalSec: dispatchSec + cryptoSec };
}
