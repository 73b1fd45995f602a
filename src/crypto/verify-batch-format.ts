/**
 * Wire format of one verification batch between the pool and its workers: one
 * ArrayBuffer, transferred (not copied) to the worker.
 *
 *   u32le count, then per item: u32le messageLength, 32-byte public key,
 *   64-byte signature, message bytes.
 *
 * The worker (verify-worker.js, plain JS so it runs from src/ and dist/) parses the
 * same layout; keep the two in step.
 */
export const BATCH_HEADER_BYTES = 4;
export const ITEM_HEADER_BYTES = 4 + 32 + 64;

export interface BatchItem {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

export function packBatch(items: readonly BatchItem[]): ArrayBuffer {
  let size = BATCH_HEADER_BYTES;
  for (const item of items) size += ITEM_HEADER_BYTES + item.message.length;
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, items.length, true);
  let offset = BATCH_HEADER_BYTES;
  for (const item of items) {
    view.setUint32(offset, item.message.length, true);
    bytes.set(item.publicKey, offset + 4);
    bytes.set(item.signature, offset + 36);
    bytes.set(item.message, offset + ITEM_HEADER_BYTES);
    offset += ITEM_HEADER_BYTES + item.message.length;
  }
  return buffer;
}
