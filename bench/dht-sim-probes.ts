/**
 * Lookups and routed sends issued into a running simulation, each judged against the
 * simulator's own view at the moment it settles (bench/dht-sim.bench.ts says what is measured
 * and why). A probe never drives the clock: the caller advances virtual time, and outcomes are
 * recorded from the promises' callbacks, which run between clock steps at the virtual instant
 * the node settled them.
 */
import type { Subscription } from 'rxjs';
import type { SeededRandom } from '../sim/seeded-random.js';
import type { SimNodeHandle, Simulator } from '../sim/simulator.js';
import { closest } from '../src/actors/dht/xor-distance.js';
import { positionFromBytes, positionHex, type Position } from '../src/actors/ring/id-space.js';
import type { PeerId } from '../src/identity/peer-id.js';

/**
 * How a lookup ended.
 *   exact      resolved with exactly the truly closest `count` alive peers, in order
 *   firstRight resolved, first peer right, the rest not exactly the truth
 *   wrong      resolved, first peer not the truly closest alive peer
 *   rejected   the promise rejected (`code`)
 *   excluded   the origin left or crashed before it settled: no one was waiting for it
 *   pending    not settled when the run ended (a lookup must never wait forever)
 */
export type LookupResult = 'exact' | 'firstRight' | 'wrong' | 'rejected' | 'excluded' | 'pending';

/** Why a resolved lookup's first peer was wrong (see classifyMiss). */
export type MissCause = 'answeredDeparted' | 'missedJoining' | 'missedYoung' | 'missedEstablished';

export interface LookupRecord {
  origin: PeerId;
  target: Position;
  issuedAt: number;
  result: LookupResult;
  settledAt?: number;
  hops?: number;
  /** Resolved, and its first TOP peers are exactly the truly closest TOP alive peers, in order. */
  topExact?: boolean;
  code?: string;
  cause?: MissCause;
  /** answeredDeparted: how the answered first peer departed, and how long before the answer. */
  departed?: { how: DepartureKind; agoMs: number };
}

export type DepartureKind = 'crash' | 'leave';

/** A routed send: acked, failed (`code`: the reason the node gave), timeout, excluded (an end departed first), pending. */
export type SendResult = 'acked' | 'failed' | 'timeout' | 'excluded' | 'pending';

export interface SendRecord {
  from: PeerId;
  to: PeerId;
  issuedAt: number;
  result: SendResult;
  settledAt?: number;
  /** When the target's messages$ emitted it (one-way delivery), if before the send settled. */
  deliveredAt?: number;
  code?: string;
}

/** A member has finished joining: its ring actor is in `member.*` (joining nodes cannot route or look up yet). */
export const isRingMember = (node: SimNodeHandle): boolean => node.status() === 'alive' && (node.ring()?.state.startsWith('member') ?? false);

/** A missed peer joined less than this long before the answer: "young" (its DHT links are still being planned). */
export const YOUNG_MS = 60_000;

const PROBE_PROTOCOL = 'bench/probe';
/**
 * A second exactness figure, over the first few peers: the answer is one node's knowledge (its
 * links and table), so its far end is the first to be inexact; the prefix is what the
 * k-prefix of a `count = TOP` lookup would return (same answering rule, lookup-answer.ts).
 */
export const TOP = 5;

export interface ProbeOptions {
  sim: Simulator;
  random: SeededRandom;
  /** Peers asked of each lookup. */
  count: number;
  /** Virtual time each node was added (for the miss causes). */
  joinedAt: ReadonlyMap<PeerId, number>;
  /** When and how each departed node departed (for the answeredDeparted detail). */
  departedAt?: ReadonlyMap<PeerId, { at: number; how: DepartureKind }>;
}

export class DhtProbes {
  readonly lookups: LookupRecord[] = [];
  readonly sends: SendRecord[] = [];
  private readonly live = new Set<Subscription>();
  private tokens = 0;

  constructor(private readonly options: ProbeOptions) {}

  /** Nodes probes start from (and routed sends go to): alive ring members. */
  members(): SimNodeHandle[] {
    return this.options.sim.alive().filter(isRingMember);
  }

  /** One lookup of a uniformly random point from a random member; false when there is none. */
  lookup(): boolean {
    const { sim, random, count } = this.options;
    const members = this.members();
    if (members.length === 0) return false;
    const origin = members[Math.floor(random.float() * members.length)]!;
    const target = positionFromBytes(random.bytes(32));
    const record: LookupRecord = { origin: origin.id, target, issuedAt: sim.now(), result: 'pending' };
    this.lookups.push(record);
    // The runtime emits `dht.lookup` synchronously just before the promise resolves.
    let hops: number | undefined;
    const subscription = origin.node.events$.subscribe((event) => {
      if (event.type === 'dht.lookup' && event.target === target) hops = event.hops;
    });
    this.live.add(subscription);
    const done = () => {
      subscription.unsubscribe();
      this.live.delete(subscription);
      record.settledAt = sim.now();
    };
    origin.node.closestPeers({ position: target }, count).then(
      (peers) => {
        done();
        if (hops !== undefined) record.hops = hops;
        if (origin.status() !== 'alive') {
          record.result = 'excluded';
          return;
        }
        const truth = this.trulyClosest(target);
        record.topExact = sameList(peers.slice(0, TOP), truth.slice(0, TOP));
        if (peers.length > 0 && peers[0] === truth[0]) {
          record.result = sameList(peers, truth) ? 'exact' : 'firstRight';
        } else {
          record.result = 'wrong';
          record.cause = this.classifyMiss(peers[0], truth[0]!);
          const departure = record.cause === 'answeredDeparted' ? this.options.departedAt?.get(peers[0]!) : undefined;
          if (departure !== undefined) record.departed = { how: departure.how, agoMs: sim.now() - departure.at };
        }
      },
      (error: unknown) => {
        done();
        record.result = origin.status() === 'alive' ? 'rejected' : 'excluded';
        record.code = (error as { code?: string }).code ?? String(error);
      },
    );
    return true;
  }

  /** One routed send between a random pair of members with no direct link; false when none was found. */
  send(): boolean {
    const { sim, random } = this.options;
    const members = this.members();
    if (members.length < 2) return false;
    for (let attempt = 0; attempt < 16; attempt += 1) {
      const from = members[Math.floor(random.float() * members.length)]!;
      const to = members[Math.floor(random.float() * members.length)]!;
      if (from === to || from.node.peers().includes(to.id) || to.node.peers().includes(from.id)) continue;
      this.sendBetween(from, to);
      return true;
    }
    return false;
  }

  /** Stops watching every probe still open (their records stay `pending`). */
  close(): void {
    for (const subscription of this.live) subscription.unsubscribe();
    this.live.clear();
  }

  pendingCount(): number {
    return this.lookups.filter((r) => r.result === 'pending').length + this.sends.filter((r) => r.result === 'pending').length;
  }

  private sendBetween(from: SimNodeHandle, to: SimNodeHandle): void {
    const { sim } = this.options;
    const token = new Uint8Array(8);
    new DataView(token.buffer).setFloat64(0, this.tokens++);
    const record: SendRecord = { from: from.id, to: to.id, issuedAt: sim.now(), result: 'pending' };
    this.sends.push(record);
    const subscription = to.node.messages$.subscribe((message) => {
      if (message.from === from.id && message.protocol === PROBE_PROTOCOL && Buffer.from(message.data).equals(token)) record.deliveredAt ??= sim.now();
    });
    this.live.add(subscription);
    const done = () => {
      subscription.unsubscribe();
      this.live.delete(subscription);
      record.settledAt = sim.now();
    };
    // "Both alive through the send": an end that departed before the outcome makes it no measurement.
    const bothAlive = () => from.status() === 'alive' && to.status() === 'alive';
    from.node.send(to.id, PROBE_PROTOCOL, token).then(
      () => {
        done();
        record.result = bothAlive() ? 'acked' : 'excluded';
      },
      (error: unknown) => {
        done();
        record.code = (error as { code?: string }).code ?? String(error);
        record.result = !bothAlive() ? 'excluded' : record.code === 'TIMEOUT' ? 'timeout' : 'failed';
      },
    );
  }

  /** The truth: the `count` alive peers XOR-nearest `target`, from the simulator's own list. */
  private trulyClosest(target: Position): PeerId[] {
    const { sim, count } = this.options;
    return closest(target, sim.alive(), count, (node) => positionHex(node.id)).map((node) => node.id);
  }

  /**
   * Why the answer missed `truth`: its first peer has departed (a crash not yet detected, a
   * leave not yet heard of), or the truly closest peer is still joining the ring, joined less
   * than YOUNG_MS ago, or has been a member longer than that.
   */
  private classifyMiss(answered: PeerId | undefined, truth: PeerId): MissCause {
    const { sim, joinedAt } = this.options;
    const first = answered === undefined ? undefined : sim.byId(answered);
    if (first !== undefined && first.status() !== 'alive') return 'answeredDeparted';
    const missed = sim.byId(truth)!;
    if (!isRingMember(missed)) return 'missedJoining';
    return sim.now() - (joinedAt.get(truth) ?? 0) < YOUNG_MS ? 'missedYoung' : 'missedEstablished';
  }
}

function sameList(a: readonly PeerId[], b: readonly PeerId[]): boolean {
  return a.length === b.length && a.every((peer, i) => peer === b[i]);
}
