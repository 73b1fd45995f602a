/**
 * The heartbeat of every open connection of a node at once, one timer per node: a keepalive
 * where nothing else went out (PeerChannel.keepAlive), and word of each connection whose peer
 * sent nothing for heartbeatTimeoutMs. A silent peer is noticed within (timeout, timeout +
 * interval] of its last frame, as with a timer per link. Links the node does not watch get
 * unwatchedTimeoutMs, and their remotes, told so by `ps/watch`, keep them alive
 * unwatchedHeartbeatFactor times less often.
 *
 * A callback actor the connection manager invokes while it runs, not a delayed transition of
 * the manager: a tick changes no state of the manager, and as an `after` transition every tick
 * was a macrostep of the manager's machine (exit, entry, a new delayed event, a new snapshot) for
 * every node every interval — 15% of a simulated node's actor events at rest. Only a silent peer
 * reaches the manager, as `heartbeat.silent`, which it hands to that peer's connection actor.
 */
import { fromCallback, type EventObject } from 'xstate';
import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import { unwatchedTimeoutMs, type ConnectionConfig } from './connection-config.js';
import type { PeerChannel } from './peer-channel.js';

export interface HeartbeatInput {
  /** The manager's live channels (the same Map: the beat always sees the current set). */
  channels: ReadonlyMap<PeerId, PeerChannel>;
  config: ConnectionConfig;
  clock: Clock;
  /** Whether this node needs `peer`'s failure noticed quickly (the manager's reading of TransportPorts.watched). */
  watched(peer: PeerId): boolean;
}

/** To the manager: `peer` fell silent; or the beat threw (the manager fails on it, as it did when the beat was its own action). */
export type HeartbeatEvent = { type: 'heartbeat.silent'; peer: PeerId } | { type: 'heartbeat.failed'; error: unknown };

/** One beat over `input.channels` at `now`: keeps the live ones alive and returns the silent ones. */
function beat(input: HeartbeatInput, now: number): PeerId[] {
  const { heartbeatTimeoutMs, unwatchedHeartbeatFactor } = input.config;
  const unwatchedTimeout = unwatchedTimeoutMs(input.config);
  const silent: PeerId[] = [];
  for (const [peer, channel] of input.channels) {
    if (!channel.authenticated) continue;
    channel.setWatching(input.watched(peer));
    const timeout = channel.watching ? heartbeatTimeoutMs : unwatchedTimeout;
    if (channel.silentFor(now) > timeout) silent.push(peer);
    else channel.keepAlive(unwatchedHeartbeatFactor);
  }
  return silent;
}

export const heartbeatActor = fromCallback<EventObject, HeartbeatInput>(({ input, sendBack }) => {
  const { clock } = input;
  const interval = input.config.heartbeatIntervalMs;
  let timer: unknown;
  const tick = () => {
    let silent: PeerId[];
    try {
      silent = beat(input, clock.now());
    } catch (error) {
      // Not re-armed: the manager fails on this, and a restarted one invokes a fresh beat.
      sendBack({ type: 'heartbeat.failed', error } satisfies HeartbeatEvent);
      return;
    }
    timer = clock.setTimeout(tick, interval);
    for (const peer of silent) sendBack({ type: 'heartbeat.silent', peer } satisfies HeartbeatEvent);
  };
  timer = clock.setTimeout(tick, interval);
  return () => clock.clearTimeout(timer);
});
