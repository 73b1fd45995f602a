import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../src/wire/frame.js';
import { expectShape, expectValue, is, isBytes, isRecord, isText, isUint } from '../../src/wire/validate.js';
import { codeOf } from './arbitraries.js';

describe('guards', () => {
  it('isRecord admits plain maps only', () => {
    expect(isRecord({ a: 1 })).toBe(true);
    expect(isRecord(Object.create(null))).toBe(true);
    expect(isRecord(decodeFrame(encodeFrame('ps/x', { a: 1 })).body)).toBe(true);
    for (const v of [null, undefined, [], new Uint8Array(1), 'x', 1, new Date(), new Map()]) expect(isRecord(v)).toBe(false);
  });

  it('isBytes checks type and optional length', () => {
    expect(isBytes(new Uint8Array(32), 32)).toBe(true);
    expect(isBytes(Buffer.alloc(32), 32)).toBe(true);
    expect(isBytes(new Uint8Array(31), 32)).toBe(false);
    expect(isBytes(new Uint8Array(5))).toBe(true);
    expect(isBytes([1, 2])).toBe(false);
    expect(isBytes(new Uint16Array(2))).toBe(false);
  });

  it('isUint admits non-negative safe integers up to max', () => {
    expect(isUint(0)).toBe(true);
    expect(isUint(10, 10)).toBe(true);
    expect(isUint(11, 10)).toBe(false);
    for (const v of [-1, 1.5, NaN, Infinity, 2 ** 53, 5n, '5']) expect(isUint(v)).toBe(false);
  });

  it('isText bounds the length', () => {
    expect(isText('abc', 3)).toBe(true);
    expect(isText('abcd', 3)).toBe(false);
    expect(isText(3, 3)).toBe(false);
  });
});

describe('expectShape', () => {
  const ping = { nonce: is.bytes(32), seq: is.uint(0xffff_ffff), note: is.optional(is.text(20)) };

  it('returns the typed value for a valid body', () => {
    const body = decodeFrame(encodeFrame('ps/ping', { nonce: new Uint8Array(32), seq: 7, extra: 'ignored' })).body;
    const value = expectShape(body, ping, 'ping');
    const seq: number = value.seq;
    expect(seq).toBe(7);
    expect(value.nonce).toHaveLength(32);
    expect(value.note).toBeUndefined();
  });

  it('names the failing field in a FRAME_SCHEMA error', () => {
    const run = (body: unknown) => {
      try {
        expectShape(body, ping, 'ping');
      } catch (error) {
        return { code: codeOf(() => { throw error; }), message: (error as Error).message };
      }
      return expect.fail('expected FRAME_SCHEMA');
    };
    expect(run({ nonce: new Uint8Array(31), seq: 1 })).toEqual({ code: 'FRAME_SCHEMA', message: 'ping.nonce is invalid' });
    expect(run({ nonce: new Uint8Array(32) })).toEqual({ code: 'FRAME_SCHEMA', message: 'ping.seq is missing' });
    expect(run({ nonce: new Uint8Array(32), seq: 1, note: 'x'.repeat(21) })).toEqual({ code: 'FRAME_SCHEMA', message: 'ping.note is invalid' });
    expect(run([1, 2])).toEqual({ code: 'FRAME_SCHEMA', message: 'ping must be a map' });
  });

  it('never reads inherited properties', () => {
    const shape = { constructor: is.optional(is.text(10)), toString: is.optional(is.uint()) };
    expect(expectShape({}, shape)).toEqual({});
  });

  it('composes: literal, bool, arrayOf, nested shape', () => {
    const shape = {
      kind: is.literal('hello'),
      ok: is.bool,
      peers: is.arrayOf(is.bytes(2), 3),
      inner: is.shape({ n: is.uint(5) }),
    };
    const good = { kind: 'hello', ok: true, peers: [new Uint8Array(2)], inner: { n: 5 } };
    expect(expectShape(good, shape).inner.n).toBe(5);
    expect(codeOf(() => expectShape({ ...good, kind: 'bye' }, shape))).toBe('FRAME_SCHEMA');
    expect(codeOf(() => expectShape({ ...good, peers: new Array(4).fill(new Uint8Array(2)) }, shape))).toBe('FRAME_SCHEMA');
    expect(codeOf(() => expectShape({ ...good, inner: { n: 6 } }, shape))).toBe('FRAME_SCHEMA');
    expect(codeOf(() => expectShape({ ...good, ok: 1 }, shape))).toBe('FRAME_SCHEMA');
  });

  it('expectValue checks a single value', () => {
    expect(expectValue(3, is.uint(3), 'count')).toBe(3);
    expect(codeOf(() => expectValue(4, is.uint(3), 'count'))).toBe('FRAME_SCHEMA');
  });
});
