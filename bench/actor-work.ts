import type { SimTraceEntry } from '../sim/trace.js';

/**
 * What the actors of a traced simulation did, read from its trace. The trace holds one
 * `snapshot` entry per event an actor processed (see TraceRecorder.recordInspection), one for
 * each actor's first state (`xstate.init`: not an event it processed) and one per node for the
 * states it started in (`sim.initial`, added by the simulator).
 */
export interface ActorWork {
  /** Events processed by actors (each one an XState transition). */
  events: number;
  /** Actors started (machines and their invoked or spawned children). */
  actorsStarted: number;
  /** Identity proofs signed: one per side of each connection that got that far. */
  signatures: number;
  /** Identity proofs checked. */
  verifications: number;
}

export function countActorWork(entries: Iterable<SimTraceEntry>): ActorWork {
  const work: ActorWork = { events: 0, actorsStarted: 0, signatures: 0, verifications: 0 };
  for (const entry of entries) {
    if (entry.kind === 'actor') work.actorsStarted += 1;
    if (entry.kind !== 'snapshot' || entry.type === 'xstate.init' || entry.type === 'sim.initial') continue;
    work.events += 1;
    if (entry.type === 'auth.signed') work.signatures += 1;
    else if (entry.type === 'auth.verified') work.verifications += 1;
  }
  return work;
}

export interface FloorInputs {
  /** The size the floor is for. */
  nodes: number;
  /** Work counted in a run of `countedNodes` nodes; it scales with the node count (see the bench). */
  work: ActorWork;
  countedNodes: number;
  /** µs per event of the cheapest XState transition, through a population the size of `nodes`' actors. */
  dispatchUs: number;
  signUs: number;
  verifyUs: number;
}

export interface Floor {
  /** Seconds to dispatch the run's events, were every transition the cheapest one. */
  dispatchSec: number;
  /** Seconds of ed25519 signing and verification (0 with simulated signatures). */
  cryptoSec: number;
  totalSec: number;
}

/** A lower bound on the wall time of the run at `nodes`: its events and signatures, each at its least cost. */
export function floorOf(inputs: FloorInputs): Floor {
  const scale = inputs.nodes / inputs.countedNodes;
  const dispatchSec = (scale * inputs.work.events * inputs.dispatchUs) / 1e6;
  const cryptoSec = (scale * (inputs.work.signatures * inputs.signUs + inputs.work.verifications * inputs.verifyUs)) / 1e6;
  return { dispatchSec, cryptoSec, totalSec: dispatchSec + cryptoSec };
}
