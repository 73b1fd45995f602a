/**
 * Hard limits applied to every frame before any CBOR decoder allocates for it.
 * A peer controls every byte we receive, so each bound exists to cap what a hostile frame
 * can make us allocate or loop over.
 */
export interface WireLimits {
  /**
   * Largest encoded frame, in bytes. Bounds everything else: every item needs at least one
   * byte, so no frame can declare more work than its length allows once counts are checked
   * against the bytes remaining.
   */
  readonly maxFrameBytes: number;
  /**
   * Deepest container nesting, counting the frame's own envelope array as level 1.
   * Decoders recurse per level; a cap keeps stack use and validation code predictable.
   */
  readonly maxDepth: number;
  /**
   * Most elements in one array, or entries (key/value pairs) in one map. A declared count is
   * what decoders preallocate from, so it is checked before anything is built.
   */
  readonly maxItems: number;
  /**
   * Longest text or byte string, in bytes. Application payloads travel as one byte string,
   * so this is also the largest payload a peer can send in one frame.
   */
  readonly maxStringBytes: number;
  /**
   * Most data items in the whole frame (every scalar, string, container, map key and map
   * value, the envelope included). Per-container caps multiply across levels; this caps the
   * product, which is what bounds the number of JS values a decode creates.
   */
  readonly maxTotalItems: number;
}

/** Longest map key, in bytes. Keys name schema fields; nothing legitimate needs more. */
export const MAX_MAP_KEY_BYTES = 64;

const MiB = 1024 * 1024;

export const DEFAULT_WIRE_LIMITS: WireLimits = Object.freeze({
  // A 1 MiB application payload plus the envelope (array header, version, a protocol tag of
  // at most 64 bytes, byte string header) fits with room to spare; 1 KiB covers that overhead.
  maxFrameBytes: MiB + 1024,
  // The envelope is level 1 and an internal message body level 2; control messages need a
  // couple more levels at most. 8 leaves headroom without letting recursion run far.
  maxDepth: 8,
  // Enough for any control message (peer lists, bucket contents) while keeping one
  // container's preallocation small.
  maxItems: 1024,
  // Matches the largest application payload.
  maxStringBytes: MiB,
  // A few full containers' worth; caps the JS values one frame can make us create.
  maxTotalItems: 4096,
});
