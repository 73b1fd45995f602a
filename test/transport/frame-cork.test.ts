import { describe, expect, it } from 'vitest';
import { FrameCork } from '../../src/actors/transport/frame-cork.js';
import { BATCH_PROTOCOL, decodeFrame, encodeDataFrame } from '../../src/wire/index.js';

function setup(maxBatchFrames = 4, maxMessageBytes = 1_000_000) {
  const sent: Uint8Array[] = [];
  const deferred: (() => void)[] = [];
  const errors: unknown[] = [];
  let broken = false;
  const cork = new FrameCork(
    {
      send: (frame) => {
        if (broken) throw new Error('link is gone');
        if (frame.length > maxMessageBytes) throw new Error(`message of ${frame.length} bytes is too large`);
        sent.push(Uint8Array.from(frame));
      },
      bufferedAmount: () => 0,
    },
    {
      maxFrameBytes: 100,
      maxBatchBytes: 1_000,
      maxBatchFrames,
      defer: (callback) => void deferred.push(callback),
      maxMessageBytes: () => maxMessageBytes,
      onError: (error) => errors.push(error),
    },
  );
  /** Every application payload the link carried, in order, unpacking batches. */
  const payloads = () =>
    sent.flatMap((bytes) => {
      const frame = decodeFrame(bytes);
      const frames = frame.protocol === BATCH_PROTOCOL ? (frame.body as Uint8Array[]).map((inner) => decodeFrame(inner)) : [frame];
      return frames.map((f) => (f.body as Uint8Array)[0]);
    });
  return { cork, sent, deferred, payloads, errors, breakLink: () => (broken = true) };
}

const small = (n: number) => encodeDataFrame('chat', new Uint8Array([n]));
const large = (n: number) => encodeDataFrame('chat', new Uint8Array(200).fill(n));

describe('FrameCork', () => {
  it('holds small frames until the next turn, then sends them as one batch', () => {
    const { cork, sent, deferred, payloads } = setup(10);
    cork.write(small(1));
    cork.write(small(2));
    cork.write(small(3));
    expect(sent).toHaveLength(0);
    expect(cork.bufferedAmount()).toBe(3 * small(1).length);
    expect(deferred).toHaveLength(1);
    deferred[0]!();
    expect(sent).toHaveLength(1);
    expect(payloads()).toEqual([1, 2, 3]);
    expect(cork.bufferedAmount()).toBe(0);
  });

  it('sends a lone frame as itself, not wrapped in a batch', () => {
    const { cork, sent, deferred } = setup();
    cork.write(small(7));
    deferred[0]!();
    expect(decodeFrame(sent[0]!).protocol).toBe('chat');
  });

  it('keeps order when a large frame follows corked small ones', () => {
    const { cork, sent, payloads } = setup(10);
    cork.write(small(1));
    cork.write(small(2));
    cork.write(large(3));
    cork.write(small(4));
    cork.flush();
    expect(sent).toHaveLength(3);
    expect(payloads()).toEqual([1, 2, 3, 4]);
  });

  it('flushes when the batch is full', () => {
    const { cork, sent, payloads } = setup(4);
    for (let i = 0; i < 9; i += 1) cork.write(small(i));
    expect(sent).toHaveLength(2);
    cork.flush();
    expect(payloads()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('never builds a batch larger than the link carries', () => {
    const { cork, sent, deferred, payloads, errors } = setup(100, 200);
    for (let i = 0; i < 20; i += 1) cork.write(small(i));
    deferred.forEach((flush) => flush());
    cork.flush();
    expect(errors).toEqual([]);
    expect(sent.length).toBeGreaterThan(1);
    expect(Math.max(...sent.map((bytes) => bytes.length))).toBeLessThanOrEqual(200);
    expect(payloads()).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('reports a deferred flush that the link refuses instead of dropping it silently', () => {
    const { cork, deferred, errors, breakLink } = setup(10);
    cork.write(small(1));
    cork.write(small(2));
    breakLink();
    deferred[0]!();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/link is gone/);
  });
});
