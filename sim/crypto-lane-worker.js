// @ts-check
/**
 * The simulator's crypto thread (crypto-lane.ts): ed25519 signatures and verifications, one
 * job after another, in the order the simulation asked for them, through shared memory.
 *
 * No postMessage per job: the main thread writes a job into its slot and bumps WRITTEN; this
 * thread waits on WRITTEN, runs the job, writes the answer into the same slot and bumps DONE.
 * The main thread reads the answer at the job's virtual deadline, waiting on DONE only if this
 * thread is behind. Plain JavaScript on purpose (as src/crypto/verify-worker.js): the same file
 * runs from sim/ under vitest or tsx and from the compiled trees without a loader.
 *
 * Nothing here may throw on a job: a key OpenSSL refuses makes a verification false and marks a
 * signing failed (status 0), and the main thread then signs inline, which throws as production's
 * signing would.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import { CLOSED, DONE, KEY_OFFSET, KIND_SIGN, KIND_VERIFY, MESSAGE_OFFSET, SIGNATURE_OFFSET, SLEEPING, WRITTEN } from './crypto-lane-layout.js';

/** @type {{ control: SharedArrayBuffer, slots: SharedArrayBuffer, slotBytes: number, slotCount: number }} */
const { control: controlBuffer, slots: slotsBuffer, slotBytes, slotCount } = workerData;
const control = new Int32Array(controlBuffer);
const slots = Buffer.from(slotsBuffer);


// A simulated node signs and verifies with a few dozen keys over and over; parsing one costs
// about as much as a signature.
const KEY_CACHE_SIZE = 32_768;
/** @type {Map<string, import('node:crypto').KeyObject>} */
const privateKeys = new Map();
/** @type {Map<string, import('node:crypto').KeyObject>} */
const publicKeys = new Map();

/**
 * @param {Map<string, import('node:crypto').KeyObject>} cache
 * @param {Buffer} raw 32 bytes
 * @param {(raw: Buffer) => import('node:crypto').KeyObject} parse
 */
function cachedKey(cache, raw, parse) {
  const id = raw.toString('latin1');
  let key = cache.get(id);
  if (key === undefined) {
    key = parse(raw);
    if (cache.size >= KEY_CACHE_SIZE) cache.clear();
    cache.set(id, key);
  }
  return key;
}

// As src/crypto/okp-jwk.ts: Node 26 refuses the empty `x` of a private JWK; DER is its fast route.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
let privateJwkRefused = false;
const parsePrivate = (/** @type {Buffer} */ raw) => {
  if (!privateJwkRefused) {
    try {
      return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: raw.toString('base64url'), x: '' }, format: 'jwk' });
    } catch (error) {
      if (/** @type {{ code?: unknown }} */ (error).code !== 'ERR_CRYPTO_INVALID_JWK') throw error;
      privateJwkRefused = true;
    }
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
};
const parsePublic = (/** @type {Buffer} */ raw) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });

/** @param {number} base the slot's first byte */
function run(base) {
  const kind = slots[base];
  const messageLength = slots.readUInt32LE(base + 4);
  const message = slots.subarray(base + MESSAGE_OFFSET, base + MESSAGE_OFFSET + messageLength);
  const key = slots.subarray(base + KEY_OFFSET, base + KEY_OFFSET + 32);
  if (kind === KIND_SIGN) {
    try {
      sign(null, message, cachedKey(privateKeys, key, parsePrivate)).copy(slots, base + SIGNATURE_OFFSET);
      slots[base + 1] = 1;
    } catch {
      slots[base + 1] = 0;
    }
  } else if (kind === KIND_VERIFY) {
    try {
      const signature = slots.subarray(base + SIGNATURE_OFFSET, base + SIGNATURE_OFFSET + 64);
      slots[base + 1] = verify(null, message, cachedKey(publicKeys, key, parsePublic), signature) ? 1 : 0;
    } catch {
      slots[base + 1] = 0;
    }
  } else {
    slots[base + 1] = 0;
  }
}

let next = 0;
for (;;) {
  const written = Atomics.load(control, WRITTEN);
  if (next === written) {
    if (Atomics.load(control, CLOSED) !== 0) break;
    // Said before sleeping, so the main thread wakes us only when we sleep (a notify that finds a
    // sleeper is a system call). A job written between the flag and the wait changes WRITTEN: the
    // wait returns at once.
    Atomics.store(control, SLEEPING, 1);
    Atomics.wait(control, WRITTEN, written);
    Atomics.store(control, SLEEPING, 0);
    continue;
  }
  run((next % slotCount) * slotBytes);
  next += 1;
  Atomics.store(control, DONE, next);
  Atomics.notify(control, DONE);
}
