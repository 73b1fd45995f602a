import type { PeerId } from '../identity/peer-id.js';
import { positionHex } from '../actors/ring/id-space.js';
import { IdsByPosition } from './ids-by-position.js';

/**
 * A set of PeerIds with a dense array alongside, so a random sample costs O(k) rather than a
 * copy of the whole set. Removal swaps the last id into the freed slot.
 */
export class IndexedIds {
  private readonly slots = new Map<PeerId, number>();
  private readonly list: PeerId[] = [];

  get size(): number {
    return this.list.length;
  }

  /** Every id; do not mutate. */
  get ids(): readonly PeerId[] {
    return this.list;
  }

  has(id: PeerId): boolean {
    return this.slots.has(id);
  }

  add(id: PeerId): void {
    if (this.slots.has(id)) return;
    this.slots.set(id, this.list.length);
    this.list.push(id);
  }

  delete(id: PeerId): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined) return false;
    this.slots.delete(id);
    const last = this.list.pop() as PeerId;
    if (last !== id) {
      this.list[slot] = last;
      this.slots.set(last, slot);
    }
    return true;
  }
}

/**
 * Registered peers, keyed by PeerId, and which of them said they are ring members (samples
 * name those first). Both id lists are IndexedIds: O(k) samples, O(1) removal. Members are
 * also kept in ring order, for samples that ask for the members nearest before the asker.
 */
export class Registry<V> {
  private readonly values = new Map<PeerId, V>();
  private readonly all = new IndexedIds();
  private readonly members = new IndexedIds();
  private readonly membersInRingOrder = new IdsByPosition();

  get size(): number {
    return this.all.size;
  }

  /** Every registered id; do not mutate. */
  get ids(): readonly PeerId[] {
    return this.all.ids;
  }

  /** The registered ids that are ring members; do not mutate. */
  get memberIds(): readonly PeerId[] {
    return this.members.ids;
  }

  get(id: PeerId): V | undefined {
    return this.values.get(id);
  }

  /** A new registration starts as a non-member; replacing the value keeps the flag. */
  set(id: PeerId, value: V): void {
    this.values.set(id, value);
    this.all.add(id);
  }

  /** Ignored for an id that is not registered. */
  setMember(id: PeerId, member: boolean): void {
    if (!this.values.has(id)) return;
    if (member === this.members.has(id)) return;
    if (member) {
      this.members.add(id);
      this.membersInRingOrder.add(id);
    } else {
      this.members.delete(id);
      this.membersInRingOrder.delete(id);
    }
  }

  /** Up to `k` ring members other than `self` that `accept` takes, the nearest before `self`'s position first. */
  membersNearestBefore(self: PeerId, k: number, accept: (id: PeerId) => boolean = () => true): PeerId[] {
    return this.membersInRingOrder.nearestBefore(positionHex(self), k, (id) => id !== self && accept(id));
  }

  isMember(id: PeerId): boolean {
    return this.members.has(id);
  }

  delete(id: PeerId): boolean {
    if (!this.values.delete(id)) return false;
    this.all.delete(id);
    this.members.delete(id);
    this.membersInRingOrder.delete(id);
    return true;
  }
}
