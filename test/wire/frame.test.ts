import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  decodeGenericFrame,
  encodeDataFrame,
  encodeFrame,
  encodeGenericFrame,
} from '../../src/wire/frame.js';
import { DEFAULT_WIRE_LIMITS } from '../../src/wire/limits.js';
import { isApplicationProtocol, isInternalProtocol, isProtocolTag } from '../../src/wire/protocol-tag.js';
import {
  applicationTag,
  codeOf,
  expectFrameOrFrameError,
  frameWithBody,
  header,
  plainBytes,
  protocolTag,
  text,
  wireValue,
} from './arbitraries.js';

const L = DEFAULT_WIRE_LIMITS;
const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/**
 * Payload lengths around every CBOR header width boundary, plus random ones. Large payloads are
 * built from (length, seed) so that shrinking a counterexample stays cheap.
 */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .tuple(fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 70_000), fc.integer({ min: 0, max: 255 }))
    .map(([length, seed]) => new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff)),
);

describe('round trip', () => {
  it('decodeFrame(encodeFrame(p, body)) gives back p and body for any allowed body', () => {
    fc.assert(
      fc.property(protocolTag, wireValue(), (protocol, body) => {
        const decoded = decodeFrame(encodeFrame(protocol, body));
        expect(decoded.protocol).toBe(protocol);
        expect(plainBytes(decoded.body)).toEqual(plainBytes(body));
      }),
      { numRuns: 500 },
    );
  });

  it('byte strings come back as Uint8Array views of the received bytes', () => {
    const frame = encodeFrame('app/x', Uint8Array.from([1, 2, 3]));
    const { body } = decodeFrame(frame);
    expect(body).toBeInstanceOf(Uint8Array);
    expect([...(body as Uint8Array)]).toEqual([1, 2, 3]);
    // Zero copy: the body shares memory with the frame it came from.
    expect((body as Uint8Array).buffer).toBe(frame.buffer);
    const nested = decodeFrame(encodeFrame('ps/auth', { key: Uint8Array.from([9, 9]) })).body as { key: unknown };
    expect(nested.key).toBeInstanceOf(Uint8Array);
  });

  it('frames of 16 KiB and 1 MiB payloads round trip', () => {
    for (const size of [16 * 1024, L.maxStringBytes]) {
      const data = new Uint8Array(size).map((_, i) => i * 7);
      const { protocol, body } = decodeFrame(encodeFrame('app/blob', data));
      expect(protocol).toBe('app/blob');
      expect(Buffer.compare(body as Uint8Array, data)).toBe(0);
    }
  });
});

describe('fast paths agree with the generic cbor-x paths', () => {
  it('encodeDataFrame writes exactly the bytes cbor-x writes', () => {
    fc.assert(
      fc.property(protocolTag, payload, (protocol, data) => {
        const fast = encodeDataFrame(protocol, data);
        expect(hex(fast)).toBe(hex(encodeGenericFrame(protocol, data)));
        expect(hex(encodeFrame(protocol, data))).toBe(hex(fast));
      }),
      { numRuns: 300 },
    );
  });

  it('Buffer and Uint8Array payloads encode the same', () => {
    fc.assert(
      fc.property(applicationTag, fc.uint8Array({ maxLength: 100 }), (protocol, data) => {
        expect(hex(encodeFrame(protocol, Buffer.from(data)))).toBe(hex(encodeGenericFrame(protocol, data)));
      }),
    );
  });

  it('decodeFrame and the generic decoder agree on data frames and their mutations', () => {
    fc.assert(
      fc.property(
        protocolTag,
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(),
        (protocol, data, edits, cut) => {
          const frame = Uint8Array.from(encodeDataFrame(protocol, data));
          for (const [at, value] of edits) frame[at % frame.length] = value;
          // Sometimes also truncate, sometimes keep everything.
          const bytes = cut % 3 === 0 ? frame.subarray(0, cut % (frame.length + 1)) : frame;
          const fast = expectFrameOrFrameError(() => decodeFrame(bytes));
          const generic = expectFrameOrFrameError(() => decodeGenericFrame(bytes));
          expect(fast).toEqual(generic);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the tag cache never returns a stale protocol', () => {
    const a = decodeFrame(encodeFrame('app/aaaa', new Uint8Array(1)));
    const b = decodeFrame(encodeFrame('app/aaab', new Uint8Array(1)));
    const c = decodeFrame(encodeFrame('app/aaaa', new Uint8Array(1)));
    expect([a.protocol, b.protocol, c.protocol]).toEqual(['app/aaaa', 'app/aaab', 'app/aaaa']);
  });
});

describe('envelope', () => {
  it('version other than 1 is FRAME_VERSION', () => {
    expect(codeOf(() => decodeFrame(Uint8Array.from([0x83, 0x02, ...text('app/x'), 0x40])))).toBe('FRAME_VERSION');
    expect(codeOf(() => decodeFrame(Uint8Array.from([0x83, 0x00, ...text('app/x'), 0x40])))).toBe('FRAME_VERSION');
    expect(codeOf(() => decodeFrame(Uint8Array.from([0x82, 0x02, 0x00])))).toBe('FRAME_VERSION');
    expect(codeOf(() => decodeFrame(Uint8Array.from([0x83, ...text('1'), ...text('app/x'), 0x40])))).toBe('FRAME_VERSION');
  });

  it.each([
    ['not an array', [0x01]],
    ['an empty array', [0x80]],
    ['a map', [0xa1, ...text('v'), 0x01]],
    ['two elements', [0x82, 0x01, ...text('app/x')]],
    ['four elements', [0x84, 0x01, ...text('app/x'), 0x40, 0x40]],
    ['a non-text protocol', [0x83, 0x01, 0x05, 0x40]],
    ['an upper-case protocol', [0x83, 0x01, ...text('App/x'), 0x40]],
    ['an empty protocol', [0x83, 0x01, 0x60, 0x40]],
    ['a 65-character protocol', [0x83, 0x01, ...text('a'.repeat(65)), 0x40]],
    ['a protocol starting with punctuation', [0x83, 0x01, ...text('/x'), 0x40]],
    ['version 1 written as a float', [0x83, 0xf9, 0x3c, 0x00, ...text('app/x'), 0x40]],
    ['version 1 written non-minimally', [0x83, 0x18, 0x01, ...text('app/x'), 0x40]],
    ['an envelope header written non-minimally', [0x98, 0x03, 0x01, ...text('app/x'), 0x40]],
  ])('%s is FRAME_SCHEMA', (_name, bytes) => {
    expect(codeOf(() => decodeFrame(Uint8Array.from(bytes)))).toBe('FRAME_SCHEMA');
  });

  it('accepts internal and application tags of up to 64 characters', () => {
    for (const protocol of ['ps/auth', 'ps/ping', 'app.v2/chat-x_y', 'a'.repeat(64), '0']) {
      expect(decodeFrame(frameWithBody([0xf6], protocol))).toEqual({ protocol, body: null });
    }
  });

  it('a non-ASCII protocol tag is FRAME_SCHEMA on both paths, even if spelled with overlong UTF-8', () => {
    // "ps/x" with the "p" as the overlong pair c1 b0.
    const tag = [0xc1, 0xb0, 0x73, 0x2f, 0x78];
    const bytes = Uint8Array.from([0x83, 0x01, ...header(3, tag.length), ...tag, 0x40]);
    expect(codeOf(() => decodeFrame(bytes))).toBe('FRAME_SCHEMA');
  });
});

describe('protocol tags', () => {
  it('classifies internal and application tags', () => {
    expect(isInternalProtocol('ps/auth')).toBe(true);
    expect(isApplicationProtocol('ps/auth')).toBe(false);
    expect(isApplicationProtocol('chat/v1')).toBe(true);
    expect(isInternalProtocol('chat/v1')).toBe(false);
    for (const bad of ['', 'A', '-x', 'x y', 'x'.repeat(65), 'é', 5, null]) {
      expect(isProtocolTag(bad)).toBe(false);
    }
    fc.assert(fc.property(applicationTag, (tag) => isApplicationProtocol(tag) && !isInternalProtocol(tag)));
  });
});

describe('encodeFrame refuses what a peer would refuse', () => {
  it('an over-limit body is FRAME_TOO_LARGE, on both paths', () => {
    const tooBig = new Uint8Array(L.maxFrameBytes);
    expect(codeOf(() => encodeFrame('app/x', tooBig))).toBe('FRAME_TOO_LARGE');
    expect(codeOf(() => encodeFrame('app/x', { chunks: [new Uint8Array(L.maxStringBytes), new Uint8Array(2048)] }))).toBe(
      'FRAME_TOO_LARGE',
    );
    const small = { ...L, maxFrameBytes: 50 };
    expect(codeOf(() => encodeFrame('app/x', new Uint8Array(60), small))).toBe('FRAME_TOO_LARGE');
    expect(codeOf(() => encodeFrame('app/x', 'x'.repeat(60), small))).toBe('FRAME_TOO_LARGE');
    try {
      encodeFrame('app/x', tooBig);
    } catch (error) {
      expect((error as Error).message).toMatch(/app\/x frame .* would be \d+ bytes; the limit is 1049600/);
    }
  });

  it('a payload over maxStringBytes is FRAME_STRING_TOO_LONG even when the frame fits', () => {
    expect(codeOf(() => encodeFrame('app/x', new Uint8Array(L.maxStringBytes + 1)))).toBe('FRAME_STRING_TOO_LONG');
  });

  it('nesting beyond maxDepth is FRAME_TOO_DEEP', () => {
    let body: unknown = 0;
    for (let i = 0; i < L.maxDepth; i++) body = [body]; // plus the envelope: maxDepth + 1
    expect(codeOf(() => encodeFrame('app/x', body))).toBe('FRAME_TOO_DEEP');
    expect(decodeFrame(encodeFrame('app/x', (body as unknown[])[0])).body).toEqual((body as unknown[])[0]);
  });

  it.each([
    ['a Date', new Date(0)],
    ['a Set', new Set([1])],
    ['a Uint16Array', new Uint16Array(2)],
    ['a Map with number keys', new Map([[1, 2]])],
    ['a bigint beyond 64 bits', 2n ** 70n],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
  ])('%s is FRAME_UNSUPPORTED', (_name, body) => {
    expect(codeOf(() => encodeFrame('app/x', body))).toBe('FRAME_UNSUPPORTED');
  });

  it('a Map with text keys travels as a map', () => {
    expect(decodeFrame(encodeFrame('ps/x', new Map([['a', 1]]))).body).toEqual({ a: 1 });
  });

  it('an invalid protocol tag is INVALID_PROTOCOL', () => {
    for (const bad of ['', 'Upper', 'has space', 'x'.repeat(65)]) {
      expect(codeOf(() => encodeFrame(bad, null))).toBe('INVALID_PROTOCOL');
      expect(codeOf(() => encodeDataFrame(bad, new Uint8Array(1)))).toBe('INVALID_PROTOCOL');
    }
  });

  it('limits too small for an envelope are reported by the scanner, not ignored', () => {
    expect(codeOf(() => encodeDataFrame('app/x', new Uint8Array(1), { ...L, maxItems: 2 }))).toBe('FRAME_TOO_MANY_ITEMS');
    expect(codeOf(() => decodeFrame(encodeDataFrame('app/x', new Uint8Array(1)), { ...L, maxDepth: 0 }))).toBe('FRAME_TOO_DEEP');
  });
});
