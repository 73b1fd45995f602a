import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/wire/frame.js';
import { codeOf, FRAME_CODES } from './arbitraries.js';

/*
 * DESIGN §3: nested container headers that each declare a huge count make a naive decoder
 * preallocate per header, gigabytes from ~40 KB. Each bomb must be refused from its headers
 * alone, quickly, with a FRAME_* code, and leave nothing behind.
 */

const BOMB_BYTES = 40 * 1024;

/** `unit` repeated to fill ~40 KB. */
function repeatUnit(unit: number[], prefix: number[] = []): Uint8Array {
  const out = new Uint8Array(BOMB_BYTES);
  out.set(prefix);
  for (let pos = prefix.length; pos + unit.length <= out.length; pos += unit.length) out.set(unit, pos);
  return out;
}

const ENVELOPE = [0x83, 0x01, 0x65, 0x61, 0x70, 0x70, 0x2f, 0x78]; // [1, "app/x", ...

const bombs: [string, Uint8Array, string][] = [
  // 0x9b: array with an 8-byte count; 0x9a: 4-byte count; 0xbb/0xba: the same for maps.
  ['nested 0x9b arrays of 2^64-1 items', repeatUnit([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested 0x9b arrays of 2^32 items', repeatUnit([0x9b, 0, 0, 0, 1, 0, 0, 0, 0]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested 0x9a arrays of 2^32-1 items', repeatUnit([0x9a, 0xff, 0xff, 0xff, 0xff]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested 0x9a arrays of 4096 items each', repeatUnit([0x9a, 0, 0, 0x10, 0]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested 0x99 arrays of 1024 items each (within maxItems)', repeatUnit([0x99, 0x04, 0x00]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested 0x98 arrays of 255 items each', repeatUnit([0x98, 0xff]), 'FRAME_TOO_DEEP'],
  ['nested 1-item arrays', repeatUnit([0x81]), 'FRAME_TOO_DEEP'],
  ['nested 0xbb maps', repeatUnit([0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested 0xba maps', repeatUnit([0xba, 0x7f, 0xff, 0xff, 0xff]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested maps of 512 entries keyed "k"', repeatUnit([0xb9, 0x02, 0x00, 0x61, 0x6b]), 'FRAME_TOO_MANY_ITEMS'],
  ['nested 0x9b arrays inside a frame envelope', repeatUnit([0x9b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], ENVELOPE), 'FRAME_TOO_MANY_ITEMS'],
  ['a 0x5b byte string of 2^64-1 bytes', Uint8Array.from([...ENVELOPE, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'FRAME_STRING_TOO_LONG'],
  ['a 0x7b text string of 2^63 bytes', Uint8Array.from([...ENVELOPE, 0x7b, 0x80, 0, 0, 0, 0, 0, 0, 0]), 'FRAME_STRING_TOO_LONG'],
  ['a single 0x9b header of 2^64-1 items', Uint8Array.from([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'FRAME_TOO_MANY_ITEMS'],
  ['a single 0x9b header of 1000 items with nothing after it', Uint8Array.from([0x9b, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]), 'FRAME_MALFORMED'],
  ['a single 0xbb header of 2^64-1 entries', Uint8Array.from([0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'FRAME_TOO_MANY_ITEMS'],
];

describe('nested-header bombs', () => {
  it.each(bombs)('%s is refused with %s', (_name, bomb, code) => {
    expect(codeOf(() => decodeFrame(bomb))).toBe(code);
  });

  it('10,000 bombs are refused fast and the heap stays flat', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    // The config runs workers with --expose-gc; without it this test cannot measure anything.
    expect(typeof gc, 'global.gc is missing: run vitest with --expose-gc').toBe('function');
    const collect = () => {
      gc!();
      gc!();
    };

    // Warm up so JIT code and caches are not counted as growth.
    for (let i = 0; i < 1000; i++) codeOf(() => decodeFrame(bombs[i % bombs.length]![1]));
    collect();
    const before = process.memoryUsage();

    const t0 = process.hrtime.bigint();
    let peakHeap = 0;
    for (let i = 0; i < 10_000; i++) {
      const code = codeOf(() => decodeFrame(bombs[i % bombs.length]![1]));
      if (!FRAME_CODES.includes(code)) expect.fail(`unexpected code ${code}`);
      if (i % 1000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
    const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;

    collect();
    const after = process.memoryUsage();
    const growth = after.heapUsed - before.heapUsed;
    const peakGrowth = peakHeap - before.heapUsed;
    const external = after.external + after.arrayBuffers - (before.external + before.arrayBuffers);

    // A decoder that preallocated even one declared count would use gigabytes here.
    expect(growth).toBeLessThan(2 * 1024 * 1024);
    expect(peakGrowth).toBeLessThan(64 * 1024 * 1024);
    expect(external).toBeLessThan(2 * 1024 * 1024);
    // Header-only rejection: microseconds each (mostly building the error), far under 1 ms.
    expect(elapsedMs / 10_000).toBeLessThan(0.1);
  });
});
