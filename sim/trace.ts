import { stateText } from '../src/supervisor/state-text.js';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent } from '../src/supervisor/inspection.js';

/**
 * The simulator's event trace: every node's inspection stream (stable actor ids only,
 * never XState session ids) plus the simulator's own operations, stamped with virtual
 * time. The hash covers every entry ever recorded, in a canonical serialisation, so two
 * runs compare with one string however long they were. Memory stays bounded: only the
 * latest `limit` entries are retained (a file sink can keep all of them), the state
 * entry times only of live actors, and only the first actor errors.
 */
export interface SimTraceEntry {
  /** Virtual time in ms. */
  at: number;
  /** Short id of the node (first hex characters of its PeerId). */
  node: string;
  /** Stable actor id, or `sim` for the simulator's own operations. */
  actor: string;
  kind: 'actor' | 'event' | 'snapshot' | 'sim';
  /** Event type, or the simulator operation (kind `sim`). */
  type?: string;
  /** Dotted state path, e.g. `attempt.open.alive`; parallel regions as `(a.x|b.y)`. */
  state?: string;
  /** Present when not `active`: `done`, `error` or `stopped`. */
  status?: string;
  /** The actor's successor under the same id already runs (TraceEvent.superseded). */
  superseded?: true;
}

/** How long one actor has been in its current state: for `checkNoStuckTransients`. */
export interface ActorStateRecord {
  node: string;
  actor: string;
  state: string;
  /** Virtual time the actor entered `state`. */
  since: number;
}

export interface TraceRecorderOptions {
  /** Entries retained in memory (default 200,000); older ones are dropped from `entries`. */
  limit?: number;
  /** Appends every entry as one JSON line to this file (created or truncated). */
  file?: string;
}

export interface TraceRecorder {
  /** The retained window, oldest first (the same array throughout: it is trimmed in place). */
  readonly entries: readonly SimTraceEntry[];
  record(entry: SimTraceEntry): void;
  /** Converts one inspection event and records it. */
  recordInspection(at: number, node: string, event: TraceEvent): void;
  /** SHA-256 (hex) over the canonical serialisation of every entry recorded so far. */
  hash(): string;
  /** Entries recorded in total, retained or not. */
  total(): number;
  /** Current state and entry time of every live actor of every node. */
  actorStates(): ActorStateRecord[];
  /** Forgets a node's live actors (it crashed or left). */
  forgetNode(node: string): void;
  /** The first actor errors seen (at most 100). */
  errors(): readonly SimTraceEntry[];
  close(): void;
}

const DEFAULT_LIMIT = 200_000;
const MAX_ERRORS = 100;
/** Characters of trace lines gathered before one hash update and one write. */
const BATCH_CHARS = 64 * 1024;
export const ERROR_EVENT_PREFIX = 'xstate.error.actor';

export function createTraceRecorder(options: TraceRecorderOptions = {}): TraceRecorder {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`trace limit must be a positive integer, got ${limit}`);
  const entries: SimTraceEntry[] = [];
  const hash: Hash = createHash('sha256');
  let total = 0;
  let fd = options.file !== undefined ? openSync(options.file, 'w') : undefined;
  // Live actor states per node, then per actor: forgetting a node (a crash or a leave) is
  // then one delete, not a scan of every live actor of every node (380,000 at 10,000 nodes).
  const live = new Map<string, Map<string, ActorStateRecord>>();
  const errors: SimTraceEntry[] = [];

  // Lines are hashed and written in batches: one hash update and one write() per small
  // line were a measurable share of a large simulation's time. Same bytes in the same
  // order, so the same hash and file; hash() and close() flush first.
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    hash.update(pending);
    if (fd !== undefined) writeSync(fd, pending);
    pending = '';
  };
  const record = (entry: SimTraceEntry) => {
    pending += canonicalLine(entry);
    if (pending.length >= BATCH_CHARS) flush();
    total += 1;
    entries.push(entry);
    // Trim in batches: amortised O(1) per entry.
    if (entries.length >= 2 * limit) entries.splice(0, entries.length - limit);
    if (isActorError(entry) && errors.length < MAX_ERRORS) errors.push(entry);
    if (entry.kind === 'snapshot' && entry.superseded === undefined) {
      let actors = live.get(entry.node);
      if (entry.status !== undefined) actors?.delete(entry.actor);
      else if (entry.state !== undefined && actors?.get(entry.actor)?.state !== entry.state) {
        if (actors === undefined) {
          actors = new Map();
          live.set(entry.node, actors);
        }
        actors.set(entry.actor, { node: entry.node, actor: entry.actor, state: entry.state, since: entry.at });
      }
    }
  };

  return {
    entries,
    record,
    recordInspection(at, node, event) {
      // An event an actor processed is followed by the snapshot it produced, which carries the
      // event's type and the resulting state: recording both doubled the trace (its file, its
      // hash input) for no information. (Measured: half the entries, but only ~2% less wall time
      // for 1,000 nodes — XState's own work dominates.) Error events are kept: they may end an
      // actor without a snapshot of their own, and checks look for them.
      if (event.kind === 'event' && event.type?.startsWith(ERROR_EVENT_PREFIX) !== true) return;
      const entry: SimTraceEntry = { at, node, actor: event.actor, kind: event.kind };
      if (event.type !== undefined) entry.type = event.type;
      if (event.state !== undefined) entry.state = stateText(event.state);
      if (event.status !== undefined && event.status !== 'active') entry.status = event.status;
      if (event.superseded) entry.superseded = true;
      record(entry);
    },
    hash: () => {
      flush();
      return hash.copy().digest('hex');
    },
    total: () => total,
    actorStates: () => {
      const out: ActorStateRecord[] = [];
      for (const actors of live.values()) for (const record of actors.values()) out.push(record);
      return out;
    },
    forgetNode(node) {
      live.delete(node);
    },
    errors: () => errors,
    close() {
      flush();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** One entry as a JSON array with a fixed field order, newline-terminated; `superseded` last, only when set. */
export function canonicalLine(entry: SimTraceEntry): string {
  const fields: unknown[] = [entry.at, entry.node, entry.actor, entry.kind, entry.type ?? null, entry.state ?? null, entry.status ?? null];
  if (entry.superseded) fields.push('superseded');
  return `${JSON.stringify(fields)}\n`;
}

export function isActorError(entry: SimTraceEntry): boolean {
  return entry.status === 'error' || (entry.kind === 'event' && entry.type?.startsWith(ERROR_EVENT_PREFIX) === true);
}

/** Kept under its old name for the simulator's callers. */
export { stateText as flattenState };
