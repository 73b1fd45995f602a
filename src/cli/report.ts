import { isPeerSockError, type ErrorCode } from '../errors.js';
import type { Io } from './output.js';

/** What to try next, for the failures a user can do something about. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  SIGNALING_UNAVAILABLE: 'is a signaling server running? start one with: peersock signal --port 7700',
  SIGNALING_TIMEOUT: 'the signaling server is slow or overloaded; try again or use another one (--signal)',
  SIGNAL_UNKNOWN_PEER: 'the peer is not registered at this signaling server; is it running and using the same --signal?',
  CONNECT_TIMEOUT: 'the peer did not answer in time; check that it is running and reachable',
  PEER_ID_MISMATCH: 'the peer that answered is not the one you asked for; check the PeerId',
};

const ERRNO_HINTS: Record<string, string> = {
  EADDRINUSE: 'that port is taken; choose another with --port (0 picks a free one)',
  EACCES: 'permission denied; for ports below 1024 choose a higher --port',
};

/** `error: CODE: message` plus a hint line where one helps. */
export function failureLines(error: unknown): string[] {
  if (isPeerSockError(error)) {
    const hint = HINTS[error.code];
    return [`error: ${error.code}: ${error.message}`, ...(hint ? [`hint: ${hint}`] : [])];
  }
  const errno = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof errno === 'string' && /^[A-Z][A-Z0-9_]+$/.test(errno)) {
    const hint = ERRNO_HINTS[errno];
    return [`error: ${errno}: ${message}`, ...(hint ? [`hint: ${hint}`] : [])];
  }
  return [`error: ${message}`];
}

export function reportFailure(io: Io, error: unknown): void {
  for (const line of failureLines(error)) io.err(line);
}
