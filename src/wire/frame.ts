import { Decoder, Encoder } from 'cbor-x';
import type { Options } from 'cbor-x';
import { PeerSockError, isPeerSockError } from '../errors.js';
import { scanCbor } from './cbor-scan.js';
import { DEFAULT_WIRE_LIMITS } from './limits.js';
import type { WireLimits } from './limits.js';
import { isProtocolTag } from './protocol-tag.js';

/** The only envelope version this code speaks. */
export const WIRE_VERSION = 1;

export interface Frame {
  readonly protocol: string;
  readonly body: unknown;
}

// Plain CBOR only: no records, structured clone, string bundles or packing (each adds tags the
// scanner refuses), no tag 64 on Uint8Array and no tag 259 on Map, minimal map headers.
// `useTag259ForMaps` is read by cbor-x but missing from its typings.
const CBOR_OPTIONS: Options & { useTag259ForMaps: boolean } = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  useTag259ForMaps: false,
  variableMapSize: true,
  structuredClone: false,
  bundleStrings: false,
  pack: false,
  useSelfDescribedHeader: false,
  useToJSON: false,
};

const encoder = new Encoder(CBOR_OPTIONS);
const decoder = new Decoder(CBOR_OPTIONS);

/**
 * Encodes `[1, protocol, body]`. Throws INVALID_PROTOCOL for a bad tag, FRAME_TOO_LARGE when
 * the frame exceeds `limits.maxFrameBytes`, and whatever the scanner would say on the receiving
 * side (FRAME_UNSUPPORTED for class instances, typed arrays other than Uint8Array, Map with
 * non-text keys, BigInt beyond 64 bits, functions; FRAME_TOO_DEEP; ...) so a frame we send is
 * one a peer with the same limits accepts.
 *
 * The result may be a view into a buffer cbor-x reuses for later frames (never overwritten);
 * copy it if you need a standalone ArrayBuffer.
 */
export function encodeFrame(protocol: string, body: unknown, limits: WireLimits = DEFAULT_WIRE_LIMITS): Uint8Array {
  if (body instanceof Uint8Array) return encodeDataFrame(protocol, body, limits);
  checkOutgoingTag(protocol);
  return encodeGenericFrame(protocol, body, limits);
}

/** @internal The cbor-x path for every body; exported so tests can hold the fast paths to it. */
export function encodeGenericFrame(protocol: string, body: unknown, limits: WireLimits = DEFAULT_WIRE_LIMITS): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = encoder.encode([WIRE_VERSION, protocol, body]);
  } catch (error) {
    throw new PeerSockError('FRAME_UNSUPPORTED', `body cannot be encoded as plain CBOR: ${describe(error)}`, { cause: error });
  }
  if (bytes.length > limits.maxFrameBytes) {
    throw new PeerSockError(
      'FRAME_TOO_LARGE',
      `a ${protocol} frame would be ${bytes.length} bytes; the limit is ${limits.maxFrameBytes}`,
    );
  }
  scanCbor(bytes, limits);
  return bytes;
}

/**
 * The hot path: `[1, protocol, payload]` written by hand into one exactly sized buffer, byte
 * for byte what encodeFrame's cbor-x path produces for a byte-string body.
 */
export function encodeDataFrame(
  protocol: string,
  payload: Uint8Array,
  limits: WireLimits = DEFAULT_WIRE_LIMITS,
  /** Write into this buffer when it is large enough (returns a view of it): saves an allocation when the frame is consumed at once. */
  scratch?: Buffer,
): Uint8Array {
  checkOutgoingTag(protocol);
  if (!(payload instanceof Uint8Array)) {
    throw new PeerSockError('INVALID_ARGUMENT', 'a data frame payload must be a Uint8Array');
  }
  const tagLength = protocol.length; // ASCII, checked above
  const length = payload.length;
  const tagHeader = tagLength < 24 ? 1 : 2;
  const payloadHeader = length < 24 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
  const size = 2 + tagHeader + tagLength + payloadHeader + length;
  if (size > limits.maxFrameBytes) {
    throw new PeerSockError(
      'FRAME_TOO_LARGE',
      `a ${protocol} frame with a ${length}-byte payload would be ${size} bytes; the limit is ${limits.maxFrameBytes}`,
    );
  }
  if (length > limits.maxStringBytes) {
    throw new PeerSockError('FRAME_STRING_TOO_LONG', `a ${length}-byte payload exceeds the ${limits.maxStringBytes}-byte limit`);
  }
  if (limits.maxDepth < 1 || limits.maxItems < 3 || limits.maxTotalItems < 4) {
    // Limits too small for any envelope: let the scanner name the violation.
    return encodeGenericFrame(protocol, payload, limits);
  }
  // Every byte is written below, so the pool's unzeroed memory never leaks out.
  const out = scratch !== undefined && scratch.length >= size ? scratch.subarray(0, size) : Buffer.allocUnsafe(size);
  let pos = 0;
  out[pos++] = 0x83;
  out[pos++] = WIRE_VERSION;
  if (tagHeader === 1) {
    out[pos++] = 0x60 | tagLength;
  } else {
    out[pos++] = 0x78;
    out[pos++] = tagLength;
  }
  for (let i = 0; i < tagLength; i++) out[pos++] = protocol.charCodeAt(i);
  if (payloadHeader === 1) {
    out[pos++] = 0x40 | length;
  } else if (payloadHeader === 2) {
    out[pos++] = 0x58;
    out[pos++] = length;
  } else if (payloadHeader === 3) {
    out[pos++] = 0x59;
    out[pos++] = length >>> 8;
    out[pos++] = length & 0xff;
  } else {
    out[pos++] = 0x5a;
    out.writeUInt32BE(length, pos);
    pos += 4;
  }
  out.set(payload, pos);
  return out;
}

/**
 * Decodes a frame received from a peer. Nothing reaches cbor-x before the scanner has checked
 * it against `limits`. Throws PeerSockError with a FRAME_* code and nothing else: the
 * scanner's codes, FRAME_VERSION for a version other than 1, FRAME_SCHEMA for a bad envelope.
 *
 * Byte strings in the body are views into `bytes` (no copy): copy them before reusing `bytes`.
 */
export function decodeFrame(bytes: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): Frame {
  // A DataChannel also delivers text messages as strings; those are not frames.
  if (!(bytes instanceof Uint8Array)) throw new PeerSockError('FRAME_MALFORMED', `a frame must be binary, got ${typeof bytes}`);
  return decodeDataFrameFast(bytes, limits) ?? decodeGenericFrame(bytes, limits);
}

/** @internal The scanner-plus-cbor-x path for every frame; exported for tests. */
export function decodeGenericFrame(bytes: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): Frame {
  if (!(bytes instanceof Uint8Array)) throw new PeerSockError('FRAME_MALFORMED', `a frame must be binary, got ${typeof bytes}`);
  scanCbor(bytes, limits);
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (error) {
    // The scanner should have refused anything cbor-x fails on; if not, it is still bad input.
    throw new PeerSockError('FRAME_MALFORMED', `frame failed to decode: ${describe(error)}`, { cause: error });
  }
  // Version first: a later version may change the rest of the envelope.
  if (!Array.isArray(value) || value.length === 0) {
    throw new PeerSockError('FRAME_SCHEMA', 'a frame must be an array [version, protocol, body]');
  }
  if (value[0] !== WIRE_VERSION) {
    throw new PeerSockError('FRAME_VERSION', `unsupported frame version ${describeVersion(value[0])}; this peer speaks ${WIRE_VERSION}`);
  }
  if (value.length !== 3) {
    throw new PeerSockError('FRAME_SCHEMA', `a version 1 frame has 3 elements, got ${value.length}`);
  }
  // One spelling per frame: the version is the single byte 0x01 right after a one-byte header.
  if (bytes[0] !== 0x83 || bytes[1] !== WIRE_VERSION) {
    throw new PeerSockError('FRAME_SCHEMA', 'the envelope must be written minimally, with the version as the integer 1');
  }
  const protocol: unknown = value[1];
  if (!isProtocolTag(protocol)) {
    throw new PeerSockError('FRAME_SCHEMA', 'frame protocol is not a valid protocol tag');
  }
  return { protocol, body: value[2] };
}

// Remembers the last protocol tag decoded on the fast path: a stream of frames mostly repeats
// one tag, and reusing the string skips building it and testing it against the pattern.
const cachedTagBytes = new Uint8Array(64);
let cachedTagLength = -1;
let cachedTag = '';

/**
 * Recognises exactly `83 01 <text tag> <byte string>` filling `bytes`, the shape of every
 * application data frame, and decodes it by hand. Returns undefined for anything else, or
 * anything the scanner or envelope check might object to, so the generic path decides those.
 */
function decodeDataFrameFast(bytes: Uint8Array, limits: WireLimits): Frame | undefined {
  const end = bytes.length;
  if (end < 4 || bytes[0] !== 0x83 || bytes[1] !== WIRE_VERSION || end > limits.maxFrameBytes) return undefined;
  if (limits.maxDepth < 1 || limits.maxItems < 3 || limits.maxTotalItems < 4) return undefined;
  let pos = 2;
  const tagHeader = bytes[pos++]!;
  let tagLength: number;
  if (tagHeader > 0x60 && tagHeader < 0x78) {
    tagLength = tagHeader & 0x1f;
  } else if (tagHeader === 0x78) {
    tagLength = bytes[pos++]!;
    if (tagLength > 64) return undefined;
  } else {
    return undefined;
  }
  if (tagLength > limits.maxStringBytes) return undefined;
  const tagStart = pos;
  pos += tagLength;
  if (pos >= end) return undefined;

  const payloadHeader = bytes[pos++]!;
  let length: number;
  if (payloadHeader >= 0x40 && payloadHeader < 0x58) {
    length = payloadHeader & 0x1f;
  } else if (payloadHeader === 0x58) {
    if (end - pos < 1) return undefined;
    length = bytes[pos++]!;
  } else if (payloadHeader === 0x59) {
    if (end - pos < 2) return undefined;
    length = (bytes[pos]! << 8) | bytes[pos + 1]!;
    pos += 2;
  } else if (payloadHeader === 0x5a) {
    if (end - pos < 4) return undefined;
    length = ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
    pos += 4;
  } else {
    return undefined;
  }
  if (length > limits.maxStringBytes || pos + length !== end) return undefined;

  const protocol = readTag(bytes, tagStart, tagLength);
  if (protocol === undefined) return undefined;
  return { protocol, body: bytes.subarray(pos, end) };
}

/** The tag at bytes[from, from+length) if it is a valid protocol tag, else undefined. */
function readTag(bytes: Uint8Array, from: number, length: number): string | undefined {
  if (length === cachedTagLength) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (bytes[from + i] !== cachedTagBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedTag;
  }
  let tag = '';
  for (let i = 0; i < length; i++) {
    const c = bytes[from + i]!;
    // Non-ASCII bytes never form a valid tag here; the generic path, which decodes UTF-8,
    // gets the final word so both paths agree on every input.
    if (c >= 0x80) return undefined;
    tag += String.fromCharCode(c);
  }
  if (!isProtocolTag(tag)) return undefined;
  cachedTagBytes.set(bytes.subarray(from, from + length));
  cachedTagLength = length;
  cachedTag = tag;
  return tag;
}

function checkOutgoingTag(protocol: unknown): void {
  if (!isProtocolTag(protocol)) {
    const shown = typeof protocol === 'string' ? JSON.stringify(protocol.slice(0, 80)) : typeof protocol;
    throw new PeerSockError('INVALID_PROTOCOL', `${shown} is not a protocol tag (lower-case a-z 0-9 . _ / -, at most 64 characters)`);
  }
}

function describe(error: unknown): string {
  if (isPeerSockError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function describeVersion(version: unknown): string {
  if (typeof version === 'bigint') return `${version} (as a 64-bit integer)`;
  if (typeof version === 'number' || typeof version === 'boolean') return String(version);
  return `of type ${version === null ? 'null' : Array.isArray(version) ? 'array' : typeof version}`;
}
