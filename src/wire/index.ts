export { DEFAULT_WIRE_LIMITS, MAX_MAP_KEY_BYTES } from './limits.js';
export type { WireLimits } from './limits.js';
export { scanCbor } from './cbor-scan.js';
export { WIRE_VERSION, decodeFrame, encodeDataFrame, encodeFrame } from './frame.js';
export type { Frame } from './frame.js';
export {
  INTERNAL_PROTOCOL_PREFIX,
  MAX_PROTOCOL_TAG_LENGTH,
  isApplicationProtocol,
  isInternalProtocol,
  isProtocolTag,
} from './protocol-tag.js';
export { expectShape, expectValue, is, isBool, isBytes, isRecord, isText, isUint } from './validate.js';
export type { Guard, Guarded, Shape, ShapeOf } from './validate.js';
export { BATCH_PROTOCOL, encodeBatchFrame } from './batch-frame.js';
