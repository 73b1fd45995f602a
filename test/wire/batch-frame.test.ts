import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH_PROTOCOL, DEFAULT_WIRE_LIMITS, decodeFrame, encodeBatchFrame, encodeDataFrame } from '../../src/wire/index.js';

describe('batch frames', () => {
  it('carry any list of frames and decode back to exactly those frames, within the limits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('chat', 'a', 'x.y/z-1'), fc.uint8Array({ maxLength: 3000 })), { minLength: 1, maxLength: 300 }),
        (items) => {
          const frames = items.map(([protocol, payload]) => encodeDataFrame(protocol, payload));
          const total = frames.reduce((sum, frame) => sum + frame.length, 0);
          const batch = decodeFrame(encodeBatchFrame(frames, total), DEFAULT_WIRE_LIMITS);
          expect(batch.protocol).toBe(BATCH_PROTOCOL);
          const inner = batch.body as Uint8Array[];
          expect(inner.map((bytes) => Buffer.from(bytes).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
          expect(inner.map((bytes) => decodeFrame(bytes))).toEqual(
            items.map(([protocol, payload]) => ({ protocol, body: expect.toSatisfy((b: Uint8Array) => Buffer.from(b).equals(Buffer.from(payload))) })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is refused by the scanner when it holds more frames than a container may', () => {
    const frames = Array.from({ length: DEFAULT_WIRE_LIMITS.maxItems + 1 }, () => encodeDataFrame('chat', new Uint8Array(1)));
    const batch = encodeBatchFrame(frames, frames.reduce((sum, f) => sum + f.length, 0));
    expect(() => decodeFrame(batch)).toThrow(expect.objectContaining({ code: 'FRAME_TOO_MANY_ITEMS' }));
  });
});
