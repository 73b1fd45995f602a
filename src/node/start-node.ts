import { BehaviorSubject, Subject, filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { createActor, type Actor, type AnyActorRef } from 'xstate';
import { DEFAULT_CONNECTION_CONFIG, validateConnectionConfig, type ConnectionConfig } from '../actors/transport/connection-config.js';
import {
  connectionManagerMachine,
  type ConnectionManagerInput,
  type TransportNotice,
  type TransportPorts,
} from '../actors/transport/connection-manager.machine.js';
import type { InboundMessage, PeerChannel } from '../actors/transport/peer-channel.js';
import { createCryptoPort } from '../crypto/crypto-port.js';
import { PeerSockError, isPeerSockError, type ErrorCode } from '../errors.js';
import { generateIdentity, type Identity } from '../identity/identity.js';
import { loadOrCreateIdentity } from '../identity/key-store.js';
import { parsePeerId, type PeerId } from '../identity/peer-id.js';
import { createSystemClock, type Clock } from '../ports/clock.js';
import type { CryptoPort } from '../ports/crypto.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { createSystemRandom, type Random } from '../ports/random.js';
import type { LinkTransport } from '../ports/transport.js';
import { createSignalingClient, type SignalingClient } from '../signaling/client.js';
import { createInspection, type ActorStateView, type TraceEvent } from '../supervisor/inspection.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from '../supervisor/restart-policy.js';
import { supervisorMachine } from '../supervisor/supervisor.machine.js';
import { createWebRtcTransport } from '../transport/webrtc-transport.js';

export interface StartNodeOptions {
  /** Signaling server URLs (`ws://host:port`) used to find first peers; any one that answers will do. */
  signaling?: readonly string[];
  /** Directory holding `identity.json` (created, mode 0600). Without it the identity lives only in memory. */
  dataDir?: string;
  /** Use this identity instead of one from `dataDir`. */
  identity?: Identity;
  /** Most simultaneous connections (any state). Default 64. */
  maxConnections?: number;
  /** Most inbound connections still being set up (not yet authenticated). Default 16. */
  maxPendingInbound?: number;
  /** Timeouts, heartbeat, budgets and wire limits of each connection. */
  connection?: Partial<ConnectionConfig>;
  /** How the supervisor restarts failed subsystems. */
  restartPolicy?: Partial<RestartPolicy>;
  /** Upper bound on `connect()` when the caller gives none. Default 60 s. */
  connectTimeoutMs?: number;
  /** ICE: local address to gather candidates on (e.g. 127.0.0.1) and STUN/TURN servers. */
  bindAddress?: string;
  iceServers?: string[];
  /** Worker threads verifying signatures. Default: cores, at most 4. */
  verifyThreads?: number;
  logger?: Logger;
  /** Ports, for the simulator and tests; production ones are made when omitted. */
  clock?: Clock;
  random?: Random;
  transport?: LinkTransport;
  crypto?: CryptoPort;
}

export type NodeEvent =
  | TransportNotice
  | { type: 'peer.violation'; peer: PeerId; code: ErrorCode; message: string }
  | { type: 'node.failed'; code: ErrorCode; message: string };

export interface PeerSockNode {
  readonly id: PeerId;
  /** Resolves once an authenticated connection to `peer` is open; rejects with a coded PeerSockError. */
  connect(peer: PeerId | string, options?: { timeoutMs?: number }): Promise<void>;
  /** Closes the connection gracefully (the remote is told). Resolves when it is gone. */
  disconnect(peer: PeerId | string): Promise<void>;
  /**
   * Resolves when the frame is handed to the channel; waits while the channel's byte
   * budget is used up; rejects with NOT_CONNECTED, BACKPRESSURE, SEND_TIMEOUT,
   * MESSAGE_TOO_LARGE or INVALID_PROTOCOL.
   */
  send(peer: PeerId | string, protocol: string, data: Uint8Array): Promise<void>;
  /** Application messages from authenticated peers (hot: nothing is buffered for late subscribers). */
  readonly messages$: Observable<InboundMessage>;
  /** PeerIds with an open, authenticated connection. */
  readonly peers$: Observable<readonly PeerId[]>;
  peers(): readonly PeerId[];
  /** Connection lifecycle, refusals, protocol violations, supervisor escalation. */
  readonly events$: Observable<NodeEvent>;
  /** Every actor event and state change, with stable actor ids. */
  readonly inspect$: Observable<TraceEvent>;
  /** State of every live actor, keyed by stable id. */
  readonly states$: Observable<ReadonlyMap<string, ActorStateView>>;
  states(): ReadonlyMap<string, ActorStateView>;
  /** Up to n random PeerIds registered at the signaling server (bootstrap). */
  samplePeers(n: number): Promise<PeerId[]>;
  /** Graceful: closes channels (telling peers), the signaling session and worker threads. */
  stop(): Promise<void>;
}

/** Starts a node: identity, worker pool, signaling session and the supervised actor tree. */
export async function startNode(options: StartNodeOptions = {}): Promise<PeerSockNode> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? createSystemClock();
  const random = options.random ?? createSystemRandom();
  const identity =
    options.identity ?? (options.dataDir !== undefined ? await loadOrCreateIdentity(options.dataDir) : generateIdentity());
  const config: ConnectionConfig = validateConnectionConfig({ ...DEFAULT_CONNECTION_CONFIG, ...options.connection });
  const crypto =
    options.crypto ??
    createCryptoPort({ identity, poolOptions: options.verifyThreads ? { threads: options.verifyThreads } : {} });
  const transport =
    options.transport ??
    createWebRtcTransport({
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
      ...(options.iceServers ? { iceServers: options.iceServers } : {}),
    });

  const signaling: SignalingClient | undefined =
    options.signaling && options.signaling.length > 0
      ? createSignalingClient({ urls: options.signaling, crypto, clock, random, logger: logger.child({ part: 'signaling' }) })
      : undefined;
  try {
    await signaling?.start();
  } catch (error) {
    await Promise.allSettled([signaling?.close(), transport.close(), crypto.close()]);
    throw error;
  }

  const messages = new Subject<InboundMessage>();
  const events = new Subject<NodeEvent>();
  const openPeers = new BehaviorSubject<readonly PeerId[]>([]);
  const channels = new Map<PeerId, PeerChannel>();
  const inspection = createInspection();

  const ports: TransportPorts = {
    transport,
    crypto,
    random,
    clock,
    logger: logger.child({ part: 'transport' }),
    sendSignal: (to, envelope) =>
      signaling
        ? signaling.signal(to, envelope)
        : Promise.reject(new PeerSockError('SIGNALING_UNAVAILABLE', 'this node was started without signaling servers')),
    notify: (notice) => {
      if (notice.type === 'peer.open') openPeers.next([...openPeers.value.filter((p) => p !== notice.peer), notice.peer]);
      if (notice.type === 'peer.closed') openPeers.next(openPeers.value.filter((p) => p !== notice.peer));
      events.next(notice);
    },
    deliver: (message) => messages.next(message),
    reportViolation: (peer, error) => {
      logger.debug('protocol violation', { peer, code: error.code, message: error.message });
      events.next({ type: 'peer.violation', peer, code: error.code, message: error.message });
    },
  };

  const managerInput: ConnectionManagerInput = {
    self: identity.peerId,
    maxConnections: options.maxConnections ?? 64,
    maxPendingInbound: options.maxPendingInbound ?? 16,
    config,
    ports,
    channels,
  };
  const root: Actor<typeof supervisorMachine> = createActor(supervisorMachine, {
    input: {
      children: [{ id: 'transport', systemId: 'transport', logic: connectionManagerMachine, input: managerInput }],
      policy: { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy },
      now: () => clock.now(),
      logger: logger.child({ part: 'supervisor' }),
    },
    clock,
    inspect: inspection.inspect,
    systemId: 'root',
  });
  // Set when the supervisor escalates: the node can no longer serve, and says why.
  let failure: PeerSockError | undefined;
  root.subscribe({
    error: (error) => {
      const code = isPeerSockError(error) ? error.code : 'SUPERVISOR_ESCALATED';
      const message = String((error as Error)?.message ?? error);
      failure = new PeerSockError(code, `the node failed: ${message}`, { cause: error });
      logger.error('node failed', { code, message });
      openPeers.next([]);
      events.next({ type: 'node.failed', code, message });
    },
  });
  root.start();

  const manager = (): AnyActorRef | undefined => root.system.get('transport');
  const signalSubscription = signaling?.signals$.subscribe(({ from, data }) => {
    manager()?.send({ type: 'signal.in', from, data });
  });

  let stopped = false;
  const unavailable = (): PeerSockError | undefined =>
    failure ?? (stopped ? new PeerSockError('NODE_STOPPED', 'the node has been stopped') : undefined);
  const assertRunning = () => {
    const error = unavailable();
    if (error) throw error;
  };

  /** The next notice that settles a wait on `peer`; the node failing or stopping settles it too. */
  const outcomeFor = (peer: PeerId) =>
    events.pipe(
      filter(
        (event): event is TransportNotice | Extract<NodeEvent, { type: 'node.failed' }> =>
          event.type === 'node.failed' ||
          ('peer' in event && event.peer === peer && event.type !== 'peer.connecting' && event.type !== 'peer.violation'),
      ),
    );
  const settledBy = <T>(waiting: Promise<T | undefined>): Promise<T> =>
    waiting.then((value) => {
      if (value === undefined) throw unavailable() ?? new PeerSockError('NODE_STOPPED', 'the node has been stopped');
      return value;
    });

  async function connect(peerText: PeerId | string, connectOptions: { timeoutMs?: number } = {}): Promise<void> {
    assertRunning();
    const peer = parsePeerId(peerText);
    if (openPeers.value.includes(peer)) return;
    const timeoutMs = connectOptions.timeoutMs ?? options.connectTimeoutMs ?? 60_000;
    const outcome = settledBy(
      firstValueFrom(
        outcomeFor(peer).pipe(
          timeout({
            first: timeoutMs,
            with: () => {
              throw new PeerSockError('TIMEOUT', `no connection to ${peer} within ${timeoutMs} ms`);
            },
          }),
        ),
        { defaultValue: undefined },
      ),
    );
    manager()?.send({ type: 'connect', peer });
    const notice = await outcome.catch((error: unknown) => {
      if (isPeerSockError(error, 'TIMEOUT')) manager()?.send({ type: 'disconnect', peer });
      throw error;
    });
    if (notice.type === 'peer.open') return;
    if (notice.type === 'node.failed' || stopped) throw unavailable()!;
    if (notice.type === 'connect.refused') throw new PeerSockError(notice.code, notice.message);
    if (notice.type === 'peer.closed') {
      const failure = notice.failure ?? { code: 'LINK_CLOSED' as const, message: 'connection closed before it opened' };
      throw new PeerSockError(failure.code, `connection to ${peer} failed: ${failure.message}`);
    }
  }

  async function disconnect(peerText: PeerId | string): Promise<void> {
    assertRunning();
    const peer = parsePeerId(peerText);
    if (!channels.has(peer)) return;
    const closed = firstValueFrom(outcomeFor(peer).pipe(filter((event) => event.type === 'peer.closed'), timeout(config.closeTimeoutMs * 3)));
    manager()?.send({ type: 'disconnect', peer });
    await closed.catch(() => undefined);
  }

  function send(peerText: PeerId | string, protocol: string, data: Uint8Array): Promise<void> {
    if (stopped || failure) return Promise.reject(unavailable());
    // The common case is an exact PeerId we hold a channel for; parse only otherwise.
    let channel = channels.get(peerText as PeerId);
    let peer = peerText as PeerId;
    if (!channel) {
      try {
        peer = parsePeerId(peerText);
      } catch (error) {
        return Promise.reject(error);
      }
      channel = channels.get(peer);
    }
    if (!channel) return Promise.reject(new PeerSockError('NOT_CONNECTED', `no connection to ${peer}; call connect() first`));
    return channel.send(protocol, data);
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    const transportActor = manager();
    if (transportActor && transportActor.getSnapshot().status === 'active') {
      const drained = new Promise<void>((resolve) => {
        const subscription = transportActor.subscribe({
          next: (snapshot) => {
            if (snapshot.status !== 'active') {
              subscription.unsubscribe();
              resolve();
            }
          },
          complete: resolve,
          error: () => resolve(),
        });
      });
      transportActor.send({ type: 'shutdown' });
      await drained;
    }
    signalSubscription?.unsubscribe();
    root.stop();
    await Promise.allSettled([signaling?.close(), transport.close(), crypto.close()]);
    inspection.complete();
    messages.complete();
    events.complete();
    openPeers.complete();
  }

  return {
    id: identity.peerId,
    connect,
    disconnect,
    send,
    messages$: messages.asObservable(),
    peers$: openPeers.asObservable(),
    peers: () => openPeers.value,
    events$: events.asObservable(),
    inspect$: inspection.events$,
    states$: inspection.snapshots$,
    states: () => inspection.snapshot(),
    samplePeers: async (n) => {
      assertRunning();
      if (!signaling) throw new PeerSockError('SIGNALING_UNAVAILABLE', 'this node was started without signaling servers');
      return (await signaling.sample(n)).filter((peer) => peer !== identity.peerId);
    },
    stop,
  };
}

export type { InboundMessage } from '../actors/transport/peer-channel.js';
