import type { Contact } from './contact.js';
import type { Position } from './id-space.js';

/**
 * What a correct ring looks like, from the full list of alive nodes (ascending position, as
 * `sortByPosition` returns it). For invariant checks in the simulator and tests; a node never has
 * this global view. Self need not be in `sortedAlive` (a crashed node's would-be neighbours).
 */

/** The r alive nodes clockwise after self, nearest first; fewer when the ring is smaller. */
export function expectedSuccessors(sortedAlive: readonly Contact[], self: Contact, r: number): Contact[] {
  const n = sortedAlive.length;
  const out: Contact[] = [];
  const start = firstAfter(sortedAlive, self.position);
  for (let k = 0; k < n && out.length < r; k += 1) {
    const c = sortedAlive[(start + k) % n]!;
    if (c.id !== self.id) out.push(c);
  }
  return out;
}

/** The alive node just before self, anticlockwise; undefined when no other node is alive. */
export function expectedPredecessor(sortedAlive: readonly Contact[], self: Contact): Contact | undefined {
  const n = sortedAlive.length;
  const start = firstAtOrAfter(sortedAlive, self.position) - 1 + n;
  for (let k = 0; k < n; k += 1) {
    const c = sortedAlive[(start - k) % n]!;
    if (c.id !== self.id) return c;
  }
  return undefined;
}

/** The node responsible for `target`: the first alive node at or clockwise after it. */
export function expectedResponsible(sortedAlive: readonly Contact[], target: Position): Contact | undefined {
  if (sortedAlive.length === 0) return undefined;
  return sortedAlive[firstAtOrAfter(sortedAlive, target) % sortedAlive.length];
}

/** Index of the first entry with position > p (length when none). */
function firstAfter(sorted: readonly Contact[], p: Position): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.position <= p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first entry with position >= p (length when none). */
function firstAtOrAfter(sorted: readonly Contact[], p: Position): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.position < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
