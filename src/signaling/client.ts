import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import { WebSocket, type RawData } from 'ws';
import { PeerSockError } from '../errors.js';
import { isPeerId, peerIdFromPublicKey, type PeerId } from '../identity/peer-id.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { CryptoPort } from '../ports/crypto.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { randomInt, type Random } from '../ports/random.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_SAMPLE_REQUEST,
  encode,
  isSignalData,
  parseServerMessage,
  registerMessageBytes,
  type ClientMessage,
  type ServerMessage,
} from './protocol.js';

/**
 * idle: not started · connecting: trying servers · registered: one server holds our PeerId ·
 * disconnected: waiting to retry (or given up, see start()) · closed: close() was called.
 */
export type SignalingState = 'idle' | 'connecting' | 'registered' | 'disconnected' | 'closed';

export interface IncomingSignal {
  /** The PeerId the server verified for the sender. Still unauthenticated end to end. */
  from: PeerId;
  data: unknown;
}

export interface SignalingClientOptions {
  /** Several servers may be given; they are tried in random order until one registers us. */
  urls: readonly string[];
  crypto: Pick<CryptoPort, 'publicKey' | 'sign'>;
  clock: Clock;
  random: Random;
  logger?: Logger;
  /** Per server: socket open + challenge + registration. Default 5 s. */
  connectTimeoutMs?: number;
  /** signal() and sample() answers. Default 10 s. */
  requestTimeoutMs?: number;
  /** Reconnect delays after losing the server. */
  backoff?: Partial<BackoffOptions>;
  /** Frames larger than this are refused locally (match the server's limit). Default 64 KiB. */
  maxMessageBytes?: number;
  /** We ping the server this often and drop it after two periods of silence. Default 20 s; 0 disables. */
  pingIntervalMs?: number;
}

export interface SampleOptions {
  /** Up to this many of the sample are the ring members nearest before the asker's position (default 0). */
  near?: number;
}

export interface SignalingClient {
  readonly peerId: PeerId;
  readonly signals$: Observable<IncomingSignal>;
  readonly state$: Observable<SignalingState>;
  readonly state: SignalingState;
  /** The server we are registered with, if any. */
  readonly url: string | undefined;
  /**
   * Resolves once registered with some server. Rejects with SIGNALING_UNAVAILABLE after every
   * url failed once (at most urls.length × connectTimeoutMs). Once it has resolved, lost
   * connections are retried in the background with backoff until close().
   */
  start(): Promise<void>;
  /** Resolves when the server accepted and relayed it; rejects with the server's error code (e.g. SIGNAL_UNKNOWN_PEER). */
  signal(to: PeerId, data: object): Promise<void>;
  /**
   * Up to n other registered PeerIds (the server may cap n): the ring members nearest before
   * our position (up to options.near), then random ones, ring members first.
   */
  sample(n: number, options?: SampleOptions): Promise<PeerId[]>;
  /** Whether we are on a ring (samples name members first); kept and re-sent after a reconnect. */
  setRingMember(member: boolean): void;
  /** Stops for good: no reconnect, no timers, sockets closed. Idempotent. */
  close(): Promise<void>;
}

export function createSignalingClient(options: SignalingClientOptions): SignalingClient {
  return new WsSignalingClient(options);
}

interface Session {
  readonly url: string;
  readonly socket: WebSocket;
  phase: 'handshake' | 'ready' | 'dead';
  lastHeard: number;
  keepalive: TimerHandle | undefined;
  readonly closed: Promise<void>;
}

interface Pending {
  kind: 'signal' | 'sample';
  n: number;
  resolve(value: PeerId[] | undefined): void;
  reject(error: PeerSockError): void;
  timer: TimerHandle;
}

const CLOSE_GRACE_MS = 1_000;

class WsSignalingClient implements SignalingClient {
  readonly peerId: PeerId;
  private readonly urls: readonly string[];
  private readonly crypto: Pick<CryptoPort, 'publicKey' | 'sign'>;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly maxMessageBytes: number;
  private readonly pingIntervalMs: number;

  private readonly signalsSubject = new Subject<IncomingSignal>();
  private readonly stateSubject = new BehaviorSubject<SignalingState>('idle');
  readonly signals$: Observable<IncomingSignal> = this.signalsSubject.asObservable();
  readonly state$: Observable<SignalingState> = this.stateSubject.asObservable();

  private readonly sockets = new Set<Session>();
  private session: Session | undefined;
  private round: Promise<void> | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  /** Set when another connection took over our PeerId: retrying would only fight it. */
  private fatal: PeerSockError | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private reconnectAttempt = 0;
  private nextRid = 0;
  private readonly pending = new Map<string, Pending>();
  private ringMember = false;

  constructor(options: SignalingClientOptions) {
    if (options.urls.length === 0) throw new PeerSockError('INVALID_ARGUMENT', 'a signaling client needs at least one server url');
    this.urls = [...options.urls];
    this.crypto = options.crypto;
    this.peerId = peerIdFromPublicKey(options.crypto.publicKey);
    this.clock = options.clock;
    this.random = options.random;
    this.log = (options.logger ?? silentLogger).child({ component: 'signaling-client' });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.pingIntervalMs = options.pingIntervalMs ?? 20_000;
  }

  get state(): SignalingState {
    return this.stateSubject.value;
  }

  get url(): string | undefined {
    return this.session?.phase === 'ready' ? this.session.url : undefined;
  }

  start(): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(this.closedError());
    if (this.session?.phase === 'ready') return Promise.resolve();
    this.fatal = undefined;
    this.cancelReconnect();
    return this.connectRound().then(() => {
      this.started = true;
    });
  }

  signal(to: PeerId, data: object): Promise<void> {
    if (!isPeerId(to)) return Promise.reject(new PeerSockError('INVALID_PEER_ID', `signal target must be a PeerId, got ${JSON.stringify(String(to).slice(0, 80))}`));
    if (!isSignalData(data)) return Promise.reject(new PeerSockError('INVALID_ARGUMENT', 'signal data must be a plain JSON object of bounded nesting depth'));
    return this.request('signal', 0, (rid) => ({ t: 'signal', to, data: data as Record<string, unknown>, rid })).then(() => undefined);
  }

  sample(n: number, options: SampleOptions = {}): Promise<PeerId[]> {
    if (!Number.isInteger(n) || n < 0 || n > MAX_SAMPLE_REQUEST) {
      return Promise.reject(new PeerSockError('INVALID_ARGUMENT', `sample size must be an integer in 0..${MAX_SAMPLE_REQUEST}, got ${n}`));
    }
    const near = options.near ?? 0;
    if (!Number.isInteger(near) || near < 0 || near > n) {
      return Promise.reject(new PeerSockError('INVALID_ARGUMENT', `sample near must be an integer in 0..${n}, got ${near}`));
    }
    return this.request('sample', n, (rid) => (near > 0 ? { t: 'sample', n, rid, near } : { t: 'sample', n, rid })).then((peers) => peers ?? []);
  }

  setRingMember(member: boolean): void {
    if (member === this.ringMember) return;
    this.ringMember = member;
    if (this.session?.phase === 'ready') this.sendMembership(this.session);
  }

  /**
   * Not answered by the server. One lost with its socket is sent again on the next registration;
   * one the server refused (rate limit) stays lost until the flag changes again.
   */
  private sendMembership(session: Session): void {
    session.socket.send(encode({ t: 'member', on: this.ringMember }), (error) => {
      if (error !== undefined && error !== null) this.log.debug('membership not sent', { url: session.url, error: error.message });
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.cancelReconnect();
      this.failPending(this.closedError());
      const closes = [...this.sockets].map((session) => this.shutdown(session));
      this.session = undefined;
      this.setState('closed');
      await Promise.all(closes);
      this.signalsSubject.complete();
      this.stateSubject.complete();
    })();
    return this.closing;
  }

  // ---- connecting -------------------------------------------------------------------------

  /** One pass over every url in random order; concurrent callers share the pass. */
  private connectRound(): Promise<void> {
    this.round ??= (async () => {
      this.setState('connecting');
      const failures: string[] = [];
      for (const url of this.shuffledUrls()) {
        if (this.closing !== undefined) throw this.closedError();
        try {
          await this.connect(url);
          return;
        } catch (error) {
          failures.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
          this.log.debug('signaling server failed', { url, error: String(error) });
        }
      }
      if (this.closing !== undefined) throw this.closedError();
      this.setState('disconnected');
      throw new PeerSockError('SIGNALING_UNAVAILABLE', `could not register with any signaling server: ${failures.join('; ')}`);
    })().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  private shuffledUrls(): string[] {
    const urls = [...this.urls];
    for (let i = urls.length - 1; i > 0; i--) {
      const j = randomInt(this.random, i + 1);
      [urls[i], urls[j]] = [urls[j] as string, urls[i] as string];
    }
    return urls;
  }

  /** Opens `url`, answers its challenge and resolves once it confirms our registration. */
  private connect(url: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let socket: WebSocket;
      try {
        // Incoming frames get the same bound as outgoing ones, plus room for the envelope.
        socket = new WebSocket(url, { maxPayload: this.maxMessageBytes + 1024 });
      } catch (error) {
        reject(new Error(`invalid url (${error instanceof Error ? error.message : String(error)})`));
        return;
      }
      let settled = false;
      let lastReason: string | undefined;
      let challenged = false;
      const session: Session = {
        url,
        socket,
        phase: 'handshake',
        lastHeard: this.clock.now(),
        keepalive: undefined,
        closed: new Promise<void>((done) => socket.once('close', () => done())),
      };
      this.sockets.add(session);
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        session.phase = 'dead';
        socket.terminate();
        reject(new Error(reason));
      };
      const timer = this.clock.setTimeout(() => fail(lastReason ?? `no registration within ${this.connectTimeoutMs} ms`), this.connectTimeoutMs);

      socket.on('error', (error) => {
        lastReason = error.message;
        if (session.phase === 'handshake') fail(error.message);
        else this.log.debug('socket error', { url, error: String(error) });
      });
      socket.on('close', (code, reason) => {
        this.sockets.delete(session);
        if (session.phase === 'handshake') fail(lastReason ?? `closed by the server (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`);
        else if (session.phase === 'ready') this.onSessionLost(session, code);
        session.phase = 'dead';
      });
      socket.on('ping', () => this.heard(session));
      socket.on('pong', () => this.heard(session));
      socket.on('message', (raw, isBinary) => {
        this.heard(session);
        const parsed = isBinary ? undefined : parseServerMessage(rawText(raw));
        if (parsed === undefined || !parsed.ok) {
          this.log.warn('invalid message from signaling server ignored', { url, reason: parsed?.reason ?? 'binary frame' });
          return;
        }
        const message = parsed.value;
        if (session.phase === 'ready') {
          this.onMessage(session, message);
          return;
        }
        if (session.phase !== 'handshake') return;
        switch (message.t) {
          case 'challenge':
            // One signature per connection: a server repeating challenges gets nothing more.
            if (challenged) return;
            challenged = true;
            this.crypto.sign(registerMessageBytes(message.nonce)).then(
              (sig) => {
                if (settled || socket.readyState !== WebSocket.OPEN) return;
                const register: ClientMessage = { t: 'register', id: this.peerId, sig: Buffer.from(sig).toString('hex') };
                socket.send(encode(register));
              },
              (error: unknown) => fail(`signing the challenge failed: ${String(error)}`),
            );
            return;
          case 'registered':
            if (message.id !== this.peerId) {
              fail(`server registered ${message.id} instead of ${this.peerId}`);
              return;
            }
            if (settled) return;
            settled = true;
            this.clock.clearTimeout(timer);
            if (this.closing !== undefined) {
              session.phase = 'dead';
              void this.shutdown(session);
              reject(this.closedError());
              return;
            }
            session.phase = 'ready';
            this.session = session;
            this.reconnectAttempt = 0;
            this.armKeepalive(session);
            this.log.info('registered', { url, peer: this.peerId });
            // A registration starts as a non-member on the server.
            if (this.ringMember) this.sendMembership(session);
            this.setState('registered');
            resolve();
            return;
          case 'error':
            lastReason = `${message.code}: ${message.message}`;
            fail(lastReason);
            return;
          default:
            return;
        }
      });
    });
  }

  private heard(session: Session): void {
    session.lastHeard = this.clock.now();
  }

  private armKeepalive(session: Session): void {
    if (this.pingIntervalMs <= 0) return;
    session.keepalive = this.clock.setTimeout(() => {
      session.keepalive = undefined;
      if (session.phase !== 'ready') return;
      if (this.clock.now() - session.lastHeard > 2 * this.pingIntervalMs) {
        this.log.warn('signaling server went silent; reconnecting', { url: session.url });
        session.socket.terminate();
        return;
      }
      try {
        session.socket.ping();
      } catch {
        session.socket.terminate();
        return;
      }
      this.armKeepalive(session);
    }, this.pingIntervalMs);
  }

  // ---- registered ---------------------------------------------------------------------------

  private onMessage(session: Session, message: ServerMessage): void {
    switch (message.t) {
      case 'signal':
        this.signalsSubject.next({ from: message.from, data: message.data });
        return;
      case 'relayed': {
        const pending = this.takePending(message.rid, 'signal');
        pending?.resolve(undefined);
        return;
      }
      case 'sample': {
        const pending = this.takePending(message.rid, 'sample');
        // The server is not trusted to honour n or to leave us out.
        pending?.resolve(message.peers.filter((id) => id !== this.peerId).slice(0, pending.n));
        return;
      }
      case 'error': {
        if (message.rid !== undefined) {
          const pending = this.pending.get(message.rid);
          if (pending !== undefined) {
            this.pending.delete(message.rid);
            this.clock.clearTimeout(pending.timer);
            pending.reject(new PeerSockError(message.code, `signaling server ${session.url}: ${message.message}`));
          }
          return;
        }
        if (message.code === 'SIGNAL_ALREADY_REGISTERED') {
          this.fatal = new PeerSockError('SIGNAL_ALREADY_REGISTERED', `another connection registered ${this.peerId} on ${session.url} and replaced this one; not reconnecting (is this identity running twice?)`);
          this.log.warn('registration taken over by another connection', { url: session.url, peer: this.peerId });
        } else {
          this.log.warn('signaling server error', { url: session.url, code: message.code, message: message.message });
        }
        return;
      }
      default:
        return;
    }
  }

  private onSessionLost(session: Session, code: number): void {
    if (session.keepalive !== undefined) this.clock.clearTimeout(session.keepalive);
    session.keepalive = undefined;
    if (this.session !== session) return;
    this.session = undefined;
    this.failPending(this.fatal ?? new PeerSockError('SIGNALING_UNAVAILABLE', `connection to signaling server ${session.url} lost (${code}) before it answered`));
    if (this.closing !== undefined) return;
    this.log.info('signaling server connection lost', { url: session.url, code });
    this.setState('disconnected');
    if (this.started && this.fatal === undefined) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined || this.closing !== undefined) return;
    const delay = backoffDelay(this.reconnectAttempt++, this.backoff, this.random);
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closing !== undefined || this.session !== undefined) return;
      this.connectRound().catch((error: unknown) => {
        if (this.closing !== undefined) return;
        this.log.debug('reconnect round failed', { error: String(error) });
        this.scheduleReconnect();
      });
    }, delay);
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer !== undefined) this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  // ---- requests -------------------------------------------------------------------------

  private request(kind: Pending['kind'], n: number, build: (rid: string) => ClientMessage): Promise<PeerId[] | undefined> {
    if (this.closing !== undefined) return Promise.reject(this.closedError());
    const session = this.session;
    if (session === undefined || session.phase !== 'ready') {
      return Promise.reject(this.fatal ?? new PeerSockError('SIGNALING_UNAVAILABLE', `not registered with a signaling server (state: ${this.state})`));
    }
    const rid = String(++this.nextRid);
    let frame: string;
    try {
      frame = encode(build(rid));
    } catch (error) {
      return Promise.reject(new PeerSockError('INVALID_ARGUMENT', `${kind} cannot be serialised as JSON: ${String(error)}`));
    }
    const bytes = Buffer.byteLength(frame);
    if (bytes > this.maxMessageBytes) {
      return Promise.reject(new PeerSockError('MESSAGE_TOO_LARGE', `${kind} frame is ${bytes} bytes; the limit is ${this.maxMessageBytes}`));
    }
    return new Promise<PeerId[] | undefined>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.pending.delete(rid)) {
          reject(new PeerSockError('SIGNALING_TIMEOUT', `signaling server ${session.url} did not answer ${kind} within ${this.requestTimeoutMs} ms`));
        }
      }, this.requestTimeoutMs);
      this.pending.set(rid, { kind, n, resolve, reject, timer });
      session.socket.send(frame, (error) => {
        if (error === undefined || error === null) return;
        const pending = this.takePending(rid, kind);
        pending?.reject(new PeerSockError('SIGNALING_UNAVAILABLE', `sending to ${session.url} failed: ${error.message}`));
      });
    });
  }

  private takePending(rid: string, kind: Pending['kind']): Pending | undefined {
    const pending = this.pending.get(rid);
    // An answer of the wrong kind for a rid is a confused or hostile server: ignore it.
    if (pending === undefined || pending.kind !== kind) return undefined;
    this.pending.delete(rid);
    this.clock.clearTimeout(pending.timer);
    return pending;
  }

  private failPending(error: PeerSockError): void {
    for (const pending of this.pending.values()) {
      this.clock.clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }

  // ---- plumbing --------------------------------------------------------------------------

  private shutdown(session: Session): Promise<void> {
    if (session.keepalive !== undefined) this.clock.clearTimeout(session.keepalive);
    session.keepalive = undefined;
    const socket = session.socket;
    if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    if (socket.readyState === WebSocket.OPEN) {
      socket.close(1000, 'client closing');
    } else {
      socket.terminate();
    }
    // A polite close, bounded: a server that never answers the close frame is cut off.
    const grace = this.clock.setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    return session.closed.then(() => this.clock.clearTimeout(grace));
  }

  private setState(state: SignalingState): void {
    if (this.stateSubject.value === state || this.stateSubject.value === 'closed') return;
    this.stateSubject.next(state);
  }

  private closedError(): PeerSockError {
    return new PeerSockError('SIGNALING_UNAVAILABLE', 'the signaling client is closed');
  }
}

function rawText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}
