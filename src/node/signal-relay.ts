import { PeerSockError, isPeerSockError } from '../errors.js';
import type { PeerId } from '../identity/peer-id.js';
import type { Logger } from '../ports/logger.js';
import type { SignalEnvelope } from '../actors/transport/signal-envelope.js';
import type { SignalingPort } from './signaling-port.js';

/**
 * Which way a WebRTC signal goes: through a signaling server, or through the overlay as a
 * routed message (sealed for the target, signed by us, acknowledged end to end). Servers are
 * for the first introduction only (DESIGN §1): once a node is in the network, it signals its
 * new connections through the network itself, and keeps doing so when every server is gone.
 *
 * The rule, per signal:
 *   1. a reply to an attempt the remote signalled through the overlay goes back through the
 *      overlay (it reached us that way, so it is in the network), and one the remote signalled
 *      through a server goes back through a server (it may not be reachable by routing yet:
 *      a joiner is not in anyone's ring until its join completes); with no server left, overlay;
 *   2. an attempt we start, in mode 'first', goes through the overlay when `overlayReady()`
 *      (our ring is formed, so routing reaches us and the answer can find its way back), else
 *      through a server; in mode 'fallback' (the node's default), through a server while one
 *      answers. Each routed signal is a path of sealed messages and acks: over ring links alone
 *      ~n/(2r) hops, and while a network forms its DHT links are not there yet (measured: 300
 *      nodes with the DHT and 'first' had no correct ring after 197 virtual s, 25,497
 *      connections; with servers it formed at 59.9 s). So servers carry signals while they
 *      answer, and the overlay when they are gone;
 *   3. a send that fails is retried once the other way, if there is one: an overlay send (no
 *      route, no ack in time) through a server, a server send (server down, not "unknown
 *      peer", which is an answer) through the overlay.
 *      Otherwise a definite failure (no route) reaches the connection, which fails the attempt
 *      (when both ways failed, with an error naming both causes: see bothWaysFailed);
 *      a routed signal without an ack (TIMEOUT: fate unknown) does not — the connection's own
 *      timeouts cover a signal that was really lost.
 * The attempt id (`cid`) ties the signals of one attempt together; the relay remembers the
 * path of the last `maxRemembered` attempts it heard of (bounded, oldest forgotten first).
 *
 * Order: one attempt's signals (offer, then candidates) must arrive in order — the far end
 * drops a candidate for an attempt it has no offer of. Sealing is asynchronous, so sends to
 * one peer are dispatched to the router strictly in the order they were made.
 */
export type SignalPath = 'overlay' | 'server';

/** The routed protocol of overlay signals (internal: only the node runtime sends and receives it). */
export const SIGNAL_PROTOCOL = 'ps/signal';

export interface SignalRelayOptions {
  server?: SignalingPort;
  /**
   * Routes `bytes` to `to` as one sealed, acknowledged message, handing it to the router only
   * after `after` settled; resolves once handed over, with `acked`. Absent: no overlay (no ring).
   */
  overlay?: (to: PeerId, bytes: Uint8Array, after: Promise<unknown>) => Promise<{ acked: Promise<void> }>;
  /** Whether routing reaches this node now (its ring is formed). */
  overlayReady(): boolean;
  /** See rule 2 (default 'first'). */
  mode?: 'first' | 'fallback';
  /** The node's clock: a preferServer hint lasts HINT_TTL_MS (the dial it is for signals at once). */
  now(): number;
  logger: Logger;
  /** Attempts whose path is remembered (default 512). */
  maxRemembered?: number;
}

export interface SignalRelayStats {
  overlaySent: number;
  serverSent: number;
  overlayReceived: number;
  serverReceived: number;
  /** Sends that failed one way and were retried the other. */
  fellBack: number;
}

export interface SignalRelay {
  send(to: PeerId, envelope: SignalEnvelope): Promise<void>;
  /** Notes how a signal arrived: the replies of that attempt go back the same way. */
  received(path: SignalPath, data: unknown): void;
  /**
   * The next attempt we start toward `peer` goes through a server when one is up: a discovery
   * link (a peer sampled from outside our ring, to join or merge partitions) may be unreachable
   * by routing, and routing to it costs a path's worth of sealed messages either way.
   */
  preferServer(peer: PeerId): void;
  stats(): SignalRelayStats;
}

const DEFAULT_MAX_REMEMBERED = 512;
/**
 * How long a preferServer hint waits for the attempt it is for. The ring asks for a link (and
 * gives the hint) whenever it lacks one, also while a dial to that peer is under way; without an
 * expiry a hint the manager never used stayed for a later, unrelated attempt.
 */
export const HINT_TTL_MS = 5_000;

export function createSignalRelay(options: SignalRelayOptions): SignalRelay {
  const { server, overlay, logger } = options;
  const maxRemembered = options.maxRemembered ?? DEFAULT_MAX_REMEMBERED;
  const pathOf = new Map<string, SignalPath>();
  /** Peers whose next attempt should use a server, until the time given (bounded like pathOf). */
  const serverFirst = new Map<PeerId, number>();
  /** Per target: settles once the latest overlay send was handed to the router (or failed to be). */
  const dispatchTail = new Map<PeerId, Promise<unknown>>();
  const stats: SignalRelayStats = { overlaySent: 0, serverSent: 0, overlayReceived: 0, serverReceived: 0, fellBack: 0 };

  const remember = (cid: string, path: SignalPath) => {
    pathOf.delete(cid);
    pathOf.set(cid, path);
    if (pathOf.size > maxRemembered) pathOf.delete(pathOf.keys().next().value as string);
  };

  const overlayFirst = (options.mode ?? 'first') === 'first';

  const viaServer = (to: PeerId, envelope: SignalEnvelope, retry: boolean): Promise<void> => {
    if (!server) return Promise.reject(new PeerSockError('SIGNALING_UNAVAILABLE', 'no route through the overlay and no signaling server'));
    stats.serverSent += 1;
    const sent = server.signal(to, envelope);
    if (!retry || !overlay) return sent;
    return sent.catch((error: unknown) => {
      // The server answered: nobody by that id is registered. That is news about the peer (it
      // is gone, as a crashed neighbour is), not about our path; routing to it would only wait
      // for an ack that never comes, and hold up the ring's promotion of the next successor.
      if (isPeerSockError(error, 'SIGNAL_UNKNOWN_PEER')) throw error;
      stats.fellBack += 1;
      logger.debug('server signal failed; retrying through the overlay', { cid: envelope.cid, error: String((error as Error)?.message ?? error) });
      remember(envelope.cid, 'overlay');
      return viaOverlay(to, envelope, overlay, false).catch((overlayError: unknown) => {
        throw bothWaysFailed({ path: 'server', error }, { path: 'overlay', error: overlayError });
      });
    });
  };

  const choose = (to: PeerId, envelope: SignalEnvelope): SignalPath => {
    if (!overlay) return 'server';
    const heard = pathOf.get(envelope.cid);
    if (heard !== undefined) return heard === 'server' && !server ? 'overlay' : heard;
    const hintUntil = serverFirst.get(to);
    serverFirst.delete(to);
    if (hintUntil !== undefined && hintUntil >= options.now() && server) return 'server';
    if (overlayFirst && options.overlayReady()) return 'overlay';
    return server ? 'server' : 'overlay';
  };

  const viaOverlay = (to: PeerId, envelope: SignalEnvelope, route: NonNullable<typeof overlay>, retry: boolean): Promise<void> => {
    stats.overlaySent += 1;
    const bytes = encodeSignal(envelope);
    // Chained per target so the router gets this attempt's signals in the order they were made
    // (sealing runs concurrently; only the hand-over waits).
    const dispatched = route(to, bytes, dispatchTail.get(to) ?? Promise.resolve());
    const tail = dispatched.catch(() => undefined);
    dispatchTail.set(to, tail);
    void tail.then(() => {
      if (dispatchTail.get(to) === tail) dispatchTail.delete(to);
    });
    // TIMEOUT is "fate unknown": the signal may well have arrived (the ack is what got lost,
    // e.g. through a neighbour that crashed and is not yet detected). Failing the attempt for
    // it aborted connections that were about to open; a signal that really was lost is covered
    // by the connection's own signaling and connect timeouts. That holds also when the retry
    // through a server fails (servers gone): the routed copy may still have arrived.
    const unknownFate = (error: unknown) => isPeerSockError(error, 'TIMEOUT');
    const settled = (error: unknown, routedError: unknown): void => {
      if (unknownFate(routedError)) {
        logger.debug('overlay signal not acknowledged; the connection times out by itself if it was lost', { cid: envelope.cid });
        return;
      }
      throw error;
    };
    const acked = dispatched.then(({ acked: ack }) => ack);
    if (!retry || !server) return acked.catch((error: unknown) => settled(error, error));
    return acked.catch((error: unknown) => {
      stats.fellBack += 1;
      logger.debug('overlay signal failed; retrying through a server', { cid: envelope.cid, error: String((error as Error)?.message ?? error) });
      remember(envelope.cid, 'server');
      return viaServer(to, envelope, false).catch((serverError: unknown) =>
        settled(bothWaysFailed({ path: 'overlay', error }, { path: 'server', error: serverError }), error),
      );
    });
  };

  return {
    send(to, envelope) {
      const path = choose(to, envelope);
      remember(envelope.cid, path);
      return path === 'overlay' && overlay ? viaOverlay(to, envelope, overlay, true) : viaServer(to, envelope, true);
    },
    received(path, data) {
      if (path === 'overlay') stats.overlayReceived += 1;
      else stats.serverReceived += 1;
      const cid = (data as { cid?: unknown } | null)?.cid;
      if (typeof cid === 'string') remember(cid, path);
    },
    preferServer(peer) {
      serverFirst.delete(peer);
      serverFirst.set(peer, options.now() + HINT_TTL_MS);
      if (serverFirst.size > maxRemembered) serverFirst.delete(serverFirst.keys().next().value as PeerId);
    },
    stats: () => ({ ...stats }),
  };
}

/**
 * The error of a signal that failed one way and then the other. Reporting only the retry's
 * error hid the first cause: an overlay "no route" surfaced as the server's "not registered
 * with a signaling server", which sent people looking at the server. The message names both
 * ways in the order they were tried; `cause` holds both errors (an AggregateError). The code is
 * SIGNALING_UNAVAILABLE (no way carried the signal), except that a server's answer about the
 * peer (SIGNAL_UNKNOWN_PEER: nobody by that id is registered) keeps its code, which callers
 * match on.
 */
function bothWaysFailed(first: { path: SignalPath; error: unknown }, retry: { path: SignalPath; error: unknown }): PeerSockError {
  const code = isPeerSockError(retry.error, 'SIGNAL_UNKNOWN_PEER') ? 'SIGNAL_UNKNOWN_PEER' : 'SIGNALING_UNAVAILABLE';
  return new PeerSockError(code, `through the ${describeFailure(first)}; retried through the ${describeFailure(retry)}`, {
    cause: new AggregateError([first.error, retry.error], 'the signal failed both ways'),
  });
}

function describeFailure({ path, error }: { path: SignalPath; error: unknown }): string {
  const way = path === 'overlay' ? 'overlay' : 'signaling server';
  const message = error instanceof Error ? error.message : String(error);
  return isPeerSockError(error) ? `${way}: ${message} (${error.code})` : `${way}: ${message}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A signal envelope as a routed payload: JSON text (SDP is text; the envelope is validated on arrival). */
export function encodeSignal(envelope: SignalEnvelope): Uint8Array {
  return encoder.encode(JSON.stringify(envelope));
}

/** The routed payload back to data for parseSignalEnvelope; undefined when it is not JSON text. */
export function decodeSignal(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}
