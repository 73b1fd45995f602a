/**
 * One DHT actor over recording ports on virtual time, for the DHT machine's tests: what it
 * sends (only over `linked` peers: a send to anyone else fails, as over a closed link), the
 * outcomes it reports, the dials and closes it asks for. Each test file adds its own views.
 */
import { createActor, type Actor } from 'xstate';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock } from '../../sim/simulated-clock.js';
import { dhtConfig, type DhtConfig } from '../../src/actors/dht/dht-config.js';
import type { DhtMessage } from '../../src/actors/dht/dht-messages.js';
import type { AnnounceOutcome, FindOutcome, ProvidedService } from '../../src/actors/dht/dht-providers.js';
import { dhtMachine, type DhtState, type LookupOutcome } from '../../src/actors/dht/dht.machine.js';
import type { KBucketTiming } from '../../src/actors/dht/k-bucket.machine.js';
import type { VerifyTag } from '../../src/actors/dht/provider-desk.js';
import type { ProviderRecord } from '../../src/actors/dht/provider-record.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { silentLogger } from '../../src/ports/logger.js';
import { createInspection } from '../../src/supervisor/inspection.js';

export interface DhtHarnessOptions {
  self: PeerId;
  /** Over dhtConfig's defaults. */
  config?: Partial<DhtConfig>;
  /** Links open before the actor starts (openPeers); they accept sends. */
  open?: PeerId[];
  ring?: PeerId[];
  /** Services the node announces when the actor starts (providedServices). */
  provided?: ProvidedService[];
  bucketTiming?: Partial<KBucketTiming>;
  /** The wall clock the provider records read: this plus virtual time (default 0). */
  wallClockAt?: number;
  /** Started with systemId 'dht' and an inspection stream (`inspection`), as in the node. */
  inspect?: boolean;
}

export interface Sent {
  to: PeerId;
  message: DhtMessage;
}

export function startDht(options: DhtHarnessOptions) {
  const clock = createSimulatedClock();
  const sent: Sent[] = [];
  /** When each of `sent` went out (virtual ms), index for index. */
  const sentAt: number[] = [];
  const answers: { rid: number; outcome: LookupOutcome }[] = [];
  const connects: PeerId[] = [];
  const disconnects: PeerId[] = [];
  const signs: { service: string; ttlMs: number; epoch: number }[] = [];
  const verifies: { from: PeerId; records: readonly ProviderRecord[]; tag: VerifyTag }[] = [];
  const announced: { service: string; epoch: number; outcome: AnnounceOutcome }[] = [];
  const found: { rid: number; outcome: FindOutcome }[] = [];
  const linked = new Set<PeerId>(options.open ?? []);
  const inspection = createInspection();
  const wallClockAt = options.wallClockAt ?? 0;
  const actor: Actor<typeof dhtMachine> = createActor(dhtMachine, {
    clock: clock.simulated,
    ...(options.inspect ? { systemId: 'dht', inspect: inspection.inspect } : {}),
    input: {
      self: options.self,
      config: dhtConfig(options.config),
      ...(options.bucketTiming ? { bucketTiming: options.bucketTiming } : {}),
      ports: {
        clock,
        random: createSeededRandom(3),
        logger: silentLogger,
        send: (to, message) => {
          if (!linked.has(to)) return false;
          sent.push({ to, message });
          sentAt.push(clock.now());
          return true;
        },
        connect: (peer) => connects.push(peer),
        disconnect: (peer) => {
          disconnects.push(peer);
          linked.delete(peer);
        },
        openPeers: () => options.open ?? [],
        ringNeighbours: () => options.ring ?? [],
        answer: (rid, outcome) => answers.push({ rid, outcome }),
        wallClock: () => wallClockAt + clock.now(),
        records: {
          sign: (service, ttlMs, epoch) => signs.push({ service, ttlMs, epoch }),
          verify: (from, _key, records, tag) => verifies.push({ from, records, tag }),
        },
        announced: (service, epoch, outcome) => announced.push({ service, epoch, outcome }),
        found: (rid, outcome) => found.push({ rid, outcome }),
        providedServices: () => options.provided ?? [],
      },
    },
  });
  actor.start();
  return {
    actor,
    clock,
    sent,
    sentAt,
    answers,
    connects,
    disconnects,
    signs,
    verifies,
    announced,
    found,
    linked,
    inspection,
    /** The messages of one type sent so far, in order. */
    of: <T extends DhtMessage['t']>(t: T) => sent.filter((s) => s.message.t === t) as { to: PeerId; message: Extract<DhtMessage, { t: T }> }[],
    /** A link opens (it accepts sends from now on). */
    up: (peer: PeerId) => {
      linked.add(peer);
      actor.send({ type: 'link.up', peer });
    },
    /** A link closes: failed (a crash noticed) unless `failed` is false (a graceful close). */
    down: (peer: PeerId, failed = true) => {
      linked.delete(peer);
      actor.send({ type: 'link.down', peer, failed });
    },
    /** A message from `from` arrives. */
    receive: (from: PeerId, message: DhtMessage) => actor.send({ type: 'dht.message', from, message }),
    state: (): DhtState => actor.getSnapshot().context.state,
  };
}

export type DhtHarness = ReturnType<typeof startDht>;
