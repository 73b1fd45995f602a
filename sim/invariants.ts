import { contactOf, sortByPosition, type Contact } from '../src/actors/ring/contact.js';
import { expectedPredecessor, expectedSuccessors } from '../src/actors/ring/expected-neighbours.js';
import type { RingView } from '../src/actors/ring/ring-view.js';
import type { ConnectionConfig } from '../src/actors/transport/connection-config.js';
import type { PeerId } from '../src/identity/peer-id.js';
import { isActorError, type ActorStateRecord, type SimTraceEntry } from './trace.js';

/**
 * The properties a healed network must have, as pure functions over what the simulator
 * knows (the alive nodes) and what the nodes believe (their ring views, open peers, actor
 * states). Each returns a list of violations; an empty list means the invariant holds.
 */
export type ViolationKind =
  | 'missing-view'
  | 'successor'
  | 'predecessor'
  | 'successor-list'
  | 'cycle'
  | 'disconnected'
  | 'stuck-transient'
  | 'actor-error'
  /** A routed message that never settled, or failed without a coded reason (sim/routed-traffic.ts). */
  | 'routed-unsettled'
  | 'routed-duplicate'
  /** A DHT lookup that failed, or answered other than the truly closest alive peers (sim/lookup-invariants.ts). */
  | 'lookup-failed'
  | 'lookup-wrong';

export interface Violation {
  kind: ViolationKind;
  /** Short id of the node concerned, when there is one. */
  node?: string;
  message: string;
  expected?: unknown;
  actual?: unknown;
}

export interface RingCheckOptions {
  /** r: how many successors each node should list. */
  successorListLength: number;
  /**
   * The alive nodes (the simulator's truth). Default: the nodes the views belong to. An
   * alive node without a view is a violation.
   */
  alive?: readonly PeerId[];
}

const SHORT = 10;
const short = (id: PeerId | undefined): string => (id === undefined ? 'none' : id.slice(0, SHORT));
const shortList = (ids: readonly PeerId[]): string => `[${ids.map(short).join(', ')}]`;

/**
 * Every alive node's first successor is the next alive position clockwise, its predecessor
 * the previous one, its successor list the r nearest alive successors in order; and the
 * first-successor pointers form one cycle through all alive nodes. A lone node may call
 * itself its successor and predecessor or name none (Chord's convention, or its absence).
 */
export function checkRing(views: readonly RingView[], options: RingCheckOptions): Violation[] {
  const r = options.successorListLength;
  if (!Number.isInteger(r) || r < 1) throw new RangeError(`successorListLength must be a positive integer, got ${r}`);
  const violations: Violation[] = [];
  const viewOf = new Map<PeerId, RingView>();
  for (const view of views) viewOf.set(view.self, view);
  const aliveIds = options.alive ?? views.map((view) => view.self);
  const aliveSet = new Set<PeerId>(aliveIds);
  const sorted: Contact[] = sortByPosition(aliveIds.map(contactOf));
  const lone = sorted.length === 1;

  for (const self of sorted) {
    const view = viewOf.get(self.id);
    const node = short(self.id);
    if (!view) {
      violations.push({ kind: 'missing-view', node, message: `alive node ${node} has no ring view` });
      continue;
    }
    const wantList = expectedSuccessors(sorted, self, r).map((c) => c.id);
    const wantPredecessor = expectedPredecessor(sorted, self)?.id;
    // A lone node: [] or [self], and no predecessor or itself.
    const list = lone ? view.successors.filter((id) => id !== self.id) : view.successors;
    const predecessor = lone && view.predecessor === self.id ? undefined : view.predecessor;

    if (list[0] !== wantList[0]) {
      violations.push({
        kind: 'successor',
        node,
        message: `${node}'s successor is ${short(list[0])}, expected ${short(wantList[0])}${list[0] !== undefined && !aliveSet.has(list[0]) ? ' (it points to a node that is not alive)' : ''}`,
        expected: wantList[0],
        actual: list[0],
      });
    }
    if (predecessor !== wantPredecessor) {
      violations.push({
        kind: 'predecessor',
        node,
        message: `${node}'s predecessor is ${short(predecessor)}, expected ${short(wantPredecessor)}${predecessor !== undefined && !aliveSet.has(predecessor) ? ' (stale: not alive)' : ''}`,
        expected: wantPredecessor,
        actual: predecessor,
      });
    }
    if (list.length !== wantList.length || list.some((id, i) => id !== wantList[i])) {
      violations.push({
        kind: 'successor-list',
        node,
        message: `${node}'s successor list is ${shortList(list)}, expected ${shortList(wantList)}`,
        expected: wantList,
        actual: [...list],
      });
    }
  }
  violations.push(...checkSuccessorCycle(views, sorted.map((c) => c.id)));
  return violations;
}

/** The first-successor pointers form exactly one cycle, and it passes through every alive node. */
export function checkSuccessorCycle(views: readonly RingView[], alive: readonly PeerId[]): Violation[] {
  if (alive.length <= 1) return [];
  const aliveSet = new Set(alive);
  const next = new Map<PeerId, PeerId | undefined>();
  for (const view of views) if (aliveSet.has(view.self)) next.set(view.self, view.successors.find((id) => id !== view.self));

  // Walk from every unvisited node; each walk ends on a new cycle, an old path, or a dead end.
  const colour = new Map<PeerId, number>();
  const cycles: PeerId[][] = [];
  const deadEnds: { from: PeerId; to: PeerId | undefined }[] = [];
  let walk = 0;
  for (const start of alive) {
    if (colour.has(start)) continue;
    walk += 1;
    const path: PeerId[] = [];
    let current: PeerId | undefined = start;
    while (current !== undefined && aliveSet.has(current) && !colour.has(current)) {
      colour.set(current, walk);
      path.push(current);
      current = next.get(current);
    }
    if (current === undefined || !aliveSet.has(current)) {
      deadEnds.push({ from: path[path.length - 1]!, to: current });
    } else if (colour.get(current) === walk) {
      cycles.push(path.slice(path.indexOf(current)));
    }
  }

  const violations: Violation[] = [];
  for (const { from, to } of deadEnds) {
    violations.push({
      kind: 'cycle',
      node: short(from),
      message:
        to === undefined
          ? `the successor chain ends at ${short(from)}: it has no successor`
          : `the successor chain leaves the alive nodes at ${short(from)} → ${short(to)} (not alive)`,
      actual: to,
    });
  }
  if (cycles.length > 1) {
    violations.push({
      kind: 'cycle',
      message: `the successor pointers form ${cycles.length} separate cycles (sizes ${cycles.map((c) => c.length).join(', ')}) instead of one`,
      expected: 1,
      actual: cycles.length,
    });
  }
  const onCycle = cycles.reduce((sum, cycle) => sum + cycle.length, 0);
  if (cycles.length === 1 && onCycle < alive.length) {
    const members = new Set(cycles[0]);
    const outside = alive.filter((id) => !members.has(id));
    violations.push({
      kind: 'cycle',
      message: `the successor cycle passes through ${onCycle} of ${alive.length} alive nodes; not on it: ${shortList(outside.slice(0, 8))}${outside.length > 8 ? '…' : ''}`,
      expected: alive.length,
      actual: onCycle,
    });
  }
  return violations;
}

/** The overlay (open links, either direction) connects every node in `adjacency`. */
export function checkConnected(adjacency: ReadonlyMap<PeerId, readonly PeerId[]>): Violation[] {
  if (adjacency.size <= 1) return [];
  const edges = new Map<PeerId, Set<PeerId>>();
  for (const id of adjacency.keys()) edges.set(id, new Set());
  for (const [id, peers] of adjacency) {
    for (const peer of peers) {
      if (!edges.has(peer) || peer === id) continue;
      edges.get(id)!.add(peer);
      edges.get(peer)!.add(id);
    }
  }
  const seen = new Set<PeerId>();
  const components: PeerId[][] = [];
  for (const start of edges.keys()) {
    if (seen.has(start)) continue;
    const component: PeerId[] = [start];
    seen.add(start);
    for (let i = 0; i < component.length; i += 1) {
      for (const peer of edges.get(component[i]!)!) {
        if (seen.has(peer)) continue;
        seen.add(peer);
        component.push(peer);
      }
    }
    components.push(component);
  }
  if (components.length === 1) return [];
  components.sort((a, b) => b.length - a.length);
  return [
    {
      kind: 'disconnected',
      message: `the overlay falls into ${components.length} components (sizes ${components.map((c) => c.length).join(', ')}); e.g. ${short(components[1]![0])} cannot reach ${short(components[0]![0])}`,
      expected: 1,
      actual: components.length,
    },
  ];
}

/**
 * How long an actor may sit in a state: the longest time, or undefined for a state that is
 * not transient (e.g. `open.alive`, or a ring member at rest).
 */
export type TransientTimeouts = (actor: string, state: string) => number | undefined;

/** No actor has been in a transient state for longer than its timeout. */
export function checkNoStuckTransients(states: readonly ActorStateRecord[], now: number, timeouts: TransientTimeouts): Violation[] {
  const violations: Violation[] = [];
  for (const record of states) {
    const limit = timeouts(record.actor, record.state);
    if (limit === undefined) continue;
    const stuckFor = now - record.since;
    if (stuckFor > limit) {
      violations.push({
        kind: 'stuck-transient',
        node: record.node,
        message: `${record.node}'s actor ${record.actor} has been in ${record.state} for ${Math.round(stuckFor)} ms (limit ${limit} ms)`,
        expected: limit,
        actual: stuckFor,
      });
    }
  }
  return violations;
}

/**
 * The transient states of a peer connection and how long each may last: its own timeout
 * plus `slackMs` for the step that follows it (a settle, a retry decision).
 */
export function connectionTransientTimeouts(config: ConnectionConfig, slackMs = 1_000): TransientTimeouts {
  const table: [RegExp, number][] = [
    [/^attempt\.signaling$/, config.signalingTimeoutMs],
    [/^attempt\.connecting$/, config.connectTimeoutMs],
    [/^attempt\.authenticating(\.|$)/, config.authTimeoutMs],
    [/^attempt\.closing$/, config.closeTimeoutMs],
    // The longest backoff: base × 2^(attempts-1) × 1.5 jitter.
    [/^retrying$/, config.retryBaseMs * 2 ** Math.max(0, config.maxDialAttempts - 1) * 1.5],
  ];
  return (actor, state) => {
    if (!/(^|\/)peer:[0-9a-f]{64}$/.test(actor)) return undefined;
    for (const [pattern, ms] of table) if (pattern.test(state)) return ms + slackMs;
    return undefined;
  };
}

/** Combines several tables: the first that knows a state decides. */
export function combineTimeouts(...tables: TransientTimeouts[]): TransientTimeouts {
  return (actor, state) => {
    for (const table of tables) {
      const limit = table(actor, state);
      if (limit !== undefined) return limit;
    }
    return undefined;
  };
}

/** Per-actor state entry times from a trace (its snapshots), for checkNoStuckTransients. */
export function stateEntryTimes(trace: Iterable<SimTraceEntry>): ActorStateRecord[] {
  const live = new Map<string, ActorStateRecord>();
  for (const entry of trace) {
    if (entry.kind === 'sim' && (entry.type === 'crash' || entry.type === 'leave')) {
      for (const [key, record] of live) if (record.node === entry.node) live.delete(key);
      continue;
    }
    // A replaced actor's last snapshot: its successor under the same id is the live one.
    if (entry.kind !== 'snapshot' || entry.superseded) continue;
    const key = `${entry.node}/${entry.actor}`;
    if (entry.status !== undefined) live.delete(key);
    else if (entry.state !== undefined && live.get(key)?.state !== entry.state) {
      live.set(key, { node: entry.node, actor: entry.actor, state: entry.state, since: entry.at });
    }
  }
  return [...live.values()];
}

/** No actor failed: no error snapshot, no `xstate.error.actor.*` event. */
export function checkNoActorErrors(trace: Iterable<SimTraceEntry>): Violation[] {
  const violations: Violation[] = [];
  for (const entry of trace) {
    if (!isActorError(entry)) continue;
    violations.push({
      kind: 'actor-error',
      node: entry.node,
      message:
        entry.status === 'error'
          ? `${entry.node}'s actor ${entry.actor} failed at ${Math.round(entry.at)} ms`
          : `${entry.node}'s actor ${entry.actor} received ${entry.type} at ${Math.round(entry.at)} ms (a child failed)`,
    });
  }
  return violations;
}

/** One line per violation, for assertion messages. */
export function describeViolations(violations: readonly Violation[], max = 20): string {
  const lines = violations.slice(0, max).map((v) => `- [${v.kind}] ${v.message}`);
  if (violations.length > max) lines.push(`- … and ${violations.length - max} more`);
  return lines.join('\n');
}
