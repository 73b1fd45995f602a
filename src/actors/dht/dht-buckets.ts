import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import { contactOf } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import type { DhtMessage } from './dht-messages.js';
import type { KBucketEvent } from './k-bucket.machine.js';
import type { RoutingTable } from './routing-table.js';
import { BUCKET_COUNT } from './xor-distance.js';

/**
 * The DHT actor's side of its k-bucket actors (k-bucket.machine.ts): which bucket actors exist,
 * what each must be told, and the liveness pings they asked for. Plain functions over the DHT's
 * mutable state; the machine turns `planBucketSync` into spawnChild / stopChild / sendTo.
 *
 * One actor per NON-EMPTY bucket: a node's table is fed by its links, so ~log2(N) buckets hold
 * contacts (about 13 at 10,000 nodes) and the other ~243 cost nothing. A bucket actor is spawned
 * with its size when its first contact arrives and stopped when its last one leaves.
 *
 * Handlers never talk to a bucket actor directly: they queue events in `outbox`, and the
 * machine's `syncBuckets` action, which runs after every handler, delivers them (after spawning
 * the actors that should exist, so a `bucket.full` for a fresh bucket is not lost). Events for a
 * bucket that has just emptied are dropped with it.
 *
 * Liveness needs a link. A ping travels only over an open link (ps/dht ping/pong); an unlinked
 * table contact cannot be pinged without opening a WebRTC connection for it, which the link
 * budget forbids, so it is reported `bucket.unreachable` at once and loses its place to the
 * (linked: the table admits only peers whose link opened) newcomer. For the same reason there is
 * no periodic liveness sweep of unlinked contacts: they age out of lookup answers instead
 * (lookup-answer.ts answers only with contacts seen within two plan rounds).
 */

export interface BucketState {
  /** Size last told to each bucket actor, by bucket index: exactly the bucket actors that exist. */
  told: Map<number, number>;
  /** Events for bucket actors, in order, until the machine's next `syncBuckets`. */
  outbox: { index: number; event: KBucketEvent }[];
  /** Liveness pings awaiting their pong, by contact (at most one check per bucket at a time). */
  pings: Map<PeerId, { index: number; nonce: number }>;
  nextNonce: number;
  /** The table version the bucket actors were last reconciled with. */
  syncedVersion: number;
}

export function createBucketState(): BucketState {
  return { told: new Map(), outbox: [], pings: new Map(), nextNonce: 0, syncedVersion: -1 };
}

/** The child id of bucket `index`'s actor: stable, so traces and inspection show `dht/bucket-<index>`. */
export function bucketActorId(index: number): string {
  return `bucket-${index}`;
}

/** What a DHT node lends these functions. */
export interface BucketNode {
  state: { table: RoutingTable; buckets: BucketState };
  ports: { clock: Clock; send(to: PeerId, message: DhtMessage): boolean };
}

/**
 * A verified sighting of `peer` (its link opened, it closed gracefully, or it answered a ping).
 * When its bucket is full the newcomer waits in the replacement cache and the bucket is asked
 * to check its least-recently-seen contact.
 */
export function observeVerified(node: BucketNode, peer: PeerId): void {
  const { table, buckets } = node.state;
  const result = table.observe(contactOf(peer), node.ports.clock.now(), { verified: true });
  if (result.kind === 'full') buckets.outbox.push({ index: result.bucket, event: { type: 'bucket.full', suspect: result.leastRecentlySeen.id } });
}

/** `dht.bucket.ping`: ping over the link if there is one, else report the contact unreachable at once. */
export function pingRequested(node: BucketNode, index: number, peer: PeerId): void {
  const { buckets } = node.state;
  const nonce = buckets.nextNonce;
  buckets.nextNonce = (nonce + 1) % Number.MAX_SAFE_INTEGER;
  if (node.ports.send(peer, { t: 'ping', nonce })) {
    buckets.pings.set(peer, { index, nonce });
    return;
  }
  buckets.pings.delete(peer);
  buckets.outbox.push({ index, event: { type: 'bucket.unreachable', peer } });
}

/** A `pong`: counts only as the answer to our own pending ping (same peer, same nonce). */
export function pongReceived(node: BucketNode, from: PeerId, nonce: number): void {
  const { buckets } = node.state;
  const pending = buckets.pings.get(from);
  if (pending === undefined || pending.nonce !== nonce) return;
  buckets.pings.delete(from);
  // Moves it to its bucket's tail: the freshest contact, and fresh enough for lookup answers.
  observeVerified(node, from);
  buckets.outbox.push({ index: pending.index, event: { type: 'bucket.pong', peer: from } });
}

/** `dht.bucket.evict`: the suspect stayed silent. The table promotes the freshest replacement. */
export function evictRequested(node: BucketNode, index: number, peer: PeerId): void {
  const { table, buckets } = node.state;
  buckets.pings.delete(peer);
  // Only while it is still in that bucket: a contact seen again since is kept (`observe` moved
  // it, the check's answer may have crossed the timeout).
  const contact = table.get(peer);
  if (contact === undefined || table.bucketIndexOf(contact.position) !== index) return;
  table.evict(peer);
}

/** A link failed: a check waiting on that peer ends now rather than at its timeout. */
export function linkFailed(node: BucketNode, peer: PeerId): void {
  const { buckets } = node.state;
  const pending = buckets.pings.get(peer);
  if (pending === undefined) return;
  buckets.pings.delete(peer);
  buckets.outbox.push({ index: pending.index, event: { type: 'bucket.unreachable', peer } });
}

/** A refresh lookup of bucket `index` ended (answered, failed or timed out). */
export function refreshEnded(node: BucketNode, index: number): void {
  node.state.buckets.outbox.push({ index, event: { type: 'bucket.refreshed' } });
}

/** A lookup this node started went through `target`'s bucket: that bucket is not idle. */
export function lookupStarted(node: BucketNode, target: Position): void {
  const { table, buckets } = node.state;
  const index = table.bucketIndexOf(target);
  if (index >= BUCKET_COUNT) return;
  table.touch(index, node.ports.clock.now());
  const size = buckets.told.get(index);
  if (size !== undefined) buckets.outbox.push({ index, event: { type: 'bucket.activity', size } });
}

export interface BucketSync {
  spawn: { index: number; size: number }[];
  stop: number[];
  send: { index: number; event: KBucketEvent }[];
}

/**
 * Reconciles the bucket actors with the table and empties the outbox: which actors to spawn
 * (non-empty buckets without one), which to stop (emptied buckets), and the events to send,
 * size changes first. Updates `told` and `pings` as if the returned plan had been carried out.
 * Reads the 256 bucket slots only when the table changed since the last call.
 */
export function planBucketSync(node: Pick<BucketNode, 'state'>): BucketSync {
  const { table, buckets } = node.state;
  const plan: BucketSync = { spawn: [], stop: [], send: [] };
  if (table.version !== buckets.syncedVersion) {
    buckets.syncedVersion = table.version;
    const sizes = new Map<number, number>();
    for (const index of table.nonEmptyBuckets()) sizes.set(index, table.bucket(index).length);
    for (const [index, told] of buckets.told) {
      const size = sizes.get(index);
      if (size === undefined) {
        plan.stop.push(index);
        buckets.told.delete(index);
        for (const [peer, pending] of buckets.pings) if (pending.index === index) buckets.pings.delete(peer);
      } else if (size !== told) {
        plan.send.push({ index, event: { type: 'bucket.activity', size } });
        buckets.told.set(index, size);
      }
    }
    for (const [index, size] of sizes) {
      if (buckets.told.has(index)) continue;
      plan.spawn.push({ index, size });
      buckets.told.set(index, size);
    }
  }
  for (const item of buckets.outbox) if (buckets.told.has(item.index)) plan.send.push(item);
  buckets.outbox.length = 0;
  return plan;
}
