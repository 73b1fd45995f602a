/**
 * Every error PeerSock raises or reports carries a stable `code` that callers match on;
 * the message is for people and may change.
 */
export type ErrorCode =
  // identity and key storage
  | 'IDENTITY_CORRUPT'
  | 'IDENTITY_FOREIGN'
  | 'IDENTITY_EXISTS'
  | 'INVALID_PEER_ID'
  // wire format
  | 'FRAME_TOO_LARGE'
  | 'FRAME_TOO_DEEP'
  | 'FRAME_TOO_MANY_ITEMS'
  | 'FRAME_STRING_TOO_LONG'
  | 'FRAME_MALFORMED'
  | 'FRAME_UNSUPPORTED'
  | 'FRAME_SCHEMA'
  | 'FRAME_VERSION'
  | 'FRAME_UNKNOWN_PROTOCOL'
  // transport and connections
  | 'SIGNALING_TIMEOUT'
  | 'SIGNALING_UNAVAILABLE'
  | 'CONNECT_TIMEOUT'
  | 'AUTH_TIMEOUT'
  | 'AUTH_FAILED'
  | 'PEER_ID_MISMATCH'
  | 'HEARTBEAT_TIMEOUT'
  | 'CONNECTION_LIMIT'
  | 'CONNECTION_REJECTED'
  | 'CONNECT_ABANDONED'
  | 'LINK_FAILED'
  | 'LINK_CLOSED'
  | 'NOT_CONNECTED'
  | 'BACKPRESSURE'
  | 'SEND_TIMEOUT'
  | 'PROTOCOL_VIOLATIONS'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_PROTOCOL'
  | 'SELF_CONNECT'
  | 'NODE_STOPPED'
  | 'TIMEOUT'
  // signaling server
  | 'SIGNAL_BAD_MESSAGE'
  | 'SIGNAL_NOT_REGISTERED'
  | 'SIGNAL_REGISTRATION_FAILED'
  | 'SIGNAL_UNKNOWN_PEER'
  | 'SIGNAL_RATE_LIMITED'
  | 'SIGNAL_SERVER_FULL'
  | 'SIGNAL_ALREADY_REGISTERED'
  // discovery, routing and end-to-end security (DHT, routed messages, position puzzle)
  | 'UNREACHABLE'
  | 'TTL_EXPIRED'
  | 'DECRYPT_FAILED'
  | 'SIGNATURE_INVALID'
  | 'REPLAYED'
  | 'RECORD_EXPIRED'
  | 'PUZZLE_UNSOLVED'
  // supervision
  | 'SUPERVISOR_ESCALATED'
  // the demo: the network's answer differed from the truth (a wrong lookup, a connection signaled through a server)
  | 'DEMO_CHECK_FAILED'
  | 'INVALID_ARGUMENT';

export class PeerSockError extends Error {
  override readonly name = 'PeerSockError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isPeerSockError(value: unknown, code?: ErrorCode): value is PeerSockError {
  return value instanceof PeerSockError && (code === undefined || value.code === code);
}
