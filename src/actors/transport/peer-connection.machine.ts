import { assign, enqueueActions, sendParent, setup } from 'xstate';
import { PeerSockError, isPeerSockError, type ErrorCode } from '../../errors.js';
import { publicKeyOf, type PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import type { CryptoPort } from '../../ports/crypto.js';
import type { Logger } from '../../ports/logger.js';
import type { Random } from '../../ports/random.js';
import type { LinkSignal, LinkTransport } from '../../ports/transport.js';
import type { ConnectionConfig } from './connection-config.js';
import {
  AUTH_PROTOCOL,
  MAX_KEEPALIVE_EVERY,
  NONCE_BYTES,
  nonceFromText,
  nonceToText,
  otherRole,
  transcriptBytes,
  transcriptView,
  type AuthMessage,
  type Role,
} from './handshake.js';
import type { ChannelControlEvent, PeerChannel } from './peer-channel.js';
import { BYE_LEAVING, BYE_PROTOCOL } from './peer-channel.js';
import type { SignalEnvelope } from './signal-envelope.js';

/**
 * One actor per remote peer: signaling → connecting → authenticating → open → closing,
 * ending in `closed` or `failed { code }`. Failures before the connection opened are
 * retried by the dialer with backoff. Application data bypasses this machine (see
 * PeerChannel); the machine owns the link's lifetime, the handshake and the heartbeat.
 */
export interface PeerPorts {
  transport: LinkTransport;
  crypto: CryptoPort;
  random: Random;
  clock: Clock;
  logger: Logger;
  /** Relays an envelope to the remote through whatever signaling path exists. */
  sendSignal(to: PeerId, envelope: SignalEnvelope): Promise<void>;
}

export interface PeerConnectionInput {
  remote: PeerId;
  role: Role;
  /**
   * The parent's number for this actor, echoed in the output: successive connections to one
   * peer share a child id (see the connection manager's spawnPeer). Absent: 0.
   */
  serial?: number;
  /** Listener: the attempt id, offer and the dialer's nonce that created this actor. */
  offer?: { cid: string; signal: LinkSignal; nonce?: string } | undefined;
  channel: PeerChannel;
  config: ConnectionConfig;
  ports: PeerPorts;
}

export interface Failure {
  code: ErrorCode;
  message: string;
}

export interface PeerConnectionOutput {
  remote: PeerId;
  /** PeerConnectionInput.serial. */
  serial: number;
  outcome: 'closed' | 'failed';
  failure?: Failure;
  /** Whether the connection was ever authenticated and open. */
  wasOpen: boolean;
  /** The remote closed it saying its node is leaving the network (a `ps/bye` with BYE_LEAVING). */
  remoteLeft?: true;
  /**
   * This side closed it and nothing came from the remote within closeTimeoutMs (no answer to
   * the goodbye, no close of its end, no other frame): it may be gone (a crashed peer answers
   * nothing), and the close is no sign that it lives.
   */
  byeUnanswered?: true;
}

export interface PeerConnectionContext extends PeerConnectionInput {
  attempt: number;
  cid: string;
  /** The current attempt's identity handshake, until the connection opens (then undefined). */
  handshake: HandshakeScratch | undefined;
  wasOpen: boolean;
  failure: Failure | undefined;
  /** This side closes because its node stops: its goodbye says so. */
  leaving: boolean;
  /** The remote's goodbye said its node stops. */
  remoteLeft: boolean;
  /** Our goodbye went unanswered (see PeerConnectionOutput.byeUnanswered). */
  byeUnanswered: boolean;
  /** The current attempt's link, while `attempt` is active: remote signals go straight to it (no event each). */
  link: LinkSlot;
}

/**
 * Holds the current attempt's link (see openAttemptLink). A mutable slot rather than a context
 * field set with `assign`: the link is opened and closed by plain entry and exit actions, which
 * cannot assign, and opening it inside an assigner would also open links in pure `transition()`
 * calls (assigners run there, other actions do not) and copy the context for nothing.
 */
export interface LinkSlot {
  current: AttemptLink | undefined;
}

/**
 * One attempt's handshake values, written in place by plain actions as the attempt's link opens
 * (our nonce; the listener's remote nonce, from the offer), the answer comes in (the dialer's
 * remote nonce) and the remote's proof and done arrive. Not context fields set with `assign`: every
 * assign is a new XState snapshot (the context copied, the state value and tags rebuilt), and
 * these were 1.3 assigns per handshake message, 250,000 snapshots in sim-scale's 1,000-node
 * run. Each attempt starts with a fresh object (startAttempt); the open connection drops it
 * (markOpen). An abandoned attempt's link stops reporting once closed (openAttemptLink), which
 * is what keeps its late frames out of the next attempt, as it did when these were context fields.
 * Two consequences of writing in place: a snapshot held from mid-handshake sees later writes
 * (inspectors, recorded snapshots), and a pure `transition()` run of this machine, which skips
 * plain actions, never records the remote's messages.
 */
export interface HandshakeScratch {
  localNonce?: Uint8Array;
  remoteNonce?: Uint8Array;
  remoteProof?: Uint8Array;
  remoteDone: boolean;
}

export interface AttemptLink {
  /** Applies a remote signal; ignored once the attempt is over. */
  apply(signal: LinkSignal): void;
  /** Ends the attempt: detaches the channel, closes the link; later link callbacks are ignored. */
  close(): void;
}

/** What an attempt's link needs of its peer-connection actor: its mailbox, and word of its end. */
interface LinkOwner {
  send(event: Event): void;
  subscribe(observer: { complete(): void; error(): void }): { unsubscribe(): void };
}

type Event =
  | { type: 'signal.in'; envelope: SignalEnvelope }
  | { type: 'signal.failed'; cid: string; error: unknown }
  /** The link made its answer (the listener's negotiation moves on); openAttemptLink relays it itself. */
  | { type: 'link.answered' }
  | { type: 'link.open' }
  | { type: 'link.closed'; reason: string }
  | ChannelControlEvent
  /** From the connection manager's heartbeat: nothing came from the peer for heartbeatTimeoutMs. */
  | { type: 'heartbeat.silent' }
  /** `leaving`: this node stops (the manager is draining); the goodbye tells the remote. */
  | { type: 'close'; leaving?: true }
  | AuthCryptoEvent;

/**
 * Results of the transcript signature and of the check of the remote's, for the attempt that
 * asked. They come from promises started by actions: two promise actors per connection and
 * side were ~4 actor events each and a third of the actors a joining node created.
 */
type AuthCryptoEvent =
  | { type: 'auth.signed'; attempt: number; sig: Uint8Array }
  | { type: 'auth.verified'; attempt: number; valid: boolean }
  | { type: 'auth.cryptoFailed'; attempt: number; step: 'sign' | 'verify'; error: unknown };

/**
 * One link for one attempt, owned by the peer-connection actor itself: opened by the entry
 * action of `attempt` and closed by its exit action, so each retry gets a fresh link and its
 * own cid. It used to be an invoked callback actor; in a heap snapshot of 300 simulated nodes
 * (~40 actors each) ~17 were peer connections and ~17 their link actors, each with a mailbox,
 * sets, closures and a snapshot (~1.5–2 KB), and each link added three inspection events per
 * attempt (`@xstate.actor`, `xstate.init`, `xstate.stop`). Without it, 300 simulated nodes after
 * joining and a quiet minute hold 226 KiB of heap each instead of 257 (-12%) and trace 236,113
 * events instead of 263,090 (-10%), with the same links open.
 *
 * XState v5 runs no exit actions when an actor is stopped from outside (it only stops its
 * children; statelyai/xstate#4630, by design), nor when an action throws. So the link also
 * watches its actor and is closed when the actor completes (stopped, or final) or fails;
 * `close` is idempotent. The watch handles errors: a failing peer connection is still only
 * reported to its parent (a root one would no longer be reported as unhandled; the engine
 * always spawns it under the connection manager).
 *
 * Local signals are relayed from here with this attempt's cid: passing each through the
 * machine as an event only to forward it was ~8% of a large simulation's actor events. Only an
 * answer is reported, since it moves the listener on to `connecting`.
 */
function openAttemptLink(context: PeerConnectionContext, self: LinkOwner): AttemptLink {
  let stopped = false;
  const report = (event: Event) => {
    if (!stopped) self.send(event);
  };
  // The closures below outlive this attempt's first context: they take only what they need from
  // it. Holding the whole context kept its handshake scratch (nonces, keys, proof: written in
  // place) for the connection's life.
  const { channel, cid, remote, ports } = context;
  // Our nonce goes with our offer or answer (see handshake.ts); candidates carry none.
  const nonce = nonceToText(context.handshake!.localNonce!);
  const relay = (signal: LinkSignal) => {
    if (stopped) return;
    ports.sendSignal(remote, signal.type === 'candidate' ? { cid, signal } : { cid, signal, nonce }).catch((error: unknown) => {
      // A routed signal can take seconds to fail; the attempt may be over by then (then nobody listens).
      report({ type: 'signal.failed', cid, error });
    });
    if (signal.type === 'answer') report({ type: 'link.answered' });
  };
  const link = ports.transport.createLink({
    label: remote,
    initiator: context.role === 'dialer',
    bufferedAmountLowThreshold: Math.floor(context.config.sendBudgetBytes / 2),
    handlers: {
      onSignal: relay,
      onOpen: () => report({ type: 'link.open' }),
      onMessage: (bytes) => channel.receive(bytes),
      onClose: (reason) => report({ type: 'link.closed', reason }),
      onBufferedAmountLow: () => channel.drain(),
    },
  });
  channel.attach(link, report);
  let watch: { unsubscribe(): void } | undefined;
  const close = () => {
    if (stopped) return;
    stopped = true;
    watch?.unsubscribe();
    channel.detach(() => new PeerSockError('LINK_CLOSED', `connection to ${remote} closed`));
    link.close();
  };
  // Calls close at once if the actor has already ended.
  watch = self.subscribe({ complete: close, error: close });
  const apply = (signal: LinkSignal) => {
    if (stopped) return;
    try {
      link.applySignal(signal);
    } catch (error) {
      report({ type: 'link.closed', reason: `remote sent an unusable ${signal.type}: ${(error as Error).message}` });
    }
  };
  if (context.role === 'listener' && context.offer) apply(context.offer.signal);
  return { apply, close };
}

/** The crypto port's promise, with a synchronous throw (no fingerprints yet) as a rejection. */
function attemptCrypto<T>(run: () => Promise<T>): Promise<T> {
  try {
    return run();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Reports a crypto result to the machine if it is still running (the attempt check is the guards'). */
function reportTo(self: { getSnapshot(): { status: string }; send(event: Event): void }, event: Event): void {
  if (self.getSnapshot().status === 'active') self.send(event);
}

function viewOf(context: PeerConnectionContext) {
  const { local, remote } = context.channel.fingerprints();
  if (!local || !remote) throw new PeerSockError('AUTH_FAILED', 'DTLS fingerprints are not available');
  const { localNonce, remoteNonce } = context.handshake!;
  if (!localNonce || !remoteNonce) throw new PeerSockError('AUTH_FAILED', 'the handshake nonces were not exchanged in the offer and answer');
  return transcriptView({
    role: context.role,
    localKey: context.ports.crypto.publicKey,
    remoteKey: publicKeyOf(context.remote),
    localFingerprint: local,
    remoteFingerprint: remote,
    localNonce,
    remoteNonce,
  });
}

function newCid(random: Random): string {
  return Buffer.from(random.bytes(8)).toString('hex');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  // The remote closed our attempt before it opened: it did not want that link then, but it is
  // alive and this side still does; a fresh attempt is a link the remote did not ask for.
  'CONNECT_ABANDONED',
  'SIGNALING_TIMEOUT',
  'CONNECT_TIMEOUT',
  'LINK_CLOSED',
  'LINK_FAILED',
  'SIGNALING_UNAVAILABLE',
]);

function authMessage(event: Event): AuthMessage | undefined {
  return event.type === 'auth.message' ? event.message : undefined;
}

/**
 * Whether an attempt in this state takes a remote candidate with no other effect than handing it
 * to its link: what `negotiationHandlers['signal.in']` does with a candidate for the attempt's
 * cid. The connection manager applies such candidates in place (deliverSignalInPlace) instead
 * of sending an event; keep the two in step.
 */
export function takesRemoteCandidate(snapshot: { status: string; matches(value: unknown): boolean; context: { cid: string } }, cid: string): boolean {
  if (snapshot.status !== 'active' || snapshot.context.cid !== cid) return false;
  return snapshot.matches({ attempt: 'signaling' }) || snapshot.matches({ attempt: 'connecting' });
}

/**
 * Signals matter only while the link is being negotiated. Once it is up, the untrusted
 * relay must not be able to touch it: a replayed answer or a forged refusal for this
 * attempt's cid is ignored from `authenticating` on, and so is a late relay failure.
 *
 * Each side applies exactly one remote description per attempt (the listener its offer at
 * start, the dialer the first answer): a second copy is ignored. The relay can deliver one
 * twice (an overlay send without an ack is retried through a server, and the first copy may
 * have arrived after all); applying it again made libdatachannel throw "Unexpected remote
 * answer description in signaling state stable" and killed an attempt that was working.
 */
const negotiationHandlers = {
  'signal.in': [
    { guard: 'isRejection', target: '#peer.failing', actions: { type: 'fail', params: ({ event }: { event: Event }) => rejection(event) } },
    { guard: 'isRemoteDescription', actions: 'ignoreRepeatedDescription' },
    { actions: 'applyRemoteSignal' },
  ],
  'signal.failed': {
    guard: 'isCurrentAttempt',
    target: '#peer.failing',
    actions: {
      type: 'fail',
      params: ({ event }: { event: Event }) => {
        const error = (event as Extract<Event, { type: 'signal.failed' }>).error;
        // Keep the relay's own code (e.g. SIGNAL_UNKNOWN_PEER: nobody by that id is registered).
        const code = isPeerSockError(error) ? error.code : 'SIGNALING_UNAVAILABLE';
        return { code, message: `could not relay signaling: ${(error as Error)?.message ?? String(error)}` };
      },
    },
  },
} as const;

export const peerConnectionMachine = setup({
  types: {
    context: {} as PeerConnectionContext,
    events: {} as Event,
    input: {} as PeerConnectionInput,
    output: {} as PeerConnectionOutput,
  },
  delays: {
    signalingTimeout: ({ context }) => context.config.signalingTimeoutMs,
    connectTimeout: ({ context }) => context.config.connectTimeoutMs,
    authTimeout: ({ context }) => context.config.authTimeoutMs,
    closeTimeout: ({ context }) => context.config.closeTimeoutMs,
    retryDelay: ({ context }) =>
      Math.round(context.config.retryBaseMs * 2 ** (context.attempt - 1) * (0.5 + context.ports.random.float())),
  },
  guards: {
    /** The answer a dialer waits for (a listener has made no offer: an answer to it is a stray copy). */
    isRemoteAnswer: ({ context, event }) =>
      context.role === 'dialer' && event.type === 'signal.in' && 'signal' in event.envelope && event.envelope.signal.type === 'answer',
    isRemoteDescription: ({ event }) =>
      event.type === 'signal.in' && 'signal' in event.envelope && (event.envelope.signal.type === 'answer' || event.envelope.signal.type === 'offer'),
    isRejection: ({ event }) => event.type === 'signal.in' && 'reject' in event.envelope,
    /** A proof that names its signer, and not the peer we dialled or answered (see ProofMessage.key). */
    isProofByAnotherKey: ({ context, event }) => {
      const message = authMessage(event);
      return message?.t === 'proof' && message.key !== undefined && !sameBytes(message.key, publicKeyOf(context.remote));
    },
    isLeavingBye: ({ event }) => event.type === 'channel.bye' && event.leaving === true,
    isCurrentAttempt: ({ context, event }) => event.type === 'signal.failed' && event.cid === context.cid,
    /** A crypto result for this attempt (a late one from an abandoned attempt is ignored). */
    isThisAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt,
    isValidProof: ({ context, event }) => event.type === 'auth.verified' && event.attempt === context.attempt && event.valid,
    hasRemoteProof: ({ context }) => context.handshake?.remoteProof !== undefined,
    hasRemoteDone: ({ context }) => context.handshake?.remoteDone === true,
    canRetry: ({ context }) =>
      context.role === 'dialer' &&
      !context.wasOpen &&
      context.attempt < context.config.maxDialAttempts &&
      context.failure !== undefined &&
      RETRYABLE.has(context.failure.code),
  },
  actions: {
    fail: assign({ failure: (_, params: Failure) => params }),
    openLink: ({ context, self }) => {
      // Written here, not in startAttempt: an assigner also runs in pure `transition()` calls.
      const handshake = context.handshake!;
      handshake.localNonce = context.ports.random.bytes(NONCE_BYTES);
      if (context.role === 'listener' && context.offer?.nonce) handshake.remoteNonce = nonceFromText(context.offer.nonce);
      context.link.current = openAttemptLink(context, self);
    },
    closeLink: ({ context }) => {
      context.link.current?.close();
      context.link.current = undefined;
    },
    startAttempt: assign(({ context }) => ({
      attempt: context.attempt + 1,
      cid: context.role === 'listener' && context.offer ? context.offer.cid : newCid(context.ports.random),
      handshake: { remoteDone: false },
      failure: undefined,
    })),
    ignoreRepeatedDescription: ({ context, event }) => {
      const signal = event.type === 'signal.in' && 'signal' in event.envelope ? event.envelope.signal : undefined;
      try {
        context.ports.logger.debug('ignoring a repeated remote description', { remote: context.remote, cid: context.cid, type: signal?.type });
      } catch {
        // A host logger that throws must not break the transition.
      }
    },
    applyRemoteSignal: ({ context, event }) => {
      if (event.type !== 'signal.in' || !('signal' in event.envelope)) return;
      const { signal, nonce } = event.envelope;
      // The answer's nonce is the listener's for this attempt (only the dialer applies an answer).
      if (signal.type === 'answer' && nonce !== undefined && context.handshake) context.handshake.remoteNonce ??= nonceFromText(nonce);
      context.link.current?.apply(signal);
    },
    startSigning: ({ context, self }) => {
      const { attempt } = context;
      attemptCrypto(() => context.ports.crypto.sign(transcriptBytes(viewOf(context), context.role))).then(
        (sig) => reportTo(self, { type: 'auth.signed', attempt, sig }),
        (error: unknown) => reportTo(self, { type: 'auth.cryptoFailed', attempt, step: 'sign', error }),
      );
    },
    startVerifying: ({ context, self }) => {
      const { attempt } = context;
      attemptCrypto(() =>
        context.ports.crypto.verify(publicKeyOf(context.remote), transcriptBytes(viewOf(context), otherRole(context.role)), context.handshake!.remoteProof!),
      ).then(
        (valid) => reportTo(self, { type: 'auth.verified', attempt, valid: valid === true }),
        (error: unknown) => reportTo(self, { type: 'auth.cryptoFailed', attempt, step: 'verify', error }),
      );
    },
    storeAuthMessage: ({ context, event }) => {
      const message = authMessage(event);
      const handshake = context.handshake!;
      if (message?.t === 'proof') handshake.remoteProof = message.sig;
      else if (message?.t === 'done') handshake.remoteDone = true;
    },
    sendProof: ({ context }, params: { sig: Uint8Array }) => {
      context.channel.sendControl(AUTH_PROTOCOL, { t: 'proof', sig: params.sig, key: context.ports.crypto.publicKey });
    },
    sendDone: ({ context }) =>
      context.channel.sendControl(AUTH_PROTOCOL, { t: 'done', every: Math.min(context.config.unwatchedHeartbeatFactor, MAX_KEEPALIVE_EVERY) }),
    /**
     * Open for good (an open connection never starts another attempt): the handshake's keys,
     * nonces and proof are not needed again. Held for the connection's life they were ~10% of
     * its memory in the simulator (7.4 → 6.7 KB per connection end). The listener's offer goes
     * from the context too (the manager takes it out of the actor's input once spawned).
     */
    markOpen: assign(({ context }) => {
      context.channel.markAuthenticated();
      return { wasOpen: true, handshake: undefined, offer: undefined };
    }),
    notifyOpen: sendParent(({ context }) => ({ type: 'peer.opened', remote: context.remote })),
    /**
     * A dial attempt failed before the connection opened: the manager may hold the remote's own
     * offer from a glare it won, and answers it now rather than leave the remote waiting for its
     * signaling timeout (see the connection manager). Sent before any retry or the final state.
     */
    notifyDialFailed: enqueueActions(({ context, enqueue }) => {
      if (context.role === 'dialer' && !context.wasOpen) enqueue.sendParent({ type: 'peer.dialFailed', remote: context.remote });
    }),
    /**
     * Closed by this side while still negotiating: tell the remote, whose side of the attempt
     * would otherwise wait out its signaling or connect timeout (10-15 s). Seen on loopback: a
     * glare loser's listener pruned before it answered left the winner's dial hanging, and the
     * winner held the loser's next offer in reserve behind it: a joining node sat 10 s without
     * its successor. The refusal is a courtesy; the remote's timeouts cover a lost one.
     */
    abandonAttempt: ({ context, event }) => {
      // A node that stops refuses for good (CONNECTION_REJECTED is not retried); otherwise the
      // remote may dial again at once (CONNECT_ABANDONED is).
      const stopping = event.type === 'close' && event.leaving === true;
      const envelope: SignalEnvelope = stopping
        ? { cid: context.cid, reject: 'CONNECTION_REJECTED', reason: 'the node is stopping' }
        : { cid: context.cid, reject: 'CONNECT_ABANDONED', reason: 'closed by the remote before it opened' };
      context.ports.sendSignal(context.remote, envelope).catch(() => {});
    },
    beginClose: ({ context }) => context.channel.beginClose(),
    sendBye: ({ context }) => context.channel.sendControl(BYE_PROTOCOL, context.leaving ? BYE_LEAVING : null),
    noteLeaving: assign({ leaving: ({ event }) => event.type === 'close' && event.leaving === true }),
    noteRemoteLeft: assign({ remoteLeft: ({ event }) => event.type === 'channel.bye' && event.leaving === true }),
    // Not when anything else came from the peer meanwhile: it lives, its answer is just slow.
    // Only for a link that was open: one given up mid-handshake never drained, so heard nothing
    // "while closing" by construction, and its peer is not suspect for it.
    noteByeUnanswered: assign({ byeUnanswered: ({ context }) => context.wasOpen && !context.channel.heardWhileClosing() }),
    logFailure: ({ context }) => {
      try {
        context.ports.logger.debug('peer connection failed', { remote: context.remote, attempt: context.attempt, ...context.failure });
      } catch {
        // A host logger that throws must not break the transition (and strand the link).
      }
    },
  },
}).createMachine({
  id: 'peer',
  context: ({ input }) => ({
    ...input,
    attempt: 0,
    cid: input.offer?.cid ?? '',
    handshake: undefined,
    wasOpen: false,
    failure: undefined,
    leaving: false,
    remoteLeft: false,
    byeUnanswered: false,
    link: { current: undefined },
  }),
  initial: 'attempt',
  output: ({ context }) => ({
    remote: context.remote,
    serial: context.serial ?? 0,
    outcome: context.failure ? 'failed' : 'closed',
    ...(context.failure ? { failure: context.failure } : {}),
    wasOpen: context.wasOpen,
    ...(context.remoteLeft ? { remoteLeft: true as const } : {}),
    ...(context.byeUnanswered ? { byeUnanswered: true as const } : {}),
  }),
  states: {
    attempt: {
      // startAttempt first: the link relays signals under the new attempt's cid.
      entry: ['startAttempt', 'openLink'],
      exit: 'closeLink',
      on: {
        'link.closed': {
          target: 'failing',
          actions: {
            type: 'fail',
            params: ({ event }) => ({
              code: 'LINK_CLOSED',
              message: `link closed: ${(event as Extract<Event, { type: 'link.closed' }>).reason}`,
            }),
          },
        },
        'channel.failed': {
          target: 'failing',
          actions: {
            type: 'fail',
            params: ({ event }) => {
              const { error } = event as Extract<Event, { type: 'channel.failed' }>;
              return { code: error.code, message: error.message };
            },
          },
        },
        'channel.violations': {
          target: 'failing',
          actions: {
            type: 'fail',
            params: ({ event }) => {
              const { count, error } = event as Extract<Event, { type: 'channel.violations' }>;
              return { code: 'PROTOCOL_VIOLATIONS', message: `${count} malformed or forbidden frames (last: ${error.code} ${error.message})` };
            },
          },
        },
        close: 'closed',
      },
      initial: 'signaling',
      states: {
        signaling: {
          on: {
            'signal.in': [{ guard: 'isRemoteAnswer', target: 'connecting', actions: 'applyRemoteSignal' }, ...negotiationHandlers['signal.in']],
            'signal.failed': negotiationHandlers['signal.failed'],
            // The link relayed its answer (see openAttemptLink): the listener's negotiation moves on.
            'link.answered': 'connecting',
            'link.open': 'authenticating',
            close: { target: '#peer.closed', actions: 'abandonAttempt' },
          },
          after: {
            signalingTimeout: {
              target: '#peer.failing',
              actions: { type: 'fail', params: { code: 'SIGNALING_TIMEOUT', message: 'no answer through signaling in time' } },
            },
          },
        },
        connecting: {
          on: { ...negotiationHandlers, 'link.open': 'authenticating', close: { target: '#peer.closed', actions: 'abandonAttempt' } },
          after: {
            connectTimeout: {
              target: '#peer.failing',
              actions: { type: 'fail', params: { code: 'CONNECT_TIMEOUT', message: 'the DataChannel did not open in time (ICE/DTLS)' } },
            },
          },
        },
        authenticating: {
          // Both nonces came with the offer and answer: each side signs at once (handshake.ts).
          on: {
            // The remote may already count the link open (it has our done): a goodbye tells it the
            // link ends, where a bare close looked like a failure (LINK_CLOSED) and kept a live
            // peer out of its ring's lists for failedMemoryMs (seen: 16 nodes forming a ring with
            // the demo's settings took 9 s instead of 4 when a node pruned a link mid-handshake).
            // (`closing` sends it: a transition's own actions run after the attempt's link is gone.)
            close: { target: 'closing', actions: 'noteLeaving' },
            // The remote gave this attempt up mid-handshake: not a failure of the peer.
            'channel.bye': [
              { guard: 'isLeavingBye', target: '#peer.closed', actions: 'noteRemoteLeft' },
              {
                target: '#peer.failing',
                actions: { type: 'fail', params: { code: 'CONNECT_ABANDONED', message: 'the remote closed the connection before it opened' } },
              },
            ],
            'auth.message': [
              {
                guard: 'isProofByAnotherKey',
                target: '#peer.failing',
                actions: {
                  type: 'fail',
                  params: ({ context }) => ({
                    code: 'PEER_ID_MISMATCH',
                    message: `the remote proved a different identity than ${context.remote}`,
                  }),
                },
              },
              { actions: 'storeAuthMessage' },
            ],
          },
          after: {
            authTimeout: {
              target: '#peer.failing',
              actions: { type: 'fail', params: { code: 'AUTH_TIMEOUT', message: 'identity handshake did not complete in time' } },
            },
          },
          initial: 'proving',
          states: {
            proving: {
              entry: 'startSigning',
              on: {
                'auth.signed': {
                  guard: 'isThisAttempt',
                  target: 'awaitingProof',
                  actions: { type: 'sendProof', params: ({ event }) => ({ sig: (event as Extract<Event, { type: 'auth.signed' }>).sig }) },
                },
                'auth.cryptoFailed': {
                  guard: 'isThisAttempt',
                  target: '#peer.failing',
                  actions: {
                    type: 'fail',
                    params: ({ event }) => ({
                      code: 'AUTH_FAILED',
                      message: `could not sign the transcript: ${String((event as Extract<Event, { type: 'auth.cryptoFailed' }>).error)}`,
                    }),
                  },
                },
              },
            },
            awaitingProof: { always: { guard: 'hasRemoteProof', target: 'verifying' } },
            verifying: {
              entry: 'startVerifying',
              on: {
                'auth.verified': [
                  { guard: 'isValidProof', target: 'awaitingDone', actions: 'sendDone' },
                  {
                    guard: 'isThisAttempt',
                    target: '#peer.failing',
                    actions: {
                      type: 'fail',
                      params: {
                        code: 'AUTH_FAILED',
                        message: 'the remote identity proof does not verify: the DTLS session is not end to end (man in the middle?) or the key is wrong',
                      },
                    },
                  },
                ],
                'auth.cryptoFailed': {
                  guard: 'isThisAttempt',
                  target: '#peer.failing',
                  actions: {
                    type: 'fail',
                    params: ({ event }) => ({ code: 'AUTH_FAILED', message: String((event as Extract<Event, { type: 'auth.cryptoFailed' }>).error) }),
                  },
                },
              },
            },
            awaitingDone: { always: { guard: 'hasRemoteDone', target: '#peer.attempt.open' } },
          },
        },
        open: {
          entry: ['markOpen', 'notifyOpen'],
          on: {
            'channel.bye': { target: '#peer.closed', actions: 'noteRemoteLeft' },
            close: { target: 'closing', actions: 'noteLeaving' },
          },
          // The heartbeat is the connection manager's: one timer per node checks every open
          // channel (keepAlive, silence) and tells a connection whose peer fell silent. One
          // timer per link was half of all actor events of a node at rest (~16 links each).
          initial: 'alive',
          states: {
            alive: {
              on: {
                'heartbeat.silent': {
                  target: '#peer.failing',
                  actions: {
                    type: 'fail',
                    params: ({ context }) => ({
                      code: 'HEARTBEAT_TIMEOUT',
                      message: `no frame from the peer for over ${context.config.heartbeatTimeoutMs} ms`,
                    }),
                  },
                },
              },
            },
          },
        },
        closing: {
          entry: ['beginClose', 'sendBye'],
          // Both sides closing at once: each one's bye is the other's acknowledgement.
          on: { 'link.closed': '#peer.closed', 'channel.bye': { target: '#peer.closed', actions: 'noteRemoteLeft' }, close: {} },
          after: { closeTimeout: { target: '#peer.closed', actions: 'noteByeUnanswered' } },
        },
      },
    },
    failing: {
      entry: ['logFailure', 'notifyDialFailed'],
      always: [{ guard: 'canRetry', target: 'retrying' }, { target: 'failed' }],
    },
    retrying: {
      on: { close: 'closed' },
      after: { retryDelay: 'attempt' },
    },
    failed: { type: 'final' },
    closed: { type: 'final' },
  },
});

function rejection(event: Event): Failure {
  const envelope = (event as Extract<Event, { type: 'signal.in' }>).envelope as { reject: ErrorCode; reason: string };
  return { code: envelope.reject, message: `remote refused the connection: ${envelope.reason || envelope.reject}` };
}
