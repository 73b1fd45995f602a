import { WIRE_VERSION } from './frame.js';

/**
 * Many small frames in one DataChannel message: `[1, "ps/batch", [frame, frame, ...]]`,
 * each inner frame a complete frame carried as a byte string. A DataChannel message
 * costs a native call, an SCTP chunk and a receive callback; for 100-byte messages
 * that overhead dominates, so small frames sent in the same turn travel together.
 * Written by hand (one allocation, one copy per frame); the receiver decodes it like
 * any frame, behind the same limits, and rejects batches nested in batches.
 */
export const BATCH_PROTOCOL = 'ps/batch';

const HEADER = [0x83, WIRE_VERSION, 0x60 | BATCH_PROTOCOL.length, ...Array.from(BATCH_PROTOCOL, (c) => c.charCodeAt(0))];

function headerSize(length: number): number {
  return length < 24 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

function writeHeader(out: Buffer, pos: number, major: number, length: number): number {
  if (length < 24) {
    out[pos] = major | length;
    return pos + 1;
  }
  if (length < 0x100) {
    out[pos] = major | 24;
    out[pos + 1] = length;
    return pos + 2;
  }
  if (length < 0x10000) {
    out[pos] = major | 25;
    out.writeUInt16BE(length, pos + 1);
    return pos + 3;
  }
  out[pos] = major | 26;
  out.writeUInt32BE(length, pos + 1);
  return pos + 5;
}

/** `frames` must be non-empty; the caller keeps the count within the wire's maxItems. */
export function encodeBatchFrame(frames: readonly Uint8Array[], totalBytes: number): Uint8Array {
  let size = HEADER.length + headerSize(frames.length) + totalBytes;
  for (const frame of frames) size += headerSize(frame.length);
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < HEADER.length; i++) out[i] = HEADER[i]!;
  let pos = writeHeader(out, HEADER.length, 0x80, frames.length);
  for (const frame of frames) {
    pos = writeHeader(out, pos, 0x40, frame.length);
    out.set(frame, pos);
    pos += frame.length;
  }
  return out;
}
