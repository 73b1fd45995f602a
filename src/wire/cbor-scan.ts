import { PeerSockError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { MAX_MAP_KEY_BYTES } from './limits.js';
import type { WireLimits } from './limits.js';

/*
 * One pass over raw CBOR that proves a frame is within limits before a real decoder sees it.
 * A decoder preallocates from declared lengths, so the scanner reads headers only: it skips
 * string contents (a 16 KiB byte string costs the same as an empty one) and keeps one small
 * counter per open container. Memory used never depends on what the frame declares.
 *
 * Accepted subset: unsigned and negative integers, definite-length byte and text strings,
 * definite-length arrays, definite-length maps whose keys are short valid UTF-8 text other
 * than `__proto__`, floats (16/32/64 bit), false, true, null and undefined. Everything else a
 * peer might send (tags, indefinite lengths, other simple values) is refused: the decoder
 * would otherwise hand us extension objects, records or class instances that no schema in
 * PeerSock expects.
 */

// Items still to read in each open container; index 0 is a virtual root holding the one
// top-level item. Kept between calls because scanning is synchronous and never re-entrant,
// so the hot path allocates nothing; it only grows to maxDepth + 1 entries.
const remaining: number[] = [0];
// 1 where the container at that level is a map (its count is pairs * 2, keys at even counts).
const isMapLevel: number[] = [0];

const TWO_POW_32 = 0x1_0000_0000;

function fail(code: ErrorCode, message: string, offset: number): PeerSockError {
  return new PeerSockError(code, `${message} (at byte ${offset})`);
}

/**
 * Throws a PeerSockError (FRAME_TOO_LARGE, FRAME_TOO_DEEP, FRAME_TOO_MANY_ITEMS,
 * FRAME_STRING_TOO_LONG, FRAME_MALFORMED or FRAME_UNSUPPORTED) unless `bytes` holds exactly one
 * CBOR item of the accepted subset, within `limits`.
 */
export function scanCbor(bytes: Uint8Array, limits: WireLimits): void {
  const end = bytes.length;
  if (end > limits.maxFrameBytes) {
    throw new PeerSockError('FRAME_TOO_LARGE', `frame is ${end} bytes; the limit is ${limits.maxFrameBytes}`);
  }
  const maxDepth = limits.maxDepth;
  const maxItems = limits.maxItems;
  const maxStringBytes = limits.maxStringBytes;
  const maxTotalItems = limits.maxTotalItems;
  const maxKeyBytes = maxStringBytes < MAX_MAP_KEY_BYTES ? maxStringBytes : MAX_MAP_KEY_BYTES;

  let pos = 0;
  let depth = 0;
  let total = 1;
  remaining[0] = 1;
  isMapLevel[0] = 0;

  for (;;) {
    const left = remaining[depth]!;
    if (left === 0) {
      if (depth === 0) break;
      depth--;
      continue;
    }
    remaining[depth] = left - 1;

    if (pos >= end) throw fail('FRAME_MALFORMED', 'frame is truncated', pos);
    const start = pos;
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;

    // Map keys become property names on plain objects, so only short text keys are allowed.
    if (isMapLevel[depth] === 1 && (left & 1) === 0) {
      if (major !== 3) throw fail('FRAME_UNSUPPORTED', 'map keys must be text strings', start);
    }

    if (major === 7) {
      // 20..23 are false, true, null, undefined.
      if (info >= 20 && info <= 23) continue;
      let size: number;
      if (info === 25) size = 2;
      else if (info === 26) size = 4;
      else if (info === 27) size = 8;
      else if (info < 20 || info === 24) throw fail('FRAME_UNSUPPORTED', `simple value ${info === 24 ? '(1-byte)' : info} is not supported`, start);
      else if (info === 31) throw fail('FRAME_MALFORMED', 'break code outside an indefinite-length item', start);
      else throw fail('FRAME_MALFORMED', `reserved additional information ${info}`, start);
      if (end - pos < size) throw fail('FRAME_MALFORMED', 'frame is truncated inside a float', start);
      pos += size;
      continue;
    }
    if (major === 6) throw fail('FRAME_UNSUPPORTED', 'CBOR tags are not supported', start);

    // The argument: an integer's value, a string's byte length or a container's count.
    let arg: number;
    if (info < 24) {
      arg = info;
    } else if (info === 24) {
      if (pos >= end) throw fail('FRAME_MALFORMED', 'frame is truncated inside a header', start);
      arg = bytes[pos++]!;
    } else if (info === 25) {
      if (end - pos < 2) throw fail('FRAME_MALFORMED', 'frame is truncated inside a header', start);
      arg = (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += 2;
    } else if (info === 26) {
      if (end - pos < 4) throw fail('FRAME_MALFORMED', 'frame is truncated inside a header', start);
      arg = ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
      pos += 4;
    } else if (info === 27) {
      if (end - pos < 8) throw fail('FRAME_MALFORMED', 'frame is truncated inside a header', start);
      const high = ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
      const low = ((bytes[pos + 4]! << 24) | (bytes[pos + 5]! << 16) | (bytes[pos + 6]! << 8) | bytes[pos + 7]!) >>> 0;
      // Inexact above 2^53, which only matters for integers: lengths that large fail every limit.
      arg = high * TWO_POW_32 + low;
      pos += 8;
    } else if (info === 31) {
      if (major <= 1) throw fail('FRAME_MALFORMED', 'integers have no indefinite length', start);
      throw fail('FRAME_UNSUPPORTED', 'indefinite-length items are not supported', start);
    } else {
      throw fail('FRAME_MALFORMED', `reserved additional information ${info}`, start);
    }

    if (major <= 1) continue;

    if (major <= 3) {
      const isKey = isMapLevel[depth] === 1 && (left & 1) === 0;
      const cap = isKey ? maxKeyBytes : maxStringBytes;
      if (arg > cap) {
        throw fail('FRAME_STRING_TOO_LONG', `${isKey ? 'map key' : 'string'} declares ${arg} bytes; the limit is ${cap}`, start);
      }
      if (arg > end - pos) throw fail('FRAME_MALFORMED', `string declares ${arg} bytes but only ${end - pos} remain`, start);
      if (isKey) checkKey(bytes, pos, arg, start);
      pos += arg;
      continue;
    }

    // Array (4) or map (5).
    if (arg > maxItems) {
      throw fail('FRAME_TOO_MANY_ITEMS', `${major === 4 ? 'array' : 'map'} declares ${arg} ${major === 4 ? 'items' : 'entries'}; the limit is ${maxItems}`, start);
    }
    const items = major === 4 ? arg : arg * 2;
    total += items;
    if (total > maxTotalItems) {
      throw fail('FRAME_TOO_MANY_ITEMS', `frame declares more than ${maxTotalItems} items in total`, start);
    }
    // Every item needs at least one byte: a count beyond what remains can never be satisfied.
    if (items > end - pos) {
      throw fail('FRAME_MALFORMED', `${major === 4 ? 'array' : 'map'} declares ${items} items but only ${end - pos} bytes remain`, start);
    }
    if (depth + 1 > maxDepth) throw fail('FRAME_TOO_DEEP', `nesting exceeds ${maxDepth} levels`, start);
    if (items > 0) {
      depth++;
      remaining[depth] = items;
      isMapLevel[depth] = major === 5 ? 1 : 0;
    }
  }

  if (pos !== end) throw fail('FRAME_MALFORMED', `${end - pos} trailing bytes after the frame`, pos);
}

const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

/**
 * Keys must be valid UTF-8 so that exactly one byte sequence spells each key: a lenient
 * decoder would turn an overlong encoding into "__proto__" behind a byte comparison's back.
 */
function checkKey(bytes: Uint8Array, from: number, length: number, start: number): void {
  if (!isValidUtf8(bytes, from, from + length)) throw fail('FRAME_MALFORMED', 'map key is not valid UTF-8', start);
  if (length === PROTO_KEY.length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (bytes[from + i] !== PROTO_KEY[i]) {
        same = false;
        break;
      }
    }
    if (same) throw fail('FRAME_UNSUPPORTED', 'map key "__proto__" is not allowed', start);
  }
}

/** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
export function isValidUtf8(bytes: Uint8Array, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (to - i <= need) return false;
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}
