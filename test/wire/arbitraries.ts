import fc from 'fast-check';
import { expect } from 'vitest';
import { isPeerSockError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';

export const FRAME_CODES: readonly ErrorCode[] = [
  'FRAME_TOO_LARGE',
  'FRAME_TOO_DEEP',
  'FRAME_TOO_MANY_ITEMS',
  'FRAME_STRING_TOO_LONG',
  'FRAME_MALFORMED',
  'FRAME_UNSUPPORTED',
  'FRAME_SCHEMA',
  'FRAME_VERSION',
];

const TAG_FIRST = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
const TAG_REST = [...TAG_FIRST, '.', '_', '/', '-'];

/**
 * Any valid protocol tag, internal or application. Lengths are drawn uniformly from 1..64 half
 * the time so the 24-character boundary of CBOR's one-byte string header is well covered.
 */
export const protocolTag = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9._/-]{0,63}$/),
  fc
    .integer({ min: 1, max: 64 })
    .chain((length) =>
      fc.tuple(fc.constantFrom(...TAG_FIRST), fc.array(fc.constantFrom(...TAG_REST), { minLength: length - 1, maxLength: length - 1 })),
    )
    .map(([first, rest]) => first + rest.join('')),
);

export const applicationTag = protocolTag.filter((tag) => !tag.startsWith('ps/'));

const mapKey = fc
  .string({ unit: 'binary', maxLength: 16 })
  .filter((key) => key !== '__proto__' && Buffer.byteLength(key) <= 64);

// cbor-x writes -0 as the integer 0, so a round trip cannot preserve the sign of zero.
const number = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double().map((d) => (Object.is(d, -0) ? 0 : d)),
);

/**
 * Every kind of value the wire accepts, nested at most `maxDepth` containers deep (the
 * envelope adds one more level) with small containers, so any sample fits DEFAULT_WIRE_LIMITS.
 */
export function wireValue(maxDepth = 5): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown; leaf: unknown; container: unknown }>((tie) => ({
    leaf: fc.oneof(
      number,
      // cbor-x writes -2^64 as a tagged bignum although it fits major type 1.
      fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom(true, false, null, undefined),
    ),
    container: fc.oneof(
      fc.array(tie('value'), { maxLength: 6 }),
      fc.dictionary(mapKey, tie('value'), { maxKeys: 6, noNullPrototype: true }),
    ),
    value: fc.oneof({ maxDepth, depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('container')),
  }));
  return value;
}

/** Decodes and asserts the outcome is a frame or a PeerSockError with a FRAME_* code. */
export function expectFrameOrFrameError(run: () => unknown): { ok: true; value: unknown } | { ok: false; code: ErrorCode } {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    if (!isPeerSockError(error) || !FRAME_CODES.includes(error.code)) {
      // Surface the foreign error itself so a counterexample shows what escaped.
      expect.fail(`expected a PeerSockError with a FRAME_* code, got ${String(error)}`);
    }
    return { ok: false, code: error.code };
  }
}

/** The code of the PeerSockError `run` throws; fails the test if it returns or throws anything else. */
export function codeOf(run: () => unknown): ErrorCode {
  try {
    run();
  } catch (error) {
    if (isPeerSockError(error)) return error.code;
    throw error;
  }
  return expect.fail('expected a PeerSockError, but nothing was thrown');
}

/** CBOR header bytes for major type `major` with argument `value`, minimal form. */
export function header(major: number, value: number): number[] {
  const m = major << 5;
  if (value < 24) return [m | value];
  if (value < 0x100) return [m | 24, value];
  if (value < 0x10000) return [m | 25, value >> 8, value & 0xff];
  return [m | 26, (value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

export function text(value: string): number[] {
  const bytes = [...Buffer.from(value, 'utf8')];
  return [...header(3, bytes.length), ...bytes];
}

/** `[1, protocol, <body bytes>]` built by hand, so tests do not depend on the encoder. */
export function frameWithBody(body: number[], protocol = 'app/test'): Uint8Array {
  return Uint8Array.from([0x83, 0x01, ...text(protocol), ...body]);
}

/** Deep copy with every Uint8Array subclass (Buffer) turned into a plain Uint8Array, for toEqual. */
export function plainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainBytes(v)]));
  }
  return value;
}
