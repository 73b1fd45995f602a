import { ReplayWindow } from '../../crypto/replay-window.js';
import { MSG_ID_BYTES } from '../../crypto/sealed-envelope-format.js';
import {
  openEnvelope,
  sealEnvelope,
  type EnvelopeRecipient,
  type EnvelopeSigner,
  type OpenedMessage,
  type SealedEnvelope,
} from '../../crypto/sealed-envelope.js';
import { isPeerSockError } from '../../errors.js';
import { shortId, type PeerId } from '../../identity/peer-id.js';
import type { Logger } from '../../ports/logger.js';
import type { Random } from '../../ports/random.js';
import { isApplicationProtocol } from '../../wire/protocol-tag.js';
import { ACK_PROTOCOL, msgKey } from './route-messages.js';
import { DEFAULT_ROUTER_CONFIG, maxRetransmits, type RouterConfig } from './router-config.js';

/**
 * The cryptographic ends of routing: sealing our messages and acks, opening what is addressed
 * to us, and the replay check. Everything here is asynchronous (signatures go through the
 * CryptoPort, i.e. the worker pool), so it runs beside the router actor, not inside it, and
 * reports outcomes to it as events — the way the transport reports `link.up` to the ring.
 *
 * An envelope that fails any check is dropped with a debug log line: it may be a forgery, a
 * replay or a hop's tampering, and the hop that handed it over is not necessarily to blame, so
 * it is not counted as that neighbour's protocol violation. Its origin, if honest, times out.
 */
export type EndpointEvent =
  /** A message for us, authentic, fresh, and seen for the first time. */
  | { type: 'route.opened'; origin: PeerId; protocol: string; data: Uint8Array; msgId: Uint8Array }
  /** An authentic ack from `from` for our message `key`. */
  | { type: 'route.acked'; from: PeerId; key: string }
  /**
   * Our ack, sealed, to be routed back to the message's origin. `avoid`: for an ack sent again
   * (a copy of the message came), the links its earlier copies left by (see ackSent).
   */
  | { type: 'route.ack.sealed'; env: SealedEnvelope; avoid?: readonly PeerId[] };

export interface RouteEndpointOptions {
  /** Our opening key; called at the first envelope for us (deriving it costs a key import). */
  recipient: () => EnvelopeRecipient;
  signer: EnvelopeSigner;
  random: Random;
  /** Wall clock, ms since the Unix epoch, comparable across nodes (the simulator's virtual clock is shared). */
  wallClock: () => number;
  config: Pick<RouterConfig, 'ttl' | 'returnTtl' | 'maxOpening' | 'replayWindowMs' | 'replayMaxEntries' | 'ackTimeoutMs' | 'retransmitIntervalMs'>;
  logger: Logger;
  /** Internal protocols a routed message may carry (e.g. overlay signals); every other `ps/` tag is refused. */
  internalProtocols?: ReadonlySet<string>;
  report(event: EndpointEvent): void;
}

export interface RouteEndpoint {
  /** Seals an application message from us; rejects as sealEnvelope does. */
  seal(target: PeerId, protocol: string, payload: Uint8Array): Promise<SealedEnvelope>;
  /** Opens an envelope addressed to us; `route.opened` or `route.acked` follows if it passes every check. */
  open(kind: 'msg' | 'ack', env: SealedEnvelope): void;
  /** Seals the ack for `msgId` from `origin`; `route.ack.sealed` follows. */
  sealAck(origin: PeerId, msgId: Uint8Array): void;
  /**
   * The router sent this ack (from `route.ack.sealed`) by `hop`. A later copy of the message is
   * answered by another way while one makes progress: the ack's path from here may run through
   * a crashed hop that nobody has noticed yet, for up to a heartbeat timeout.
   */
  ackSent(ack: SealedEnvelope, hop: PeerId): void;
}

/**
 * Sealed acks kept to answer copies of a message already delivered (the origin retransmits
 * until an ack reaches it, see the router). A copy comes within the origin's ack timeout, so
 * the cache needs the acks of the last ~10 s only: 512 covers ~50 routed messages per second
 * received; past that, an evicted ack's copies go unanswered and the origin times out.
 */
export const ACK_CACHE_ENTRIES = 512;

/**
 * Copies of one delivered message a target answers with its ack: at least what an origin with
 * the default settings sends, so a target that sends no copies itself (retransmitIntervalMs 0)
 * still answers other origins' copies.
 */
export function copiesAnswered(config: Pick<RouterConfig, 'ackTimeoutMs' | 'retransmitIntervalMs'>): number {
  return Math.max(maxRetransmits(config), maxRetransmits(DEFAULT_ROUTER_CONFIG));
}

interface SentAck {
  env: SealedEnvelope;
  /** Copies of the message still to be answered. */
  answers: number;
  /** The links the ack left by so far, first first. */
  hops: PeerId[];
}

export function createRouteEndpoint(options: RouteEndpointOptions): RouteEndpoint {
  const { signer, random, config, logger, report } = options;
  // Survives router restarts (the endpoint belongs to the node): a restart must not reopen the replay window.
  const replay = new ReplayWindow({ windowMs: config.replayWindowMs, maxEntries: config.replayMaxEntries });
  /**
   * By `${origin}/${msgId}`, oldest first, with the copies it may still answer (copiesAnswered),
   * so a hop replaying a message gets at most that many acks routed back for it, not one per
   * replay.
   */
  const sentAcks = new Map<string, SentAck>();
  /** The same entries by their ack envelope, for ackSent (weak: an evicted entry goes with it). */
  const byEnvelope = new WeakMap<SealedEnvelope, SentAck>();
  const copies = copiesAnswered(config);
  const ackKey = (origin: PeerId, msgId: Uint8Array) => `${origin}/${msgKey(msgId)}`;
  let opening = 0;
  // Integral ms: sentAt is a uint on the wire, and virtual time may be fractional.
  const now = () => Math.floor(options.wallClock());

  const drop = (env: SealedEnvelope, why: string, error?: unknown) =>
    logger.debug('routed envelope dropped', {
      origin: shortId(env.origin),
      msgId: msgKey(env.msgId),
      why,
      ...(error !== undefined ? { code: isPeerSockError(error) ? error.code : undefined, error: String((error as Error)?.message ?? error) } : {}),
    });

  const seal = (target: PeerId, protocol: string, payload: Uint8Array, ttl = config.ttl) =>
    sealEnvelope({ signer, random, recipient: target, protocol, payload, sentAt: now(), ttl });

  async function openChecked(kind: 'msg' | 'ack', env: SealedEnvelope): Promise<void> {
    // A copy of a message we delivered and acked: the ack again, nothing delivered. No check is
    // needed: the ack is ours, sealed for the origin, and whoever sent the copy gets nothing new.
    const acked = kind === 'msg' ? sentAcks.get(ackKey(env.origin, env.msgId)) : undefined;
    if (acked) {
      if (acked.answers <= 0) return drop(env, 'copy of a message delivered and acked as often as its origin sends');
      acked.answers -= 1;
      report({ type: 'route.ack.sealed', env: acked.env, avoid: [...acked.hops] });
      return;
    }
    const candidate = { origin: env.origin, msgId: env.msgId, sentAt: env.sentAt };
    // Known replays are refused before paying for the signature check.
    if (kind === 'msg') replay.check(candidate, now());
    const opened: OpenedMessage = await openEnvelope(env, options.recipient());
    if (kind === 'ack') {
      // Inner protocol and size are sealed by the target: a hop cannot pass a message off as an ack.
      if (opened.protocol !== ACK_PROTOCOL || opened.payload.length !== MSG_ID_BYTES) return drop(env, 'not an ack inside');
      report({ type: 'route.acked', from: opened.origin, key: msgKey(opened.payload) });
      return;
    }
    // Nor an ack (or any internal protocol not meant to be routed) off as an application message.
    if (!isApplicationProtocol(opened.protocol) && !options.internalProtocols?.has(opened.protocol)) {
      return drop(env, `internal protocol ${opened.protocol} inside a message`);
    }
    // Two copies may have passed check() while both were being verified: admit() lets one through.
    replay.admit(candidate, now());
    report({ type: 'route.opened', origin: opened.origin, protocol: opened.protocol, data: opened.payload, msgId: opened.msgId });
  }

  return {
    seal: (target, protocol, payload) => seal(target, protocol, payload),
    open(kind, env) {
      if (opening >= config.maxOpening) return drop(env, `more than ${config.maxOpening} envelopes being opened`);
      opening += 1;
      openChecked(kind, env)
        .catch((error: unknown) => drop(env, 'failed a check', error))
        .finally(() => {
          opening -= 1;
        });
    },
    ackSent(ack, hop) {
      const entry = byEnvelope.get(ack);
      if (entry && !entry.hops.includes(hop)) entry.hops.push(hop);
    },
    sealAck(origin, msgId) {
      seal(origin, ACK_PROTOCOL, msgId, config.returnTtl).then(
        (env) => {
          const entry: SentAck = { env, answers: copies, hops: [] };
          sentAcks.set(ackKey(origin, msgId), entry);
          byEnvelope.set(env, entry);
          if (sentAcks.size > ACK_CACHE_ENTRIES) sentAcks.delete(sentAcks.keys().next().value as string);
          report({ type: 'route.ack.sealed', env });
        },
        (error: unknown) => logger.debug('could not seal an ack', { origin: shortId(origin), error: String((error as Error)?.message ?? error) }),
      );
    },
  };
}
