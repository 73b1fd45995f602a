/**
 * The link transport: a raw, reliable, ordered, encrypted message pipe to one remote
 * peer (a WebRTC DataChannel in production, a simulated link in the simulator).
 * It knows nothing of identities: authentication happens above it, in the peer
 * connection actor, using the DTLS fingerprints the link reports.
 */
export type LinkSignal =
  | { type: 'offer' | 'answer'; sdp: string }
  | { type: 'candidate'; candidate: string; mid: string };

export interface LinkHandlers {
  /** A local description or candidate that must reach the remote side. */
  onSignal(signal: LinkSignal): void;
  onOpen(): void;
  onMessage(data: Uint8Array): void;
  /** The link is gone (closed by either side or failed). Called at most once. */
  onClose(reason: string): void;
  /** bufferedAmount fell to or below the threshold given at creation. */
  onBufferedAmountLow(): void;
}

export interface LinkOptions {
  /** Opaque label for logs (e.g. the remote PeerId). */
  label: string;
  /** Exactly one side offers; the other answers (two offerers collide). */
  initiator: boolean;
  bufferedAmountLowThreshold: number;
  handlers: LinkHandlers;
}

export interface Link {
  /** Apply a description or candidate received from the remote side. Throws on invalid input. */
  applySignal(signal: LinkSignal): void;
  /**
   * Queue one message. Throws if the link is not open. The bytes are consumed before this
   * returns: an implementation that keeps them (a simulated network) must copy them, since
   * the caller may reuse the buffer at once.
   */
  send(data: Uint8Array): void;
  /** Bytes queued locally and not yet handed to the network. */
  bufferedAmount(): number;
  /** Largest message the link carries. */
  maxMessageSize(): number;
  /** SHA-256 fingerprint of this side's DTLS certificate, e.g. `sha-256 AB:CD:...`. */
  localFingerprint(): string | undefined;
  /** Fingerprint of the certificate the remote side presented and DTLS verified. */
  remoteFingerprint(): string | undefined;
  close(): void;
}

export interface LinkTransport {
  createLink(options: LinkOptions): Link;
  /** Close every link and release process-wide resources held for this transport. */
  close(): Promise<void>;
}
