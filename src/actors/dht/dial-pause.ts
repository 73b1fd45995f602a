/**
 * When the node's link planner may dial again after its dials were turned away.
 *
 * A DHT link takes a slot at both ends, and a far end past its budget makes the opener give the
 * link up (yieldIfSaturated in dht.machine.ts). In a network at rest most nodes sit near the
 * budget, so a node below its dial ceiling that dials again at every plan round mostly reaches
 * full peers: each dial a whole WebRTC connection (signals, handshake) that closes at once.
 * Measured in the simulator (300 nodes at rest, budget 32, two minutes after forming): 982 dials
 * in 30 s, 661 of them given up at once (bench/dht-rest.bench.ts: 0.114 new connections per
 * node per second before this and the planner's changes, 0.013 after; the ring alone 0.012).
 *
 * So after a dial is turned away (its far end's first link set lists us past its budget, whether
 * or not it then keeps the link) the node stops dialing for a plan round, then two, four… (up to
 * 2^MAX_DOUBLINGS rounds), and starts again at once when a dial of its own holds (its far end
 * lists it within the budget) or a link of its own fails. Staying a few links below the ceiling
 * costs a little routing; the ring links keep the node connected whatever the DHT holds.
 */
export const MAX_DOUBLINGS = 5;

export class DialPause {
  private until = Number.NEGATIVE_INFINITY;
  private times = 0;

  /** Dialing is paused at `now`. */
  paused(now: number): boolean {
    return now < this.until;
  }

  /** A dial was turned away at `now`: pause longer than last time (once per pause). */
  turnedAway(now: number, planIntervalMs: number): void {
    if (this.paused(now)) return;
    this.times = Math.min(this.times + 1, MAX_DOUBLINGS + 1);
    this.until = now + 2 ** (this.times - 1) * planIntervalMs;
  }

  /** A dial held, or a link failed: the next round may dial, and the next pause starts short. */
  reset(): void {
    this.until = Number.NEGATIVE_INFINITY;
    this.times = 0;
  }
}
