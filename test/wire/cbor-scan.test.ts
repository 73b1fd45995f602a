import { describe, expect, it } from 'vitest';
import { isValidUtf8, scanCbor } from '../../src/wire/cbor-scan.js';
import { decodeFrame, encodeFrame } from '../../src/wire/frame.js';
import { DEFAULT_WIRE_LIMITS } from '../../src/wire/limits.js';
import type { WireLimits } from '../../src/wire/limits.js';
import { codeOf, frameWithBody, header, text } from './arbitraries.js';

const L = DEFAULT_WIRE_LIMITS;
const scan = (bytes: number[] | Uint8Array, limits: WireLimits = L) =>
  codeOf(() => scanCbor(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), limits));
const accepts = (bytes: number[] | Uint8Array, limits: WireLimits = L) =>
  expect(() => scanCbor(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), limits)).not.toThrow();

/** `depth` arrays of one element each around `inner`. */
function nested(depth: number, inner: number[] = [0x00]): number[] {
  return [...new Array<number>(depth).fill(0x81), ...inner];
}

describe('scanCbor accepts the supported subset', () => {
  it.each([
    ['unsigned ints of every width', [0x84, 0x17, 0x18, 0xff, 0x19, 0xff, 0xff, 0x1b, 1, 2, 3, 4, 5, 6, 7, 8]],
    ['negative ints', [0x83, 0x20, 0x38, 0x7f, 0x3a, 0, 0, 1, 0]],
    ['floats of 16, 32 and 64 bits', [0x83, 0xf9, 0x3c, 0x00, 0xfa, 0, 0, 0, 0, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0]],
    ['false, true, null, undefined', [0x84, 0xf4, 0xf5, 0xf6, 0xf7]],
    ['byte and text strings', [0x82, 0x43, 1, 2, 3, ...text('héllo')]],
    ['maps with text keys', [0xa2, ...text('a'), 0x01, ...text('b'), 0x80]],
    ['empty containers', [0x82, 0x80, 0xa0]],
    ['non-minimal headers', [0x98, 0x02, 0x19, 0x00, 0x01, 0x5a, 0, 0, 0, 1, 0xaa]],
  ])('%s', (_name, bytes) => accepts(bytes));

  it('accepts a frame of exactly maxFrameBytes, and not one byte more', () => {
    // [1, 'app/x', [<1 MiB bytes>, <filler bytes>]] sized to land exactly on the limit.
    const head = [0x83, 0x01, ...text('app/x'), 0x82, ...header(2, L.maxStringBytes)];
    const fillerTotal = L.maxFrameBytes - head.length - L.maxStringBytes;
    const fillerHeader = header(2, fillerTotal - 3); // a 3-byte header for a 1000-odd byte string
    expect(fillerHeader).toHaveLength(3);
    const frame = new Uint8Array(L.maxFrameBytes);
    frame.set(head);
    frame.set(fillerHeader, head.length + L.maxStringBytes);
    accepts(frame);
    expect(decodeFrame(frame).protocol).toBe('app/x');
    const over = new Uint8Array(L.maxFrameBytes + 1);
    over.set(frame);
    expect(scan(over)).toBe('FRAME_TOO_LARGE');
  });

  it('accepts nesting exactly at maxDepth', () => accepts(nested(L.maxDepth)));
  it('accepts exactly maxItems elements', () => accepts([...header(4, L.maxItems), ...new Array<number>(L.maxItems).fill(0)]));
  it('accepts a 64-byte map key', () => accepts([0xa1, ...text('k'.repeat(64)), 0x00]));
  it('accepts exactly maxTotalItems items', () => {
    // 1 (outer) + 4 (inner arrays) + 4 * 1022 = 4093, then 3 more at the top level.
    const inner = [...header(4, 1022), ...new Array<number>(1022).fill(0)];
    const bytes = [...header(4, 7), ...inner, ...inner, ...inner, ...inner, 0, 0, 0];
    expect(1 + 7 + 4 * 1022).toBe(L.maxTotalItems);
    accepts(bytes);
    const over = [...header(4, 8), ...inner, ...inner, ...inner, ...inner, 0, 0, 0, 0];
    expect(scan(over)).toBe('FRAME_TOO_MANY_ITEMS');
  });
});

describe('scanCbor rejects with the right code', () => {
  it('empty input is malformed', () => expect(scan([])).toBe('FRAME_MALFORMED'));
  it('oversized frames, before reading anything', () => {
    expect(scan(new Uint8Array(L.maxFrameBytes + 1))).toBe('FRAME_TOO_LARGE');
    expect(scan([0x83, 0x01, 0x02, 0x03], { ...L, maxFrameBytes: 3 })).toBe('FRAME_TOO_LARGE');
  });
  it('nesting of maxDepth + 1', () => {
    expect(scan(nested(L.maxDepth + 1))).toBe('FRAME_TOO_DEEP');
    accepts(nested(L.maxDepth - 1, [0x80]));
    // Empty containers count as a level too.
    expect(scan(nested(L.maxDepth, [0xa0]))).toBe('FRAME_TOO_DEEP');
  });
  it('maps count as levels', () => {
    const mapLevel = [0xa1, ...text('k')];
    const bytes = [...Array.from({ length: L.maxDepth + 1 }, () => mapLevel).flat(), 0x00];
    expect(scan(bytes)).toBe('FRAME_TOO_DEEP');
  });
  it('too many items in an array or map', () => {
    expect(scan([...header(4, L.maxItems + 1), ...new Array<number>(L.maxItems + 1).fill(0)])).toBe('FRAME_TOO_MANY_ITEMS');
    const entries = Array.from({ length: L.maxItems + 1 }, (_, i) => [...text(`k${i}`), 0]).flat();
    expect(scan([...header(5, L.maxItems + 1), ...entries])).toBe('FRAME_TOO_MANY_ITEMS');
  });
  it('too many items in total, even when each container is within maxItems', () => {
    const inner = [...header(4, 1000), ...new Array<number>(1000).fill(0)];
    expect(scan([0x85, ...inner, ...inner, ...inner, ...inner, ...inner])).toBe('FRAME_TOO_MANY_ITEMS');
  });
  it('strings longer than maxStringBytes', () => {
    const limits = { ...L, maxStringBytes: 10 };
    expect(scan([...header(2, 11), ...new Array<number>(11).fill(1)], limits)).toBe('FRAME_STRING_TOO_LONG');
    expect(scan([...header(3, 11), ...new Array<number>(11).fill(0x61)], limits)).toBe('FRAME_STRING_TOO_LONG');
    accepts([...header(2, 10), ...new Array<number>(10).fill(1)], limits);
    // With default limits, a 1 MiB + 1 byte string within a frame that is not too large.
    const big = new Uint8Array(L.maxStringBytes + 1 + 5);
    big.set(header(2, L.maxStringBytes + 1));
    expect(scan(big.subarray(0, 5 + L.maxStringBytes + 1))).toBe('FRAME_STRING_TOO_LONG');
  });
  it('declared counts and lengths beyond the bytes remaining', () => {
    expect(scan([0x98, 200, 0, 0, 0])).toBe('FRAME_MALFORMED');
    // Rejected at the header, before walking the items that are there.
    const ones = new Array<number>(199).fill(0x81);
    expect(() => scanCbor(Uint8Array.from([0x98, 200, ...ones]), L)).toThrow(/array declares 200 items but only 199 bytes remain \(at byte 0\)/);
    expect(() => scanCbor(Uint8Array.from([0x9b, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0x00]), L)).toThrow(/declares 1000 items but only 1 bytes remain/);
    expect(scan([0xb8, 3, ...text('a'), 0, ...text('b')])).toBe('FRAME_MALFORMED');
    expect(scan([0x59, 0x01, 0x00, 1, 2, 3])).toBe('FRAME_MALFORMED');
    expect(scan([0x7a, 0, 0, 0x10, 0, 0x61])).toBe('FRAME_MALFORMED');
  });
  it('truncated headers and floats', () => {
    for (const bytes of [[0x18], [0x19, 0x01], [0x1a, 0, 0], [0x1b, 0, 0, 0, 0], [0xf9, 0], [0xfa, 0, 0], [0xfb, 1, 2, 3], [0x82, 0x00]]) {
      expect(scan(bytes)).toBe('FRAME_MALFORMED');
    }
  });
  it('trailing bytes', () => {
    expect(scan([0x00, 0x00])).toBe('FRAME_MALFORMED');
    expect(scan([0x81, 0x01, 0xff])).toBe('FRAME_MALFORMED');
  });
  it('reserved additional information (28..30) in every major type', () => {
    for (let major = 0; major < 8; major++) {
      for (const info of [28, 29, 30]) {
        const code = scan([(major << 5) | info, 0, 0, 0, 0, 0, 0, 0, 0]);
        // A tag is refused as a tag whatever follows.
        expect(code).toBe(major === 6 ? 'FRAME_UNSUPPORTED' : 'FRAME_MALFORMED');
      }
    }
  });
  it('a lone break code, and indefinite-length integers', () => {
    expect(scan([0xff])).toBe('FRAME_MALFORMED');
    expect(scan([0x1f])).toBe('FRAME_MALFORMED');
    expect(scan([0x3f])).toBe('FRAME_MALFORMED');
  });
});

describe('scanCbor refuses what no schema expects (FRAME_UNSUPPORTED)', () => {
  it.each([
    ['tag 259 (explicit map)', [0xd9, 0x01, 0x03, 0xa0]],
    ['record tag 0xdfff', [0xd9, 0xdf, 0xff, 0x82, 0x00, 0x80]],
    ['tag 64 typed array', [0xd8, 0x40, 0x43, 1, 2, 3]],
    ['tag 1 timestamp', [0xc1, 0x1a, 0, 0, 0, 1]],
    ['tag 2 bignum', [0xc2, 0x41, 0x01]],
    ['tag 28 shareable', [0xd8, 0x1c, 0x80]],
    ['a tag nested in a body', [0x82, 0x00, 0xc0, ...text('2020-01-01')]],
    ['indefinite array', [0x9f, 0x01, 0xff]],
    ['indefinite map', [0xbf, ...text('a'), 0x01, 0xff]],
    ['indefinite byte string', [0x5f, 0x41, 0x01, 0xff]],
    ['indefinite text string', [0x7f, 0x61, 0x61, 0xff]],
    ['simple value 0', [0xe0]],
    ['simple value 19', [0xf3]],
    ['1-byte simple value', [0xf8, 0x20]],
    ['integer map key', [0xa1, 0x01, 0x02]],
    ['byte string map key', [0xa1, 0x41, 0x61, 0x02]],
    ['array map key', [0xa1, 0x80, 0x02]],
    ['null map key', [0xa1, 0xf6, 0x02]],
    ['__proto__ map key', [0xa1, ...text('__proto__'), 0xa0]],
    ['__proto__ key nested in a body', frameWithBody([0xa1, ...text('ok'), 0xa1, ...text('__proto__'), 0x01])],
  ])('%s', (_name, bytes) => expect(scan(bytes)).toBe('FRAME_UNSUPPORTED'));

  it('map values may be anything allowed, keys only text', () => {
    accepts([0xa1, ...text('__proto_'), 0x41, 0x00]);
    accepts([0xa1, ...text('v'), 0xa1, ...text('w'), 0xf6]);
  });

  it('an overlong UTF-8 spelling of __proto__ is rejected as malformed', () => {
    // "_" (0x5f) written as the overlong pair c1 9f: a lenient decoder reads "__proto__".
    const key = [0xc1, 0x9f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f];
    expect(scan([0xa1, ...header(3, key.length), ...key, 0x00])).toBe('FRAME_MALFORMED');
  });

  it('map keys longer than 64 bytes', () => {
    expect(scan([0xa1, ...text('k'.repeat(65)), 0x00])).toBe('FRAME_STRING_TOO_LONG');
  });
});

describe('strict UTF-8 for keys', () => {
  it.each([
    ['ascii', [0x61, 0x62], true],
    ['two-byte', [0xc3, 0xa9], true],
    ['three-byte', [0xe2, 0x82, 0xac], true],
    ['four-byte', [0xf0, 0x9f, 0x98, 0x80], true],
    ['overlong two-byte', [0xc0, 0xaf], false],
    ['overlong three-byte', [0xe0, 0x80, 0xaf], false],
    ['surrogate', [0xed, 0xa0, 0x80], false],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], false],
    ['truncated sequence', [0xe2, 0x82], false],
    ['bad continuation', [0xc3, 0x41], false],
    ['stray continuation', [0x80], false],
  ])('%s', (_name, bytes, valid) => {
    expect(isValidUtf8(Uint8Array.from(bytes), 0, bytes.length)).toBe(valid);
  });
});

describe('scanCbor is O(headers), not O(bytes)', () => {
  it('skips string contents: a 16 KiB body costs about what a 16 byte body does', () => {
    const small = encodeFrame('app/x', new Uint8Array(16));
    const large = encodeFrame('app/x', new Uint8Array(16 * 1024));
    const time = (bytes: Uint8Array) => {
      const rounds = 200_000;
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < rounds; i++) scanCbor(bytes, L);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / rounds);
      }
      return best;
    };
    time(small);
    const smallNs = time(small);
    const largeNs = time(large);
    // Reading 16 KiB byte by byte would take thousands of ns; a header-only scan stays put.
    expect(largeNs).toBeLessThan(smallNs * 3 + 50);
    expect(decodeFrame(large).body).toHaveLength(16 * 1024);
  });
});
