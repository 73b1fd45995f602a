import {
  checkConnected,
  checkNoActorErrors,
  checkNoStuckTransients,
  checkRing,
  combineTimeouts,
  connectionTransientTimeouts,
  type TransientTimeouts,
  type Violation,
} from './invariants.js';
import type { PeerId } from '../src/identity/peer-id.js';
import type { Simulator } from './simulator.js';

/**
 * Every invariant at once over a simulator's current state: what tests assert after a
 * scenario's quiet period and what the CLI samples over time.
 */
export interface NetworkCheckOptions {
  /** Check the ring (successor list of this length); omit while nodes run no ring. */
  ring?: { successorListLength: number };
  /** Transient states beyond the peer connection's own (e.g. the ring actor's), consulted first. */
  timeouts?: TransientTimeouts;
  /** Also require the overlay to be connected (default true). */
  connected?: boolean;
  /**
   * Check actor states and errors (default true; needs a traced simulator). false: only the
   * ring and the overlay, for a simulator run with trace 'off'.
   */
  actors?: boolean;
}

/** The nodes that crashed (a crashed node's pending promises die with it, as a process's would). */
export function crashedIds(simulator: Simulator): Set<PeerId> {
  return new Set(simulator.nodes().filter((node) => node.status() === 'crashed').map((node) => node.id));
}

export function checkNetwork(simulator: Simulator, options: NetworkCheckOptions = {}): Violation[] {
  const violations: Violation[] = [];
  const alive = simulator.alive();
  if (options.ring) {
    violations.push(
      ...checkRing(simulator.ringViews(), { successorListLength: options.ring.successorListLength, alive: alive.map((node) => node.id) }),
    );
  }
  if (options.connected ?? true) violations.push(...checkConnected(simulator.adjacency()));
  if (options.actors === false) return violations;
  const connection = connectionTransientTimeouts(simulator.config);
  const timeouts = options.timeouts ? combineTimeouts(options.timeouts, connection) : connection;
  violations.push(...checkNoStuckTransients(simulator.actorStates(), simulator.now(), timeouts));
  violations.push(...checkNoActorErrors(simulator.actorErrors()));
  return violations;
}
