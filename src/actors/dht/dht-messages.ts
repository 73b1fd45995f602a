import { PeerSockError } from '../../errors.js';
import { hexIdFromWire, wireIdFromHex } from '../../wire/wire-ids.js';
import type { PeerId } from '../../identity/peer-id.js';
import { isRecord, isUint } from '../../wire/validate.js';
import type { Position } from '../ring/id-space.js';
import { parseProviderRecord, serviceKey, type ProviderRecord } from './provider-record.js';

/**
 * The DHT protocol (`ps/dht` frames between authenticated peers). Peers travel as PeerIds only:
 * the receiver derives positions itself, so nobody can claim a place in the ID space.
 *
 *   lookup         {t, rid, target, count, ttl, path,    route greedily (XOR) toward `target`;
 *                   avoid?}                              `path` = hops so far, origin first;
 *                                                        `avoid` = peers a re-sent lookup routes
 *                                                        around: no hop sends it to them
 *   closest        {t, rid, target, peers, path}         the `count` closest peers the local
 *                                                        minimum knows, routed back along `path`
 *   store          {t, record, to, ttl, path}            route greedily toward the peer `to`, which
 *                                                        keeps this signed provider record
 *   find-providers {t, rid, key, count, ttl, path, to?}  route greedily toward `to` if given (a
 *                                                        holder asked directly), else toward `key`
 *   providers      {t, rid, key, records, peers, path}   records held where the query stopped (and
 *                                                        its closest peers to `key` when it has
 *                                                        none), routed back along `path`
 *   ping / pong    {t, nonce}                            liveness of a contact (k-bucket checks)
 *   links          {t, peers, own?}                      the sender's current link set, for
 *                                                        neighbour-of-neighbour routing, in the
 *                                                        order it keeps its links; the last
 *                                                        `own` (absent: 0) are its DHT's dials
 *
 * On the wire every PeerId and position is its 32 raw bytes (a CBOR byte string), as in ps/ring:
 * `dhtMessageToWire` and `parseDhtMessage` convert at the edge. Provider records keep their own
 * encoding (see provider-record.ts).
 *
 * Every list is bounded; `ttl` counts the hops a request may still take, so a request lives
 * for at most MAX_TTL hops whatever the routing does.
 */
export const DHT_PROTOCOL = 'ps/dht';

/** Greedy XOR routing needs O(log n) hops (~14 for 10,000 nodes, ~4 with 32 well-spread links). */
export const MAX_PATH = 48;
export const MAX_TTL = MAX_PATH;
/** k is 20; a little room for a larger configuration. */
export const MAX_PEERS = 32;
export const MAX_RECORDS = 20;
/** A link set: the 32-link budget twice over, for links others opened to the sender. */
export const MAX_LINK_SET = 64;
/** Peers a re-sent lookup names to route around (lookup-retry.ts). */
export const MAX_AVOID = 8;

export type DhtMessage =
  | { t: 'lookup'; rid: number; target: Position; count: number; ttl: number; path: PeerId[]; avoid?: PeerId[] }
  | { t: 'closest'; rid: number; target: Position; peers: PeerId[]; path: PeerId[] }
  | { t: 'store'; record: ProviderRecord; to: PeerId; ttl: number; path: PeerId[] }
  | { t: 'find-providers'; rid: number; key: Position; count: number; ttl: number; path: PeerId[]; to?: PeerId }
  | { t: 'providers'; rid: number; key: Position; records: ProviderRecord[]; peers: PeerId[]; path: PeerId[] }
  | { t: 'ping'; nonce: number }
  | { t: 'pong'; nonce: number }
  | { t: 'links'; peers: PeerId[]; own?: number };

function fail(message: string): never {
  throw new PeerSockError('FRAME_SCHEMA', `dht message: ${message}`);
}

const hexId = hexIdFromWire;
const wireId = wireIdFromHex;

function rid(value: unknown): number {
  if (!isUint(value)) fail('rid must be a non-negative integer');
  return value;
}

function peerId(value: unknown, field: string): PeerId {
  const hex = hexId(value);
  if (hex === undefined) fail(`${field} must be a 32-byte PeerId`);
  return hex as PeerId;
}

function position(value: unknown, field: string): Position {
  const hex = hexId(value);
  if (hex === undefined) fail(`${field} must be a 32-byte position`);
  return hex as Position;
}

function count(value: unknown): number {
  if (!isUint(value, MAX_PEERS) || value === 0) fail(`count must be 1..${MAX_PEERS}`);
  return value;
}

function ttl(value: unknown): number {
  if (!isUint(value, MAX_TTL)) fail(`ttl must be 0..${MAX_TTL}`);
  return value;
}

function peerIds(value: unknown, max: number, field: string): PeerId[] {
  if (!Array.isArray(value) || value.length > max) fail(`${field} must be at most ${max} 32-byte PeerIds`);
  return value.map((item) => {
    const hex = hexId(item);
    if (hex === undefined) fail(`${field} must be at most ${max} 32-byte PeerIds`);
    return hex as PeerId;
  });
}

/** A route: the origin first, then each hop once. A repeated hop means a loop. */
function path(value: unknown): PeerId[] {
  const hops = peerIds(value, MAX_PATH, 'path');
  if (hops.length === 0) fail('path must name the origin');
  if (new Set(hops).size !== hops.length) fail('path must not repeat a hop');
  return hops;
}

/** Records answering a query for `key`: each must be for a service whose key that is. */
function records(value: unknown, key: Position): ProviderRecord[] {
  if (!Array.isArray(value) || value.length > MAX_RECORDS) fail(`records must be at most ${MAX_RECORDS} provider records`);
  return value.map((r, i) => {
    const record = parseProviderRecord(r, `dht message: records[${i}]`);
    if (serviceKey(record.service) !== key) fail(`records[${i}] is for another key`);
    return record;
  });
}

function nonce(value: unknown): number {
  if (!isUint(value)) fail('nonce must be a non-negative integer');
  return value;
}

/** The wire form of a message: ids and positions as raw bytes. */
export function dhtMessageToWire(message: DhtMessage): Record<string, unknown> {
  switch (message.t) {
    case 'lookup':
      return { ...message, target: wireId(message.target), path: message.path.map(wireId), ...(message.avoid !== undefined ? { avoid: message.avoid.map(wireId) } : {}) };
    case 'closest':
      return { ...message, target: wireId(message.target), peers: message.peers.map(wireId), path: message.path.map(wireId) };
    case 'store':
      return { ...message, to: wireId(message.to), path: message.path.map(wireId) };
    case 'find-providers':
      return { ...message, key: wireId(message.key), path: message.path.map(wireId), ...(message.to !== undefined ? { to: wireId(message.to) } : {}) };
    case 'providers':
      return { ...message, key: wireId(message.key), peers: message.peers.map(wireId), path: message.path.map(wireId) };
    case 'links':
      return { t: 'links', peers: message.peers.map(wireId), ...(message.own !== undefined ? { own: message.own } : {}) };
    case 'ping':
    case 'pong':
      return { ...message };
  }
}

/** Validates a decoded `ps/dht` body. Throws PeerSockError FRAME_SCHEMA. */
export function parseDhtMessage(body: unknown): DhtMessage {
  if (!isRecord(body)) fail('must be a map');
  const m = body;
  switch (m.t) {
    case 'lookup': {
      const lookup = { t: 'lookup' as const, rid: rid(m.rid), target: position(m.target, 'target'), count: count(m.count), ttl: ttl(m.ttl), path: path(m.path) };
      return m.avoid === undefined ? lookup : { ...lookup, avoid: peerIds(m.avoid, MAX_AVOID, 'avoid') };
    }
    case 'closest':
      return { t: 'closest', rid: rid(m.rid), target: position(m.target, 'target'), peers: peerIds(m.peers, MAX_PEERS, 'peers'), path: path(m.path) };
    case 'store':
      return { t: 'store', record: parseProviderRecord(m.record, 'dht message: record'), to: peerId(m.to, 'to'), ttl: ttl(m.ttl), path: path(m.path) };
    case 'find-providers': {
      const query = { t: 'find-providers' as const, rid: rid(m.rid), key: position(m.key, 'key'), count: count(m.count), ttl: ttl(m.ttl), path: path(m.path) };
      return m.to === undefined ? query : { ...query, to: peerId(m.to, 'to') };
    }
    case 'providers': {
      const key = position(m.key, 'key');
      return {
        t: 'providers',
        rid: rid(m.rid),
        key,
        records: records(m.records, key),
        peers: peerIds(m.peers, MAX_PEERS, 'peers'),
        path: path(m.path),
      };
    }
    case 'ping':
    case 'pong':
      return { t: m.t, nonce: nonce(m.nonce) };
    case 'links': {
      const peers = peerIds(m.peers, MAX_LINK_SET, 'peers');
      if (m.own === undefined) return { t: 'links', peers };
      if (!isUint(m.own, peers.length)) fail('own must be 0..the number of peers');
      return { t: 'links', peers, own: m.own };
    }
    default:
      fail('unknown type');
  }
}
