import { PeerSockError } from '../../errors.js';
import { hexIdFromWire, wireIdFromHex } from '../../wire/wire-ids.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Position } from './id-space.js';

/**
 * The ring protocol (`ps/ring` frames between authenticated neighbours). Contacts travel as
 * PeerIds only: a position is always derived from the id by the receiver, never claimed.
 *
 *   find       {t, rid, target, path, skip?, join?} route greedily toward the node responsible for
 *                                            `target`; `path` = the hops so far, origin first;
 *                                            `skip` = peers that sent it back because they are
 *                                            not on the ring yet: neither hops nor answers;
 *                                            `join: true` = the origin is joining (its way in
 *                                            does not name it as anyone's successor meanwhile)
 *   found      {t, rid, target, node, path, by?, more?}  the answer, routed back along `path`;
 *                                            `by` = who answered (the target's predecessor, as far
 *                                            as it knows, or `node` itself when responsible);
 *                                            `more: true` = not an answer: the path ran out at
 *                                            `node`, ask again from there
 *   get        {t}                           "tell me your neighbours" (stabilize)
 *   neighbours {t, predecessor?, successors, closest?}  the answer to `get`; `closest` = the
 *                                            peer I hold a link to that follows the asker most
 *                                            closely, when one lies between it and me
 *   notify     {t}                           "I think I am your predecessor"
 *   leave      {t, predecessor?, successors} graceful departure: adopt my neighbours
 *   hint       {t, peers}                    peers your last `neighbours` skipped that I hold
 *                                            live links to: you may not know them
 *
 * On the wire every PeerId and position is its 32 raw bytes (a CBOR byte string), not the
 * 64-character hex the engine uses inside: ids are most of a ring message, and hex doubled
 * the maintenance traffic. `ringMessageToWire` and `parseRingMessage` convert at the edge.
 */
export const RING_PROTOCOL = 'ps/ring';

/**
 * Hops a find travels before it stops and says where it got to (`found.more`). Over ring links
 * alone a hop moves at most ~r nodes along the ring (there are no fingers), so a lookup from a
 * peer sampled at random among 10,000 needs ~40 hops on average and often more than this.
 */
export const MAX_PATH = 48;
/**
 * Peers a find may be sent back by (not on the ring yet, see ring.machine's declineFind) before
 * it is dropped: while a crowd joins, a few joiners sit between a member and the target.
 */
export const MAX_SKIP = 16;
/** Successor lists on the wire; r is ~8. */
export const MAX_LIST = 32;

export type RingMessage =
  | { t: 'find'; rid: number; target: Position; path: PeerId[]; skip?: PeerId[]; join?: true }
  | { t: 'found'; rid: number; target: Position; node: PeerId; path: PeerId[]; by?: PeerId; more?: true }
  /** "Your neighbours?", from a node that takes the receiver for its successor: also a notify (the round's end in Chord). */
  | { t: 'get' }
  | { t: 'neighbours'; predecessor?: PeerId; successors: PeerId[]; closest?: PeerId }
  /** "I am your predecessor, if none closer": as a member starts, and to a successor taking over from a failed one. */
  | { t: 'notify' }
  | { t: 'leave'; predecessor?: PeerId; successors: PeerId[] }
  | { t: 'hint'; peers: PeerId[] };

function fail(message: string): never {
  throw new PeerSockError('FRAME_SCHEMA', `ring message: ${message}`);
}

const hexId = hexIdFromWire;
const wireId = wireIdFromHex;

function peerId(value: unknown, field: string): PeerId {
  const id = hexId(value);
  if (id === undefined) fail(`${field} must be a 32-byte PeerId`);
  return id as PeerId;
}

function peerIds(value: unknown, max: number, field: string): PeerId[] {
  if (!Array.isArray(value) || value.length > max) fail(`${field} must be at most ${max} PeerIds`);
  return value.map((item) => peerId(item, field));
}

function optionalPeerId(value: unknown, field: string): PeerId | undefined {
  if (value === undefined || value === null) return undefined;
  return peerId(value, field);
}

function rid(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail('rid must be a non-negative integer');
  return value as number;
}

/** The wire form of a message: ids and positions as raw bytes. */
export function ringMessageToWire(message: RingMessage): Record<string, unknown> {
  switch (message.t) {
    case 'find': {
      const out: Record<string, unknown> = { t: 'find', rid: message.rid, target: wireId(message.target), path: message.path.map(wireId) };
      if (message.skip !== undefined && message.skip.length > 0) out.skip = message.skip.map(wireId);
      if (message.join) out.join = true;
      return out;
    }
    case 'found': {
      const out: Record<string, unknown> = { t: 'found', rid: message.rid, target: wireId(message.target), node: wireId(message.node), path: message.path.map(wireId) };
      if (message.by !== undefined) out.by = wireId(message.by);
      if (message.more) out.more = true;
      return out;
    }
    case 'get':
    case 'notify':
      return { t: message.t };
    case 'hint':
      return { t: 'hint', peers: message.peers.map(wireId) };
    case 'neighbours':
    case 'leave': {
      const out: Record<string, unknown> = { t: message.t, successors: message.successors.map(wireId) };
      if (message.predecessor !== undefined) out.predecessor = wireId(message.predecessor);
      if (message.t === 'neighbours' && message.closest !== undefined) out.closest = wireId(message.closest);
      return out;
    }
  }
}

/** Validates a decoded `ps/ring` body. Throws PeerSockError FRAME_SCHEMA. */
export function parseRingMessage(body: unknown): RingMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('must be a map');
  const m = body as Record<string, unknown>;
  switch (m.t) {
    case 'find':
    case 'found': {
      const target = hexId(m.target) as Position | undefined;
      if (target === undefined) fail('target must be a 32-byte position');
      const path = peerIds(m.path, MAX_PATH, 'path');
      if (path.length === 0) fail('path must name the origin');
      if (m.t === 'find') {
        if (m.join !== undefined && m.join !== true) fail('join must be true when present');
        const find: Extract<RingMessage, { t: 'find' }> = { t: 'find', rid: rid(m.rid), target, path };
        if (m.skip !== undefined) find.skip = peerIds(m.skip, MAX_SKIP, 'skip');
        if (m.join === true) find.join = true;
        return find;
      }
      const by = optionalPeerId(m.by, 'by');
      if (m.more !== undefined && m.more !== true) fail('more must be true when present');
      const found: Extract<RingMessage, { t: 'found' }> = { t: 'found', rid: rid(m.rid), target, node: peerId(m.node, 'node'), path };
      if (by !== undefined) found.by = by;
      if (m.more === true) found.more = true;
      return found;
    }
    case 'get':
      return { t: 'get' };
    case 'notify':
      return { t: 'notify' };
    case 'hint':
      return { t: 'hint', peers: peerIds(m.peers, MAX_LIST, 'peers') };
    case 'neighbours':
    case 'leave': {
      const predecessor = optionalPeerId(m.predecessor, 'predecessor');
      const successors = peerIds(m.successors, MAX_LIST, 'successors');
      const message: Extract<RingMessage, { t: 'neighbours' | 'leave' }> = predecessor === undefined ? { t: m.t, successors } : { t: m.t, predecessor, successors };
      const closest = m.t === 'neighbours' ? optionalPeerId(m.closest, 'closest') : undefined;
      if (closest !== undefined && message.t === 'neighbours') message.closest = closest;
      return message;
    }
    default:
      fail('unknown type');
  }
}
