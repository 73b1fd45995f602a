import type { Contact } from './contact.js';
import { between } from './id-space.js';
import type { Position } from './id-space.js';

/**
 * Greedy ring routing (Chord's "closest preceding node") over whatever links a node has:
 * successor list, predecessor, DHT contacts, latency shortcuts alike.
 *
 * Each hop lands strictly inside (self, target), so the clockwise distance to the target shrinks
 * at every hop and a route can neither loop nor overshoot: at most one hop per node.
 */

/**
 * The link closest before `target` going clockwise from self, or undefined when no link lies in
 * (self, target) — then self is the target's predecessor as far as it knows, and the node
 * responsible for the target is self's successor.
 * A link exactly at the target is not a next hop (it is the answer, one step past the
 * predecessor). When target == self, (self, self) is the whole ring, so this finds self's
 * predecessor-side link; check `isResponsible` first to answer for one's own position.
 */
export function nextHop(self: Position, target: Position, links: readonly Contact[]): Contact | undefined {
  // `between` and `compareClockwise` inlined: this runs once per link per routed hop.
  const wraps = target <= self; // target == self: (self, self) is the whole ring minus self
  let best: Contact | undefined;
  let bestWrapped = false;
  for (let i = 0; i < links.length; i += 1) {
    const link = links[i]!;
    const p = link.position;
    const wrapped = p < self;
    if (wraps ? !(p > self || p < target) : !(p > self && p < target)) continue;
    // Farthest clockwise from self wins: unwrapped positions come before wrapped ones.
    if (best === undefined || (wrapped === bestWrapped ? p > best.position : wrapped)) {
      best = link;
      bestWrapped = wrapped;
    }
  }
  return best;
}

/**
 * Whether self answers for `target`: target ∈ (predecessor, self]. Without a known predecessor a
 * node answers only for its own exact position. A predecessor equal to self (a lone node that
 * points at itself) makes (self, self] the whole ring, as `between` defines it.
 */
export function isResponsible(self: Position, predecessor: Position | undefined, target: Position): boolean {
  if (predecessor === undefined) return target === self;
  return between(target, predecessor, self, { inclusiveEnd: true });
}
