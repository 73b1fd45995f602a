/**
 * PeerIds and positions travel as their 32 raw bytes (CBOR byte strings), not as the 64-char
 * hex the engine uses inside: ids are most of a maintenance message, and hex doubled them.
 * Every protocol that carries ids (`ps/ring`, `ps/dht`, `ps/route`) converts at its edge.
 */
export const WIRE_ID_BYTES = 32;

/** A 32-byte id from the wire as the engine's hex, or undefined if it is not one. */
export function hexIdFromWire(value: unknown): string | undefined {
  if (!(value instanceof Uint8Array) || value.length !== WIRE_ID_BYTES) return undefined;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
}

export function wireIdFromHex(hex: string): Uint8Array {
  return Buffer.from(hex, 'hex');
}
