import { assign, enqueueActions, sendTo, setup } from 'xstate';
import type { ErrorCode } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { Random } from '../../ports/random.js';
import { contactOf, type Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import { Candidates } from './candidates.js';
import * as buckets from './dht-buckets.js';
import type { BucketState } from './dht-buckets.js';
import type { DhtConfig } from './dht-config.js';
import { aimThrough, forward, linkContacts } from './dht-forward.js';
import { MAX_AVOID, MAX_LINK_SET, MAX_PATH, type DhtMessage } from './dht-messages.js';
import * as providers from './dht-providers.js';
import type { ProviderPorts, ProviderState } from './dht-providers.js';
import { DEFAULT_K_BUCKET_TIMING, kBucketMachine, type KBucketEvent, type KBucketRequest, type KBucketTiming } from './k-bucket.machine.js';
import { DialPause } from './dial-pause.js';
import { dialCeiling, planLinks } from './link-planner.js';
import { answerPeers } from './lookup-answer.js';
import { staleOnPath } from './lookup-vouching.js';
import { ForwardedLookups, silentAims } from './forwarded-lookups.js';
import { answerFor, answerWithout, resendLookup, retryDue, sendLookup, suspects, tryLost, type RetriableLookup } from './lookup-retry.js';
import { planningTable } from './planning-table.js';
import type { ProviderDeskEvent } from './provider-desk.js';
import { serviceKey } from './provider-record.js';
import { ProviderStore } from './provider-store.js';
import { RoutingTable } from './routing-table.js';
import { closest } from './xor-distance.js';

/**
 * The DHT of one node (systemId 'dht'): a Kademlia routing table fed by the node's links,
 * lookups routed recursively over links that already exist (never a new connection per hop),
 * and a planner that spends the node's few links on the contacts that make lookups short.
 *
 *   running ── planDelay (jittered) ──▶ running (re-entered: plan links, announce link set)
 *
 * One state, because the DHT has no phases of its own: the ring brings the first links, and
 * everything else is a reaction to a link or a message. Every wait has a timeout: a lookup
 * started here fails with TIMEOUT after lookupTimeoutMs; a dial the planner asked for that has
 * not opened by the next plan round (≥ planIntervalMs later) counts as a failure of that contact.
 * A lookup with no answer after lookupRetryMs is sent again, routed around the peers its silent
 * tries went through, every lookupRetryMs until it settles, and at once when the link its
 * latest try went over closes (lookup-retry.ts: a crashed link looks open for seconds); where a
 * lookup stops, peers that only the stale link sets of its path name stay out of the answer
 * (lookup-vouching.ts).
 *
 * Contacts: a link that comes up is a verified contact (an authenticated channel proves the
 * key) and enters the table. Peers we only hear of (in a link set or a `closest` answer) are
 * held as unverified candidates the planner may choose to link to; they never enter the table
 * or an answer until their link opens. A link that fails is evicted at once.
 *
 * Neighbour-of-neighbour routing needs each link's link set: on link up we send the peer ours
 * (`links`), and when ours changes (members or order) we send the new one to every link at a
 * plan round (at most once per planIntervalMs), or at once when a link failed (announceIfDue).
 *
 * Link budget: links others opened count against ours and are never closed by us, so the
 * planner treats them like ring neighbours (fixed: counted, never closed); we dial only below
 * dialCeiling(linkBudget), leaving room for others' dials (link-planner.ts: at the budget
 * everywhere, every new link displaced another, for ever), and shed our own as soon as a link
 * up puts us over budget; an opener that finds itself past the budget in its
 * peer's link set yields (see yieldIfSaturated), backing off that peer exponentially. For that
 * the link set is announced in the order the node would keep its links (linkSetMessage). A
 * dial whose far end lists us past its budget in its first link set also pauses our dialing,
 * longer each time, until a dial holds or a link of ours fails (dial-pause.ts); while paused,
 * the planner closes none of our links but those past the budget.
 *
 * Provider records (announce, hold, find) are in dht-providers.ts; their rounds ride on the plan
 * round, and their signatures are made and checked beside the actor (provider-desk.ts).
 *
 * k-buckets: one child actor per non-empty bucket (`dht/bucket-<index>`, k-bucket.machine.ts),
 * spawned when the bucket gets its first contact and stopped when it empties (dht-buckets.ts).
 * A bucket decides and this actor carries out: a newcomer finding its bucket full makes the
 * bucket ask for a ping of its least-recently-seen contact (sent over its link; no link → that
 * contact is unreachable and loses its place), an eviction (the table promotes the newcomer
 * from the replacement cache), or, when idle, a refresh lookup of a random id in its range
 * through the ordinary lookup path. `syncBuckets` runs after every handler and delivers what the
 * handlers queued. The initial links (loadLinks, deferred until the actor starts) get their
 * bucket actors at the first event after start.
 *
 * Mutable state (the table, the candidates, the maps below) lives in `state` and is changed only
 * from this machine's actions; each handler bumps `version` so snapshots change with it.
 */
export interface DhtPorts extends ProviderPorts {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Sends over an open, authenticated link; false when there is none. */
  send(to: PeerId, message: DhtMessage): boolean;
  /** Asks the transport for a link (idempotent); `link.up` follows if it opens. */
  connect(peer: PeerId): void;
  /** Closes a link this actor opened (graceful; `link.down` follows). */
  disconnect(peer: PeerId): void;
  /** Peers with an open link right now (the DHT may start after some opened). */
  openPeers(): readonly PeerId[];
  /** The ring's predecessor and successors: counted against the budget, never closed here. */
  ringNeighbours(): readonly PeerId[];
  /** The outcome of a lookup the runtime asked for with `lookup {rid}`. */
  answer(rid: number, outcome: LookupOutcome): void;
}

export type LookupOutcome =
  /** `hops`: links the request crossed before the answering node (0: answered here). */
  | { ok: true; peers: PeerId[]; hops: number }
  | { ok: false; code: Extract<ErrorCode, 'TIMEOUT' | 'BACKPRESSURE' | 'NOT_CONNECTED'>; message: string };

export interface DhtInput {
  self: PeerId;
  config: DhtConfig;
  ports: DhtPorts;
  /** The bucket actors' timing; the liveness timeout defaults to config.pingTimeoutMs. */
  bucketTiming?: Partial<KBucketTiming>;
}

/** One introducer places at most this many candidates per bucket in the planner's view. */
const CANDIDATES_PER_INTRODUCER = 2;
/** Lookups of others whose ways on a node remembers (forwarded-lookups.ts): many seconds' worth at a high rate. */
const FORWARDS_REMEMBERED = 512;
/** Plan rounds we leave a peer alone after it was over its link budget. */
const SATURATED_BACKOFF_ROUNDS = 3;
const SATURATED_MAX_DOUBLINGS = 5;

/** Who asked for a lookup: the runtime (answered through ports.answer) or an announcement round. */
type LookupFor = { kind: 'api'; rid: number } | { kind: 'announce'; service: string; epoch: number } | { kind: 'refresh'; index: number };

interface PendingLookup extends RetriableLookup {
  for: LookupFor;
}

/** The DHT's mutable state; see the machine comment. */
export interface DhtState {
  table: RoutingTable;
  candidates: Candidates;
  links: Set<PeerId>;
  /** Links this actor asked for: the only ones it ever closes. */
  owned: Set<PeerId>;
  /** Dials not yet open, by the time they were asked for. */
  dialing: Map<PeerId, number>;
  /** Each current link's own link set, as it last told us. */
  linkSets: Map<PeerId, Contact[]>;
  /** Lookups started here, by their wire rid. */
  pending: Map<number, PendingLookup>;
  /** The next wire rid of a request started here (lookups and provider queries share the counter). */
  nextRid: number;
  providers: ProviderState;
  /** Peers that were over their link budget when we linked to them: left alone until `until`. */
  saturated: Map<PeerId, { until: number; times: number }>;
  /** Our dials that opened and whose far end has not yet sent its link set (did it keep us?). */
  unanswered: Set<PeerId>;
  /** No new dials while our dials keep being turned away (dial-pause.ts). */
  dialPause: DialPause;
  /**
   * Links whose far end told us (its link set names us outside its own dials) that its DHT did
   * not open them: its ring's, an application's. It never yields them, so they are announced
   * before the links it would yield (linkSetMessage).
   */
  kept: Set<PeerId>;
  /** The link set last sent to every link, and when. */
  announced: { peers: readonly PeerId[]; own: number };
  lastAnnouncedAt: number;
  buckets: BucketState;
  /** Where recent lookups of others went on from here (a re-sent copy goes another way). */
  forwarded: ForwardedLookups;
}

/** The actor's context (exported so that a test harness returning the actor can name its type). */
export interface Context {
  self: Contact;
  config: DhtConfig;
  ports: DhtPorts;
  state: DhtState;
  /** Shared by every bucket actor of this node (not copied per bucket). */
  bucketTiming: KBucketTiming;
  version: number;
}

type Event =
  | { type: 'link.up'; peer: PeerId }
  | { type: 'link.down'; peer: PeerId; failed: boolean }
  | { type: 'dht.message'; from: PeerId; message: DhtMessage }
  /** From the runtime: find the `count` peers nearest `target`; the outcome goes to `ports.answer(rid)`. */
  | { type: 'lookup'; rid: number; target: Position; count: number }
  /** `rid`: the wire rid of a lookup started here. */
  | { type: 'lookup.expire'; rid: number }
  | { type: 'lookup.retry'; rid: number }
  /** From the runtime: announce `service` until `unprovide`; each round's outcome goes to `ports.announced`. */
  | { type: 'provide'; service: string; epoch: number; ttlMs: number }
  | { type: 'unprovide'; service: string; epoch?: number }
  /** From the runtime: the providers of `key`; the outcome goes to `ports.found(rid)`. */
  | { type: 'providers.find'; rid: number; key: Position; count: number }
  | { type: 'providers.find.expire'; rid: number }
  | ProviderDeskEvent
  /** From a bucket actor (sendParent). */
  | KBucketRequest;

/**
 * Our link set in the order we would keep our links when over budget, so that the links past
 * the budget in it are exactly the ones their openers should give up (yieldIfSaturated):
 *   1. ring neighbours (the ring keeps them whatever the budget);
 *   2. links opened by others that will not yield them (`kept`: their ring's, an application's);
 *   3. links others' DHTs opened, and links whose far end has not told us yet;
 *   4. our own dials, last (`own` counts them): we shed those ourselves (applyPlan), and a peer
 *      finding itself among them knows our DHT opened its link, so it files us under 3.
 * Each group in the order its links came up. In the order links came up alone, a late ring
 * neighbour or application link sat last, the DHT openers before it all stayed within the
 * budget, and the node stayed over it for as long as their links lasted (simulator, 80 nodes,
 * application links to full nodes: over budget for all of the 20 s watched; now at most ~3 s in
 * a row, test/dht/link-budget-sim.test.ts).
 */
function linkSetMessage(context: Context): Extract<DhtMessage, { t: 'links' }> {
  const { state } = context;
  const ring = new Set(context.ports.ringNeighbours());
  const group = (peer: PeerId) => (ring.has(peer) ? 0 : state.owned.has(peer) ? 3 : state.kept.has(peer) ? 1 : 2);
  const peers = [...state.links].sort((a, b) => group(a) - group(b)).slice(0, MAX_LINK_SET);
  let own = 0;
  while (own < peers.length && group(peers[peers.length - 1 - own]!) === 3) own += 1;
  return own > 0 ? { t: 'links', peers, own } : { t: 'links', peers };
}

/**
 * Sends every link our link set if it changed since we last did (members or order: a ring
 * neighbour adopted, a far end's answer moving its link between groups). `told`: a link that
 * has just been sent the current set already.
 *
 * When: on a failed link at once (`urgent`: answers must stop naming a crashed peer,
 * lookup-answer.ts); otherwise at most once per planIntervalMs, at a plan round or on a link up
 * that takes us past the budget (a change a round had to hold back goes out at a later round).
 * A link that opened or closed gracefully waits for a round, and one that came and went between
 * two rounds (a ring's merge probe, a join's way in, a dial turned away) changes nothing to
 * announce. Announced on every link change, each of those cost a message to every link at both
 * of its ends (300 nodes at rest: ~1 link-set message per node per second, nearly all for
 * merge-probe links). Announcing at every round regardless of the interval (rounds are jittered
 * 0.5–1.5×) was tried: under 5-min churn, N = 100, seed 12, 10 of 2,400 answers named departed
 * peers against 7, and 99.04% of lookups succeeded against 99.29% (the bench's seed: 98.83%
 * against 99.08%).
 */
function announceIfDue(context: Context, now: number, options: { told?: PeerId; urgent?: boolean } = {}): void {
  const { state } = context;
  const { told } = options;
  if (!options.urgent && now - state.lastAnnouncedAt < context.config.planIntervalMs) return;
  const message = linkSetMessage(context);
  const own = message.own ?? 0;
  if (own === state.announced.own && sameOrder(message.peers, state.announced.peers)) return;
  for (const link of state.links) if (link !== told) context.ports.send(link, message);
  state.announced = { peers: message.peers, own };
  state.lastAnnouncedAt = now;
}

function sameOrder(a: readonly PeerId[], b: readonly PeerId[]): boolean {
  return a.length === b.length && a.every((peer, i) => peer === b[i]);
}

function linkUp(context: Context, peer: PeerId): void {
  const { state, ports } = context;
  const now = ports.clock.now();
  state.dialing.delete(peer);
  state.candidates.forget(peer);
  buckets.observeVerified(context, peer);
  if (state.links.has(peer)) return;
  state.links.add(peer);
  if (state.owned.has(peer)) state.unanswered.add(peer);
  ports.send(peer, linkSetMessage(context));
  // Over budget (a link someone else opened, or our dials landing together): shed our own
  // excess now rather than at the next plan round, and tell the openers now past the budget.
  // Within it, the change waits for the plan round (see announceIfDue).
  if (state.links.size > context.config.linkBudget) {
    applyPlan(context, now, { open: false });
    announceIfDue(context, now, { told: peer });
  }
}

function linkDown(context: Context, peer: PeerId, failed: boolean): void {
  const { state } = context;
  // One of our links failed: its slot is free for a dial at the next round, paused or not.
  if (failed && state.owned.has(peer) && state.links.has(peer)) state.dialPause.reset();
  state.owned.delete(peer);
  state.unanswered.delete(peer);
  state.dialing.delete(peer);
  state.linkSets.delete(peer);
  state.kept.delete(peer);
  // A failed link is direct evidence; a graceful close (a planner pruning, answered by the peer:
  // the runtime reports a goodbye left unanswered as a failure) says the peer lives now — its
  // lastSeen, which answers go by (lookup-answer.ts), is moved up to this moment.
  if (failed) {
    state.table.evict(peer);
    state.candidates.forget(peer);
    buckets.linkFailed(context, peer);
  } else if (state.links.has(peer)) {
    buckets.observeVerified(context, peer);
  }
  if (!state.links.delete(peer)) return;
  // A crashed peer must leave the sets our links vouch for in their answers (lookup-answer.ts).
  if (failed) announceIfDue(context, context.ports.clock.now(), { urgent: true });
  // Lookups awaiting an answer over this link: re-sent now (measured: a pruned link took the
  // answer of the peer nearest the target with it, and waiting made that peer a suspect).
  for (const [rid, lookup] of state.pending) if (tryLost(lookup, peer, failed)) retryLookup(context, rid, true);
}

function receive(context: Context, from: PeerId, message: DhtMessage): void {
  const { state, ports, self } = context;
  switch (message.t) {
    case 'links': {
      if (!state.links.has(from)) return;
      const contacts = linkSetContacts(context, from, message.peers);
      state.linkSets.set(from, contacts);
      state.candidates.hear(contacts, from, self.id);
      noteOpener(context, from, message);
      // The far end's first word on a dial of ours: did it keep us within its budget? (A ring
      // neighbour that lists us past it keeps the link, but it is full all the same.)
      if (state.unanswered.delete(from)) {
        if (listsUsPastBudget(context, message.peers)) state.dialPause.turnedAway(ports.clock.now(), context.config.planIntervalMs);
        else state.dialPause.reset();
      }
      yieldIfSaturated(context, from, message.peers);
      return;
    }
    case 'lookup':
      onLookup(context, from, message);
      return;
    case 'closest':
      onClosest(context, from, message);
      return;
    case 'ping':
      ports.send(from, { t: 'pong', nonce: message.nonce });
      return;
    case 'pong':
      buckets.pongReceived(context, from, message.nonce);
      return;
    case 'store':
      providers.onStore(context, from, message);
      return;
    case 'find-providers':
      providers.onFindProviders(context, from, message);
      return;
    case 'providers':
      if (message.path[0] === self.id) state.candidates.hear(message.peers.filter((peer) => peer !== self.id).map(contactOf), from, self.id);
      providers.onProviders(context, from, message);
      return;
    default:
      return;
  }
}

/**
 * The contacts of `from`'s link set `peers` (self and `from` left out). A link set is sent
 * again on every change and mostly names the same peers, so their positions (a hash of the id
 * each) are taken from its previous set or the table where they are known: hashing every id of
 * every link set was ~5% of the simulator's CPU with the DHT on (300 nodes).
 */
function linkSetContacts(context: Context, from: PeerId, peers: readonly PeerId[]): Contact[] {
  const { state, self } = context;
  const before = new Map<PeerId, Contact>();
  for (const contact of state.linkSets.get(from) ?? []) before.set(contact.id, contact);
  const contacts: Contact[] = [];
  for (const peer of peers) {
    if (peer === self.id || peer === from) continue;
    const again = before.get(peer);
    if (again !== undefined) {
      contacts.push(again);
      continue;
    }
    const known = state.table.get(peer);
    contacts.push(known === undefined ? contactOf(peer) : { id: peer, position: known.position });
  }
  return contacts;
}

/** Files the link to `from` under `kept` or not, by where its link set names us (see linkSetMessage). */
function noteOpener(context: Context, from: PeerId, message: Extract<DhtMessage, { t: 'links' }>): void {
  const at = message.peers.indexOf(context.self.id);
  if (at < 0) return;
  const theirDial = at >= message.peers.length - (message.own ?? 0);
  if (theirDial) context.state.kept.delete(from);
  else context.state.kept.add(from);
}

/** A link set names us past the budget: its sender is full, and our link is one it would give up. */
function listsUsPastBudget(context: Context, theirLinks: readonly PeerId[]): boolean {
  return theirLinks.indexOf(context.self.id) >= context.config.linkBudget;
}

/**
 * Others' links count against a node's budget and it may not close them, so the openers keep
 * it within budget: a link set lists links in the order the node would keep them (see
 * linkSetMessage), and an opener that finds itself past the budget in the peer's list closes
 * its link and leaves that peer alone for a few plan rounds. The links past the budget are
 * exactly the excess, with no extra message.
 */
function yieldIfSaturated(context: Context, from: PeerId, theirLinks: readonly PeerId[]): void {
  const { state, ports, config } = context;
  if (!state.owned.has(from) || !listsUsPastBudget(context, theirLinks)) return;
  if (ports.ringNeighbours().includes(from)) return;
  state.owned.delete(from);
  // Backs off longer each time, so a popular peer stops drawing dials that it will shed.
  const times = Math.min((state.saturated.get(from)?.times ?? 0) + 1, SATURATED_MAX_DOUBLINGS);
  state.saturated.set(from, { until: ports.clock.now() + SATURATED_BACKOFF_ROUNDS * 2 ** (times - 1) * config.planIntervalMs, times });
  ports.disconnect(from);
}

function onLookup(context: Context, from: PeerId, message: Extract<DhtMessage, { t: 'lookup' }>): void {
  const { self, ports, state } = context;
  // Each hop appends itself before forwarding: the sender must be the path's last entry.
  if (message.path[message.path.length - 1] !== from || message.path.includes(self.id)) {
    ports.logger.debug('dht lookup dropped: bad path', { from });
    return;
  }
  // A re-sent copy of a lookup we forwarded: the ways it took that have been silent since go around (forwarded-lookups.ts).
  const origin = message.path[0]!;
  const now = ports.clock.now();
  const silent = state.forwarded.silentWays(origin, message.rid, message.target, now);
  if (message.ttl > 0 && message.path.length < MAX_PATH) {
    const onward: DhtMessage = { ...message, ttl: message.ttl - 1, path: [...message.path, self.id] };
    const avoid = new Set([...message.path, ...(message.avoid ?? []), ...silent.flatMap((way) => [way.hop, way.aim])]);
    const hop = forward(context, message.target, avoid, onward);
    if (hop !== undefined) {
      state.forwarded.remember(origin, message.rid, message.target, { hop, aim: aimThrough(context, message.target, hop, avoid) }, now);
      return;
    }
  }
  const stale = staleOnPath(context, message.target, message.path);
  const left = silent.length > 0 ? [...stale, ...silentAims(silent)] : stale;
  const peers = answerWithout((n) => answerPeers(context, message.target, n), message.count, left);
  ports.send(from, { t: 'closest', rid: message.rid, target: message.target, peers, path: message.path });
}

function onClosest(context: Context, from: PeerId, message: Extract<DhtMessage, { t: 'closest' }>): void {
  const { self, ports, state } = context;
  const at = message.path.indexOf(self.id);
  if (at < 0) return;
  if (at > 0) {
    ports.send(message.path[at - 1]!, message);
    return;
  }
  const pending = state.pending.get(message.rid);
  if (pending === undefined || pending.target !== message.target) return;
  state.pending.delete(message.rid);
  const peers = answerFor(pending, message.peers);
  state.candidates.hear(peers.map(contactOf), from, self.id);
  settleLookup(context, pending.for, { ok: true, peers, hops: message.path.length });
}

function settleLookup(context: Context, asker: LookupFor, outcome: LookupOutcome): void {
  if (asker.kind === 'api') context.ports.answer(asker.rid, outcome);
  // Its answer has already fed the candidates (onClosest): the planner may link to them.
  else if (asker.kind === 'refresh') buckets.refreshEnded(context, asker.index);
  else providers.finishRound(context, asker.service, asker.epoch, outcome.ok ? { ok: true, holders: outcome.peers } : outcome);
}

/**
 * Starts a lookup with wire rid `rid` (the counter's next value, read when the action was
 * planned so its expiry could be scheduled): forwarded (pending until `closest` or expiry) or
 * answered at once.
 */
function startLookup(context: Context, asker: LookupFor, target: Position, count: number, rid: number): void {
  const { self, state, config } = context;
  state.nextRid = Math.max(state.nextRid, rid + 1);
  if (asker.kind !== 'refresh') buckets.lookupStarted(context, target);
  if (state.pending.size >= config.maxPendingLookups) {
    settleLookup(context, asker, { ok: false, code: 'BACKPRESSURE', message: `${config.maxPendingLookups} lookups already await their answer` });
    return;
  }
  const sent = sendLookup(context, rid, target, count, context.ports.clock.now());
  if (sent !== undefined) {
    state.pending.set(rid, { ...sent, for: asker });
    return;
  }
  if (state.links.size === 0 && state.table.size === 0) {
    settleLookup(context, asker, { ok: false, code: 'NOT_CONNECTED', message: 'this node knows no peers yet' });
    return;
  }
  // Nothing nearer within two hops: this node is where the lookup would stop.
  settleLookup(context, asker, { ok: true, peers: answerPeers(context, target, count), hops: 0 });
}

/**
 * No answer yet to lookup `rid` after a retry interval (or `lost`: the link its latest try went
 * over closed): sent again, routed around the peers its silent tries suggest; where no other
 * link leads nearer, this node answers it itself now.
 */
function retryLookup(context: Context, rid: number, lost = false): void {
  const { state, ports, config } = context;
  const pending = state.pending.get(rid);
  const now = ports.clock.now();
  if (pending === undefined || (!lost && !retryDue(pending, now, config.lookupRetryMs))) return;
  const resent = resendLookup(context, rid, pending, now);
  if (resent.kind !== 'stop') return;
  state.pending.delete(rid);
  const peers = answerWithout((n) => answerPeers(context, pending.target, n), pending.count, suspects(pending));
  settleLookup(context, pending.for, { ok: true, peers, hops: 0 });
}

function plan(context: Context): void {
  const { state, ports, config } = context;
  const now = ports.clock.now();
  for (const [peer, since] of state.dialing) {
    if (now - since < config.planIntervalMs) continue;
    state.dialing.delete(peer);
    state.owned.delete(peer);
    state.table.markFailed(peer);
    state.candidates.forget(peer);
  }
  applyPlan(context, now, { open: true });
  announceIfDue(context, now);
  providers.sweepRecords(context);
  providers.startDueRounds(context);
}

/** Plans the links and closes the owned ones the plan drops; dials the ones it adds if `open`. */
function applyPlan(context: Context, now: number, options: { open: boolean }): void {
  const { state, ports, config } = context;
  const excluded = new Set<PeerId>();
  for (const [peer, { until }] of state.saturated) {
    if (now < until) excluded.add(peer);
    // Remembered a while past the back-off so a peer that fills up again backs us off longer.
    else if (now >= until + SATURATED_BACKOFF_ROUNDS * 2 ** SATURATED_MAX_DOUBLINGS * config.planIntervalMs) state.saturated.delete(peer);
  }
  // Links we may not close (the ring's neighbours, links others opened to us) are fixed for
  // the planner as ring neighbours are: counted in the budget and in their bucket, never closed.
  const fixed = new Set(ports.ringNeighbours());
  for (const peer of state.links) if (!state.owned.has(peer)) fixed.add(peer);
  const ownedLinks = [...state.owned].filter((peer) => state.links.has(peer));
  const table = planningTable(state.table, state.candidates.list(), now, CANDIDATES_PER_INTRODUCER, excluded);
  const { open, close } = planLinks({ table, links: ownedLinks, ringNeighbours: [...fixed], budget: config.linkBudget, dialBudget: dialCeiling(config.linkBudget) });
  // While our dials are paused, a close would not be followed by a dial: close only past the budget.
  const paused = state.dialPause.paused(now);
  const closing = options.open && paused ? close.slice(0, Math.max(0, state.links.size - config.linkBudget)) : close;
  for (const peer of options.open && !paused ? open : []) {
    if (state.links.has(peer) || state.dialing.has(peer)) continue;
    state.owned.add(peer);
    state.dialing.set(peer, now);
    ports.connect(peer);
  }
  for (const peer of closing) {
    if (!state.owned.delete(peer)) continue;
    ports.disconnect(peer);
  }
}

/**
 * The ring's way back in (its re-bootstrap seam): up to `n` verified contacts nearest this
 * node's own position by XOR, nearest first, among its open links and the table contacts with
 * no failure counted since last seen. Read-only: for the runtime, which reads it from the
 * actor's snapshot (`dhtBootstrapContacts(snapshot.context, n)`).
 *
 * Why these: a node whose successor list is exhausted needs any member near its own place to
 * look its position up through; the DHT's links reach far beyond the ring's neighbourhood, so
 * they usually survive whatever took the ring neighbours out, and with every signaling server
 * gone they are the only peers it can still name.
 */
export function dhtBootstrapContacts(context: Pick<Context, 'self' | 'state'>, n: number): PeerId[] {
  const { self, state } = context;
  const pool = new Map<PeerId, Contact>();
  for (const link of linkContacts(context)) pool.set(link.id, link);
  for (const contact of state.table.contacts()) {
    if (contact.failures === 0 && !pool.has(contact.id)) pool.set(contact.id, contact);
  }
  pool.delete(self.id);
  return closest(self.position, [...pool.values()], n, (contact) => contact.position).map((contact) => contact.id);
}

function jittered(random: Random, meanMs: number): number {
  return Math.round(meanMs * (0.5 + random.float()));
}

export const dhtMachine = setup({
  types: {
    context: {} as Context,
    events: {} as Event,
    input: {} as DhtInput,
  },
  actors: { kBucket: kBucketMachine },
  delays: {
    planDelay: ({ context }) => jittered(context.ports.random, context.config.planIntervalMs),
    lookupTimeout: ({ context }) => context.config.lookupTimeoutMs,
    lookupRetry: ({ context }) => context.config.lookupRetryMs,
  },
  actions: {
    loadLinks: ({ context }) => {
      for (const peer of context.ports.openPeers()) linkUp(context, peer);
      for (const { service, epoch, ttlMs } of context.ports.providedServices()) providers.provide(context, service, epoch, ttlMs);
    },
    linkUp: ({ context, event }) => {
      if (event.type === 'link.up') linkUp(context, event.peer);
    },
    linkDown: ({ context, event }) => {
      if (event.type === 'link.down') linkDown(context, event.peer, event.failed);
    },
    receive: ({ context, event }) => {
      if (event.type !== 'dht.message') return;
      try {
        receive(context, event.from, event.message);
      } catch (error) {
        // Validated input should never get here; a bug in one message must not stop the DHT.
        context.ports.logger.warn('dht message failed', { from: event.from, t: event.message.t, error: String(error) });
      }
    },
    startLookup: enqueueActions(({ context, event, enqueue }) => {
      // Effects run when the action executes, not while it is planned; the rid is only read here.
      const rid = context.state.nextRid;
      if (event.type === 'lookup') {
        enqueue(() => startLookup(context, { kind: 'api', rid: event.rid }, event.target, event.count, rid));
      } else if (event.type === 'dht.bucket.refresh') {
        // An idle bucket: look up a random id in its range; the answer feeds the candidates.
        const { index, target } = event;
        enqueue(() => {
          context.state.table.touch(index, context.ports.clock.now());
          startLookup(context, { kind: 'refresh', index }, target, context.config.k, rid);
        });
      } else if (event.type === 'provider.signed' && providers.isCurrent(context, event.service, event.epoch)) {
        // An announcement round: its record is signed, now find the holders.
        enqueue(() => {
          providers.recordSigned(context, event.service, event.epoch, event.record);
          startLookup(context, { kind: 'announce', service: event.service, epoch: event.epoch }, serviceKey(event.service), context.config.replication, rid);
        });
      } else {
        return;
      }
      // Never cancelled: an expiry or a retry for a settled rid finds nothing.
      enqueue.raise({ type: 'lookup.expire', rid }, { delay: 'lookupTimeout' });
      if (context.config.lookupRetryMs < context.config.lookupTimeoutMs) enqueue.raise({ type: 'lookup.retry', rid }, { delay: 'lookupRetry' });
    }),
    retry: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'lookup.retry') return;
      const { rid } = event;
      const pending = context.state.pending.get(rid);
      // Settled, or MAX_AVOID tries made: nothing more to schedule (the expiry still comes).
      if (pending === undefined || pending.tries.length >= MAX_AVOID) return;
      enqueue(() => retryLookup(context, rid));
      // Never cancelled either: one that finds its lookup settled ends the chain.
      enqueue.raise({ type: 'lookup.retry', rid }, { delay: 'lookupRetry' });
    }),
    expire: ({ context, event }) => {
      if (event.type !== 'lookup.expire') return;
      const pending = context.state.pending.get(event.rid);
      if (pending === undefined) return;
      context.state.pending.delete(event.rid);
      settleLookup(context, pending.for, { ok: false, code: 'TIMEOUT', message: `no answer to the lookup within ${context.config.lookupTimeoutMs} ms` });
    },
    provide: ({ context, event }) => {
      if (event.type === 'provide') providers.provide(context, event.service, event.epoch, event.ttlMs);
      if (event.type === 'unprovide') providers.unprovide(context, event.service, event.epoch);
    },
    signFailed: ({ context, event }) => {
      if (event.type !== 'provider.sign.failed') return;
      providers.finishRound(context, event.service, event.epoch, { ok: false, code: event.code, message: event.message });
    },
    verified: ({ context, event }) => {
      if (event.type !== 'records.verified') return;
      if (event.tag.kind === 'store') providers.storeVerified(context, event.records);
      else providers.answered(context, event.tag.rid, event.records, []);
    },
    startFind: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'providers.find') return;
      enqueue(() => providers.startFind(context, event.rid, event.key, event.count, context.config.maxPendingLookups));
      // Never cancelled: an expiry for a settled query finds nothing.
      enqueue.raise({ type: 'providers.find.expire', rid: event.rid }, { delay: context.config.lookupTimeoutMs });
    }),
    expireFind: ({ context, event }) => {
      if (event.type === 'providers.find.expire') providers.expireFind(context, event.rid, context.config.lookupTimeoutMs);
    },
    plan: ({ context }) => plan(context),
    bucketRequest: ({ context, event }) => {
      if (event.type === 'dht.bucket.ping') buckets.pingRequested(context, event.index, event.peer);
      else if (event.type === 'dht.bucket.evict') buckets.evictRequested(context, event.index, event.peer);
    },
    /** Spawns, stops and informs the bucket actors after a handler changed the table or queued events for them. */
    syncBuckets: enqueueActions(({ context, enqueue }) => {
      const { spawn, stop, send } = buckets.planBucketSync(context);
      for (const index of stop) enqueue.stopChild(buckets.bucketActorId(index));
      for (const { index, size } of spawn) {
        const { self, config, ports, bucketTiming } = context;
        enqueue.spawnChild('kBucket', {
          id: buckets.bucketActorId(index),
          input: { index, self: self.position, k: config.k, timing: bucketTiming, random: ports.random, size },
        });
      }
      // A named action by reference: setup() cannot type a reference to its own actions here.
      for (const params of send) enqueue({ type: 'tellBucket', params } as unknown as Parameters<typeof enqueue>[0]);
    }),
    // Built once here rather than with enqueue.sendTo: this actor often runs inside another
    // actor's port callback, where XState warns on every action creator called (measured: ~5,000
    // warnings in the DHT simulator tests).
    tellBucket: sendTo(
      (_, params: { index: number; event: KBucketEvent }) => buckets.bucketActorId(params.index),
      (_, params: { index: number; event: KBucketEvent }) => params.event,
    ),
    bump: assign(({ context }) => ({ version: context.version + 1 })),
  },
}).createMachine({
  id: 'dht',
  context: ({ input }) => ({
    self: contactOf(input.self),
    config: input.config,
    ports: input.ports,
    state: {
      table: new RoutingTable(contactOf(input.self).position, input.ports.clock.now(), { k: input.config.k }),
      candidates: new Candidates(),
      links: new Set(),
      owned: new Set(),
      dialing: new Map(),
      linkSets: new Map(),
      pending: new Map(),
      nextRid: 0,
      providers: {
        store: new ProviderStore({ maxTotal: input.config.maxStoredRecords, maxPerService: input.config.maxProvidersPerService }),
        provided: new Map(),
        finds: new Map(),
        queries: new Map(),
      },
      saturated: new Map(),
      unanswered: new Set(),
      dialPause: new DialPause(),
      kept: new Set(),
      announced: { peers: [], own: 0 },
      lastAnnouncedAt: Number.NEGATIVE_INFINITY,
      buckets: buckets.createBucketState(),
      forwarded: new ForwardedLookups({
        silentAfterMs: input.config.lookupRetryMs / 2,
        maxAgeMs: input.config.lookupTimeoutMs,
        capacity: FORWARDS_REMEMBERED,
      }),
    },
    bucketTiming: Object.freeze({ ...DEFAULT_K_BUCKET_TIMING, livenessTimeoutMs: input.config.pingTimeoutMs, ...input.bucketTiming }),
    version: 0,
  }),
  entry: ['loadLinks', 'bump'],
  initial: 'running',
  states: {
    running: {
      after: { planDelay: { target: 'running', reenter: true, actions: ['plan', 'syncBuckets', 'bump'] } },
      on: {
        'link.up': { actions: ['linkUp', 'syncBuckets', 'bump'] },
        'link.down': { actions: ['linkDown', 'syncBuckets', 'bump'] },
        'dht.message': { actions: ['receive', 'syncBuckets', 'bump'] },
        lookup: { actions: ['startLookup', 'syncBuckets', 'bump'] },
        'lookup.expire': { actions: ['expire', 'syncBuckets', 'bump'] },
        'lookup.retry': { actions: ['retry', 'syncBuckets', 'bump'] },
        provide: { actions: ['provide', 'syncBuckets', 'bump'] },
        unprovide: { actions: ['provide', 'syncBuckets', 'bump'] },
        'provider.signed': { actions: ['startLookup', 'syncBuckets', 'bump'] },
        'provider.sign.failed': { actions: ['signFailed', 'syncBuckets', 'bump'] },
        'records.verified': { actions: ['verified', 'syncBuckets', 'bump'] },
        'providers.find': { actions: ['startFind', 'syncBuckets', 'bump'] },
        'providers.find.expire': { actions: ['expireFind', 'syncBuckets', 'bump'] },
        'dht.bucket.ping': { actions: ['bucketRequest', 'syncBuckets', 'bump'] },
        'dht.bucket.evict': { actions: ['bucketRequest', 'syncBuckets', 'bump'] },
        'dht.bucket.refresh': { actions: ['startLookup', 'syncBuckets', 'bump'] },
      },
    },
  },
});
