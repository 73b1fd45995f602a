import { createHash } from 'node:crypto';
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { isSmallOrderPublicKey, nativePublicKeyFromSecret, nativeVerify } from '../../src/crypto/ed25519-native.js';
import { nobleVerify } from '../../src/crypto/ed25519-noble.js';
import { ed } from '../../src/crypto/noble-setup.js';
import { createVerifyPool } from '../../src/crypto/verify-pool.js';

const P = (1n << 255n) - 19n;
/** The order of ed25519's prime subgroup. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function encodeY(y: bigint, signBit: boolean): Uint8Array {
  const out = new Uint8Array(32);
  let v = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (signBit) out[31] = (out[31] as number) | 0x80;
  return out;
}

/** Every encoding noble decodes (leniently) to a point of small order. */
function smallOrderEncodings(): Uint8Array[] {
  // An order-8 point; its multiples are the whole small-order subgroup.
  const t = ed.Point.fromBytes(Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex'));
  const points = [ed.Point.ZERO];
  for (let i = 1; i < 8; i++) points.push((points[i - 1] as typeof t).add(t));
  expect(points[7]?.add(t).is0()).toBe(true);
  expect(new Set(points.map((p) => p.toHex())).size).toBe(8);
  const encodings: Uint8Array[] = points.map((p) => Uint8Array.from(p.toBytes()));
  // Non-canonical: y + p for y in {0, 1}, with either sign bit.
  for (const y of [P, P + 1n]) for (const sign of [false, true]) encodings.push(encodeY(y, sign));
  return encodings;
}

describe('small-order public keys', () => {
  const pool = createVerifyPool({ threads: 1, inlineBelow: 0 });
  afterAll(() => pool.close());

  it('isSmallOrderPublicKey flags every small-order encoding', () => {
    for (const encoding of smallOrderEncodings()) {
      expect(ed.Point.fromBytes(Uint8Array.from(encoding), true).isSmallOrder()).toBe(true);
      expect(isSmallOrderPublicKey(encoding)).toBe(true);
    }
  });

  it('does not flag real keys (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        expect(isSmallOrderPublicKey(nativePublicKeyFromSecret(seed))).toBe(false);
      }),
    );
  });

  it('a trivial forgery (the cofactorless equation holds) is rejected by native, noble and the pool', async () => {
    // Key = order-4 point (y = 0); signature R = the same point, S = 0.
    const publicKey = new Uint8Array(32);
    const signature = new Uint8Array(64);
    // Find a message for which the cofactorless equation [S]B = R + [k]A happens to hold. It is
    // computed here rather than asked of OpenSSL: the OpenSSL of Node 20 and 24 accepts this
    // forgery, Node 26's refuses small-order keys itself, and the forgery is what this test is about.
    const A = ed.Point.fromBytes(publicKey, true);
    let message: Uint8Array | undefined;
    for (let i = 0; i < 64 && message === undefined; i++) {
      const candidate = Uint8Array.of(i);
      const digest = createHash('sha512').update(signature.subarray(0, 32)).update(publicKey).update(candidate).digest();
      const k = ed.etc.mod(BigInt('0x' + Buffer.from(digest).reverse().toString('hex')), L);
      if (A.add(A.multiplyUnsafe(k)).is0()) message = candidate;
    }
    expect(message).toBeDefined();
    const m = message as Uint8Array;
    expect(nativeVerify(publicKey, m, signature)).toBe(false);
    expect(nobleVerify(publicKey, m, signature)).toBe(false);
    expect(await pool.verify(publicKey, m, signature)).toBe(false);
  });
});
