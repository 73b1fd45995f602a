/**
 * Protocol tags name what a frame's body means. Lower-case ASCII with a small punctuation set
 * keeps them printable in logs and comparable byte-for-byte; 64 characters is plenty for a
 * namespaced name and bounds what a peer can make us keep as a string.
 */
const PROTOCOL_TAG = /^[a-z0-9][a-z0-9._/-]{0,63}$/;

/** Prefix reserved for PeerSock's own protocols (`ps/auth`, `ps/ping`, ...). */
export const INTERNAL_PROTOCOL_PREFIX = 'ps/';

/** Longest protocol tag, in characters (always ASCII, so also in bytes). */
export const MAX_PROTOCOL_TAG_LENGTH = 64;

/** Any tag a frame may carry: internal or application. */
export function isProtocolTag(value: unknown): value is string {
  return typeof value === 'string' && PROTOCOL_TAG.test(value);
}

export function isInternalProtocol(value: unknown): value is string {
  return isProtocolTag(value) && value.startsWith(INTERNAL_PROTOCOL_PREFIX);
}

/** A tag applications may register and send on: valid, and outside the `ps/` namespace. */
export function isApplicationProtocol(value: unknown): value is string {
  return isProtocolTag(value) && !value.startsWith(INTERNAL_PROTOCOL_PREFIX);
}
