import { afterEach } from 'vitest';
import { createActor, type Actor } from 'xstate';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import type { RingConfig } from '../../src/actors/ring/ring-config.js';
import type { RingMessage } from '../../src/actors/ring/ring-messages.js';
import { ringMachine } from '../../src/actors/ring/ring.machine.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { silentLogger } from '../../src/ports/logger.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock, type VirtualClock } from '../../sim/simulated-clock.js';
import { randomContacts } from '../ring/ring-model.js';

/**
 * One ring actor on a virtual clock with recording ports: what it sends (and whether the
 * transport took it: only linked peers do), whom it dials, and a set of open links the test
 * controls. For tests of the machine's rules without a network.
 */
export interface RingActorHarness {
  clock: VirtualClock;
  actor: Actor<typeof ringMachine>;
  linked: Set<PeerId>;
  sends: Array<{ at: number; to: PeerId; message: RingMessage; sent: boolean }>;
  connects: PeerId[];
  /** Each bootstrapCandidates call: how many peers and how many nearest ones it asked for. */
  sampleRequests: Array<{ n: number; near: number | undefined }>;
  successors(): PeerId[];
  from(peer: Contact, message: RingMessage): void;
  linkUp(peer: Contact): void;
  /**
   * Lets the actor send its join lookup and answers it: `via` is our successor, and its list
   * (`successors`, predecessor us) follows at once, as a first stabilization answer would.
   */
  joinBehind(via: Contact, successors: readonly Contact[]): Promise<void>;
  /**
   * Runs the clock in 100-ms steps and answers each `get` the actor sends `successor` with
   * `report()` (the successor's own successors; its predecessor: the actor), until `rounds`
   * were answered or `withinMs` passed. Returns how many it answered.
   */
  answerGets(successor: Contact, report: () => readonly Contact[], options: { rounds?: number; withinMs: number }): Promise<number>;
  stop(): void;
}

export function startRingActor(self: Contact, config: RingConfig, options: { linked: readonly PeerId[]; bootstrap: readonly PeerId[] }): RingActorHarness {
  const clock = createSimulatedClock();
  const linked = new Set<PeerId>(options.linked);
  const sends: RingActorHarness['sends'] = [];
  const connects: PeerId[] = [];
  const sampleRequests: RingActorHarness['sampleRequests'] = [];
  const actor = createActor(ringMachine, {
    clock,
    input: {
      self: self.id,
      config,
      ports: {
        clock,
        random: createSeededRandom(5),
        logger: silentLogger,
        send: (to, message) => {
          const sent = linked.has(to);
          sends.push({ at: clock.now(), to, message, sent });
          return sent;
        },
        connect: (peer) => void connects.push(peer),
        disconnect: (peer) => void linked.delete(peer),
        openPeers: () => [...linked],
        bootstrapCandidates: async (n, sampleOptions) => {
          sampleRequests.push({ n, near: sampleOptions?.near });
          return [...options.bootstrap];
        },
      },
    },
  }).start();
  return {
    clock,
    actor,
    linked,
    sends,
    connects,
    sampleRequests,
    successors: () => actor.getSnapshot().context.successors.map((c) => c.id),
    from: (peer, message) => actor.send({ type: 'ring.message', from: peer.id, message }),
    linkUp: (peer) => {
      linked.add(peer.id);
      actor.send({ type: 'link.up', peer: peer.id });
    },
    async joinBehind(via, successors) {
      await advance(clock, 0);
      const find = sends.find((s) => s.message.t === 'find');
      if (find?.message.t !== 'find') throw new Error('no join lookup was sent');
      actor.send({ type: 'ring.message', from: via.id, message: { t: 'found', rid: find.message.rid, target: find.message.target, node: via.id, path: [self.id] } });
      actor.send({ type: 'ring.message', from: via.id, message: { t: 'neighbours', predecessor: self.id, successors: successors.map((c) => c.id) } });
    },
    async answerGets(successor, report, { rounds = Infinity, withinMs }) {
      const end = clock.now() + withinMs;
      let answered = 0;
      let seen = sends.length;
      while (answered < rounds && clock.now() < end) {
        await advance(clock, 100);
        for (; seen < sends.length && answered < rounds; seen += 1) {
          const sent = sends[seen]!;
          if (sent.to !== successor.id || sent.message.t !== 'get') continue;
          actor.send({ type: 'ring.message', from: successor.id, message: { t: 'neighbours', predecessor: self.id, successors: report().map((c) => c.id) } });
          answered += 1;
        }
      }
      return answered;
    },
    stop: () => actor.stop(),
  };
}

/** Ring actors started through the returned function are stopped after each test (as closedAfterEach does simulators). */
export function ringActorsStoppedAfterEach(): typeof startRingActor {
  const started: RingActorHarness[] = [];
  afterEach(() => {
    for (const h of started.splice(0)) h.stop();
  });
  return (self, config, options) => {
    const h = startRingActor(self, config, options);
    started.push(h);
    return h;
  };
}

/**
 * A member among 9 other seeded random peers, all linked: behind others[0], with
 * others[1..r-1] after it, and others.at(-1) its predecessor (it asked with a `get`).
 * `list` is its successor list then.
 */
export async function memberWithPredecessor(start: typeof startRingActor, seed: number, config: RingConfig) {
  const [self, ...others] = sortByPosition(randomContacts(createSeededRandom(seed), 10)) as [Contact, ...Contact[]];
  const h = start(self, config, { linked: others.map((c) => c.id), bootstrap: [others[0]!.id] });
  await h.joinBehind(others[0]!, others.slice(1, config.successorListLength));
  const predecessor = others.at(-1)!;
  h.from(predecessor, { t: 'get' });
  return { h, self, others, predecessor, list: h.successors() };
}
