import { PeerSockError, isPeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import type { Link } from '../../ports/transport.js';
import { decodeFrame, encodeDataFrame, encodeFrame, isApplicationProtocol, type WireLimits } from '../../wire/index.js';
import { AUTH_PROTOCOL, parseAuthMessage, type AuthMessage } from './handshake.js';
import { SendQueue } from './send-queue.js';

/**
 * The data plane of one peer connection. Application frames never pass through the
 * XState machine (XState handles ~0.2 M events/s; a link carries more): the channel
 * decodes, checks and delivers them directly, and hands only control frames (auth,
 * bye, too many violations) to the machine as events.
 */
export const PING_PROTOCOL = 'ps/ping';
export const PONG_PROTOCOL = 'ps/pong';
export const BYE_PROTOCOL = 'ps/bye';

export type ChannelControlEvent =
  | { type: 'auth.message'; message: AuthMessage }
  | { type: 'channel.bye' }
  | { type: 'channel.violations'; count: number; error: PeerSockError };

export interface InboundMessage {
  from: PeerId;
  protocol: string;
  data: Uint8Array;
}

export interface PeerChannelOptions {
  remote: PeerId;
  limits: WireLimits;
  clock: Clock;
  /** Bytes the link may hold before sends wait. */
  sendBudgetBytes: number;
  /** Bytes that may wait beyond the budget before sends reject with BACKPRESSURE. */
  maxQueuedBytes: number;
  sendTimeoutMs: number;
  /** Malformed or forbidden frames tolerated before the connection is dropped. */
  violationThreshold: number;
  deliver(message: InboundMessage): void;
  reportViolation(remote: PeerId, error: PeerSockError): void;
}

export class PeerChannel {
  private link: Link | undefined;
  private control: ((event: ChannelControlEvent) => void) | undefined;
  private queue: SendQueue | undefined;
  private heardSinceCheck = false;
  private violations = 0;
  private pingCounter = 0;
  /** Cached per link: the native call costs more than the rest of a small send. */
  private maxMessageBytes = 0;
  /** The last protocol tag that passed validation: senders mostly reuse one tag. */
  private lastValidProtocol = '';
  /** Set by the machine once the handshake succeeded; application frames flow only then. */
  authenticated = false;

  constructor(readonly options: PeerChannelOptions) {}

  get remote(): PeerId {
    return this.options.remote;
  }

  attach(link: Link, control: (event: ChannelControlEvent) => void): void {
    this.link = link;
    this.control = control;
    this.authenticated = false;
    this.maxMessageBytes = 0;
    this.queue = new SendQueue(
      { bufferedAmount: () => link.bufferedAmount(), write: (frame) => link.send(frame) },
      {
        budgetBytes: this.options.sendBudgetBytes,
        maxQueuedBytes: this.options.maxQueuedBytes,
        timeoutMs: this.options.sendTimeoutMs,
        clock: this.options.clock,
      },
    );
  }

  /** The link is gone: reject waiting sends and stop delivering. */
  detach(reason: PeerSockError): void {
    this.authenticated = false;
    this.queue?.failAll(reason);
    this.queue = undefined;
    this.link = undefined;
    this.control = undefined;
  }

  fingerprints(): { local: string | undefined; remote: string | undefined } {
    return { local: this.link?.localFingerprint(), remote: this.link?.remoteFingerprint() };
  }

  /** True if any frame arrived since the previous call (cheaper than a clock read per frame). */
  takeActivity(): boolean {
    const heard = this.heardSinceCheck;
    this.heardSinceCheck = false;
    return heard;
  }

  send(protocol: string, payload: Uint8Array): Promise<void> {
    if (!this.authenticated || !this.queue || !this.link) {
      return Promise.reject(new PeerSockError('NOT_CONNECTED', `no open connection to ${this.remote}`));
    }
    if (protocol !== this.lastValidProtocol && !isApplicationProtocol(protocol)) {
      return Promise.reject(
        new PeerSockError('INVALID_PROTOCOL', `protocol tags are 1-64 characters of a-z 0-9 . _ / - and must not start with "ps/"; got ${JSON.stringify(protocol)}`),
      );
    }
    if (!(payload instanceof Uint8Array)) {
      return Promise.reject(new PeerSockError('INVALID_ARGUMENT', 'payload must be a Uint8Array'));
    }
    this.lastValidProtocol = protocol;
    let frame: Uint8Array;
    try {
      frame = encodeDataFrame(protocol, payload, this.options.limits);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.maxMessageBytes === 0) this.maxMessageBytes = this.link.maxMessageSize();
    if (frame.length > this.maxMessageBytes) {
      return Promise.reject(
        new PeerSockError('MESSAGE_TOO_LARGE', `frame of ${frame.length} bytes exceeds the link's ${this.maxMessageBytes}-byte limit`),
      );
    }
    return this.queue.send(frame);
  }

  /** Control frames are small and bypass the byte budget so they never queue behind data. */
  sendControl(protocol: string, body: unknown): void {
    if (!this.link) return;
    try {
      this.link.send(encodeFrame(protocol, body, this.options.limits));
    } catch {
      // The link closed under us; its close callback reports that.
    }
  }

  sendPing(): void {
    this.pingCounter = (this.pingCounter + 1) >>> 0;
    this.sendControl(PING_PROTOCOL, this.pingCounter);
  }

  drain(): void {
    this.queue?.drain();
  }

  receive(bytes: Uint8Array): void {
    if (!this.link) return;
    this.heardSinceCheck = true;
    let protocol: string;
    let body: unknown;
    try {
      ({ protocol, body } = decodeFrame(bytes, this.options.limits));
    } catch (error) {
      this.violation(isPeerSockError(error) ? error : new PeerSockError('FRAME_MALFORMED', String(error)));
      return;
    }
    if (this.authenticated && !protocol.startsWith('ps/')) {
      if (body instanceof Uint8Array) this.options.deliver({ from: this.remote, protocol, data: body });
      else this.violation(new PeerSockError('FRAME_SCHEMA', `application frame for "${protocol}" must carry a byte string`));
      return;
    }
    this.receiveControl(protocol, body);
  }

  private receiveControl(protocol: string, body: unknown): void {
    switch (protocol) {
      case AUTH_PROTOCOL:
        try {
          this.control?.({ type: 'auth.message', message: parseAuthMessage(body) });
        } catch (error) {
          this.violation(error as PeerSockError);
        }
        return;
      case BYE_PROTOCOL:
        this.control?.({ type: 'channel.bye' });
        return;
      case PING_PROTOCOL:
        if (this.authenticated) this.sendControl(PONG_PROTOCOL, body);
        return;
      case PONG_PROTOCOL:
        return;
      default:
        this.violation(
          this.authenticated
            ? new PeerSockError('FRAME_UNKNOWN_PROTOCOL', `unknown internal protocol ${JSON.stringify(protocol)}`)
            : new PeerSockError('AUTH_FAILED', `"${protocol}" frame before the handshake completed`),
        );
    }
  }

  private violation(error: PeerSockError): void {
    this.violations += 1;
    this.options.reportViolation(this.remote, error);
    if (this.violations === this.options.violationThreshold) {
      this.control?.({ type: 'channel.violations', count: this.violations, error });
    }
  }
}
