import { PeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Contact } from './contact.js';
import { between, compareClockwise } from './id-space.js';
import type { Position } from './id-space.js';

/**
 * Successor-list maintenance (Chord with successor lists): plain functions over immutable arrays.
 * Every list they return holds at most r distinct contacts, never self, sorted by clockwise
 * distance from self — so element 0 is the successor and the rest are its backups.
 *
 * Cost is O(candidates × r) with no sort and one small output array; r is ~8. The wire layer
 * bounds how long a reported list can be.
 */

/** Whether a peer is usable as a neighbour (not suspected/failed). Omitted = everyone is. */
export type AliveCheck = (id: PeerId) => boolean;

/** A successor list as some peer sent it (the answer to a stabilize request). */
export interface SuccessorReport {
  readonly from: Contact;
  readonly list: readonly Contact[];
}

/**
 * Stabilize step: our list after `report.from` told us its successor list.
 *
 * The result is [from] + from's list, merged with what we already know, closest r kept:
 * - entries of ours that lie before `from` (in (self, from)) are kept: a peer vouches only for
 *   the stretch of ring after itself;
 * - entries of ours inside the stretch `from` reported on — (from, farthest reported entry] —
 *   that it did not list are dropped: that is how departed peers leave lists without a timeout
 *   of our own;
 * - entries of ours beyond that stretch are kept. So a successor with a short list (it restarted,
 *   or is still joining) does not wipe our backups. When from's list wraps round past us, it
 *   vouches for the whole ring after itself.
 * A report that claims to come from self changes nothing but normalising the list.
 */
export function reconcileSuccessors(
  self: Contact,
  current: readonly Contact[],
  report: SuccessorReport,
  r: number,
  isAlive?: AliveCheck,
): Contact[] {
  checkLength(r);
  const { from, list } = report;
  const out: Contact[] = [];
  if (from.id === self.id || from.position === self.position) {
    for (const c of current) offer(self, out, c, r, isAlive);
    return out;
  }

  // The reporter's stretch, seen from the reporter: (from, spanEnd], or everything up to us.
  let wrapsPastSelf = false;
  let spanEnd: Position = from.position;
  for (const c of list) {
    if (c.id === from.id) continue;
    if (c.id === self.id || !between(c.position, from.position, self.position)) {
      wrapsPastSelf = true;
    } else if (compareClockwise(from.position, c.position, spanEnd) > 0) {
      spanEnd = c.position;
    }
  }
  const spanIsEmpty = !wrapsPastSelf && spanEnd === from.position;

  for (const c of current) {
    if (c.id === from.id) continue;
    const beforeFrom = between(c.position, self.position, from.position);
    const vouchedFor =
      !beforeFrom &&
      !spanIsEmpty &&
      (wrapsPastSelf || between(c.position, from.position, spanEnd, { inclusiveEnd: true }));
    // An entry the reporter vouched for comes back below, from its own list, if it is listed.
    if (!vouchedFor) offer(self, out, c, r, isAlive);
  }
  offer(self, out, from, r, isAlive);
  for (const c of list) offer(self, out, c, r, isAlive);
  return out;
}

/**
 * First half of Chord's stabilize: our successor told us its predecessor p. p becomes our new
 * successor when it lies in (self, successor) — a node that joined between us. With an empty list
 * self is its own successor and (self, self) is the whole ring, so any p is adopted: that is how
 * a lone node (the first in the network, or one whose list ran dry) takes the node that notified
 * it, passing its own predecessor here.
 * Returns `list` itself when nothing changes.
 */
export function adoptSuccessorsPredecessor(
  self: Contact,
  list: readonly Contact[],
  reported: Contact | undefined,
  r: number,
  isAlive?: AliveCheck,
): readonly Contact[] {
  checkLength(r);
  if (reported === undefined) return list;
  const successor = list[0];
  const end = successor === undefined ? self.position : successor.position;
  if (!between(reported.position, self.position, end)) return list;
  const out: Contact[] = [];
  offer(self, out, reported, r, isAlive);
  if (out.length === 0) return list;
  for (const c of list) offer(self, out, c, r, isAlive);
  return out;
}

/**
 * The r closest clockwise successors among every contact in `lists` (own list, lists heard from
 * others, contacts found by a lookup). Nothing is dropped except by distance or `isAlive`: this
 * is the merge step when two rings meet, and the way to adopt a closer successor (pass [list, [c]]).
 */
export function mergeCandidates(
  self: Contact,
  lists: readonly (readonly Contact[])[],
  r: number,
  isAlive?: AliveCheck,
): Contact[] {
  checkLength(r);
  const out: Contact[] = [];
  for (const list of lists) for (const c of list) offer(self, out, c, r, isAlive);
  return out;
}

/**
 * Drops a failed successor; the next one moves up. Returns the same array when `failedId` is
 * not in it, so callers can tell nothing changed by identity.
 */
export function promoteNextSuccessor(list: readonly Contact[], failedId: PeerId): readonly Contact[] {
  const index = list.findIndex((c) => c.id === failedId);
  if (index < 0) return list;
  return [...list.slice(0, index), ...list.slice(index + 1)];
}

/**
 * Why `list` is not a well-formed successor list for self (undefined when it is): for invariant
 * checks and assertions at the machine boundary.
 */
export function successorListProblem(self: Contact, list: readonly Contact[], r: number): string | undefined {
  if (list.length > r) return `holds ${list.length} entries, more than r = ${r}`;
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i += 1) {
    const c = list[i]!;
    if (c.id === self.id) return `contains self at ${i}`;
    if (seen.has(c.id)) return `contains ${c.id.slice(0, 8)} twice`;
    seen.add(c.id);
    const previous = list[i - 1];
    if (previous !== undefined && compareClockwise(self.position, previous.position, c.position) >= 0) {
      return `entry ${i} is not clockwise after entry ${i - 1}`;
    }
  }
  return undefined;
}

function checkLength(r: number): void {
  if (!Number.isInteger(r) || r < 1) {
    throw new PeerSockError('INVALID_ARGUMENT', `successor list length r must be a positive integer, got ${r}`);
  }
}

/** Inserts c into out (sorted clockwise from self, distinct, at most r) if it earns a place. */
function offer(self: Contact, out: Contact[], c: Contact, r: number, isAlive: AliveCheck | undefined): void {
  if (c.id === self.id || c.position === self.position) return;
  let at = out.length;
  while (at > 0 && compareClockwise(self.position, c.position, out[at - 1]!.position) < 0) at -= 1;
  if (at >= r) return;
  for (const e of out) if (e.id === c.id) return;
  if (isAlive !== undefined && !isAlive(c.id)) return;
  out.splice(at, 0, c);
  if (out.length > r) out.pop();
}
