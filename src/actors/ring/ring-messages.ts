import { PeerSockError } from '../../errors.js';
import { isPeerId, type PeerId } from '../../identity/peer-id.js';
import { isPosition, type Position } from './id-space.js';

/**
 * The ring protocol (`ps/ring` frames between authenticated neighbours). Contacts travel as
 * PeerIds only: a position is always derived from the id by the receiver, never claimed.
 *
 *   find       {t, rid, target, path}        route greedily toward the node responsible for
 *                                            `target`; `path` = the hops so far, origin first
 *   found      {t, rid, target, node, path}  the answer, routed back along `path`
 *   get        {t}                           "tell me your neighbours" (stabilize)
 *   neighbours {t, predecessor?, successors} the answer to `get`
 *   notify     {t}                           "I think I am your predecessor"
 *   leave      {t, predecessor?, successors} graceful departure: adopt my neighbours
 */
export const RING_PROTOCOL = 'ps/ring';

/** A path longer than this is dropped: greedy routing needs O(log n) hops, 10,000 nodes ~ 14. */
export const MAX_PATH = 48;
/** Successor lists on the wire; r is ~8. */
export const MAX_LIST = 32;

export type RingMessage =
  | { t: 'find'; rid: number; target: Position; path: PeerId[] }
  | { t: 'found'; rid: number; target: Position; node: PeerId; path: PeerId[] }
  | { t: 'get' }
  | { t: 'neighbours'; predecessor?: PeerId; successors: PeerId[] }
  | { t: 'notify' }
  | { t: 'leave'; predecessor?: PeerId; successors: PeerId[] };

function fail(message: string): never {
  throw new PeerSockError('FRAME_SCHEMA', `ring message: ${message}`);
}

function peerIds(value: unknown, max: number, field: string): PeerId[] {
  if (!Array.isArray(value) || value.length > max || !value.every(isPeerId)) fail(`${field} must be at most ${max} PeerIds`);
  return value as PeerId[];
}

function optionalPeerId(value: unknown, field: string): PeerId | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPeerId(value)) fail(`${field} must be a PeerId`);
  return value;
}

function rid(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail('rid must be a non-negative integer');
  return value as number;
}

/** Validates a decoded `ps/ring` body. Throws PeerSockError FRAME_SCHEMA. */
export function parseRingMessage(body: unknown): RingMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('must be a map');
  const m = body as Record<string, unknown>;
  switch (m.t) {
    case 'find':
    case 'found': {
      if (!isPosition(m.target)) fail('target must be a 64-hex position');
      const path = peerIds(m.path, MAX_PATH, 'path');
      if (path.length === 0) fail('path must name the origin');
      if (m.t === 'find') return { t: 'find', rid: rid(m.rid), target: m.target, path };
      if (!isPeerId(m.node)) fail('node must be a PeerId');
      return { t: 'found', rid: rid(m.rid), target: m.target, node: m.node, path };
    }
    case 'get':
      return { t: 'get' };
    case 'notify':
      return { t: 'notify' };
    case 'neighbours':
    case 'leave': {
      const predecessor = optionalPeerId(m.predecessor, 'predecessor');
      const successors = peerIds(m.successors, MAX_LIST, 'successors');
      return predecessor === undefined ? { t: m.t, successors } : { t: m.t, predecessor, successors };
    }
    default:
      fail('unknown type');
  }
}
