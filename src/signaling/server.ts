import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { nativeVerify } from '../crypto/ed25519-native.js';
import { isPeerId, publicKeyOf, type PeerId } from '../identity/peer-id.js';
import { createSystemClock, type Clock, type TimerHandle } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import {
  CloseCode,
  DEFAULT_MAX_MESSAGE_BYTES,
  NONCE_BYTES,
  encode,
  parseClientMessage,
  registerMessageBytes,
  type ClientMessage,
  type ServerMessage,
  type SignalErrorCode,
} from './protocol.js';
import { Registry } from './registry.js';
import { pickRandom, withRandomRest } from './sample.js';
import { addStrike, createBucket, take, type RateLimit, type Strikes, type TokenBucket } from './token-bucket.js';

/**
 * Test seam for man-in-the-middle experiments: sees every relayed signal and may rewrite
 * its target and data, or drop it (null). It exists so attack tests can play a malicious
 * server; it grants nothing a real malicious server could not do anyway, which is why
 * peers never trust what the server relays and authenticate each other end to end.
 */
export type RelayFilter = (
  from: PeerId,
  to: PeerId,
  data: unknown,
) => { to: PeerId; data: unknown; /** Claim another sender, as a lying server would. */ from?: PeerId } | null;

export interface SignalingServerOptions {
  /** 0 (default) picks an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Open WebSockets beyond this are told SIGNAL_SERVER_FULL and closed with 1013. Default 10,000. */
  maxConnections?: number;
  /** Largest frame; beyond it ws closes the socket with 1009. Default 64 KiB. */
  maxMessageBytes?: number;
  /** Per-connection token bucket, one token per message. Default 50/s, burst 100. */
  rateLimit?: RateLimit;
  /** Bad or rate-limited messages (leaking one per strikeDecayMs) before the socket is closed. Default 10. */
  maxStrikes?: number;
  strikeDecayMs?: number;
  /** Connections that have not registered by then are closed (4002). Default 10 s. */
  registerTimeoutMs?: number;
  /** Most PeerIds one sample answer carries. Default 32. */
  sampleMax?: number;
  /** Ping period; a socket that has not answered the previous ping is dropped. Default 30 s. */
  heartbeatMs?: number;
  /** A target whose unsent backlog exceeds this is not reading: it is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  logger?: Logger;
  /** Timers and time for rate limits; defaults to the system clock. */
  clock?: Clock;
  relayFilter?: RelayFilter;
}

export interface SignalingServerStats {
  /** Open WebSockets, registered or not. */
  connections: number;
  registered: number;
  /** Signals handed to a target socket since start. */
  relayed: number;
  /** Error replies sent plus connections refused, since start. */
  rejected: number;
}

export interface SignalingServer {
  /** ws://host:port */
  readonly url: string;
  readonly port: number;
  /** Terminates every socket; resolves once the port is released. Idempotent. */
  close(): Promise<void>;
  stats(): SignalingServerStats;
}

interface Connection {
  readonly socket: WebSocket;
  readonly nonce: string;
  readonly remote: string;
  peerId: PeerId | undefined;
  readonly bucket: TokenBucket;
  readonly strikes: Strikes;
  alive: boolean;
  closing: boolean;
  timer: TimerHandle | undefined;
}

const CLOSE_GRACE_MS = 1_000;

export async function startSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const host = options.host ?? '127.0.0.1';
  const maxConnections = options.maxConnections ?? 10_000;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const rateLimit = options.rateLimit ?? { perSecond: 50, burst: 100 };
  const maxStrikes = options.maxStrikes ?? 10;
  const strikeDecayMs = options.strikeDecayMs ?? 10_000;
  const registerTimeoutMs = options.registerTimeoutMs ?? 10_000;
  const sampleMax = options.sampleMax ?? 32;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const clock = options.clock ?? createSystemClock();
  const log = (options.logger ?? silentLogger).child({ component: 'signaling-server' });
  const relayFilter = options.relayFilter;

  const connections = new Set<Connection>();
  const registry = new Registry<Connection>();
  const counters = { relayed: 0, rejected: 0 };
  let closed = false;
  let closing: Promise<void> | undefined;

  // Our own HTTP server (not ws's) so close() can drop half-open HTTP connections too.
  const http: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('peersock signaling: WebSocket only\n');
  });
  http.headersTimeout = 10_000;
  http.requestTimeout = 10_000;
  const wss = new WebSocketServer({ server: http, maxPayload: maxMessageBytes });
  wss.on('error', (error) => log.warn('websocket server error', { error: String(error) }));
  wss.on('connection', (socket, request) => onConnection(socket, request));

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  http.on('error', (error) => log.warn('http server error', { error: String(error) }));
  const port = (http.address() as AddressInfo).port;
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('listening', { url });

  let heartbeat: TimerHandle | undefined = clock.setTimeout(beat, heartbeatMs);

  function beat(): void {
    heartbeat = undefined;
    if (closed) return;
    for (const conn of connections) {
      if (!conn.alive) {
        log.debug('dropping unresponsive socket', { remote: conn.remote, peer: conn.peerId });
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.socket.ping();
      } catch {
        conn.socket.terminate();
      }
    }
    heartbeat = clock.setTimeout(beat, heartbeatMs);
  }

  function onConnection(socket: WebSocket, request: IncomingMessage): void {
    const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
    socket.on('error', (error: Error & { code?: string }) => {
      // ws has already closed the socket (1009) for an oversized frame; count the refusal.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') counters.rejected++;
      log.debug('socket error', { remote, error: String(error) });
    });
    if (closed) {
      socket.terminate();
      return;
    }
    if (connections.size >= maxConnections) {
      counters.rejected++;
      log.warn('connection refused: server full', { remote, maxConnections });
      sendTo(socket, { t: 'error', code: 'SIGNAL_SERVER_FULL', message: `server full (${maxConnections} connections); try another server or later` });
      socket.close(CloseCode.tryAgainLater, 'server full');
      const grace = clock.setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
      socket.once('close', () => clock.clearTimeout(grace));
      return;
    }
    const now = clock.now();
    const conn: Connection = {
      socket,
      nonce: Buffer.from(randomBytes(NONCE_BYTES)).toString('hex'),
      remote,
      peerId: undefined,
      bucket: createBucket(rateLimit, now),
      strikes: { count: 0, updatedAt: now },
      alive: true,
      closing: false,
      timer: undefined,
    };
    connections.add(conn);
    conn.timer = clock.setTimeout(() => {
      conn.timer = undefined;
      if (conn.peerId === undefined) closeConnection(conn, CloseCode.registerTimeout, 'no registration in time');
    }, registerTimeoutMs);
    socket.on('pong', () => {
      conn.alive = true;
    });
    socket.on('message', (raw, isBinary) => {
      try {
        onMessage(conn, raw, isBinary);
      } catch (error) {
        // A bug here must cost one connection, never the server.
        log.error('message handler failed', { remote, error: String(error) });
        closeConnection(conn, CloseCode.policyViolation, 'internal error');
      }
    });
    socket.on('close', (code) => {
      connections.delete(conn);
      if (conn.timer !== undefined) clock.clearTimeout(conn.timer);
      conn.timer = undefined;
      if (conn.peerId !== undefined && registry.get(conn.peerId) === conn) registry.delete(conn.peerId);
      log.debug('socket closed', { remote, peer: conn.peerId, code });
    });
    send(conn, { t: 'challenge', nonce: conn.nonce });
  }

  function onMessage(conn: Connection, raw: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    conn.alive = true;
    if (!take(conn.bucket, rateLimit, clock.now())) {
      const parsed = isBinary ? undefined : parseClientMessage(rawText(raw));
      const rid = parsed === undefined ? undefined : parsed.ok ? ridOf(parsed.value) : parsed.rid;
      reject(conn, 'SIGNAL_RATE_LIMITED', `more than ${rateLimit.perSecond} messages/s (burst ${rateLimit.burst})`, rid);
      strike(conn);
      return;
    }
    if (isBinary) {
      reject(conn, 'SIGNAL_BAD_MESSAGE', 'binary frames are not part of the protocol; send JSON text');
      strike(conn);
      return;
    }
    const parsed = parseClientMessage(rawText(raw));
    if (!parsed.ok) {
      reject(conn, 'SIGNAL_BAD_MESSAGE', parsed.reason, parsed.rid);
      strike(conn);
      return;
    }
    const message = parsed.value;
    if (message.t === 'register') {
      onRegister(conn, message.id, message.sig);
      return;
    }
    const from = conn.peerId;
    if (from === undefined) {
      reject(conn, 'SIGNAL_NOT_REGISTERED', `register before sending ${message.t}`, ridOf(message));
      strike(conn);
      return;
    }
    if (message.t === 'signal') onSignal(conn, from, message);
    else if (message.t === 'member') registry.setMember(from, message.on);
    else onSample(conn, from, message.n, message.near ?? 0, message.rid);
  }

  function onRegister(conn: Connection, id: PeerId, sigHex: string): void {
    if (conn.peerId !== undefined) {
      reject(conn, 'SIGNAL_BAD_MESSAGE', `this connection is already registered as ${conn.peerId}`);
      strike(conn);
      return;
    }
    const signature = new Uint8Array(Buffer.from(sigHex, 'hex'));
    if (!nativeVerify(publicKeyOf(id), registerMessageBytes(conn.nonce), signature)) {
      log.info('registration refused: bad signature', { remote: conn.remote, claimed: id });
      reject(conn, 'SIGNAL_REGISTRATION_FAILED', 'the signature does not prove the key of the claimed PeerId for this challenge');
      closeConnection(conn, CloseCode.registrationFailed, 'registration failed');
      return;
    }
    if (conn.timer !== undefined) clock.clearTimeout(conn.timer);
    conn.timer = undefined;
    const previous = registry.get(id);
    if (previous !== undefined && previous !== conn) {
      log.info('registration replaced by a newer connection', { peer: id, old: previous.remote, new: conn.remote });
      registry.delete(id);
      reject(previous, 'SIGNAL_ALREADY_REGISTERED', 'this PeerId registered again on another connection, which replaces this one');
      closeConnection(previous, CloseCode.replaced, 'replaced by a newer registration');
    }
    conn.peerId = id;
    registry.set(id, conn);
    send(conn, { t: 'registered', id });
  }

  function onSignal(conn: Connection, verifiedFrom: PeerId, message: Extract<ClientMessage, { t: 'signal' }>): void {
    let from = verifiedFrom;
    let to: PeerId = message.to;
    let data: unknown = message.data;
    if (relayFilter !== undefined) {
      let verdict: ReturnType<RelayFilter>;
      try {
        verdict = relayFilter(from, to, data);
      } catch (error) {
        log.warn('relayFilter threw; dropping the signal', { error: String(error) });
        verdict = null;
      }
      if (verdict === null || !isPeerId(verdict.to)) {
        // Dropped silently, as a hostile server would: the sender still sees an ack.
        if (message.rid !== undefined) send(conn, { t: 'relayed', rid: message.rid });
        return;
      }
      ({ to, data } = verdict);
      if (verdict.from !== undefined && isPeerId(verdict.from)) from = verdict.from;
    }
    const target = registry.get(to);
    if (target === undefined || target.closing) {
      reject(conn, 'SIGNAL_UNKNOWN_PEER', `no peer ${to} is registered here`, message.rid);
      return;
    }
    if (target.socket.bufferedAmount > maxBufferedBytes) {
      log.warn('dropping a peer that does not read its socket', { peer: to, buffered: target.socket.bufferedAmount });
      registry.delete(to);
      target.closing = true;
      target.socket.terminate();
      reject(conn, 'SIGNAL_UNKNOWN_PEER', `peer ${to} stopped reading and was dropped`, message.rid);
      return;
    }
    let frame: string;
    try {
      frame = JSON.stringify({ t: 'signal', from, data });
    } catch (error) {
      reject(conn, 'SIGNAL_BAD_MESSAGE', `signal data cannot be serialised: ${String(error)}`, message.rid);
      return;
    }
    target.socket.send(frame);
    counters.relayed++;
    if (message.rid !== undefined) send(conn, { t: 'relayed', rid: message.rid });
  }

  /**
   * The members nearest before the asker (up to `near`), then ring members other than the asker
   * at random when there are any (a joiner needs one as its way in), otherwise any peers.
   */
  function onSample(conn: Connection, self: PeerId, n: number, near: number, rid: string): void {
    const wanted = Math.min(n, sampleMax);
    const nearest = registry.membersNearestBefore(self, Math.min(near, wanted));
    const otherMembers = registry.memberIds.length - (registry.isMember(self) ? 1 : 0);
    const pool = otherMembers > 0 ? registry.memberIds : registry.ids;
    // `wanted` drawn, so enough remain once those already named are dropped.
    const random = nearest.length < wanted ? pickRandom(pool, wanted, self, (max) => randomInt(max)) : [];
    send(conn, { t: 'sample', rid, peers: withRandomRest(nearest, random, wanted) });
  }

  function reject(conn: Connection, code: SignalErrorCode, message: string, rid?: string): void {
    counters.rejected++;
    send(conn, rid === undefined ? { t: 'error', code, message } : { t: 'error', code, message, rid });
  }

  function strike(conn: Connection): void {
    if (addStrike(conn.strikes, strikeDecayMs, clock.now()) >= maxStrikes) {
      log.info('closing an abusive connection', { remote: conn.remote, peer: conn.peerId });
      closeConnection(conn, CloseCode.policyViolation, 'too many bad or rate-limited messages');
    }
  }

  function closeConnection(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    if (conn.peerId !== undefined && registry.get(conn.peerId) === conn) registry.delete(conn.peerId);
    if (conn.timer !== undefined) clock.clearTimeout(conn.timer);
    // Close politely so the error reply is flushed, but do not wait on a peer that never answers.
    conn.timer = clock.setTimeout(() => {
      conn.timer = undefined;
      conn.socket.terminate();
    }, CLOSE_GRACE_MS);
    conn.socket.close(code, reason);
  }

  function send(conn: Connection, message: ServerMessage): void {
    sendTo(conn.socket, message);
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      closed = true;
      if (heartbeat !== undefined) clock.clearTimeout(heartbeat);
      heartbeat = undefined;
      for (const conn of connections) {
        if (conn.timer !== undefined) clock.clearTimeout(conn.timer);
        conn.timer = undefined;
      }
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      log.info('closed', { url });
    })();
    return closing;
  }

  return {
    url,
    port,
    close,
    stats: () => ({ connections: connections.size, registered: registry.size, relayed: counters.relayed, rejected: counters.rejected }),
  };
}

function sendTo(socket: WebSocket, message: ServerMessage): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(encode(message));
}

function rawText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

function ridOf(message: ClientMessage): string | undefined {
  return message.t === 'register' || message.t === 'member' ? undefined : message.rid;
}
