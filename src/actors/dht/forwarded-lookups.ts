import type { PeerId } from '../../identity/peer-id.js';

/**
 * Where this node forwarded each recent lookup, so that a re-sent copy (same origin and rid:
 * lookup-retry.ts) does not take the same way again.
 *
 * The origin re-sends a lookup that got no answer for lookupRetryMs, routed around its own
 * first hops; it cannot see past them. Measured in the simulator (N = 100, 30-min and 5-min
 * sessions): lookups failed whose every try was aimed at the peer truly nearest the target,
 * alive, which forwarded each copy to a link nearer still that had crashed seconds before,
 * unnoticed yet by its heartbeat (a node nearer than the truly nearest alive one can only be
 * gone); the origin then left that live peer out of the answer as a suspect. A copy that comes
 * back here means the ways taken before did not answer: this node routes around those hops and
 * the nodes they were aimed at (NoN: the hop itself, or a link of the hop's), and leaves those
 * aims out of its answer if no other link leads nearer (each was nearer than this node, and
 * silent for a retry interval). A hop that only passed the request on stays in the answer: it
 * may be alive and near.
 *
 * Bounded: at most `capacity` lookups, oldest dropped first, and MAX_WAYS ways each; a lookup
 * first forwarded more than `maxAgeMs` ago (the lookup timeout: no copy of it can still come)
 * no longer counts, so a restarted node reusing rids is not misled.
 */
export class ForwardedLookups {
  private readonly lookups = new Map<string, Forwarded>();

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  /** Where earlier copies of lookup `rid` from `origin` were forwarded, if it is recent. */
  earlier(origin: PeerId, rid: number, now: number): Forwarded | undefined {
    const entry = this.lookups.get(keyOf(origin, rid));
    return entry !== undefined && now - entry.at <= this.maxAgeMs ? entry : undefined;
  }

  remember(origin: PeerId, rid: number, way: { hop: PeerId; aim: PeerId }, now: number): void {
    const key = keyOf(origin, rid);
    const known = this.earlier(origin, rid, now);
    this.lookups.delete(key);
    const entry: Forwarded = known
      ? { hops: [...known.hops, way.hop].slice(-MAX_WAYS), aims: [...known.aims, way.aim].slice(-MAX_WAYS), at: known.at }
      : { hops: [way.hop], aims: [way.aim], at: now };
    this.lookups.set(key, entry);
    if (this.lookups.size > this.capacity) this.lookups.delete(this.lookups.keys().next().value!);
  }

  get size(): number {
    return this.lookups.size;
  }
}

/** The ways copies of one lookup went on from here: the links, the nodes aimed at through them; first forwarded at `at`. */
export interface Forwarded {
  readonly hops: readonly PeerId[];
  readonly aims: readonly PeerId[];
  readonly at: number;
}

/** Ways remembered per lookup: an origin sends at most MAX_AVOID (4) copies. */
const MAX_WAYS = 4;

const keyOf = (origin: PeerId, rid: number) => `${origin}:${rid}`;
