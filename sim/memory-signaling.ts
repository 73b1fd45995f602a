import { Subject } from 'rxjs';
import { PeerSockError } from '../src/errors.js';
import type { PeerId } from '../src/identity/peer-id.js';
import type { SignalingPort } from '../src/node/signaling-port.js';
import type { Clock } from '../src/ports/clock.js';
import type { Random } from '../src/ports/random.js';
import { Registry } from '../src/signaling/registry.js';
import { withRandomRest } from '../src/signaling/sample.js';

/**
 * The signaling service of the simulator: one in-memory hub standing for every signaling
 * server, on the virtual clock. `port(peerId)` is what a node holds instead of a WebSocket
 * client: signal() relays a JSON copy of the data to the target's signals$ one latency
 * later (in order per sender/target pair) and resolves once the hub accepted it; sample()
 * answers with up to n random other registered peers. Both answer after one latency, as a
 * server round trip would.
 *
 * shutdown() takes every server down: from then on signal() and sample() reject with
 * SIGNALING_UNAVAILABLE and signals in flight are lost. restore() brings them back with the
 * registrations they had (clients re-register on reconnect). `reachable` lets a partition
 * cut the hub too: a target on the other side is unknown to the sender's server.
 */
export interface MemorySignalingHubOptions {
  clock: Clock;
  random: Random;
  /** One-way relay delay, sender to target (default 25 ms). */
  latencyMs?: number | ((from: PeerId, to: PeerId) => number);
  /** Whether `from`'s server can reach `to` (default: always). */
  reachable?(from: PeerId, to: PeerId): boolean;
}

export interface MemorySignalingStats {
  registered: number;
  signalsRelayed: number;
  signalsDelivered: number;
  /** Lost in flight: the target left or the servers went down before arrival. */
  signalsLost: number;
  signalsRejected: number;
  samples: number;
}

export interface MemorySignalingHub {
  /** Registers `peerId` and returns its port (the same one until it is closed or unregistered). */
  port(peerId: PeerId): SignalingPort;
  /** The peer vanishes from the hub; its port stops receiving. */
  unregister(peerId: PeerId): void;
  isRegistered(peerId: PeerId): boolean;
  shutdown(): void;
  restore(): void;
  readonly available: boolean;
  stats(): MemorySignalingStats;
}

const DEFAULT_SIGNALING_LATENCY_MS = 25;

interface Registration {
  peerId: PeerId;
  signals: Subject<{ from: PeerId; data: unknown }>;
  port: SignalingPort;
}

interface Relayed {
  at: number;
  from: PeerId;
  data: unknown;
  /** The hub's epoch when it was sent: a shutdown in between loses it. */
  epoch: number;
}

export function createMemorySignalingHub(options: MemorySignalingHubOptions): MemorySignalingHub {
  const { clock, random } = options;
  const latencyOption = options.latencyMs ?? DEFAULT_SIGNALING_LATENCY_MS;
  const latency = (from: PeerId, to: PeerId): number => {
    const ms = typeof latencyOption === 'number' ? latencyOption : latencyOption(from, to);
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`signaling latency must be a finite number >= 0, got ${ms}`);
    return ms;
  };
  const reachable = options.reachable ?? (() => true);
  // The server's own bookkeeping: the registered ids, those that said they are ring members
  // (samples name them first) and the members in ring order, as arrays for sample(): drawing
  // costs O(n drawn), where copying and filtering every registration cost O(N) per call (at
  // 10,000 nodes, ~300 samples per virtual second). Removal swaps the last id in: still a
  // deterministic order.
  const registered = new Registry<Registration>();
  /**
   * Partial Fisher–Yates on the seeded stream over a virtual copy of `ids` (only the swapped
   * positions are stored), skipping `self` and the unreachable: a uniform sample without
   * replacement of the other reachable peers, of up to `wanted`.
   */
  const draw = (ids: readonly PeerId[], self: PeerId, wanted: number): PeerId[] => {
    const picked: PeerId[] = [];
    const moved = new Map<number, number>();
    for (let i = 0; i < ids.length && picked.length < wanted; i += 1) {
      const j = i + Math.floor(random.float() * (ids.length - i));
      const drawn = moved.get(j) ?? j;
      moved.set(j, moved.get(i) ?? i);
      const id = ids[drawn]!;
      if (id !== self && reachable(self, id)) picked.push(id);
    }
    return picked;
  };
  // FIFO per (from, to): equal deadlines on the virtual clock fire in no promised order.
  const queues = new Map<string, Relayed[]>();
  let available = true;
  let epoch = 0;
  const counters = { signalsRelayed: 0, signalsDelivered: 0, signalsLost: 0, signalsRejected: 0, samples: 0 };

  const unavailable = () => new PeerSockError('SIGNALING_UNAVAILABLE', 'every signaling server is down');
  const after = <T>(ms: number, value: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      clock.setTimeout(() => {
        try {
          resolve(value());
        } catch (error) {
          reject(error);
        }
      }, ms);
    });

  const relay = (from: PeerId, to: PeerId, data: unknown, delay: number) => {
    const key = `${from}>${to}`;
    let queue = queues.get(key);
    if (!queue) {
      queue = [];
      queues.set(key, queue);
    }
    const last = queue.length > 0 ? queue[queue.length - 1]!.at : 0;
    queue.push({ at: Math.max(clock.now() + delay, last), from, data, epoch });
    clock.setTimeout(() => {
      const now = clock.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        const next = queue.shift()!;
        const target = registered.get(to);
        if (!target || next.epoch !== epoch || !available) {
          counters.signalsLost += 1;
          continue;
        }
        counters.signalsDelivered += 1;
        target.signals.next({ from: next.from, data: next.data });
      }
      if (queue.length === 0) queues.delete(key);
    }, queue[queue.length - 1]!.at - clock.now());
  };

  const makePort = (peerId: PeerId): Registration => {
    const signals = new Subject<{ from: PeerId; data: unknown }>();
    const self: Registration = {
      peerId,
      signals,
      port: {
        signals$: signals.asObservable(),
        signal(to, data) {
          if (!available) return Promise.reject(unavailable());
          if (registered.get(peerId) !== self) {
            return Promise.reject(new PeerSockError('SIGNAL_NOT_REGISTERED', `${peerId.slice(0, 8)} is not registered`));
          }
          const delay = latency(peerId, to);
          if (registered.get(to) === undefined || to === peerId || !reachable(peerId, to)) {
            counters.signalsRejected += 1;
            return after(delay, () => {
              throw new PeerSockError('SIGNAL_UNKNOWN_PEER', `no peer ${String(to).slice(0, 8)} is registered`);
            });
          }
          let copy: unknown;
          try {
            // A relay serialises: the receiver never shares objects with the sender.
            copy = JSON.parse(JSON.stringify(data)) as unknown;
          } catch (error) {
            return Promise.reject(new PeerSockError('SIGNAL_BAD_MESSAGE', `signal data does not serialise: ${String(error)}`));
          }
          counters.signalsRelayed += 1;
          relay(peerId, to, copy, delay);
          return after(delay, () => undefined);
        },
        sample(n, options = {}) {
          if (!available) return Promise.reject(unavailable());
          counters.samples += 1;
          const wanted = Math.max(0, Math.floor(n));
          const near = Math.max(0, Math.min(wanted, Math.floor(options.near ?? 0)));
          // As the server does: the nearest members before us first, then ring members at
          // random; any registered peers when no member is in reach.
          const nearest = near > 0 ? registered.membersNearestBefore(peerId, near, (id) => reachable(peerId, id)) : [];
          const fromMembers = wanted > 0 ? draw(registered.memberIds, peerId, wanted) : [];
          const random = fromMembers.length > 0 ? fromMembers : draw(registered.ids, peerId, wanted);
          const picked = withRandomRest(nearest, random, wanted);
          return after(latency(peerId, peerId), () => picked);
        },
        setRingMember(member) {
          if (registered.get(peerId) === self) registered.setMember(peerId, member);
        },
        async close() {
          if (registered.get(peerId) === self) registered.delete(peerId);
          signals.complete();
        },
      },
    };
    return self;
  };

  return {
    port(peerId) {
      let registration = registered.get(peerId);
      if (!registration) {
        registration = makePort(peerId);
        registered.set(peerId, registration);
      }
      return registration.port;
    },
    unregister(peerId) {
      const registration = registered.get(peerId);
      if (!registration) return;
      registered.delete(peerId);
      registration.signals.complete();
    },
    isRegistered: (peerId) => registered.get(peerId) !== undefined,
    shutdown() {
      if (!available) return;
      available = false;
      epoch += 1;
    },
    restore() {
      available = true;
    },
    get available() {
      return available;
    },
    stats: () => ({ registered: registered.size, ...counters }),
  };
}
