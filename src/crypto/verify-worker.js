// @ts-check
/**
 * Piscina worker: verifies one packed batch of ed25519 signatures (layout in
 * verify-batch-format.ts) and returns one byte per item, 1 = valid.
 *
 * Plain JavaScript on purpose: the same file runs from src/ (vitest, tsx) and from
 * dist/ (tsc copies it with allowJs) without a loader in the worker.
 * Nothing in here may throw on bad input: a malformed batch yields `false` for the
 * items that cannot be read, never a dead worker.
 */
import { createPublicKey, verify } from 'node:crypto';

const ITEM_HEADER_BYTES = 4 + 32 + 64;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// Parsing the key is a large share of one verification; peers sign many messages each.
const KEY_CACHE_SIZE = 1024;

// Small-order points (by y mod p): not real keys, rejected as in ed25519-native.ts,
// whose SMALL_ORDER_Y list this copies.
const FIELD_P = (1n << 255n) - 19n;
const Y8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;
const SMALL_ORDER_Y = new Set([0n, 1n, FIELD_P - 1n, Y8, FIELD_P - Y8]);

/**
 * @param {Buffer} batch
 * @param {number} offset
 */
function isSmallOrderAt(batch, offset) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt((batch[offset + i] ?? 0) & (i === 31 ? 0x7f : 0xff));
  return SMALL_ORDER_Y.has(y >= FIELD_P ? y - FIELD_P : y);
}

/** @type {Map<string, import('node:crypto').KeyObject>} insertion order = recency */
const keys = new Map();

/**
 * @param {Buffer} batch
 * @param {number} offset
 * @returns {import('node:crypto').KeyObject | undefined}
 */
function publicKeyAt(batch, offset) {
  const id = batch.toString('latin1', offset, offset + 32);
  const cached = keys.get(id);
  if (cached !== undefined) {
    keys.delete(id);
    keys.set(id, cached);
    return cached;
  }
  if (isSmallOrderAt(batch, offset)) return undefined;
  let key;
  try {
    const der = Buffer.allocUnsafe(SPKI_PREFIX.length + 32);
    SPKI_PREFIX.copy(der, 0);
    batch.copy(der, SPKI_PREFIX.length, offset, offset + 32);
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  if (keys.size >= KEY_CACHE_SIZE) {
    const oldest = keys.keys().next();
    if (!oldest.done) keys.delete(oldest.value);
  }
  keys.set(id, key);
  return key;
}

/**
 * @param {unknown} input packed batch (ArrayBuffer, or a view on one)
 * @returns {Uint8Array} one byte per item
 */
export default function verifyBatch(input) {
  let batch;
  if (input instanceof ArrayBuffer) batch = Buffer.from(input);
  else if (ArrayBuffer.isView(input)) batch = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  else return new Uint8Array(0);
  if (batch.length < 4) return new Uint8Array(0);

  const count = batch.readUInt32LE(0);
  // Cap by what the buffer could possibly hold, so a lying header cannot allocate much.
  const results = new Uint8Array(Math.min(count, Math.floor((batch.length - 4) / ITEM_HEADER_BYTES)));
  let offset = 4;
  for (let i = 0; i < results.length; i++) {
    if (offset + ITEM_HEADER_BYTES > batch.length) break;
    const messageLength = batch.readUInt32LE(offset);
    const messageStart = offset + ITEM_HEADER_BYTES;
    if (messageLength > batch.length - messageStart) break;
    const key = publicKeyAt(batch, offset + 4);
    if (key !== undefined) {
      try {
        const signature = batch.subarray(offset + 36, offset + ITEM_HEADER_BYTES);
        const message = batch.subarray(messageStart, messageStart + messageLength);
        results[i] = verify(null, message, key, signature) ? 1 : 0;
      } catch {
        results[i] = 0;
      }
    }
    offset = messageStart + messageLength;
  }
  return results;
}
