import type { PeerId } from '../../identity/peer-id.js';
import type { Position } from '../ring/id-space.js';

/**
 * Where this node forwarded each recent lookup, so that a re-sent copy (same origin, rid and
 * target: lookup-retry.ts) does not take the same way again.
 *
 * The origin re-sends a lookup that got no answer for lookupRetryMs, routed around its own
 * first hops; it cannot see past them. Measured in the simulator (N = 100, 30-min and 5-min
 * sessions): lookups failed whose every try was aimed at the peer truly nearest the target,
 * alive, which forwarded each copy to a link nearer still that had crashed seconds before,
 * unnoticed yet by its heartbeat (a node nearer than the truly nearest alive one can only be
 * gone); the origin then left that live peer out of the answer as a suspect. A copy that comes
 * back here after a way it took has had `silentAfterMs` (half a retry interval: an answer takes
 * ~0.2–0.5 s) means that way did not answer: this node routes around its hop and the node it
 * was aimed at (NoN: the hop itself, or a link of the hop's). Where no other link leads nearer
 * and this node answers, it leaves out, by the origin's rule (lookup-retry.ts `suspects`), an
 * aim that was its own hop (a link straight to it) or that two silent ways were aimed at. A
 * copy sooner than that (the origin re-sends at once when a link closes) goes the usual way.
 *
 * Bounded: at most `capacity` lookups (oldest dropped first) and MAX_WAYS ways each; a lookup
 * first forwarded more than `maxAgeMs` ago (the lookup timeout: no copy of it can still come)
 * is forgotten. The target is part of the key, so a restarted node reusing rids is not taken
 * for a re-sender unless it looks up the same point.
 */
export class ForwardedLookups {
  private readonly lookups = new Map<string, Forwarded>();

  constructor(private readonly timing: { silentAfterMs: number; maxAgeMs: number; capacity: number }) {}

  /** The earlier ways of this lookup that have been silent long enough to route around; empty if none. */
  silentWays(origin: PeerId, rid: number, target: Position, now: number): Way[] {
    this.sweep(now);
    const entry = this.lookups.get(keyOf(origin, rid, target));
    // The age is checked here too, not only by sweep's ordering.
    if (entry === undefined || now - entry.firstAt > this.timing.maxAgeMs) return [];
    return entry.ways.filter((way) => now - way.at >= this.timing.silentAfterMs);
  }

  remember(origin: PeerId, rid: number, target: Position, way: Omit<Way, 'at'>, now: number): void {
    this.sweep(now);
    const key = keyOf(origin, rid, target);
    const entry = this.lookups.get(key);
    const next = { hop: way.hop, aim: way.aim, at: now };
    // Updated in place: the map stays in order of first forward, which sweep relies on.
    if (entry !== undefined) entry.ways = [...entry.ways, next].slice(-MAX_WAYS);
    else this.lookups.set(key, { firstAt: now, ways: [next] });
    if (this.lookups.size > this.timing.capacity) this.lookups.delete(this.lookups.keys().next().value!);
  }

  get size(): number {
    return this.lookups.size;
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.lookups) {
      if (now - entry.firstAt <= this.timing.maxAgeMs) return;
      this.lookups.delete(key);
    }
  }
}

/** One way a copy of a lookup went on from here: the link, the node aimed at through it, when. */
export interface Way {
  readonly hop: PeerId;
  readonly aim: PeerId;
  readonly at: number;
}

interface Forwarded {
  readonly firstAt: number;
  ways: Way[];
}

/** The aims of silent ways an answer must leave out: one that was its own hop, or one two ways were aimed at. */
export function silentAims(ways: readonly Way[]): PeerId[] {
  const aimed = new Map<PeerId, number>();
  for (const { aim } of ways) aimed.set(aim, (aimed.get(aim) ?? 0) + 1);
  return [...new Set(ways.filter(({ hop, aim }) => hop === aim || aimed.get(aim)! >= 2).map(({ aim }) => aim))];
}

/** Ways remembered per lookup: an origin sends at most MAX_AVOID (4) copies. */
const MAX_WAYS = 4;

const keyOf = (origin: PeerId, rid: number, target: Position) => `${origin}:${rid}:${target}`;
