import type { ErrorCode } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { Random } from '../../ports/random.js';
import { contactOf, type Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import type { DhtConfig } from './dht-config.js';
import { forward, type ForwardingNode } from './dht-forward.js';
import { MAX_PATH, MAX_TTL, type DhtMessage } from './dht-messages.js';
import { answerPeers } from './lookup-answer.js';
import type { ProviderDesk } from './provider-desk.js';
import { mergeRecords, sortRecords } from './provider-lookup.js';
import { serviceKey, type ProviderRecord } from './provider-record.js';
import type { ProviderStore } from './provider-store.js';
import type { RoutingTable } from './routing-table.js';

/**
 * Provider records in the DHT actor: announcing the services this node provides, holding the
 * records others store with it, and answering and asking "who provides S".
 *
 * Announcing (per provided service, driven by the DHT's plan round, so the only timer is the
 * actor's own): when a service is due, the desk signs a fresh record; a lookup finds the
 * `replication` peers XOR-closest to the service key; each gets a `store`, routed toward it
 * over links like a lookup (a holder that is this node keeps it directly). The next round is
 * due one re-announce interval later (a little earlier, at random, so services announced
 * together drift apart), or a quarter of it after a failed round. A holder that crashed is
 * thus replaced at the next round; records need no hand-off between holders to survive.
 *
 * Finding: a `find-providers` is routed toward the key; the node where it stops answers with
 * the records it holds, or, having none (it joined after the last round, or the holder there
 * crashed), with its closest peers to the key, and those are asked in turn, `to` each of them
 * (at most `providerQueryFanout`). Every record in an answer is verified (desk) before use.
 *
 * A holder checks a record before storing it; an answer carries only records from the
 * holder's store, which holds only records it checked. The DHT never stores or carries
 * anything but these records (key, provider, times, signature): no application payload.
 */
export interface ProviderPorts {
  clock: Clock;
  random: Random;
  logger: Logger;
  send(to: PeerId, message: DhtMessage): boolean;
  /** Wall clock, ms since the Unix epoch: record times are compared across nodes. */
  wallClock(): number;
  /** Signs and verifies beside the actor; outcomes come back as desk events. */
  records: ProviderDesk;
  /** The outcome of each announcement round of `service` (`epoch`: the provide call it belongs to). */
  announced(service: string, epoch: number, outcome: AnnounceOutcome): void;
  /** The outcome of a findProviders the runtime asked for with `providers.find {rid}`. */
  found(rid: number, outcome: FindOutcome): void;
  /**
   * The services the node announces now (the runtime's record of its provide calls): a DHT
   * actor that starts, or is restarted by its supervisor, picks them up, as it picks up links.
   */
  providedServices(): readonly ProvidedService[];
}

export interface ProvidedService {
  service: string;
  epoch: number;
  ttlMs: number;
}

export type AnnounceOutcome =
  | { ok: true; holders: PeerId[] }
  | { ok: false; code: ErrorCode; message: string };

export type FindOutcome =
  | { ok: true; records: ProviderRecord[] }
  | { ok: false; code: Extract<ErrorCode, 'TIMEOUT' | 'BACKPRESSURE' | 'NOT_CONNECTED' | 'NODE_STOPPED'>; message: string };

interface Provided {
  ttlMs: number;
  epoch: number;
  /** Clock time (ports.clock) the next round is due. */
  nextAt: number;
  /** A round is under way (signing or looking up holders): not started again until it ends. */
  busy: boolean;
  record: ProviderRecord | undefined;
}

interface FindQuery {
  key: Position;
  count: number;
  records: Map<PeerId, ProviderRecord>;
  /** Wire rids of the queries sent and not yet answered (an answer counts once verified). */
  outstanding: Set<number>;
  asked: Set<PeerId>;
  /** Whether the holders named by the first answer were asked already. */
  widened: boolean;
}

export interface ProviderState {
  store: ProviderStore;
  provided: Map<string, Provided>;
  /** findProviders under way, by the runtime's rid. */
  finds: Map<number, FindQuery>;
  /** Our `find-providers` on the wire: wire rid → the runtime rid it serves. */
  queries: Map<number, number>;
}

/** The part of the DHT actor's context these handlers use. */
export interface ProviderNode extends ForwardingNode {
  self: Contact;
  config: DhtConfig;
  ports: ProviderPorts;
  state: ForwardingNode['state'] & { providers: ProviderState; table: RoutingTable; nextRid: number };
}

const wallNow = (node: ProviderNode) => Math.floor(node.ports.wallClock());

function nextRid(node: ProviderNode): number {
  const rid = node.state.nextRid;
  node.state.nextRid = rid + 1;
  return rid;
}

// ---------------------------------------------------------------------------------------------
// Announcing

/** Starts (or restarts, replacing a previous one) announcing `service`; the first round is due now. */
export function provide(node: ProviderNode, service: string, epoch: number, ttlMs: number): void {
  node.state.providers.provided.set(service, { ttlMs, epoch, nextAt: node.ports.clock.now(), busy: false, record: undefined });
  startDueRounds(node);
}

/** Ends announcing `service` (only the provide call `epoch` when given). Records already stored expire on their own. */
export function unprovide(node: ProviderNode, service: string, epoch?: number): void {
  const provided = node.state.providers.provided.get(service);
  if (provided !== undefined && (epoch === undefined || provided.epoch === epoch)) node.state.providers.provided.delete(service);
}

/** Asks the desk to sign a fresh record for every service whose round is due. Called on provide and every plan round. */
export function startDueRounds(node: ProviderNode): void {
  const now = node.ports.clock.now();
  for (const [service, provided] of node.state.providers.provided) {
    if (provided.busy || now < provided.nextAt) continue;
    provided.busy = true;
    node.ports.records.sign(service, provided.ttlMs, provided.epoch);
  }
}

/** Whether `epoch` is the announcement of `service` still standing (not stopped or replaced). */
export function isCurrent(node: Pick<ProviderNode, 'state'>, service: string, epoch: number): boolean {
  return node.state.providers.provided.get(service)?.epoch === epoch;
}

/** The record for this round is signed: the holders' lookup comes next. */
export function recordSigned(node: ProviderNode, service: string, epoch: number, record: ProviderRecord): void {
  const provided = node.state.providers.provided.get(service);
  if (provided !== undefined && provided.epoch === epoch) provided.record = record;
}

/** Ends a round: stores the record at `holders` (the lookup's answer) or notes the failure. */
export function finishRound(node: ProviderNode, service: string, epoch: number, outcome: AnnounceOutcome): void {
  const provided = node.state.providers.provided.get(service);
  if (provided === undefined || provided.epoch !== epoch) return;
  provided.busy = false;
  const interval = node.config.reannounceIntervalMs;
  if (!outcome.ok || provided.record === undefined) {
    provided.nextAt = node.ports.clock.now() + interval / 4;
    node.ports.announced(service, epoch, outcome.ok ? { ok: false, code: 'INVALID_ARGUMENT', message: 'no signed record' } : outcome);
    return;
  }
  const record = provided.record;
  for (const holder of outcome.holders) {
    if (holder === node.self.id) node.state.providers.store.put(record, wallNow(node));
    else sendStore(node, record, holder);
  }
  provided.nextAt = node.ports.clock.now() + interval * (0.9 + 0.1 * node.ports.random.float());
  node.ports.announced(service, epoch, outcome);
}

function sendStore(node: ProviderNode, record: ProviderRecord, holder: PeerId): void {
  const message: DhtMessage = { t: 'store', record, to: holder, ttl: MAX_TTL - 1, path: [node.self.id] };
  if (!forward(node, contactOf(holder).position, new Set([node.self.id]), message)) {
    node.ports.logger.debug('provider record not sent: no link toward the holder', { holder });
  }
}

// ---------------------------------------------------------------------------------------------
// Holding

/** Each hop appends itself before forwarding: the sender must be the path's last entry, and we must not be on it. */
function pathIsSound(node: ProviderNode, from: PeerId, path: readonly PeerId[]): boolean {
  return path[path.length - 1] === from && !path.includes(node.self.id);
}

/** A `store` on its way: kept (once verified) if it is for us, else forwarded toward its holder. */
export function onStore(node: ProviderNode, from: PeerId, message: Extract<DhtMessage, { t: 'store' }>): void {
  if (!pathIsSound(node, from, message.path)) return;
  if (message.to === node.self.id) {
    node.ports.records.verify(from, serviceKey(message.record.service), [message.record], { kind: 'store' });
    return;
  }
  if (message.ttl === 0 || message.path.length >= MAX_PATH) return;
  const onward: DhtMessage = { ...message, ttl: message.ttl - 1, path: [...message.path, node.self.id] };
  // Nothing nearer the holder: it is gone. The record waits for its provider's next round.
  if (!forward(node, contactOf(message.to).position, new Set(message.path), onward)) {
    node.ports.logger.debug('provider record dropped: holder unreachable', { to: message.to });
  }
}

/** Verified records offered for our store. */
export function storeVerified(node: ProviderNode, records: readonly ProviderRecord[]): void {
  for (const record of records) node.state.providers.store.put(record, wallNow(node));
}

/** Drops expired records; called every plan round. */
export function sweepRecords(node: ProviderNode): void {
  node.state.providers.store.sweep(wallNow(node));
}

/** A `find-providers` on its way: forwarded toward its target, or answered here where it stops. */
export function onFindProviders(node: ProviderNode, from: PeerId, message: Extract<DhtMessage, { t: 'find-providers' }>): void {
  if (!pathIsSound(node, from, message.path)) return;
  if (message.to !== node.self.id && message.ttl > 0 && message.path.length < MAX_PATH) {
    const target = message.to !== undefined ? contactOf(message.to).position : message.key;
    const onward: DhtMessage = { ...message, ttl: message.ttl - 1, path: [...message.path, node.self.id] };
    if (forward(node, target, new Set(message.path), onward)) return;
  }
  const { records, peers } = localAnswer(node, message.key, message.count);
  node.ports.send(from, { t: 'providers', rid: message.rid, key: message.key, records, peers, path: message.path });
}

/** What this node can say about `key`: its records, or its closest peers when it has none. */
function localAnswer(node: ProviderNode, key: Position, count: number): { records: ProviderRecord[]; peers: PeerId[] } {
  const records = node.state.providers.store.get(key, wallNow(node), count);
  const peers = records.length > 0 ? [] : answerPeers(node, key, count);
  return { records, peers };
}

// ---------------------------------------------------------------------------------------------
// Finding

/** Starts a findProviders for the runtime's `rid`; answered through ports.found. */
export function startFind(node: ProviderNode, rid: number, key: Position, count: number, maxPending: number): void {
  const { providers } = node.state;
  if (providers.finds.size >= maxPending) {
    node.ports.found(rid, { ok: false, code: 'BACKPRESSURE', message: `${maxPending} provider queries already await their answer` });
    return;
  }
  const query: FindQuery = { key, count, records: new Map(), outstanding: new Set(), asked: new Set([node.self.id]), widened: false };
  providers.finds.set(rid, query);
  // Our own store first: a holder asking needs no network (its records were verified when stored).
  const local = localAnswer(node, key, count);
  if (local.records.length > 0) {
    mergeRecords(query.records, local.records, wallNow(node));
    settleFind(node, rid);
    return;
  }
  if (sendQuery(node, rid, query, undefined)) return;
  if (node.state.links.size === 0 && node.state.table.size === 0) {
    settleFind(node, rid, { ok: false, code: 'NOT_CONNECTED', message: 'this node knows no peers yet' });
    return;
  }
  // Nothing nearer the key within two hops: this node is where the query stops; ask the peers it knows.
  widen(node, rid, query, local.peers);
}

/** Sends one `find-providers` (toward the key, or `to` a holder); false when no link leads nearer. */
function sendQuery(node: ProviderNode, rid: number, query: FindQuery, to: PeerId | undefined): boolean {
  const wire = nextRid(node);
  const message: DhtMessage = {
    t: 'find-providers',
    rid: wire,
    key: query.key,
    count: query.count,
    ttl: MAX_TTL - 1,
    path: [node.self.id],
    ...(to !== undefined ? { to } : {}),
  };
  const target = to !== undefined ? contactOf(to).position : query.key;
  if (!forward(node, target, new Set([node.self.id]), message)) return false;
  query.outstanding.add(wire);
  node.state.providers.queries.set(wire, rid);
  return true;
}

/** Asks the closest of `peers` not asked yet, `to` each; settles when there is nobody left to ask. */
function widen(node: ProviderNode, rid: number, query: FindQuery, peers: readonly PeerId[]): void {
  query.widened = true;
  let sent = 0;
  for (const peer of peers) {
    if (sent >= node.config.providerQueryFanout) break;
    if (query.asked.has(peer)) continue;
    query.asked.add(peer);
    if (sendQuery(node, rid, query, peer)) sent += 1;
  }
  if (query.outstanding.size === 0) settleFind(node, rid);
}

/** A `providers` answer on its way back: passed on along the path, or, at its origin, verified. */
export function onProviders(node: ProviderNode, from: PeerId, message: Extract<DhtMessage, { t: 'providers' }>): void {
  const at = message.path.indexOf(node.self.id);
  if (at < 0) return;
  if (at > 0) {
    node.ports.send(message.path[at - 1]!, message);
    return;
  }
  const rid = node.state.providers.queries.get(message.rid);
  const query = rid === undefined ? undefined : node.state.providers.finds.get(rid);
  if (rid === undefined || query === undefined || query.key !== message.key) return;
  if (message.records.length === 0) {
    answered(node, message.rid, [], message.peers);
    return;
  }
  node.ports.records.verify(from, message.key, message.records, { kind: 'answer', rid: message.rid });
}

/** One answer (wire rid `wire`) counted, with its verified records and the peers it named. */
export function answered(node: ProviderNode, wire: number, records: readonly ProviderRecord[], peers: readonly PeerId[]): void {
  const { providers } = node.state;
  const rid = providers.queries.get(wire);
  if (rid === undefined) return;
  providers.queries.delete(wire);
  const query = providers.finds.get(rid);
  if (query === undefined) return;
  query.outstanding.delete(wire);
  mergeRecords(query.records, records, wallNow(node));
  if (query.records.size > 0) return settleFind(node, rid);
  if (!query.widened) return widen(node, rid, query, peers);
  if (query.outstanding.size === 0) settleFind(node, rid);
}

/** The query's deadline passed: what it found so far, or TIMEOUT if nothing. */
export function expireFind(node: ProviderNode, rid: number, timeoutMs: number): void {
  const query = node.state.providers.finds.get(rid);
  if (query === undefined) return;
  if (query.records.size > 0) return settleFind(node, rid);
  settleFind(node, rid, { ok: false, code: 'TIMEOUT', message: `no answer from the holders asked within ${timeoutMs} ms` });
}

/** Ends a findProviders: with `failure`, or with the records found (possibly none). */
function settleFind(node: ProviderNode, rid: number, failure?: Extract<FindOutcome, { ok: false }>): void {
  const { providers } = node.state;
  const query = providers.finds.get(rid);
  if (query === undefined) return;
  providers.finds.delete(rid);
  for (const wire of query.outstanding) providers.queries.delete(wire);
  const now = wallNow(node);
  node.ports.found(rid, failure ?? { ok: true, records: sortRecords([...query.records.values()].filter((r) => r.expiresAt > now)).slice(0, query.count) });
}
