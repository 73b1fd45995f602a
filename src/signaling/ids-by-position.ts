import type { PeerId } from '../identity/peer-id.js';
import { positionHex, type Position } from '../actors/ring/id-space.js';

/**
 * PeerIds in ring order (by position, the SHA-256 of the key), so a server can name the
 * registered ring members just before a joiner's own position: a lookup of that position from
 * the nearest of them ends within a hop or two. From a random member it crossed the ring one
 * successor list per hop over ring links alone: ~N/(32 × 8) hops from the best of 32 random
 * peers, 40 on average at 10,000 nodes, whose round trips overran the lookup timeout.
 *
 * A sorted array: insertion and removal move O(N) pointers (microseconds at 10,000 ids, and
 * they happen once per membership change, which a client can cause at most at its message rate
 * limit), a query is a binary search plus k steps. Two ids never share a position (SHA-256), so
 * each id is found at the one index its position gives.
 */
export class IdsByPosition {
  private readonly positions: Position[] = [];
  private readonly ids: PeerId[] = [];

  get size(): number {
    return this.ids.length;
  }

  has(id: PeerId): boolean {
    const position = positionHex(id);
    const at = this.search(position);
    return this.positions[at] === position && this.ids[at] === id;
  }

  add(id: PeerId): void {
    const position = positionHex(id);
    const at = this.search(position);
    if (this.positions[at] === position && this.ids[at] === id) return;
    this.positions.splice(at, 0, position);
    this.ids.splice(at, 0, id);
  }

  delete(id: PeerId): boolean {
    const position = positionHex(id);
    const at = this.search(position);
    if (this.positions[at] !== position || this.ids[at] !== id) return false;
    this.positions.splice(at, 1);
    this.ids.splice(at, 1);
    return true;
  }

  /**
   * Up to `k` ids counter-clockwise from `position` (the nearest before it first, wrapping past
   * zero), skipping those `accept` refuses; an id at `position` itself comes last, as the one
   * farthest before it. At most `maxScanned` entries are looked at, so a filter that refuses
   * nearly everything (a partition in the simulator) cannot make one query cost O(N).
   */
  nearestBefore(position: Position, k: number, accept: (id: PeerId) => boolean = () => true, maxScanned = 8 * k + 64): PeerId[] {
    const picked: PeerId[] = [];
    const count = this.ids.length;
    if (k <= 0 || count === 0) return picked;
    // The first index at or past `position`; the one before it is the nearest before.
    const start = this.search(position);
    const steps = Math.min(count, maxScanned);
    for (let step = 1; step <= steps && picked.length < k; step += 1) {
      const id = this.ids[(start - step + count * 2) % count]!;
      if (accept(id)) picked.push(id);
    }
    return picked;
  }

  /** The first index whose position is ≥ `position` (length when none). */
  private search(position: Position): number {
    let low = 0;
    let high = this.positions.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.positions[middle]! < position) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
