import type { PeerId } from '../identity/peer-id.js';

/**
 * Registered peers, keyed by PeerId, with a dense array of ids alongside so a random
 * sample costs O(k) rather than a copy of the whole map. Removal swaps with the last slot.
 */
export class Registry<V> {
  private readonly byId = new Map<PeerId, { value: V; index: number }>();
  private readonly list: PeerId[] = [];

  get size(): number {
    return this.list.length;
  }

  /** Every registered id; do not mutate. */
  get ids(): readonly PeerId[] {
    return this.list;
  }

  get(id: PeerId): V | undefined {
    return this.byId.get(id)?.value;
  }

  set(id: PeerId, value: V): void {
    const entry = this.byId.get(id);
    if (entry !== undefined) {
      entry.value = value;
      return;
    }
    this.byId.set(id, { value, index: this.list.length });
    this.list.push(id);
  }

  delete(id: PeerId): boolean {
    const entry = this.byId.get(id);
    if (entry === undefined) return false;
    this.byId.delete(id);
    const last = this.list.pop() as PeerId;
    if (last !== id) {
      this.list[entry.index] = last;
      (this.byId.get(last) as { index: number }).index = entry.index;
    }
    return true;
  }
}
