import { Subject } from 'rxjs';
import type { Observable } from 'rxjs';
import type { ActorRefLike, AnyActorRef, InspectionEvent } from 'xstate';

/**
 * One entry of the inspection stream. `actor` is a STABLE id (systemId, or the id
 * path from the nearest ancestor with a systemId), never an XState session id, so
 * traces from two runs of the same scenario compare equal.
 */
export interface TraceEvent {
  kind: 'event' | 'snapshot' | 'actor';
  actor: string;
  /** Event type (kind 'event': the event received; kind 'snapshot': the event that caused it). */
  type?: string;
  /** Stable id of the sender, when known (kind 'event'). */
  source?: string;
  /** The snapshot's state value (state machines only). */
  state?: unknown;
  /** The snapshot's status: active, done, error or stopped. */
  status?: string;
  /**
   * The snapshot is of an actor that another has replaced under the same stable id: its parent
   * made the successor before this one's last snapshot was reported. (A parent hears of a child
   * that finished before XState reports the child's final snapshot; the connection manager then
   * may open a new connection to the same peer, under the same id, at once.) Readers that track
   * actors by id leave the successor's record alone.
   */
  superseded?: true;
}

export interface ActorStateView {
  actor: string;
  state: unknown;
  status: string;
}

export interface Inspection {
  /** Pass as `createActor(root, { inspect })`. */
  inspect: (event: InspectionEvent) => void;
  /** Hot stream; nothing is buffered for late subscribers. */
  events$: Observable<TraceEvent>;
  /** Latest state of every live actor, keyed by stable id; a fresh map per change. */
  snapshots$: Observable<ReadonlyMap<string, ActorStateView>>;
  snapshot(): ReadonlyMap<string, ActorStateView>;
  complete(): void;
}

/** Root segment for a root actor that has neither a systemId nor an explicit id. */
const ROOT_SEGMENT = 'root';
const ERROR_EVENT_PREFIX = 'xstate.error.actor.';

/** The fields of XState's Actor class this module reads; not all are on ActorRefLike. */
interface ActorInternals {
  id?: string;
  sessionId: string;
  systemId?: string;
  options?: { systemId?: string };
  _parent?: AnyActorRef;
}

function systemIdOf(ref: ActorInternals): string | undefined {
  // `@xstate.actor` fires inside the Actor constructor before `systemId` is
  // assigned; the option it will be assigned from is already there.
  return ref.systemId ?? ref.options?.systemId;
}

/**
 * Stable id of an actor: its systemId; else its id prefixed by its parent's stable
 * id (`transport/peer:ab12cd34`). A root with no systemId is `root` when its id is
 * the generated session id. Actors spawned without an id get a session id as id in
 * XState; those segments are unavoidably run-specific, so give long-lived actors ids.
 */
export function stableActorId(ref: ActorRefLike): string {
  const segments: string[] = [];
  let current: ActorInternals | undefined = ref as unknown as ActorInternals;
  while (current !== undefined) {
    const systemId = systemIdOf(current);
    if (systemId !== undefined) {
      segments.push(systemId);
      break;
    }
    const parent: ActorInternals | undefined = current._parent;
    const id = current.id ?? current.sessionId;
    segments.push(parent === undefined && id === current.sessionId ? ROOT_SEGMENT : id);
    current = parent;
  }
  return segments.reverse().join('/');
}

function stateOf(snapshot: unknown): unknown {
  return typeof snapshot === 'object' && snapshot !== null && 'value' in snapshot
    ? (snapshot as { value: unknown }).value
    : undefined;
}

function statusOf(snapshot: unknown): string {
  return typeof snapshot === 'object' && snapshot !== null && 'status' in snapshot
    ? String((snapshot as { status: unknown }).status)
    : 'active';
}

/** Updated in place on every snapshot; views are made only when someone asks (view()). */
interface LiveEntry {
  ref: ActorRefLike;
  state: unknown;
  status: string;
}

export function createInspection(): Inspection {
  const events = new Subject<TraceEvent>();
  const snapshots = new Subject<ReadonlyMap<string, ActorStateView>>();
  // Only live actors: entries are removed when an actor stops, finishes or fails.
  const live = new Map<string, LiveEntry>();
  // Ids never change during an actor's life; the WeakMap dies with the actor.
  const ids = new WeakMap<ActorRefLike, string>();
  // Actors another took the place of under the same stable id while they still lived.
  const replaced = new WeakSet<ActorRefLike>();
  let completed = false;

  const idOf = (ref: ActorRefLike): string => {
    let id = ids.get(ref);
    if (id === undefined) {
      id = stableActorId(ref);
      ids.set(ref, id);
    }
    return id;
  };

  const view = (): ReadonlyMap<string, ActorStateView> => {
    const out = new Map<string, ActorStateView>();
    for (const [id, entry] of live) out.set(id, { actor: id, state: entry.state, status: entry.status });
    return out;
  };

  const publish = (): void => {
    // Copying the map costs O(live actors); skip it when nobody listens.
    if (snapshots.observed) snapshots.next(view());
  };

  const remove = (ref: ActorRefLike): void => {
    const id = idOf(ref);
    // A restarted actor reuses its stable id: only the instance we hold may remove it.
    if (live.get(id)?.ref !== ref) return;
    live.delete(id);
    publish();
  };

  const inspect = (event: InspectionEvent): void => {
    if (completed) return;
    switch (event.type) {
      case '@xstate.actor': {
        if (events.observed) events.next({ kind: 'actor', actor: idOf(event.actorRef) });
        return;
      }
      case '@xstate.event': {
        if (events.observed) {
          const trace: TraceEvent = { kind: 'event', actor: idOf(event.actorRef), type: event.event.type };
          if (event.sourceRef !== undefined) trace.source = idOf(event.sourceRef);
          events.next(trace);
        }
        // An actor that fails by throwing emits no final snapshot; the error it
        // relays to its parent is the only sign that it is gone.
        if (event.sourceRef !== undefined && event.event.type.startsWith(ERROR_EVENT_PREFIX)) {
          remove(event.sourceRef);
        }
        return;
      }
      case '@xstate.snapshot': {
        const actor = idOf(event.actorRef);
        const state = stateOf(event.snapshot);
        const status = statusOf(event.snapshot);
        const superseded = replaced.has(event.actorRef);
        if (events.observed) {
          const trace: TraceEvent = { kind: 'snapshot', actor, type: event.event.type, state, status };
          if (superseded) trace.superseded = true;
          events.next(trace);
        }
        if (superseded) return;
        if (status === 'active') {
          const entry = live.get(actor);
          if (entry !== undefined && entry.ref === event.actorRef) {
            entry.state = state;
            entry.status = status;
          } else {
            if (entry !== undefined) replaced.add(entry.ref);
            live.set(actor, { ref: event.actorRef, state, status });
          }
          publish();
        } else {
          remove(event.actorRef);
        }
        return;
      }
      default:
        return;
    }
  };

  return {
    inspect,
    events$: events.asObservable(),
    snapshots$: snapshots.asObservable(),
    snapshot: () => {
      // Safety net for failures no inspection event reported (e.g. a root that throws).
      let pruned = false;
      for (const [id, entry] of live) {
        if (statusOf(entry.ref.getSnapshot()) !== 'active') {
          live.delete(id);
          pruned = true;
        }
      }
      if (pruned) publish();
      return view();
    },
    complete: () => {
      if (completed) return;
      completed = true;
      live.clear();
      events.complete();
      snapshots.complete();
    },
  };
}
