import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../src/wire/frame.js';
import { expectFrameOrFrameError, protocolTag, wireValue } from './arbitraries.js';

/*
 * Hostile input: whatever bytes arrive, decodeFrame returns a frame or throws a PeerSockError
 * with a FRAME_* code. A RangeError, TypeError or anything else escaping is a failure; a hang
 * is caught by the test timeout.
 */

const validFrame = fc.tuple(protocolTag, wireValue(4)).map(([protocol, body]) => Uint8Array.from(encodeFrame(protocol, body)));

describe('decodeFrame on hostile bytes', () => {
  it('arbitrary random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expectFrameOrFrameError(() => decodeFrame(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('random bytes after a plausible envelope prefix reach deeper into the scanner and cbor-x', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (tail) => {
        const bytes = Uint8Array.from([0x83, 0x01, 0x65, 0x61, 0x70, 0x70, 0x2f, 0x78, ...tail]);
        expectFrameOrFrameError(() => decodeFrame(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('every truncation of a valid frame is rejected with a FRAME_* code', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        expect(expectFrameOrFrameError(() => decodeFrame(frame)).ok).toBe(true);
        for (let length = 0; length < frame.length; length++) {
          const outcome = expectFrameOrFrameError(() => decodeFrame(frame.subarray(0, length)));
          // A proper prefix of one CBOR item is never a complete item.
          expect(outcome.ok).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random single-byte mutations of valid frames', () => {
    fc.assert(
      fc.property(validFrame, fc.nat(), fc.integer({ min: 0, max: 255 }), (frame, at, value) => {
        const mutated = Uint8Array.from(frame);
        mutated[at % mutated.length] = value;
        expectFrameOrFrameError(() => decodeFrame(mutated));
      }),
      { numRuns: 5000 },
    );
  });

  it('every header byte value at every position of a small frame', () => {
    const frame = Uint8Array.from(encodeFrame('ps/auth', { a: [1, -2, 1.5, 'x', new Uint8Array(3)], b: { c: null, d: true } }));
    for (let at = 0; at < frame.length; at++) {
      for (let value = 0; value < 256; value++) {
        const mutated = Uint8Array.from(frame);
        mutated[at] = value;
        expectFrameOrFrameError(() => decodeFrame(mutated));
      }
    }
  });

  it('random bytes under tight limits', () => {
    const tight = { maxFrameBytes: 200, maxDepth: 3, maxItems: 4, maxStringBytes: 16, maxTotalItems: 12 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expectFrameOrFrameError(() => decodeFrame(bytes, tight));
      }),
      { numRuns: 3000 },
    );
  });

  it('non-binary messages (a DataChannel may deliver strings) are FRAME_MALFORMED', () => {
    for (const message of ['hello', '', null, undefined, 42, {}, new ArrayBuffer(4), [0x83, 0x01]]) {
      expect(expectFrameOrFrameError(() => decodeFrame(message as unknown as Uint8Array))).toEqual({ ok: false, code: 'FRAME_MALFORMED' });
    }
  });
});
