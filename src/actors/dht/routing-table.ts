import { PeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import { BUCKET_COUNT, bucketIndex, closest as closestByXor } from './xor-distance.js';

/**
 * The Kademlia routing table: what a node knows about other peers, as k-buckets indexed by the
 * common-prefix length of their position with its own. Most contacts here are NOT linked (a
 * node holds at most ~32 links); the link planner picks which ones deserve a link.
 *
 * Mechanism apart from policy: the table never pings, never times out and never reads a clock.
 * `observe` reports "bucket full, here is the least-recently-seen contact"; the bucket actor
 * decides to ping it and, on silence, calls `evict`, which promotes the freshest replacement.
 *
 * Why a mutable class: the table lives in one DHT actor's context and changes on almost every
 * message. An immutable table would copy a bucket and the 256-slot bucket array per event, for
 * 10,000 simulated nodes. So it is mutated in place, with two rules:
 *   - only the owning actor mutates it, and only from inside its actions (never from a port
 *     callback or another actor), so mutations stay ordered with the machine's transitions;
 *   - every mutation bumps `version`; the action assigns `{ tableVersion: table.version }` so the
 *     actor's snapshot changes whenever the table does and observers/inspectors see it.
 * `toJSON()` gives a plain-data copy for inspection and persistence.
 *
 * Sybil hygiene: only verified contacts (the node has talked to them / checked their puzzle) are
 * admitted, and one introducer (the peer that told us about a contact) may account for at most
 * `maxPerIntroducer` entries of one bucket, its replacement cache included, so no single peer
 * can fill a bucket with identities it made up. A contact that reached us itself is its own
 * introducer and counts against nobody's cap.
 */

export interface RoutingTableConfig {
  /** Contacts per bucket. */
  k: number;
  /** Verified contacts waiting for room in a full bucket, per bucket. */
  replacementCacheSize: number;
  /** Most entries of one bucket (cache included) attributed to one introducer other than the contact itself. */
  maxPerIntroducer: number;
  /** Consecutive failures after which `markFailed` evicts a contact. */
  failureThreshold: number;
}

export const DEFAULT_K = 20;

export const DEFAULT_ROUTING_TABLE_CONFIG: RoutingTableConfig = Object.freeze({
  k: DEFAULT_K,
  replacementCacheSize: DEFAULT_K,
  maxPerIntroducer: 2,
  failureThreshold: 3,
});

/** A contact as the table holds it. Read-only outside this module. */
export interface TableContact extends Contact {
  /** Who told us about it; the contact itself when it reached us directly. */
  readonly introducer: PeerId;
  /** When it entered the table (or a replacement cache): the age the link planner prefers. */
  readonly addedAt: number;
  /** Last time it was observed verified. Buckets are ordered by this, least recent first. */
  readonly lastSeen: number;
  /** Failures since it was last seen. */
  readonly failures: number;
}

export interface ObserveOptions {
  /** The node has talked to this peer itself (or checked its position puzzle). Unverified contacts never enter. */
  verified: boolean;
  /** The peer that told us about it; default: the contact itself (it reached us directly). */
  introducer?: PeerId;
}

export type ObserveResult =
  /** New in the bucket (possibly after waiting in the replacement cache). */
  | { kind: 'added'; bucket: number }
  /** Already in the bucket: now its most recently seen entry. */
  | { kind: 'updated'; bucket: number }
  /**
   * No room: the newcomer waits in the replacement cache. The caller may ping
   * `leastRecentlySeen` and `evict` it if it stays silent.
   */
  | { kind: 'full'; bucket: number; leastRecentlySeen: TableContact }
  | { kind: 'rejected'; reason: 'self' | 'unverified' | 'introducer-cap' };

export interface EvictResult {
  evicted: TableContact | undefined;
  /** The freshest replacement, moved into the bucket in the evicted contact's place. */
  promoted: TableContact | undefined;
}

export type FailureResult =
  | { kind: 'unknown' }
  | { kind: 'counted'; failures: number }
  | { kind: 'evicted'; promoted: TableContact | undefined };

interface Entry {
  id: PeerId;
  position: Position;
  introducer: PeerId;
  addedAt: number;
  lastSeen: number;
  failures: number;
  bucket: number;
  cached: boolean;
}

interface Bucket {
  /** Ascending lastSeen: head = least recently seen, tail = freshest. */
  contacts: Entry[];
  /** Same order; the tail is promoted first. */
  cache: Entry[];
  lastTouched: number;
}

export function validateRoutingTableConfig(config: RoutingTableConfig): void {
  const positive = (name: keyof RoutingTableConfig, min: number) => {
    const value = config[name];
    if (!Number.isSafeInteger(value) || value < min) {
      throw new PeerSockError('INVALID_ARGUMENT', `routing table ${name} must be an integer >= ${min}, got ${value}`);
    }
  };
  positive('k', 1);
  positive('replacementCacheSize', 0);
  positive('maxPerIntroducer', 1);
  positive('failureThreshold', 1);
}

export class RoutingTable {
  readonly self: Position;
  readonly config: RoutingTableConfig;
  /** Bumped by every mutation; assign it into the owning actor's context. */
  version = 0;
  private readonly createdAt: number;
  private readonly buckets: (Bucket | undefined)[] = new Array<Bucket | undefined>(BUCKET_COUNT);
  private readonly entries = new Map<PeerId, Entry>();
  private count = 0;

  /** `now` dates the buckets: an untouched bucket needs refresh from `now + refreshMs`. */
  constructor(self: Position, now: number, config: Partial<RoutingTableConfig> = {}) {
    this.self = self;
    this.config = { ...DEFAULT_ROUTING_TABLE_CONFIG, ...config };
    validateRoutingTableConfig(this.config);
    this.createdAt = now;
  }

  /** Contacts in buckets (replacement caches not counted). */
  get size(): number {
    return this.count;
  }

  /**
   * Records that `contact` was seen at `now`. `contact.position` must be derived from its id
   * (`contactOf`), never taken from the wire.
   */
  observe(contact: Contact, now: number, options: ObserveOptions): ObserveResult {
    if (contact.position === this.self) return { kind: 'rejected', reason: 'self' };
    // A rumour is not a sighting: unverified news neither admits a contact nor refreshes one.
    if (!options.verified) return { kind: 'rejected', reason: 'unverified' };
    const index = bucketIndex(this.self, contact.position);
    const existing = this.entries.get(contact.id);
    if (existing !== undefined) return this.seenAgain(existing, now);

    const introducer = options.introducer ?? contact.id;
    const bucket = this.bucketAt(index);
    if (introducer !== contact.id && this.introducedCount(bucket, introducer) >= this.config.maxPerIntroducer) {
      return { kind: 'rejected', reason: 'introducer-cap' };
    }
    const entry: Entry = { id: contact.id, position: contact.position, introducer, addedAt: now, lastSeen: now, failures: 0, bucket: index, cached: false };
    if (bucket.contacts.length < this.config.k) {
      this.entries.set(entry.id, entry);
      insertByLastSeen(bucket.contacts, entry);
      this.count += 1;
      bucket.lastTouched = Math.max(bucket.lastTouched, now);
      this.version += 1;
      return { kind: 'added', bucket: index };
    }
    this.cacheEntry(bucket, entry);
    this.version += 1;
    return { kind: 'full', bucket: index, leastRecentlySeen: bucket.contacts[0]! };
  }

  /** Removes a contact (from its bucket or replacement cache). A bucket slot freed is refilled from the cache. */
  evict(id: PeerId): EvictResult {
    const entry = this.entries.get(id);
    if (entry === undefined) return { evicted: undefined, promoted: undefined };
    const bucket = this.buckets[entry.bucket]!;
    this.entries.delete(id);
    this.version += 1;
    if (entry.cached) {
      remove(bucket.cache, entry);
      return { evicted: entry, promoted: undefined };
    }
    remove(bucket.contacts, entry);
    this.count -= 1;
    const promoted = bucket.cache.pop();
    if (promoted !== undefined) {
      promoted.cached = false;
      insertByLastSeen(bucket.contacts, promoted);
      this.count += 1;
    }
    return { evicted: entry, promoted };
  }

  /** Counts a failed exchange; at `failureThreshold` consecutive failures the contact is evicted. */
  markFailed(id: PeerId): FailureResult {
    const entry = this.entries.get(id);
    if (entry === undefined) return { kind: 'unknown' };
    entry.failures += 1;
    this.version += 1;
    if (entry.failures < this.config.failureThreshold) return { kind: 'counted', failures: entry.failures };
    return { kind: 'evicted', promoted: this.evict(id).promoted };
  }

  /** A lookup went through bucket `index`'s range at `now`: it does not need a refresh yet. */
  touch(index: number, now: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= BUCKET_COUNT) return;
    const bucket = this.bucketAt(index);
    bucket.lastTouched = Math.max(bucket.lastTouched, now);
    this.version += 1;
  }

  /** The `count` bucket contacts nearest `target` by XOR, nearest first. */
  closest(target: Position, count: number): TableContact[] {
    const all: TableContact[] = [];
    for (const bucket of this.buckets) if (bucket !== undefined) all.push(...bucket.contacts);
    return closestByXor(target, all, count, positionOfContact);
  }

  /**
   * Buckets with no activity for `refreshMs`, among those worth refreshing: every index from 0
   * up to the deepest non-empty bucket (empty buckets below it are gaps a lookup may fill;
   * deeper ones are empty because the network is finite, and refreshing them finds nothing).
   */
  bucketsNeedingRefresh(now: number, refreshMs: number): number[] {
    const stale: number[] = [];
    const deepest = this.deepestNonEmptyBucket();
    for (let index = 0; index <= deepest; index += 1) {
      const lastTouched = this.buckets[index]?.lastTouched ?? this.createdAt;
      if (now - lastTouched >= refreshMs) stale.push(index);
    }
    return stale;
  }

  get(id: PeerId): TableContact | undefined {
    const entry = this.entries.get(id);
    return entry === undefined || entry.cached ? undefined : entry;
  }

  /** Whether `id` is in a bucket (not merely waiting in a replacement cache). */
  has(id: PeerId): boolean {
    return this.get(id) !== undefined;
  }

  /** The bucket index `position` falls in (256 for self). */
  bucketIndexOf(position: Position): number {
    return bucketIndex(this.self, position);
  }

  /** Bucket `index`, least recently seen first. */
  bucket(index: number): readonly TableContact[] {
    return this.buckets[index]?.contacts ?? [];
  }

  /** Replacement cache of bucket `index`, least recently seen first. */
  replacements(index: number): readonly TableContact[] {
    return this.buckets[index]?.cache ?? [];
  }

  /** Indices of buckets holding at least one contact, ascending. */
  nonEmptyBuckets(): number[] {
    const indices: number[] = [];
    for (let index = 0; index < BUCKET_COUNT; index += 1) {
      if ((this.buckets[index]?.contacts.length ?? 0) > 0) indices.push(index);
    }
    return indices;
  }

  /** Every bucket contact, by bucket index, least recently seen first within a bucket. */
  contacts(): TableContact[] {
    const all: TableContact[] = [];
    for (const bucket of this.buckets) if (bucket !== undefined) all.push(...bucket.contacts);
    return all;
  }

  toJSON(): { self: Position; version: number; buckets: { index: number; contacts: TableContact[]; replacements: TableContact[]; lastTouched: number }[] } {
    const buckets = [];
    for (let index = 0; index < BUCKET_COUNT; index += 1) {
      const bucket = this.buckets[index];
      if (bucket === undefined || (bucket.contacts.length === 0 && bucket.cache.length === 0)) continue;
      buckets.push({ index, contacts: bucket.contacts.map(copyOf), replacements: bucket.cache.map(copyOf), lastTouched: bucket.lastTouched });
    }
    return { self: this.self, version: this.version, buckets };
  }

  private seenAgain(entry: Entry, now: number): ObserveResult {
    const bucket = this.buckets[entry.bucket]!;
    entry.failures = 0;
    entry.lastSeen = Math.max(entry.lastSeen, now);
    this.version += 1;
    if (entry.cached) {
      // Entries wait in a cache only while their bucket is full (a freed slot takes the
      // freshest of them at once), so a waiting contact seen again is still waiting.
      remove(bucket.cache, entry);
      insertByLastSeen(bucket.cache, entry);
      return { kind: 'full', bucket: entry.bucket, leastRecentlySeen: bucket.contacts[0]! };
    }
    remove(bucket.contacts, entry);
    insertByLastSeen(bucket.contacts, entry);
    bucket.lastTouched = Math.max(bucket.lastTouched, now);
    return { kind: 'updated', bucket: entry.bucket };
  }

  /** Adds to the replacement cache; at its bound the least recently seen waiting entry goes. */
  private cacheEntry(bucket: Bucket, entry: Entry): void {
    if (this.config.replacementCacheSize === 0) return;
    entry.cached = true;
    insertByLastSeen(bucket.cache, entry);
    this.entries.set(entry.id, entry);
    while (bucket.cache.length > this.config.replacementCacheSize) {
      const dropped = bucket.cache.shift()!;
      this.entries.delete(dropped.id);
    }
  }

  private introducedCount(bucket: Bucket, introducer: PeerId): number {
    let n = 0;
    for (const e of bucket.contacts) if (e.introducer === introducer && e.id !== introducer) n += 1;
    for (const e of bucket.cache) if (e.introducer === introducer && e.id !== introducer) n += 1;
    return n;
  }

  private bucketAt(index: number): Bucket {
    let bucket = this.buckets[index];
    if (bucket === undefined) {
      bucket = { contacts: [], cache: [], lastTouched: this.createdAt };
      this.buckets[index] = bucket;
    }
    return bucket;
  }

  private deepestNonEmptyBucket(): number {
    for (let index = BUCKET_COUNT - 1; index >= 0; index -= 1) {
      if ((this.buckets[index]?.contacts.length ?? 0) > 0) return index;
    }
    return -1;
  }
}

function positionOfContact(contact: TableContact): Position {
  return contact.position;
}

/** Keeps `list` in ascending lastSeen order; an equal lastSeen goes after the others (it was seen later). */
function insertByLastSeen(list: Entry[], entry: Entry): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.lastSeen > entry.lastSeen) i -= 1;
  list.splice(i, 0, entry);
}

function remove(list: Entry[], entry: Entry): void {
  const i = list.indexOf(entry);
  if (i >= 0) list.splice(i, 1);
}

function copyOf(entry: Entry): TableContact {
  return { id: entry.id, position: entry.position, introducer: entry.introducer, addedAt: entry.addedAt, lastSeen: entry.lastSeen, failures: entry.failures };
}
