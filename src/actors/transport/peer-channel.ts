import { PeerSockError, isPeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import { deferOn, type Clock, type TimerHandle } from '../../ports/clock.js';
import type { Link } from '../../ports/transport.js';
import { BATCH_PROTOCOL, decodeFrame, encodeDataFrame, encodeFrame, isApplicationProtocol, type WireLimits } from '../../wire/index.js';
import { FrameCork } from './frame-cork.js';
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
/** The `ps/bye` body of a node that is stopping: its peers forget it at once (see TransportNotice). */
export const BYE_LEAVING = 'leaving';
/**
 * `true`: "I watch this link closely, keep it alive every heartbeat interval"; `false`: no
 * longer. A link nobody watches beats `unwatchedHeartbeatFactor` times slower (see keepAlive).
 */
export const WATCH_PROTOCOL = 'ps/watch';
/**
 * "Show me a sign of life now": sent with a frame over an unwatched link we have not heard from
 * for a while (see PeerChannelOptions.staleAfterMs); the remote answers with a ping at once.
 */
export const PROBE_PROTOCOL = 'ps/probe';
/**
 * Every ping is the same frame: its body says nothing (any frame is a sign of life), so it is
 * encoded once, sent as is, and recognised on arrival without decoding. Pings are ~80% of a
 * calm network's frames (1,000 simulated nodes: 2.9 of 3.6 frames per node per second).
 */
const PING_FRAME: Uint8Array = encodeFrame(PING_PROTOCOL, 0);
const PROBE_FRAME: Uint8Array = encodeFrame(PROBE_PROTOCOL, 0);

function isPingFrame(bytes: Uint8Array): boolean {
  if (bytes.length !== PING_FRAME.length) return false;
  for (let i = 0; i < bytes.length; i += 1) if (bytes[i] !== PING_FRAME[i]) return false;
  return true;
}

/** Handled during the handshake itself; everything else waits for it (see `early`). */
const HANDSHAKE_PHASE_PROTOCOLS: ReadonlySet<string> = new Set([AUTH_PROTOCOL, BYE_PROTOCOL, PING_PROTOCOL, PONG_PROTOCOL]);

/** Application frames up to this size are corked into batches; larger ones go alone. */
const CORK_MAX_FRAME_BYTES = 2048;
/** Well under the send budget's low-water gap, so a corked batch can never stall a waiting send. */
const CORK_MAX_BATCH_BYTES = 64 * 1024;
const CORK_MAX_BATCH_FRAMES = 512;
/** Frames held while our side of the handshake finishes (see `early`): a few round trips' worth. */
const EARLY_MAX_FRAMES = 64;
const EARLY_MAX_BYTES = 256 * 1024;

const resolved = Promise.resolve();

let scratch = Buffer.allocUnsafe(64 * 1024);
/** One process-wide buffer: JavaScript runs one send at a time and the link copies synchronously. */
function scratchFor(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
  return scratch;
}

export type ChannelControlEvent =
  | { type: 'auth.message'; message: AuthMessage }
  /** `leaving`: the remote said it is leaving the network (its node stops), not just closing this link. */
  | { type: 'channel.bye'; leaving?: true }
  | { type: 'channel.violations'; count: number; error: PeerSockError }
  | { type: 'channel.failed'; error: PeerSockError };

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
  /** PeerSock's own subsystems (e.g. `ps/ring`): their frames go here once authenticated. */
  internal?: InternalProtocols;
  /**
   * A link watched anew after a spell unwatched fails with HEARTBEAT_TIMEOUT if nothing arrives
   * within this many ms (ConnectionConfig.watchAnswerTimeoutMs). Absent: no such deadline.
   */
  watchAnswerTimeoutMs?: number;
  /**
   * A frame sent over a link we do not watch, from a peer silent for longer than this, asks it
   * for a sign of life (ps/probe) due within watchAnswerTimeoutMs. An unwatched link is judged
   * only after the long unwatched timeout, so a crashed peer's link stays up that long, and what
   * is sent over it meanwhile (routed messages, lookups) is lost; probed at its first use, it
   * fails within watchAnswerTimeoutMs. Absent, or without watchAnswerTimeoutMs: no probes.
   */
  staleAfterMs?: number;
}

export interface InternalProtocols {
  readonly protocols: ReadonlySet<string>;
  deliver(from: PeerId, protocol: string, body: unknown): void;
}

export class PeerChannel {
  private link: Link | undefined;
  private control: ((event: ChannelControlEvent) => void) | undefined;
  private queue: SendQueue | undefined;
  private cork: FrameCork | undefined;
  /** When the last message arrived, on the node's clock (one clock read per link message, not per frame). */
  lastReceivedAt = 0;
  /** When the handshake completed: silence counts from here until a frame arrives. */
  private authenticatedAt = 0;
  private violations = 0;
  /** Whether anything went out since the last keepalive opportunity: traffic is its own heartbeat. */
  private sentSinceKeepAlive = false;
  /** Heartbeat ticks in a row with nothing sent (see keepAlive). */
  private idleTicks = 0;
  /** We asked the remote to keep this link alive every interval (see setWatching). */
  watching = false;
  /** When `watching` last changed: silence is measured from no earlier than this. */
  private watchChangedAt = 0;
  /** setWatching has been called once (the link's first watch state is set as it opens). */
  private watchSet = false;
  /** Watched again after a spell unwatched, and nothing received since (see setWatching). */
  private watchAnswerDue = false;
  /** Fails the link if the answer to a watch does not come in time (see setWatching). */
  private watchAnswerTimer: TimerHandle | undefined;
  /** Counts watches awaiting an answer: a deferred judgement of an earlier one must not fail a later one. */
  private watchAnswerGeneration = 0;
  /** `watchChangedAt` before the watch still awaiting its answer: restored if it is withdrawn unanswered. */
  private watchChangedBefore = 0;
  /** The remote asked us to keep this link alive every interval. */
  watchedByRemote = false;
  /** How often the remote needs a frame on a link it does not watch, if it said (its handshake `done`). */
  private remoteUnwatchedEvery: number | undefined;
  /** Cached per link: the native call costs more than the rest of a small send. */
  private maxMessageBytes = 0;
  /** The last protocol tag that passed validation: senders mostly reuse one tag. */
  private lastValidProtocol = '';
  /** Set (through `markAuthenticated`) once the handshake succeeded; application frames flow only then. */
  authenticated = false;
  /**
   * Frames that arrived before our side finished the handshake. The remote opens as soon as it
   * has checked our proof and may send at once, while our check of its proof is still running
   * on a worker thread: its first frames then overtake our own `open`. They are held (bounded)
   * and delivered once we are authenticated, or dropped with the link if we never are.
   */
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  /** Whether this link was ever authenticated: once closing, nothing is held any more. */
  private opened = false;
  /** Closing after having been open: inbound frames are still delivered (see beginClose). */
  private draining = false;
  /** Something arrived from the peer after our goodbye began (see heardWhileClosing). */
  private heardSinceClose = false;

  constructor(readonly options: PeerChannelOptions) {}

  get remote(): PeerId {
    return this.options.remote;
  }

  attach(link: Link, control: (event: ChannelControlEvent) => void): void {
    this.link = link;
    this.control = control;
    this.authenticated = false;
    this.opened = false;
    this.draining = false;
    this.remoteUnwatchedEvery = undefined;
    this.dropEarly();
    this.maxMessageBytes = 0;
    const cork = (this.cork = new FrameCork(link, {
      maxFrameBytes: CORK_MAX_FRAME_BYTES,
      maxBatchBytes: CORK_MAX_BATCH_BYTES,
      maxBatchFrames: Math.min(CORK_MAX_BATCH_FRAMES, this.options.limits.maxItems),
      defer: deferOn(this.options.clock),
      maxMessageBytes: () => this.maxMessageSize(),
      onError: (error) =>
        this.control?.({
          type: 'channel.failed',
          error: new PeerSockError('LINK_FAILED', `the link refused a batch: ${(error as Error)?.message ?? String(error)}`),
        }),
    }));
    this.queue = new SendQueue(
      cork,
      {
        budgetBytes: this.options.sendBudgetBytes,
        maxQueuedBytes: this.options.maxQueuedBytes,
        timeoutMs: this.options.sendTimeoutMs,
        clock: this.options.clock,
      },
    );
  }

  /** The link is gone: sends still waiting are rejected with `reason()` (made only if there are any). */
  detach(reason: () => PeerSockError): void {
    this.settleWatchAnswer();
    this.authenticated = false;
    this.draining = false;
    this.dropEarly();
    this.queue?.failAll(reason);
    this.queue = undefined;
    this.cork = undefined;
    this.link = undefined;
    this.control = undefined;
  }

  /** The handshake succeeded: open the data path and deliver what arrived ahead of it. */
  markAuthenticated(): void {
    this.authenticated = true;
    this.opened = true;
    this.authenticatedAt = this.options.clock.now();
    const early = this.early;
    this.dropEarly();
    for (const bytes of early) this.receive(bytes);
  }

  /** Inbound data flows: authenticated, or closing after having been open. */
  private get receiving(): boolean {
    return this.authenticated || this.draining;
  }

  private dropEarly(): void {
    this.early = [];
    this.earlyBytes = 0;
  }

  /** True if the frame was held for after the handshake (or refused as too much). */
  private holdEarly(bytes: Uint8Array, protocol: string): boolean {
    if (this.authenticated || this.opened || HANDSHAKE_PHASE_PROTOCOLS.has(protocol)) return false;
    if (this.early.length >= EARLY_MAX_FRAMES || this.earlyBytes + bytes.byteLength > EARLY_MAX_BYTES) {
      this.violation(new PeerSockError('AUTH_FAILED', `more than ${EARLY_MAX_FRAMES} frames or ${EARLY_MAX_BYTES} bytes before the handshake completed`));
      return true;
    }
    // `bytes` may be a view into a buffer the link reuses: keep a copy.
    this.early.push(Uint8Array.from(bytes));
    this.earlyBytes += bytes.byteLength;
    return true;
  }

  fingerprints(): { local: string | undefined; remote: string | undefined } {
    return { local: this.link?.localFingerprint(), remote: this.link?.remoteFingerprint() };
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
    // A large frame that can go out at once is encoded into a shared scratch buffer: the
    // link copies it synchronously, so the allocation and its GC cost are saved.
    let direct: boolean;
    try {
      direct = payload.length > CORK_MAX_FRAME_BYTES && this.queue.canWriteNow(payload.length + protocol.length + 8);
    } catch (error) {
      return Promise.reject(new PeerSockError('LINK_FAILED', `could not send to ${this.remote}: ${(error as Error)?.message ?? String(error)}`));
    }
    let frame: Uint8Array;
    try {
      frame = encodeDataFrame(protocol, payload, this.options.limits, direct ? scratchFor(payload.length + protocol.length + 8) : undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    if (frame.length > this.maxMessageSize()) {
      return Promise.reject(
        new PeerSockError('MESSAGE_TOO_LARGE', `frame of ${frame.length} bytes exceeds the link's ${this.maxMessageBytes}-byte limit`),
      );
    }
    this.probeIfStale();
    try {
      this.sentSinceKeepAlive = true;
      if (direct) {
        this.queue.writeNow(frame);
        return resolved;
      }
      return this.queue.send(frame);
    } catch (error) {
      // The link broke between its last callback and now; its close callback follows.
      return Promise.reject(new PeerSockError('LINK_FAILED', `could not send to ${this.remote}: ${(error as Error)?.message ?? String(error)}`));
    }
  }

  private maxMessageSize(): number {
    if (this.maxMessageBytes === 0 && this.link) this.maxMessageBytes = this.link.maxMessageSize();
    return this.maxMessageBytes;
  }

  /**
   * A graceful close begins: refuse new sends and reject the ones still waiting for the
   * link (they would otherwise go out after the goodbye and be discarded by the remote).
   */
  beginClose(): void {
    // A closing link is not judged any more: its end is a close, not a failure.
    this.settleWatchAnswer();
    // Half-close: we send nothing more, but what the remote sent before it saw our goodbye is
    // still delivered (it was dropped and counted against the remote as a violation).
    this.draining = this.authenticated;
    this.authenticated = false;
    this.heardSinceClose = false;
    this.queue?.failAll(() => new PeerSockError('LINK_CLOSED', `the connection to ${this.remote} is closing; the frame was not sent`));
  }

  /** Control frames are small and bypass the byte budget so they never queue behind data. */
  sendControl(protocol: string, body: unknown): void {
    if (!this.link) return;
    let frame: Uint8Array;
    try {
      frame = encodeFrame(protocol, body, this.options.limits);
    } catch {
      return;
    }
    // Telling the remote what we watch relies on nothing (and a withdrawn watch is no use of the link).
    if (protocol !== WATCH_PROTOCOL) this.probeIfStale();
    this.sendControlFrame(frame);
  }

  /**
   * Before relying on an unwatched link the peer has been silent on for over staleAfterMs: ask
   * for a sign of life, judged like a watch's answer (see awaitWatchAnswer). A live peer's ping
   * settles it within a round trip; a crashed one's link fails instead of lingering.
   */
  private probeIfStale(): void {
    const { staleAfterMs } = this.options;
    if (staleAfterMs === undefined || this.options.watchAnswerTimeoutMs === undefined) return;
    if (!this.authenticated || this.watching || this.watchAnswerDue) return;
    if (this.silentFor(this.options.clock.now()) <= staleAfterMs) return;
    this.sendControlFrame(PROBE_FRAME);
    this.awaitWatchAnswer();
  }

  private sendControlFrame(frame: Uint8Array): void {
    if (!this.link) return;
    this.sentSinceKeepAlive = true;
    try {
      // Corked data first: a goodbye must never overtake the data sent before it.
      this.cork?.flush();
      this.link.send(frame);
    } catch {
      // The link closed under us; its close callback reports that.
    }
  }

  sendPing(): void {
    this.sendControlFrame(PING_FRAME);
  }

  /**
   * Once per heartbeat interval: a ping only if nothing else went out since the last call. The
   * remote's failure detector counts any frame from us, so a link that carries traffic needs no
   * pings, and no ping needs an answer: each side keeps its own direction alive. (Ping/pong on
   * every link was 4 frames per link per interval, most of the steady-state traffic.)
   */
  keepAlive(unwatchedEvery = 1): void {
    // Ticks in a row with nothing sent. A link the remote watches gets a ping after one idle
    // interval (a frame at least every 2 intervals), one it does not watch after `unwatchedEvery`
    // (a frame at least every unwatchedEvery + 1 intervals: see unwatchedTimeoutMs).
    this.idleTicks = this.sentSinceKeepAlive ? 0 : this.idleTicks + 1;
    this.sentSinceKeepAlive = false;
    // The remote's own factor bounds ours: it times out an unwatched link by its factor, not ours.
    const every = this.watchedByRemote ? 1 : Math.min(unwatchedEvery, this.remoteUnwatchedEvery ?? unwatchedEvery);
    if (this.idleTicks < every) return;
    this.idleTicks = 0;
    this.sendPing();
    // The ping is not traffic: a watched idle link pings every tick, not every other one.
    this.sentSinceKeepAlive = false;
  }

  /**
   * Whether we need this link's failure noticed within the short heartbeat timeout: tells the
   * remote on change, which then keeps the link alive every interval instead of every few.
   */
  setWatching(on: boolean): void {
    if (!this.authenticated) return;
    if (on === this.watching) {
      this.watchSet = true;
      return;
    }
    this.watching = on;
    // Silence counts from a change to watched: the remote may have been beating slowly until
    // now. Not from a change to unwatched: the remote beat fast until then, and restarting the
    // longer unwatched count there kept a crashed peer looking alive for a whole unwatched
    // timeout more, time in which it was passed on in successor lists (1,000 nodes, 100
    // crashed at once, factor 4: a node's first successor was a crashed one 40 s after). A
    // watch withdrawn before its answer came proved nothing: the count goes back to where it was.
    if (on) {
      this.watchChangedBefore = this.watchChangedAt;
      this.watchChangedAt = this.options.clock.now();
    } else if (this.watchAnswerDue) {
      this.watchChangedAt = this.watchChangedBefore;
    }
    this.settleWatchAnswer();
    // A link watched after a spell unwatched awaits the remote's answer; the first call, as the
    // link opens, is not such a change.
    if (on && this.watchSet) this.awaitWatchAnswer();
    this.watchSet = true;
    this.sendControl(WATCH_PROTOCOL, on);
  }

  /**
   * We start watching a link we did not watch, typically a ring node's new predecessor taken
   * from its other links after the old one failed. Its remote answers a watch frame with a ping
   * at once, so a live peer answers within a round trip, while a crashed one could still look
   * alive for most of the long unwatched timeout (or a whole heartbeat timeout, counted from
   * now). Without an answer in watchAnswerTimeoutMs the link fails as silent. Such a link used to
   * be watched from the next heartbeat tick and judged two intervals after that (up to ~20 s per
   * crashed peer taken): ring-heal (1,000 nodes, 100 crashed at once, factor 4) took 9.25
   * stabilization rounds after the detection timeout, 1.88 with this deadline.
   */
  private awaitWatchAnswer(): void {
    this.watchAnswerDue = true;
    const deadline = this.options.watchAnswerTimeoutMs;
    if (deadline === undefined) return;
    const generation = ++this.watchAnswerGeneration;
    const judge = () => {
      if (!this.watchAnswerDue || generation !== this.watchAnswerGeneration || !this.authenticated) return;
      this.watchAnswerDue = false;
      this.control?.({
        type: 'channel.failed',
        error: new PeerSockError('HEARTBEAT_TIMEOUT', `no answer to a watch request or probe within ${deadline} ms`),
      });
    };
    this.watchAnswerTimer = this.options.clock.setTimeout(() => {
      this.watchAnswerTimer = undefined;
      // Judged after pending I/O: an answer that arrived while the event loop was stalled is
      // read first, and a live neighbour is not failed (and kept out of the ring) for a stall.
      deferOn(this.options.clock)(judge);
    }, deadline);
  }

  private settleWatchAnswer(): void {
    this.watchAnswerDue = false;
    if (this.watchAnswerTimer === undefined) return;
    this.options.clock.clearTimeout(this.watchAnswerTimer);
    this.watchAnswerTimer = undefined;
  }

  /** Whether a link watched anew, or probed (see probeIfStale), still awaits the remote's answer (see awaitWatchAnswer). */
  awaitingWatchAnswer(): boolean {
    return this.watchAnswerDue;
  }

  /** How long nothing has arrived from the peer since the link opened (or was last re-watched), at `now`. */
  silentFor(now: number): number {
    return now - Math.max(this.authenticatedAt, this.lastReceivedAt, this.watchChangedAt);
  }

  drain(): void {
    this.queue?.drain();
  }

  /**
   * Whether any frame came from the peer since our goodbye began: it is alive, even if its
   * answer to the goodbye is slow (a long round trip, data queued before the goodbye).
   */
  heardWhileClosing(): boolean {
    return this.heardSinceClose;
  }

  receive(bytes: Uint8Array): void {
    if (!this.link) return;
    this.lastReceivedAt = this.options.clock.now();
    if (this.draining) this.heardSinceClose = true;
    if (this.watchAnswerDue) this.settleWatchAnswer();
    // A ping has done its work by arriving (see PING_FRAME).
    if (isPingFrame(bytes)) return;
    const frame = this.decode(bytes);
    if (!frame) return;
    if (this.holdEarly(bytes, frame.protocol)) return;
    if (frame.protocol === BATCH_PROTOCOL && this.receiving) {
      this.receiveBatch(frame.body);
      return;
    }
    this.dispatch(frame.protocol, frame.body);
  }

  private receiveBatch(body: unknown): void {
    if (!Array.isArray(body)) {
      this.violation(new PeerSockError('FRAME_SCHEMA', 'a batch must carry an array of frames'));
      return;
    }
    for (const inner of body) {
      if (!this.link) return; // a violation in this batch may have closed the link
      if (!(inner instanceof Uint8Array)) {
        this.violation(new PeerSockError('FRAME_SCHEMA', 'a batch must carry frames as byte strings'));
        continue;
      }
      const frame = this.decode(inner);
      if (!frame) continue;
      if (frame.protocol === BATCH_PROTOCOL) this.violation(new PeerSockError('FRAME_SCHEMA', 'batches do not nest'));
      else this.dispatch(frame.protocol, frame.body);
    }
  }

  private decode(bytes: Uint8Array): { protocol: string; body: unknown } | undefined {
    try {
      return decodeFrame(bytes, this.options.limits);
    } catch (error) {
      this.violation(isPeerSockError(error) ? error : new PeerSockError('FRAME_MALFORMED', String(error)));
      return undefined;
    }
  }

  private dispatch(protocol: string, body: unknown): void {
    if (this.receiving && !protocol.startsWith('ps/')) {
      if (body instanceof Uint8Array) this.options.deliver({ from: this.remote, protocol, data: body });
      else this.violation(new PeerSockError('FRAME_SCHEMA', `application frame for "${protocol}" must carry a byte string`));
      return;
    }
    this.receiveControl(protocol, body);
  }

  private receiveControl(protocol: string, body: unknown): void {
    switch (protocol) {
      case AUTH_PROTOCOL: {
        let message: AuthMessage;
        try {
          message = parseAuthMessage(body);
        } catch (error) {
          this.violation(error as PeerSockError);
          return;
        }
        if (message.t === 'done' && message.every !== undefined) this.remoteUnwatchedEvery = message.every;
        this.control?.({ type: 'auth.message', message });
        return;
      }
      case BYE_PROTOCOL:
        // null: this link closes; BYE_LEAVING: the whole node leaves (anything else: a plain goodbye).
        this.control?.(body === BYE_LEAVING ? { type: 'channel.bye', leaving: true } : { type: 'channel.bye' });
        return;
      case WATCH_PROTOCOL:
        // Asked to be watched: answer at once, so the remote can tell a live link from a dead
        // one within watchAnswerTimeoutMs instead of its whole timeout (see awaitWatchAnswer).
        if (body === true && !this.watchedByRemote && this.authenticated) this.sendPing();
        if (typeof body === 'boolean') this.watchedByRemote = body;
        else this.violation(new PeerSockError('FRAME_SCHEMA', `${WATCH_PROTOCOL} carries true or false, got ${typeof body}`));
        return;
      case PROBE_PROTOCOL:
        // The remote is about to rely on this link: a sign of life at once (see probeIfStale).
        if (this.authenticated) this.sendPing();
        return;
      case PING_PROTOCOL:
      // Pongs are no longer sent (see keepAlive); one from an older peer is just a frame.
      case PONG_PROTOCOL:
        return;
      default:
        if (this.receiving && this.options.internal?.protocols.has(protocol)) {
          this.options.internal.deliver(this.remote, protocol, body);
          return;
        }
        this.violation(
          this.receiving
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
