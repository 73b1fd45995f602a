import { createActor, type Actor } from 'xstate';
import { contactOf, sortByPosition, type Contact } from '../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG } from '../src/actors/ring/ring-config.js';
import type { RingMessage } from '../src/actors/ring/ring-messages.js';
import { ringMachine } from '../src/actors/ring/ring.machine.js';
import type { PeerId } from '../src/identity/peer-id.js';
import { silentLogger } from '../src/ports/logger.js';
import { advance } from '../sim/drive.js';
import { createSeededRandom, type SeededRandom } from '../sim/seeded-random.js';
import { createSimulatedClock } from '../sim/simulated-clock.js';

/**
 * Ring actors settled as members, each alone on its own virtual clock with ports that only
 * count: the real ring machine, without a network. Each has a full successor list behind
 * `successors[0]` (predecessor: `predecessor`) and a link to every peer it knows.
 */
export interface SettledRingActor {
  actor: Actor<typeof ringMachine>;
  self: Contact;
  predecessor: Contact;
  /** In ring order after `self`. */
  successors: Contact[];
  /** Messages the actor sent (the transport took every one: all its peers are linked). */
  sent: number;
  /** Links it asked for or closed: none once settled. */
  dials: number;
}

/** `count` ring actors, each with `successorListLength` successors and a predecessor, joined and settled. */
export async function settledRingActors(count: number, seed = 1): Promise<SettledRingActor[]> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const random = createSeededRandom(seed);
  const r = DEFAULT_RING_CONFIG.successorListLength;
  const settled: SettledRingActor[] = [];
  for (let i = 0; i < count; i += 1) settled.push(await settle(randomContacts(random, r + 2), r));
  return settled;
}

async function settle(contacts: Contact[], r: number): Promise<SettledRingActor> {
  const [self, ...after] = sortByPosition(contacts) as [Contact, ...Contact[]];
  const successors = after.slice(0, r);
  const predecessor = after[r]!;
  const clock = createSimulatedClock();
  const linked = new Set<PeerId>([...successors, predecessor].map((c) => c.id));
  const entry: Omit<SettledRingActor, 'actor'> = { self, predecessor, successors, sent: 0, dials: 0 };
  let joinLookup: Extract<RingMessage, { t: 'find' }> | undefined;
  const actor = createActor(ringMachine, {
    clock,
    input: {
      self: self.id,
      config: DEFAULT_RING_CONFIG,
      ports: {
        clock,
        random: createSeededRandom(5),
        logger: silentLogger,
        send: (to, message) => {
          if (message.t === 'find') joinLookup = message;
          entry.sent += 1;
          return linked.has(to);
        },
        connect: () => void (entry.dials += 1),
        disconnect: () => void (entry.dials += 1),
        openPeers: () => [...linked],
        bootstrapCandidates: async () => [successors[0]!.id],
      },
    },
  }).start();
  await advance(clock, 0);
  // The join: the bootstrap peer answers the lookup for our position with itself, then its list.
  if (!joinLookup) throw new Error('a ring actor sent no join lookup');
  const via = successors[0]!;
  const from = (message: RingMessage) => actor.send({ type: 'ring.message', from: via.id, message });
  from({ t: 'found', rid: joinLookup.rid, target: joinLookup.target, node: via.id, path: [self.id] });
  from({ t: 'neighbours', predecessor: self.id, successors: successors.slice(1).map((c) => c.id) });
  actor.send({ type: 'ring.message', from: predecessor.id, message: { t: 'notify' } });
  const state = actor.getSnapshot();
  const listed = state.context.successors.map((c) => c.id).join();
  if (!state.matches('member') || listed !== successors.map((c) => c.id).join() || state.context.predecessor?.id !== predecessor.id) {
    throw new Error(`a ring actor did not settle as a member behind its successor: ${JSON.stringify(state.value)}`);
  }
  entry.sent = 0;
  entry.dials = 0;
  return Object.assign(entry, { actor });
}

function randomContacts(random: SeededRandom, n: number): Contact[] {
  const ids = new Set<string>();
  while (ids.size < n) ids.add(Buffer.from(random.bytes(32)).toString('hex'));
  return [...ids].map((id) => contactOf(id as PeerId));
}
