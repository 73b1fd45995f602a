import { and, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { Random } from '../../ports/random.js';
import { contactOf, type Contact } from './contact.js';
import { between, compareClockwise, ringAdd, type Position } from './id-space.js';
import { estimateNetworkSize, mergePeriodFactor } from './network-size.js';
import { closerPredecessor } from './predecessor.js';
import { forgetFailed, NO_FAILED_PEERS, recentlyFailed, rememberFailed, type FailedPeers } from './failed-peers.js';
import type { RingConfig } from './ring-config.js';
import { MAX_PATH, MAX_SKIP, type RingMessage } from './ring-messages.js';
import { settledNeighbours } from './link-settling.js';
import { isResponsible, nextHop } from './routing.js';
import { adoptSuccessorsPredecessor, mergeCandidates, promoteNextSuccessor, reconcileSuccessors, type SuccessorReport } from './successor-list.js';

/**
 * Ring maintenance for one node (Chord with successor lists):
 *
 *   joining.{sampling → linkingBootstrap → locating → linkingSuccessor} → member
 *   member = maintenance.{waiting ⇄ stabilizing ⇄ awaitingLink, → suspecting} ∥ merging.{idle → sampling → probing}
 *   rebootstrapping (backoff) → joining;   leaving (final)
 *
 * The pure rules (successor-list reconciliation, predecessor choice, greedy routing) live in
 * the sibling modules; this machine orchestrates them with a timeout on every wait. Links
 * come from the transport: `link.up` / `link.down` events, `connect` and `send` ports.
 */
export interface RingPorts {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Sends over an open, authenticated link; false when there is none. */
  send(to: PeerId, message: RingMessage): boolean;
  /**
   * Asks the transport for a link (idempotent); `link.up` follows if it opens. `discovery`: a
   * link to a peer sampled from outside the ring (join, partition merge), which may not be
   * reachable through our ring at all — its signals should go through a server when one is up.
   */
  connect(peer: PeerId, purpose?: 'discovery'): void;
  /** Closes a link the ring asked for and no longer needs (graceful; `link.down` follows). */
  disconnect(peer: PeerId): void;
  /** Peers with an open link right now (the ring may start after some opened). */
  openPeers(): readonly PeerId[];
  /**
   * Peers to join or merge through (the signaling servers' sample, the DHT's contacts): up to
   * `n`, of which up to `options.near` the members nearest before our position where the
   * source can tell (the rest at random).
   */
  bootstrapCandidates(n: number, options?: { near?: number }): Promise<PeerId[]>;
  /**
   * We are on a ring now (true) or no longer (false: re-bootstrapping, leaving). Bootstrap
   * services hand out members first (SignalingPort.setRingMember): a joiner that picks another
   * joiner as its way in gets its lookup declined and must try again.
   */
  announceMembership?(member: boolean): void;
}

export interface RingInput {
  self: PeerId;
  config: RingConfig;
  ports: RingPorts;
}

type LookupPurpose = 'join' | 'merge' | 'probe' | 'predecessor';

/**
 * The ring's context keeps at most 19 top-level fields (test/engine/context-shape.test.ts):
 * XState copies the context on every assign with `Object.assign({}, context, update)`, and V8
 * gives an object built that way from more than 19 properties slow, dictionary-mode storage.
 * With 26 fields, every copy took ~10 µs (0.6 with 18) and every field read was a hash lookup;
 * grouping the rarely written fields below cut a ring `link.up` from 34.6 to 23.7 µs and a `get`
 * from 13.8 to 9.5 (bench/ring-events), and sim-scale's 1,000 nodes by 1–2% (paired runs).
 */
interface Context {
  self: Contact;
  config: RingConfig;
  ports: RingPorts;
  predecessor: Contact | undefined;
  successors: readonly Contact[];
  links: ReadonlySet<PeerId>;
  /** Join: the bootstrap peer in use. Merge: the outside peer probed. */
  via: PeerId | undefined;
  /** The node a lookup found (join: our successor-to-be). */
  found: PeerId | undefined;
  lookups: Readonly<Record<number, LookupPurpose>>;
  nextRid: number;
  /** The joins since we last joined, and the current join or merge lookup (see JoinProgress). */
  join: JoinProgress;
  /** What stabilization rounds carry from one to the next (see RoundState). */
  rounds: RoundState;
  /**
   * Links this actor asked for. Only these are ever closed by it (an application's or another
   * subsystem's links are not the ring's business); they are closed once they are neither a
   * neighbour nor in use for a join or merge, so links stay bounded by ~r + 1 per node.
   */
  owned: ReadonlySet<PeerId>;
  /** Peers seen failing lately: not re-adopted from others' reports (see failed-peers.ts). */
  failed: FailedPeers;
  /**
   * Peers named to us as closer successors (a `hint`) that we dial before adopting
   * them: the link coming up is the proof of life, and adoptLinkedSuccessors then takes them.
   * Kept wanted (pruneLinks) until their link comes up or goes down; at most r at once.
   */
  pending: readonly PeerId[];
  /**
   * Peers that asked us for their own position to join (a `find` with `join`, sent by them to
   * us) within lookupTimeoutMs, and have not spoken as members since: we never name them in a
   * lookup's answer or as `closest` (our own lists may hold them: adoptLinkedSuccessors takes a
   * linked peer, and it is at the right place). A joiner is linked to its way in, so it counted as a known node past a
   * lookup's target; named, it became a member's only successor, and when its own lookup then
   * failed it re-bootstrapped through that member — its nearest before it in the signaling
   * server's sample — and the two formed a ring of their own (200 nodes joining in 1.2 s,
   * seed 3). An expiring memory like `failed` (failed-peers.ts).
   */
  joiners: FailedPeers;
  /** When each listed successor past the eager ones was first seen listed, linked or not: see link-settling.ts. */
  listedSince: ReadonlyMap<PeerId, number>;
  /**
   * The pending partition-merge probe was timed from a full successor list (see mergeFactor).
   * A member's list is short for its first rounds, which reads as a small network: timed then,
   * every node of a forming 10,000-node network probed about a minute after joining — 9,000
   * probes in the second and third virtual minutes, against ~4 a second network-wide after.
   */
  mergeTimedOnFullList: boolean;
}

/** See Context.join. */
interface JoinProgress {
  /** Consecutive failed joins, for the re-bootstrap backoff. */
  failedJoins: number;
  /** Times the current join or merge lookup was re-asked from where its path ran out. */
  continuations: number;
  /** Our id is lower than every peer's in the join's latest sample (see mayFoundRing). */
  lowestSampled: boolean;
  /**
   * Peers that did not get us in since we last joined: those that declined our join lookups
   * (not on a ring then) and the way in of each failed join, latest last, at most
   * MAX_FAILED_WAYS_IN, forgotten when every peer sampled is among them. From the second failed
   * join on, the next choice of a way in avoids them while the sample offers anyone else alive.
   * Kept for the last join only, three joiners that were each other's DHT contacts (a node that
   * lost its place samples those first, and prefers linked peers) picked one another in turn
   * for good (fuzzed, DHT on: a partition early in 7 nodes' joins); two did so when not even
   * that was kept. Failed ways in count too: a crashed peer still registered at the server is
   * forgotten as failed (failedMemoryMs) before a long backoff ends, and would otherwise be
   * chosen again and again while the decliners, members by then, were avoided. (Avoided from
   * the first decline, 8 nodes starting together took 3.6 s instead of 3.2 on average: the first
   * choice was usually a member by the next try.)
   */
  failedWaysIn: readonly PeerId[];
}

/** See Context.rounds. */
interface RoundState {
  /** The successor our pending stabilize request went to: only its answer (or silence) counts. */
  asked: PeerId | undefined;
  /** The successor whose link this round waits for (maintenance.awaitingLink). */
  awaitedLink: PeerId | undefined;
  /** Probe back-off (see RingConfig.probeMaxIntervalRounds): rounds between probes, rounds left, and the successor they confirmed. */
  probe: ProbeSchedule;
  /** Rounds in a row without a predecessor, for seekPredecessor's back-off. */
  predecessorMissing: number;
  /** The node a predecessor search named; its link is kept until the search is over. */
  predecessorLead: PeerId | undefined;
  /** Stabilization back-off (RingConfig.stabilizeMaxIntervalFactor): rounds in a row that changed nothing, and what they saw. */
  calm: { rounds: number; neighbourhood: Neighbourhood | undefined };
}

interface ProbeSchedule {
  every: number;
  wait: number;
  confirmed: PeerId | undefined;
}

type Event =
  | { type: 'link.up'; peer: PeerId }
  /**
   * `failed`: the link died (heartbeat, error); otherwise it was closed gracefully and the peer
   * lives on. `unreachable`: it failed without an answer from the peer (silence, a timeout), as
   * opposed to a refusal, a closed link or a leave; see RingConfig.unreachableMemoryMs.
   */
  | { type: 'link.down'; peer: PeerId; failed: boolean; unreachable?: boolean }
  /** Raised linkSettleMs after far successors were newly listed (see settleLinks). */
  | { type: 'links.settled' }
  | { type: 'ring.message'; from: PeerId; message: RingMessage }
  | { type: 'leave' }
  // raised by the message dispatcher
  /** `more`: not an answer — the lookup ran out of path at `node`; it can be asked again from there. */
  | { type: 'lookup.done'; rid: number; node: PeerId; by?: PeerId; more?: true }
  /** Our lookup came back unanswered: every peer it reached (`by`) is not on the ring yet (see declineFind). */
  | { type: 'lookup.declined'; rid: number; by: PeerId[] }
  | { type: 'stabilize.reply'; from: PeerId; predecessor: PeerId | undefined; successors: PeerId[]; closest?: PeerId };

/**
 * Candidates to join or merge through. An unreachable bootstrap service is an expected
 * condition (every signaling server may be gone), not an actor failure: it yields nobody.
 */
/** Peers asked of the signaling server per join or merge probe (its default cap is 32). */
const BOOTSTRAP_SAMPLE = 32;
/**
 * Of those, the members nearest before our position: the join's way in is the nearest (its
 * lookup of our position takes a hop or two instead of crossing the ring over successor
 * lists), a merge probe's the nearest we hold no link to (our predecessors are linked to us;
 * half the sample leaves room past a successor list of 8). The other half stays random, so a
 * choice remains when the nearest are unreachable (chooseVia passes over a way in whose link
 * just failed). The cost: a key ground to sit just before a victim's position is its way in
 * every time, where among random samples it had to be drawn first; the position puzzle
 * (`puzzleBits`, off by default) is what makes grinding positions expensive.
 */
const BOOTSTRAP_NEAR = 16;
/**
 * A join or merge lookup whose path runs out is re-asked from where it stopped at most this
 * often (each time over a new link to that node): 8 × MAX_PATH hops cover ~3,000 nodes of ring
 * from the sampled peer, which is 10 times the mean gap between 32 peers sampled among 10,000.
 */
const MAX_CONTINUATIONS = 8;
/** Peers kept in failedWaysIn: a sample's worth; the oldest go first. */
const MAX_FAILED_WAYS_IN = BOOTSTRAP_SAMPLE;

/** `list` with `peers` added as its latest entries (see failedWaysIn). */
function withFailedWaysIn(list: readonly PeerId[], peers: readonly PeerId[]): readonly PeerId[] {
  if (peers.length === 0) return list;
  return [...list.filter((peer) => !peers.includes(peer)), ...peers].slice(-MAX_FAILED_WAYS_IN);
}

const sampleCandidates = fromPromise<PeerId[], { ports: RingPorts; self: PeerId }>(async ({ input }) => {
  try {
    return (await input.ports.bootstrapCandidates(BOOTSTRAP_SAMPLE, { near: BOOTSTRAP_NEAR })).filter((peer) => peer !== input.self);
  } catch (error) {
    input.ports.logger.debug('no bootstrap candidates', { error: String(error) });
    return [];
  }
});

function jittered(random: Random, meanMs: number): number {
  return Math.round(meanMs * (0.5 + random.float()));
}

/** The context update that changes `change` in the join's progress. */
function withJoin(context: Context, change: Partial<JoinProgress>): { join: JoinProgress } {
  return { join: { ...context.join, ...change } };
}

/** The context update that changes `change` in what rounds carry. */
function withRounds(context: Context, change: Partial<RoundState>): { rounds: RoundState } {
  return { rounds: { ...context.rounds, ...change } };
}

function successor(context: Context): Contact | undefined {
  return context.successors[0];
}

/** Whether a peer is in one of our expiring memories (`failed`, `joiners`) now. */
function rememberedIn(context: Context, memory: FailedPeers): (id: PeerId) => boolean {
  if (memory.size === 0) return () => false;
  const now = context.ports.clock.now();
  return (id) => recentlyFailed(memory, id, now);
}

/** Whether a peer asked us for its own position to join lately (see `joiners`). */
function joiningCheck(context: Context): (id: PeerId) => boolean {
  return rememberedIn(context, context.joiners);
}

function aliveCheck(context: Context): (id: PeerId) => boolean {
  const failed = rememberedIn(context, context.failed);
  return (id) => !failed(id);
}

/**
 * The contacts of a link set, computed once per set: `links` is never changed in place (a change
 * is a new Set), and rounds, lookups and answers each walked it converting every id through the
 * position cache (placedId: 2.6% of a 10,000-node run's time, most of it from these walks).
 */
const contactsOfLinks = new WeakMap<ReadonlySet<PeerId>, readonly Contact[]>();

function contactsOf(links: ReadonlySet<PeerId>): readonly Contact[] {
  let contacts = contactsOfLinks.get(links);
  if (contacts === undefined) {
    contacts = [...links].map(contactOf);
    contactsOfLinks.set(links, contacts);
  }
  return contacts;
}

/** Contacts we hold links to: where greedy routing can go. */
function linkedContacts(context: Context): readonly Contact[] {
  return contactsOf(context.links);
}

export const ringMachine = setup({
  types: {
    context: {} as Context,
    events: {} as Event,
    input: {} as RingInput,
  },
  actors: { sampleCandidates },
  delays: {
    stabilizeDelay: ({ context }) => jittered(context.ports.random, context.config.stabilizeIntervalMs * roundFactor(context)),
    mergeDelay: ({ context }) => jittered(context.ports.random, context.config.mergeIntervalMs * mergeFactor(context)),
    requestTimeout: ({ context }) => context.config.requestTimeoutMs,
    lookupTimeout: ({ context }) => context.config.lookupTimeoutMs,
    joinLookupResend: ({ context }) => context.config.joinLookupResendMs,
    /**
     * How long a stabilization round waits for its successor's link before treating it as
     * silent: two request timeouts (a link on loopback opens in ~0.1–0.3 s), at most
     * linkTimeoutMs. Waiting the full linkTimeoutMs for a crashed successor that was being
     * dialled kept it in the list well past detection (real-network test, 3 of 8 SIGKILLed).
     */
    awaitLinkTimeout: ({ context }) => Math.min(context.config.linkTimeoutMs, 2 * context.config.requestTimeoutMs),
    linkTimeout: ({ context }) => context.config.linkTimeoutMs,
    rebootstrapDelay: ({ context }) =>
      jittered(
        context.ports.random,
        Math.min(context.config.rebootstrapMaxMs, context.config.rebootstrapBaseMs * 2 ** Math.min(context.join.failedJoins, 16)),
      ),
  },
  guards: {
    viaLinked: ({ context }) => context.via !== undefined && context.links.has(context.via),
    mergeTimedTooEarly: ({ context }) => !context.mergeTimedOnFullList && context.successors.length >= context.config.successorListLength,
    foundLinked: ({ context }) => context.found !== undefined && context.links.has(context.found),
    isVia: ({ context, event }) => event.type === 'link.up' && event.peer === context.via,
    isFound: ({ context, event }) => event.type === 'link.up' && event.peer === context.found,
    /** The connection to the peer a join step waits for closed before it came up. */
    lostVia: ({ context, event }) => event.type === 'link.down' && event.peer === context.via,
    lostFound: ({ context, event }) => event.type === 'link.down' && event.peer === context.found,
    linkFailed: ({ event }) => event.type === 'link.down' && event.failed,
    resendsJoinLookup: ({ context }) => context.config.joinLookupResendMs < context.config.lookupTimeoutMs,
    isJoinLookup: ({ context, event }) => (event.type === 'lookup.done' || event.type === 'lookup.declined') && context.lookups[event.rid] === 'join',
    isMergeLookup: ({ context, event }) => (event.type === 'lookup.done' || event.type === 'lookup.declined') && context.lookups[event.rid] === 'merge',
    /**
     * Nodes that start together see each other at the signaling server and none is on a ring
     * yet, so each declines the others' join lookups: one of them must found the ring. It is a
     * node whose id is lower than all it sampled and all that declined, once its join has failed
     * before: a crowd joining an existing ring is let in by a member within a backoff or two, and
     * every founder splits it (founding whenever the decliners' ids were higher made 16 rings of
     * 100 nodes joining in 0.6 s). Samples hold at most 32 peers, so among more nodes starting
     * together a few may found; their rings join through the kept link (foundRingBesideVia),
     * stabilization and the merge probes.
     */
    mayFoundRing: ({ context, event }) =>
      event.type === 'lookup.declined' &&
      event.by.length > 0 &&
      context.join.failedJoins > 0 &&
      context.join.lowestSampled &&
      event.by.every((peer) => peer > context.self.id),
    /** The lookup stopped short (`more`) and may be re-asked from where it got to. */
    canContinue: ({ context, event }) => event.type === 'lookup.done' && event.more === true && context.join.continuations < MAX_CONTINUATIONS,
    cutShort: ({ event }) => event.type === 'lookup.done' && event.more === true,
    canRelink: ({ context }) => context.join.continuations < MAX_CONTINUATIONS,
    isProbeLookup: ({ context, event }) => event.type === 'lookup.done' && context.lookups[event.rid] === 'probe',
    isPredecessorLookup: ({ context, event }) => event.type === 'lookup.done' && context.lookups[event.rid] === 'predecessor',
    foundIsSelf: ({ context }) => context.found === context.self.id,
    isSuccessorReply: ({ context, event }) => event.type === 'stabilize.reply' && event.from === successor(context)?.id,
    isAnswerToRequest: ({ context, event }) => event.type === 'stabilize.reply' && event.from === context.rounds.asked,
    /** A linked successor we have not asked yet (just adopted, or promoted after a failure). */
    successorUnasked: ({ context }) => {
      const next = successor(context);
      return next !== undefined && next.id !== context.rounds.asked && context.links.has(next.id);
    },
    /** Our successor has no open link: a request to it cannot go out (or went down with the link). */
    successorUnlinked: ({ context }) => {
      const next = successor(context);
      return next !== undefined && !context.links.has(next.id);
    },
    successorLinked: ({ context }) => {
      const next = successor(context);
      return next !== undefined && context.links.has(next.id);
    },
    /** The successor changed while we waited for the previous one's link: its wait starts afresh. */
    awaitedLinkReplaced: ({ context }) => successor(context)?.id !== context.rounds.awaitedLink,
    hasSuccessor: ({ context }) => context.successors.length > 0,
    /** The wait is a backed-off one and the near neighbourhood (RingConfig.nearSuccessors) changed since the round that started it. */
    // Evaluated after every event while a round waits (an `always` guard): it compares in place.
    calmBroken: ({ context }) => context.rounds.calm.rounds > 0 && !isNeighbourhood(context, context.rounds.calm.neighbourhood),
    isolated: ({ context }) => context.successors.length === 0 && context.predecessor === undefined && context.links.size === 0,
    lostSuccessor: ({ context, event }) => event.type === 'link.down' && event.failed && context.successors[0]?.id === event.peer,
    lostLastNeighbour: ({ context, event }) =>
      event.type === 'link.down' &&
      event.failed &&
      context.links.size <= 1 &&
      context.successors.length === 1 &&
      context.successors[0]!.id === event.peer &&
      (context.predecessor === undefined || context.predecessor.id === event.peer),
  },
  actions: {
    loadLinks: assign(({ context }) => ({ links: new Set(context.ports.openPeers()) })),
    /**
     * A predecessor taken before we held a link to it (the one a leaving predecessor named, say)
     * gets our list as its link comes up: the push that went with the change was dropped, as
     * sends to unlinked peers are (see pushIfChanged). Runs before linkUp records the link.
     */
    greetPredecessor: ({ context, event }) => {
      if (event.type !== 'link.up' || event.peer !== context.predecessor?.id || context.links.has(event.peer)) return;
      pushList(context, context.successors, context.predecessor);
    },
    /** A link that opens is a live peer, whatever we concluded before (see failed-peers.ts). */
    linkUp: assign(({ context, event }) => {
      if (event.type !== 'link.up') return {};
      const links = new Set([...context.links, event.peer]);
      const pending = withoutPending(context, event.peer);
      return context.failed.has(event.peer) ? { links, pending, failed: forgetFailed(context.failed, event.peer) } : { links, pending };
    }),
    linkDown: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'link.down') return;
      const links = new Set(context.links);
      links.delete(event.peer);
      const pending = withoutPending(context, event.peer);
      // A graceful close (the peer pruned a link it no longer needs) says nothing about the
      // peer's liveness: keep it as a neighbour; linkNeighbours reopens the link if we need it
      // (a settled far successor at once: link-settling.ts keeps its listing time).
      if (!event.failed) {
        enqueue.assign({ links, pending });
        return;
      }
      const now = context.ports.clock.now();
      const failed = rememberFailed(context.failed, event.peer, now, event.unreachable ? unreachableMemory(context) : context.config.failedMemoryMs);
      const isAlive = (id: PeerId) => !recentlyFailed(failed, id, now);
      let successors = promoteNextSuccessor(context.successors, event.peer);
      // A list cut short by failures is topped up from our other links at once: they are live
      // peers, and the nearest of them clockwise are our best successors until a round says
      // otherwise. Waiting for the next round instead, a node whose whole list crashed while its
      // rounds were spaced out (a calm ring) ran dry and re-joined although it had links.
      if (successors !== context.successors && successors.length < context.config.successorListLength) {
        successors = mergeCandidates(context.self, [successors, contactsOf(links)], context.config.successorListLength, isAlive);
      }
      // A failed predecessor is replaced by the nearest linked peer before us: the node before
      // it keeps a link to us (we are in its successor list), so that is almost always the new
      // predecessor, and a closer one corrects it by notify. Left empty, it waited for that
      // notify — up to a calm round's long period (stabilizeMaxIntervalFactor). Successors are
      // not candidates: the farthest would make us answer for most of the ring (isResponsible).
      let predecessor = context.predecessor;
      if (predecessor?.id === event.peer) {
        predecessor = undefined;
        const listed = new Set(successors.map((c) => c.id));
        for (const contact of contactsOf(links)) {
          if (!listed.has(contact.id) && isAlive(contact.id)) predecessor = closerPredecessor(context.self, predecessor, contact);
        }
      }
      enqueue.assign({ links, pending, failed, successors, predecessor });
      // Those behind us learn of the loss from us, as of any other change to our list (see
      // pushIfChanged). Only the nodes that held a link to the peer notice its loss themselves,
      // and a far successor is linked only once settled (link-settling.ts): without the push, a
      // graceful leave reached the rest of the nodes listing the leaver at their next round.
      pushIfChanged(context, successors, predecessor);
    }),
    /**
     * Join: prefer a peer we already have a link to (no new connection needed). Merge: prefer
     * one we have NO link to, since a linked peer is in our own ring and cannot tell us
     * anything about another one.
     */
    chooseVia: assign(({ context, event }, params: { prefer: 'linked' | 'unlinked' }) => {
      const sampled = (event as unknown as { output: PeerId[] }).output;
      // After one decline the same way in is usually a member by the next attempt (nodes
      // starting together); after more, joiners may be picking one another for good.
      const untried = context.join.failedJoins >= 2 ? sampled.filter((peer) => !context.join.failedWaysIn.includes(peer)) : sampled;
      // Nor one whose link failed lately: the server names the nearest members first, and a
      // crashed one stays registered until the server's own liveness check drops it. A live
      // decliner is a better way in than a failed peer (it may be a member by now).
      const isAlive = aliveCheck(context);
      const candidates = [untried.filter(isAlive), sampled.filter(isAlive), untried].find((peers) => peers.length > 0) ?? sampled;
      const preferred = candidates.filter((peer) => context.links.has(peer) === (params.prefer === 'linked'));
      const pool = preferred.length > 0 ? preferred : candidates;
      // The sampled peer closest before our position: a lookup from there needs few hops even
      // over ring links alone. From a random peer it crossed the ring one successor list per hop,
      // ran out of path at 1,000 nodes and returned a far-off "successor" that stabilization
      // then walked back from one node per step.
      let via: PeerId | undefined;
      let viaPosition: Position | undefined;
      for (const peer of pool) {
        const position = contactOf(peer).position;
        if (viaPosition === undefined || compareClockwise(context.self.position, position, viaPosition) > 0) {
          via = peer;
          viaPosition = position;
        }
      }
      // Every peer sampled has declined since we last joined: start the memory afresh, so a
      // decliner that is a member by now gets its turn again among the rest.
      const failedWaysIn = untried.length > 0 ? context.join.failedWaysIn : [];
      return { via, ...withJoin(context, { continuations: 0, lowestSampled: sampled.every((peer) => peer > context.self.id), failedWaysIn }) };
    }),
    /** Re-ask the lookup from the node where its path ran out: link to it, then look up from there. */
    continueFromCut: assign(({ context, event }) => {
      if (event.type !== 'lookup.done') return {};
      // The earlier requests of this lookup (a join's re-sent one) are over: a late answer to
      // one must not count as the answer from the new starting point.
      const purpose = context.lookups[event.rid];
      const lookups = Object.fromEntries(Object.entries(context.lookups).filter(([, held]) => held !== purpose));
      return { via: event.node, ...withJoin(context, { continuations: context.join.continuations + 1 }), lookups };
    }),
    noteMergeTiming: assign(({ context }) => {
      const full = context.successors.length >= context.config.successorListLength;
      return full === context.mergeTimedOnFullList ? {} : { mergeTimedOnFullList: full };
    }),
    connectVia: assign(({ context }) => (context.via ? { owned: link(context, [context.via], 'discovery') } : {})),
    becomeAlone: assign(({ context }) => ({ successors: [], predecessor: undefined, ...withJoin(context, { failedJoins: 0, failedWaysIn: [] }) })),
    /**
     * A ring of one beside the joiners that declined: the peer we asked stays linked (as the
     * join's `found`), and our first round adopts it (adoptLinkedSuccessors) even while it is
     * still joining; once it is on a ring, stabilization joins the two without waiting for a
     * merge probe.
     */
    foundRingBesideVia: assign(({ context }) => ({ successors: [], predecessor: undefined, ...withJoin(context, { failedJoins: 0, failedWaysIn: [] }), found: context.via })),
    lookupOwnPosition: enqueueActions(({ context, enqueue }, params: { purpose: LookupPurpose }) => {
      const rid = context.nextRid;
      enqueue.assign({ nextRid: rid + 1, lookups: { ...context.lookups, [rid]: params.purpose } });
      if (context.via) {
        const find: RingMessage = { t: 'find', rid, target: context.self.position, path: [context.self.id] };
        context.ports.send(context.via, params.purpose === 'join' ? { ...find, join: true } : find);
      }
    }),
    /**
     * Every round, look up our own position through a random link (one outside our successor
     * list when we have one). Stabilize/notify alone repairs a ring formed from scattered
     * knowledge in O(n) rounds; this lookup finds a closer successor in O(log n).
     */
    probeOwnPosition: enqueueActions(({ context, enqueue }) => {
      const next = successor(context);
      // A new successor (or none) means the neighbourhood moved: probe every round again.
      let probe = next?.id === context.rounds.probe.confirmed ? context.rounds.probe : { every: 1, wait: 0, confirmed: undefined };
      // The probe's schedule counts base periods, so a calm ring's longer rounds do not stretch it.
      if (probe.wait > 0) {
        enqueue.assign(withRounds(context, { probe: { ...probe, wait: Math.max(0, probe.wait - roundFactor(context)) } }));
        return;
      }
      probe = { ...probe, wait: probe.every - 1 };
      const listed = new Set(context.successors.map((c) => c.id));
      const links = [...context.links];
      const outside = links.filter((peer) => !listed.has(peer));
      const pool = outside.length > 0 ? outside : links;
      if (pool.length === 0) {
        enqueue.assign(withRounds(context, { probe }));
        return;
      }
      const via = pool[Math.floor(context.ports.random.float() * pool.length)]!;
      const rid = context.nextRid;
      enqueue.assign({ ...withRounds(context, { probe }), nextRid: rid + 1, lookups: withLatestLookup(context.lookups, rid, 'probe') });
      // The point just past our own: whoever answers for it is our true successor. (Our own
      // position would be answered by ourselves as soon as we know a predecessor.)
      context.ports.send(via, { t: 'find', rid, target: ringAdd(context.self.position, 1n), path: [context.self.id] });
    }),
    /**
     * A member without a predecessor for a while may have been skipped: churn can leave the node
     * before it pointing past it (a "rho" — a cycle with a tail that nobody points into), and no
     * stabilize round ever tells anyone, since the tail's first node has nobody to notify it.
     * Seen over real WebRTC once every server was gone: 3 of 13 SIGKILLed, survivors stuck for
     * 40 s with one node's predecessor undefined. So it looks its own position up, starting at the
     * link farthest round the ring: the walk ends at the node that believes it is our position's
     * predecessor — the true predecessor, which skipped us — and it names itself (`by`). We link
     * to it; it finds us between itself and its successor (adoptLinkedSuccessors) and notifies
     * us. Rounds 2, 4, 8, …: a node just joined gets its notify within a round or two anyway.
     */
    seekPredecessor: enqueueActions(({ context, enqueue }) => {
      if (context.predecessor !== undefined) {
        if (context.rounds.predecessorMissing !== 0 || context.rounds.predecessorLead !== undefined) enqueue.assign(withRounds(context, { predecessorMissing: 0, predecessorLead: undefined }));
        return;
      }
      const missing = context.rounds.predecessorMissing + 1;
      enqueue.assign(withRounds(context, { predecessorMissing: missing }));
      if (missing < 2 || (missing & (missing - 1)) !== 0) return;
      const via = nextHop(context.self.position, context.self.position, linkedContacts(context));
      if (via === undefined) return;
      const rid = context.nextRid;
      enqueue.assign({ nextRid: rid + 1, lookups: withLatestLookup(context.lookups, rid, 'predecessor') });
      context.ports.send(via.id, { t: 'find', rid, target: context.self.position, path: [context.self.id] });
    }),
    followPredecessorLead: assign(({ context, event }) => {
      if (event.type !== 'lookup.done' || event.more || context.predecessor !== undefined) return {};
      const lead = event.by;
      if (lead === undefined || lead === context.self.id || lead === successor(context)?.id || !aliveCheck(context)(lead)) return {};
      return { ...withRounds(context, { predecessorLead: lead }), owned: link(context, [lead]) };
    }),
    forgetLookups: assign({ lookups: {} }),
    countContinuation: assign(({ context }) => withJoin(context, { continuations: context.join.continuations + 1 })),
    rememberDecliners: assign(({ context, event }) => (event.type === 'lookup.declined' ? withJoin(context, { failedWaysIn: withFailedWaysIn(context.join.failedWaysIn, event.by) }) : {})),
    announceMember: ({ context }) => context.ports.announceMembership?.(true),
    announceNotMember: ({ context }) => context.ports.announceMembership?.(false),
    /**
     * The successor the join found. It stays wanted (linked) for the node's life, beyond the
     * neighbourhood: churn can split a ring into interleaved cycles, and with every signaling
     * server gone (no merge probe) only a link across them rejoins them. Dropping it once the
     * join was done split 16 serverless nodes after 3 crashes into two rings for good
     * (test/routing/overlay-signaling-sim.test.ts) and cost 0.3–1.1 points of successors right
     * under heavy churn. A deliberate choice of such links is future work; this one is free.
     */
    takeFound: assign(({ event }) => (event.type === 'lookup.done' ? { found: event.node } : {})),
    connectFound: assign(({ context }) => (context.found ? { owned: link(context, [context.found]) } : {})),
    adoptFound: assign(({ context }) => ({
      successors: context.found ? mergeCandidates(context.self, [context.successors, [contactOf(context.found)]], context.config.successorListLength) : context.successors,
      ...withJoin(context, { failedJoins: 0, failedWaysIn: [] }),
    })),
    countFailedJoin: assign(({ context }) => ({
      ...withJoin(context, {
        failedJoins: context.join.failedJoins + 1,
        failedWaysIn: context.via === undefined ? context.join.failedWaysIn : withFailedWaysIn(context.join.failedWaysIn, [context.via]),
      }),
      via: undefined,
      found: undefined,
    })),
    notifySuccessor: ({ context }) => {
      const next = successor(context);
      if (next) context.ports.send(next.id, { t: 'notify' });
    },
    /**
     * Only a request that went out is waited for: one to a successor without a link yet is
     * dropped by the transport, and its silence would wrongly mark the successor failed.
     */
    requestNeighbours: enqueueActions(({ context, enqueue }) => {
      const next = successor(context);
      const sent = next !== undefined && context.ports.send(next.id, { t: 'get' });
      const asked = sent ? next.id : undefined;
      if (asked !== context.rounds.asked) enqueue.assign(withRounds(context, { asked }));
    }),
    noteAwaitedLink: assign(({ context }) => withRounds(context, { awaitedLink: successor(context)?.id })),
    /** The awaited link never opened: that successor is treated as silent (see suspectSuccessor). */
    blameAwaitedLink: assign(({ context }) => withRounds(context, { asked: context.rounds.awaitedLink })),
    /** A node with no successor is its own: it asks itself, i.e. adopts its predecessor (Chord). */
    stabilizeAlone: assign(({ context }) => ({
      successors: adoptSuccessorsPredecessor(context.self, context.successors, context.predecessor, context.config.successorListLength),
    })),
    reconcile: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'stabilize.reply') return;
      const r = context.config.successorListLength;
      const from = contactOf(event.from);
      const isAlive = aliveCheck(context);
      const report = { from, list: event.successors.map(contactOf) };
      hintUnlisted(context, report, isAlive);
      const merged = reconcileSuccessors(context.self, context.successors, report, r, isAlive);
      const reported = event.predecessor === undefined ? undefined : contactOf(event.predecessor);
      const withPredecessor = adoptSuccessorsPredecessor(context.self, merged, reported, r, isAlive);
      // The peer it knows right after us, when it lies before our successor: no walk back. Taken
      // at once, like the reported predecessor (the answerer holds a live link to it). Dialled
      // first instead (dialToCheck, as hints are), 300 nodes joining in 1.8 s were right 28 s
      // after the first join instead of 12, and healing after a mass crash was no faster.
      const successors =
        event.closest === undefined ? withPredecessor : adoptSuccessorsPredecessor(context.self, withPredecessor, contactOf(event.closest), r, isAlive);
      if (sameIds(successors, context.successors)) return;
      enqueue.assign({ successors });
      pushIfChanged(context, successors);
    }),
    /**
     * A peer we hold a link to (the DHT's, an application's, a join's) that lies between us and
     * our successor is a closer successor, and alive: adopt it. Links are symmetric, so the
     * peer on the other side applies the same rule and gets a notify from us in turn. This is
     * what rejoins a ring that churn left as a cycle skipping a stretch of nodes (or as two
     * interleaved cycles) once every server is gone: stabilize/notify alone never leaves such a
     * state, and the per-round probe only helps if it happens to ask someone who knows better.
     */
    adoptLinkedSuccessors: enqueueActions(({ context, enqueue }) => {
      const next = successor(context);
      const isAlive = aliveCheck(context);
      let closer: Contact[] | undefined;
      for (const contact of linkedContacts(context)) {
        if (contact.id === context.self.id || !isAlive(contact.id)) continue;
        if (next === undefined || between(contact.position, context.self.position, next.position)) (closer ??= []).push(contact);
      }
      if (closer === undefined) return;
      const successors = mergeCandidates(context.self, [context.successors, closer], context.config.successorListLength, isAlive);
      if (sameIds(successors, context.successors)) return;
      enqueue.assign({ successors });
      pushIfChanged(context, successors);
    }),
    /** Keep a link to every neighbour (far successors once settled: link-settling.ts), so a failed successor's replacement is ready. */
    linkNeighbours: enqueueActions(({ context, enqueue }) => settleLinks(context, enqueue)),
    /** Close owned links that are no longer neighbours (nor the join/merge peer in use). */
    pruneLinks: enqueueActions(({ context, enqueue }) => {
      const wanted = new Set(neighbourIds(context));
      if (context.via) wanted.add(context.via);
      if (context.found) wanted.add(context.found);
      if (context.rounds.predecessorLead) wanted.add(context.rounds.predecessorLead);
      for (const peer of context.pending) wanted.add(peer);
      let owned: Set<PeerId> | undefined;
      let links: Set<PeerId> | undefined;
      for (const peer of context.owned) {
        if (wanted.has(peer)) continue;
        // Also a dial still in flight: once dropped from `owned` nobody would ever close the
        // link it opens (seen: links requested by the ring, never wanted again, open for good).
        context.ports.disconnect(peer);
        (owned ??= new Set(context.owned)).delete(peer);
        if (context.links.has(peer)) {
          // Closed by us: not a link from now on, though its link.down comes later. A peer
          // re-adopted in between must be re-linked, not sent to over a closing channel.
          (links ??= new Set(context.links)).delete(peer);
        }
      }
      // Most prunes close nothing: then the context stays as it is (an assign is a new snapshot).
      if (owned) enqueue.assign(links ? { owned, links } : { owned });
    }),
    dropVia: assign({ via: undefined }),
    /** A round ended: count it as calm if the near neighbourhood is what the last round ended with. */
    noteCalm: assign(({ context }) => {
      const { calm } = context.rounds;
      if (isNeighbourhood(context, calm.neighbourhood)) return withRounds(context, { calm: { rounds: calm.rounds + 1, neighbourhood: calm.neighbourhood } });
      return withRounds(context, { calm: { rounds: 0, neighbourhood: neighbourhoodOf(context) } });
    }),
    /** The successor we asked did not answer in time: drop it (if still listed), the next moves up. */
    suspectSuccessor: enqueueActions(({ context, enqueue }) => {
      const failed = context.rounds.asked;
      context.ports.logger.debug('ring successor did not answer; promoting the next', { failed });
      // Nobody asked (no request went out): nothing to suspect, and `asked` is unset already.
      if (!failed) return;
      const successors = promoteNextSuccessor(context.successors, failed);
      enqueue.assign({
        successors,
        failed: rememberFailed(context.failed, failed, context.ports.clock.now(), unreachableMemory(context)),
        ...withRounds(context, { asked: undefined }),
      });
      // As every other change of our list: those behind us learn it from us, not at their next round.
      pushIfChanged(context, successors);
    }),
    considerMergeResult: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'lookup.done' || event.more || event.node === context.self.id) return;
      const candidate = contactOf(event.node);
      const next = successor(context);
      if (next !== undefined && candidate.id === next.id) {
        // Confirmed: probe half as often, down to every probeMaxIntervalRounds rounds.
        const every = Math.min(context.config.probeMaxIntervalRounds, context.rounds.probe.every * 2);
        enqueue.assign(withRounds(context, { probe: { every, wait: every - 1, confirmed: next.id } }));
        return;
      }
      if (next === undefined || between(candidate.position, context.self.position, next.position)) {
        const successors = mergeCandidates(context.self, [context.successors, [candidate]], context.config.successorListLength, aliveCheck(context));
        enqueue.assign({ successors });
        pushIfChanged(context, successors);
        enqueue.assign({ owned: link(context, [candidate.id]) });
      }
    }),
    announceLeave: ({ context }) => {
      const successors = context.successors.map((c) => c.id);
      const predecessor = context.predecessor?.id;
      const message: RingMessage = predecessor ? { t: 'leave', predecessor, successors } : { t: 'leave', successors };
      const told = new Set<PeerId>();
      for (const target of [predecessor, successors[0]]) {
        if (target && !told.has(target)) {
          told.add(target);
          context.ports.send(target, message);
        }
      }
    },
    dispatch: enqueueActions(({ context, event, enqueue }, params: { member: boolean }) => {
      if (event.type !== 'ring.message') return;
      const { from, message } = event;
      // Whoever speaks is alive, whatever we concluded before.
      if (context.failed.has(from)) enqueue.assign({ failed: forgetFailed(context.failed, from) });
      // Only a member asks for neighbours, notifies, hints or leaves. (Not `neighbours`: a joiner
      // answers a `get` too, and its way in asks it as soon as it adopts it as successor.)
      if ((message.t === 'get' || message.t === 'notify' || message.t === 'hint' || message.t === 'leave') && context.joiners.has(from)) {
        enqueue.assign({ joiners: forgetFailed(context.joiners, from) });
      }
      switch (message.t) {
        case 'find': {
          if (message.join && message.path.length === 1 && message.path[0] === from) {
            enqueue.assign({ joiners: rememberFailed(context.joiners, from, context.ports.clock.now(), context.config.lookupTimeoutMs) });
          }
          const find = takenBack(context, message, from);
          if (find.path.length === 0) {
            // Our own lookup, sent back by every peer it reached: none of them is on a ring.
            enqueue.raise({ type: 'lookup.declined', rid: find.rid, by: find.skip ?? [] });
            return;
          }
          if (params.member) routeFind(context, find);
          else if (!passFindOn(context, find) && !declineFind(context, find)) {
            context.ports.logger.debug('ring lookup dropped: not on a ring and cannot send it back', { rid: find.rid });
          }
          return;
        }
        case 'found': {
          // The path leads back to the origin; the last entry is whoever should get this next.
          if (message.path[message.path.length - 1] !== context.self.id) return;
          const path = message.path.slice(0, -1);
          if (path.length === 0) {
            enqueue.raise({
              type: 'lookup.done',
              rid: message.rid,
              node: message.node,
              ...(message.by === undefined ? {} : { by: message.by }),
              ...(message.more ? { more: true as const } : {}),
            });
            return;
          }
          context.ports.send(path[path.length - 1]!, { ...message, path });
          return;
        }
        case 'get': {
          // Only a node that takes us for its successor asks: the request is its notify too
          // (Chord's notify ends every round; as its own message it was one more per round).
          const predecessor = considerPredecessor(context, from, enqueue)?.id;
          const successors = context.successors.map((c) => c.id);
          const reply: RingMessage = predecessor ? { t: 'neighbours', predecessor, successors } : { t: 'neighbours', successors };
          const closest = closestLinkAfter(context, from);
          context.ports.send(from, closest === undefined || closest === predecessor ? reply : { ...reply, closest });
          return;
        }
        case 'neighbours':
          enqueue.raise({
            type: 'stabilize.reply',
            from,
            predecessor: message.predecessor,
            successors: message.successors,
            ...(message.closest === undefined ? {} : { closest: message.closest }),
          });
          return;
        case 'notify':
          considerPredecessor(context, from, enqueue);
          return;
        case 'hint': {
          // A joiner keeps no list yet. A member links to the hinted peers that lie before its
          // successor; the link coming up is the proof of life, and adoptLinkedSuccessors then
          // takes the peer as successor. Merged at once instead, a crashed peer the sender had
          // not yet noticed went back into lists that had dropped it, until a dial to it failed:
          // 100 of 1,000 nodes crashed at once healed 4.9 stabilization rounds after detection
          // instead of 0.6.
          if (!params.member) return;
          enqueue.assign(dialToCheck(context, message.peers.slice(0, context.config.successorListLength)));
          return;
        }
        case 'leave': {
          const r = context.config.successorListLength;
          const leaver = from;
          let successors = promoteNextSuccessor(context.successors, leaver);
          if (successors !== context.successors) {
            successors = mergeCandidates(context.self, [successors, message.successors.filter((id) => id !== leaver).map(contactOf)], r, aliveCheck(context));
          }
          let predecessor = context.predecessor;
          if (predecessor?.id === leaver) {
            predecessor = message.predecessor && message.predecessor !== context.self.id ? contactOf(message.predecessor) : undefined;
          }
          // Gone, though its link may linger a moment: not to be re-adopted from links or lists.
          const failed = rememberFailed(context.failed, leaver, context.ports.clock.now(), context.config.failedMemoryMs);
          enqueue.assign({ successors, predecessor, failed });
          pushIfChanged(context, successors, predecessor);
          settleLinks({ ...context, successors, predecessor }, enqueue);
          return;
        }
      }
    }),
  },
}).createMachine({
  id: 'ring',
  context: ({ input }) => ({
    self: contactOf(input.self),
    config: input.config,
    ports: input.ports,
    predecessor: undefined,
    successors: [],
    links: new Set<PeerId>(),
    via: undefined,
    found: undefined,
    lookups: {},
    nextRid: 1,
    join: { failedJoins: 0, continuations: 0, lowestSampled: false, failedWaysIn: [] },
    rounds: {
      asked: undefined,
      awaitedLink: undefined,
      probe: { every: 1, wait: 0, confirmed: undefined },
      predecessorMissing: 0,
      predecessorLead: undefined,
      calm: { rounds: 0, neighbourhood: undefined },
    },
    owned: new Set<PeerId>(),
    failed: NO_FAILED_PEERS,
    joiners: NO_FAILED_PEERS,
    pending: [],
    mergeTimedOnFullList: false,
    listedSince: new Map(),
  }),
  // A node restarted after an error may still be listed as a member by the signaling server.
  entry: ['loadLinks', 'announceNotMember'],
  on: {
    'link.up': { actions: 'linkUp' },
    'link.down': { actions: 'linkDown' },
    'ring.message': { actions: { type: 'dispatch', params: { member: true } } },
    leave: '.leaving',
  },
  initial: 'joining',
  states: {
    joining: {
      initial: 'sampling',
      exit: 'forgetLookups',
      on: { 'ring.message': { actions: { type: 'dispatch', params: { member: false } } } },
      states: {
        sampling: {
          invoke: {
            src: 'sampleCandidates',
            input: ({ context }) => ({ ports: context.ports, self: context.self.id }),
            onDone: [
              // Nobody else is registered: this is the first node; it forms a ring of one.
              { guard: ({ event }) => event.output.length === 0, target: '#ring.member', actions: 'becomeAlone' },
              { target: 'linkingBootstrap', actions: { type: 'chooseVia', params: { prefer: 'linked' } } },
            ],
            onError: '#ring.rebootstrapping',
          },
          after: { lookupTimeout: '#ring.rebootstrapping' },
        },
        linkingBootstrap: {
          entry: 'connectVia',
          always: { guard: 'viaLinked', target: 'locating' },
          on: {
            'link.up': { guard: 'isVia', target: 'locating', actions: 'linkUp' },
            // See linkingSuccessor: a failed connection is a failed join step, a closed one is asked again.
            'link.down': [
              { guard: and(['lostVia', 'linkFailed']), target: '#ring.rebootstrapping', actions: 'linkDown' },
              { guard: 'lostVia', actions: ['linkDown', 'connectVia'] },
              { actions: 'linkDown' },
            ],
          },
          after: { linkTimeout: '#ring.rebootstrapping' },
        },
        locating: {
          entry: { type: 'lookupOwnPosition', params: { purpose: 'join' } },
          on: {
            'lookup.done': [
              { guard: and(['isJoinLookup', 'canContinue']), target: 'linkingBootstrap', actions: 'continueFromCut' },
              { guard: and(['isJoinLookup', 'cutShort']), target: '#ring.rebootstrapping' },
              // The node responsible for our position is our successor-to-be.
              { guard: 'isJoinLookup', target: 'linkingSuccessor', actions: 'takeFound' },
            ],
            // Nobody our lookup reached is on a ring: found one (see mayFoundRing) or try again later.
            'lookup.declined': [
              { guard: and(['isJoinLookup', 'mayFoundRing']), target: '#ring.member', actions: 'foundRingBesideVia' },
              { guard: 'isJoinLookup', target: '#ring.rebootstrapping', actions: 'rememberDecliners' },
            ],
            // The lookup went out through the bootstrap peer and its answer comes back the same
            // way: with that link gone it cannot arrive, nor can the re-sent lookup leave (seen:
            // a joiner sat out the whole lookupTimeoutMs, 5 s, while 8 nodes formed in 2.5).
            'link.down': [
              { guard: and(['lostVia', 'linkFailed']), target: '#ring.rebootstrapping', actions: 'linkDown' },
              // Counted as a continuation: a way in that keeps accepting and closing cannot hold us.
              { guard: and(['lostVia', 'canRelink']), target: 'linkingBootstrap', actions: ['linkDown', 'countContinuation', 'forgetLookups'] },
              { guard: 'lostVia', target: '#ring.rebootstrapping', actions: 'linkDown' },
              { actions: 'linkDown' },
            ],
          },
          after: {
            joinLookupResend: { guard: 'resendsJoinLookup', actions: { type: 'lookupOwnPosition', params: { purpose: 'join' } } },
            lookupTimeout: '#ring.rebootstrapping',
          },
        },
        linkingSuccessor: {
          entry: 'connectFound',
          always: [
            // The ring answered with ourselves: nobody else is in reach; start a ring of one.
            { guard: 'foundIsSelf', target: '#ring.member', actions: 'becomeAlone' },
            { guard: 'foundLinked', target: '#ring.member', actions: 'adoptFound' },
          ],
          on: {
            'link.up': { guard: 'isFound', target: '#ring.member', actions: ['linkUp', 'adoptFound'] },
            // The transport gave up on the connection (after its own retries): nothing more will
            // come of it, so the join starts over now rather than at linkTimeout (20 s).
            // Closed without a failure (e.g. by another part of this node, or the peer gave up
            // the attempt as it opened) it is asked for again; linkTimeout still bounds the step.
            'link.down': [
              { guard: and(['lostFound', 'linkFailed']), target: '#ring.rebootstrapping', actions: 'linkDown' },
              { guard: 'lostFound', actions: ['linkDown', 'connectFound'] },
              { actions: 'linkDown' },
            ],
          },
          after: { linkTimeout: '#ring.rebootstrapping' },
        },
      },
    },
    member: {
      type: 'parallel',
      entry: ['announceMember', 'notifySuccessor', 'linkNeighbours'],
      exit: 'announceNotMember',
      on: {
        // Links no longer needed are closed when the neighbourhood changes, not only as a round
        // starts: a calm ring's rounds are up to stabilizeMaxIntervalFactor periods apart.
        'link.up': { actions: ['greetPredecessor', 'linkUp', 'adoptLinkedSuccessors', 'pruneLinks'] },
        'link.down': [
          { guard: 'lostLastNeighbour', target: 'rebootstrapping', actions: 'linkDown' },
          // Our successor failed: the next one learns at once that we are its predecessor now
          // (by notify), not at our next round, which a calm ring spaces out up to 32 periods.
          { guard: 'lostSuccessor', actions: ['linkDown', 'linkNeighbours', 'notifySuccessor'] },
          { actions: ['linkDown', 'linkNeighbours'] },
        ],
        // A successor pushes its list when it changes (see pushIfChanged): reconcile at once.
        'stabilize.reply': { guard: 'isSuccessorReply', actions: ['reconcile', 'linkNeighbours', 'pruneLinks'] },
        // Far successors listed linkSettleMs ago (see settleLinks) are due their links.
        'links.settled': { actions: 'linkNeighbours' },
        'lookup.done': [
          { guard: 'isProbeLookup', actions: 'considerMergeResult' },
          { guard: 'isPredecessorLookup', actions: 'followPredecessorLead' },
        ],
      },
      states: {
        maintenance: {
          initial: 'waiting',
          states: {
            waiting: {
              entry: ['pruneLinks', 'noteCalm'],
              after: { stabilizeDelay: 'stabilizing' },
              // A successor we just adopted is asked as soon as its link is up rather than at the
              // next round: while a burst of joins is sorted out, a node walks back towards its
              // true successor one adopted predecessor per step, and a step then costs one link
              // setup and one round trip instead of a whole period. Each such step moves to a
              // strictly closer successor (or past a failed one), so the chain is finite.
              always: [
                { guard: 'successorUnasked', target: 'stabilizing' },
                // A change during a calm round's long wait cuts the wait back to a base period.
                { guard: 'calmBroken', target: 'waiting', reenter: true },
              ],
            },
            stabilizing: {
              entry: ['adoptLinkedSuccessors', 'requestNeighbours', 'probeOwnPosition', 'seekPredecessor'],
              always: [
                { guard: ({ context }) => context.successors.length === 0, target: 'waiting', actions: ['stabilizeAlone', 'notifySuccessor', 'linkNeighbours'] },
                // No request is out (no link yet), or it went down with a link closed meanwhile:
                // a timeout now would measure link setup, not the successor, and suspecting it
                // keeps a live node out of our list for unreachableMemoryMs (the demo's formation stall).
                { guard: 'successorUnlinked', target: 'awaitingLink' },
              ],
              on: {
                // The answer from whom we asked ends the round, even if a closer successor was
                // adopted meanwhile (then it is reconciled only if it is still our successor).
                'stabilize.reply': [
                  // No notify: the successor asked took the request as one, and a new successor is
                  // asked as soon as `waiting` is entered (successorUnasked) or its link comes up.
                  { guard: 'isSuccessorReply', target: 'waiting', actions: ['reconcile', 'linkNeighbours'] },
                  { guard: 'isAnswerToRequest', target: 'waiting' },
                ],
              },
              after: { requestTimeout: 'suspecting' },
            },
            /**
             * Our successor has no link yet (just adopted) or lost it: wait for it, then ask at
             * once. A link that never opens is normally reported by the transport (a failed
             * connect is a failed `link.down`); awaitLinkTimeout is the backstop.
             */
            awaitingLink: {
              entry: ['noteAwaitedLink', 'linkNeighbours'],
              always: [
                { guard: ({ context }) => context.successors.length === 0, target: 'waiting' },
                { guard: 'successorLinked', target: 'stabilizing' },
                { guard: 'awaitedLinkReplaced', target: 'awaitingLink', reenter: true },
              ],
              after: { awaitLinkTimeout: { target: 'suspecting', actions: 'blameAwaitedLink' } },
            },
            suspecting: {
              entry: 'suspectSuccessor',
              always: [
                { guard: 'hasSuccessor', target: 'waiting', actions: ['notifySuccessor', 'linkNeighbours'] },
                { guard: 'isolated', target: '#ring.rebootstrapping' },
                { target: 'waiting' },
              ],
            },
          },
        },
        merging: {
          initial: 'idle',
          states: {
            // The probe's link to an outside peer goes as the probe ends, not at the next prune.
            // Timed afresh once the list fills (mergeTimedOnFullList): the wait so far is dropped,
            // which a jittered period of minutes does not mind.
            idle: {
              entry: ['dropVia', 'pruneLinks', 'noteMergeTiming'],
              always: { guard: 'mergeTimedTooEarly', target: 'idle', reenter: true },
              after: { mergeDelay: 'sampling' },
            },
            sampling: {
              invoke: {
                src: 'sampleCandidates',
                input: ({ context }) => ({ ports: context.ports, self: context.self.id }),
                onDone: [{ guard: ({ event }) => event.output.length === 0, target: 'idle' }, { target: 'linking', actions: { type: 'chooseVia', params: { prefer: 'unlinked' } } }],
                onError: 'idle',
              },
              after: { lookupTimeout: 'idle' },
            },
            linking: {
              entry: 'connectVia',
              always: { guard: 'viaLinked', target: 'probing' },
              on: { 'link.up': { guard: 'isVia', target: 'probing', actions: 'linkUp' } },
              after: { linkTimeout: 'idle' },
            },
            probing: {
              entry: { type: 'lookupOwnPosition', params: { purpose: 'merge' } },
              on: {
                'lookup.done': [
                  { guard: and(['isMergeLookup', 'canContinue']), target: 'linking', actions: 'continueFromCut' },
                  { guard: 'isMergeLookup', target: 'idle', actions: ['considerMergeResult', 'forgetLookups'] },
                ],
                // The sampled peer is not on a ring yet: it can tell us nothing; probe again next period.
                'lookup.declined': { guard: 'isMergeLookup', target: 'idle', actions: 'forgetLookups' },
              },
              after: { lookupTimeout: { target: 'idle', actions: 'forgetLookups' } },
            },
          },
        },
      },
    },
    rebootstrapping: {
      entry: 'countFailedJoin',
      on: { 'ring.message': { actions: { type: 'dispatch', params: { member: false } } } },
      after: { rebootstrapDelay: 'joining' },
    },
    leaving: {
      entry: 'announceLeave',
      type: 'final',
    },
  },
});

/**
 * The lookup table with `rid` added for `purpose`, and any earlier lookup of that purpose
 * dropped: probes and predecessor searches repeat every few rounds, only the latest answer
 * counts, and a table that never shrinks would grow forever.
 */
function withLatestLookup(lookups: Readonly<Record<number, LookupPurpose>>, rid: number, purpose: LookupPurpose): Record<number, LookupPurpose> {
  const kept: Record<number, LookupPurpose> = {};
  for (const [key, held] of Object.entries(lookups)) if (held !== purpose) kept[Number(key)] = held;
  kept[rid] = purpose;
  return kept;
}

/** How long an unreachable peer stays out of our lists (RingConfig.unreachableMemoryMs; never shorter than failedMemoryMs). */
function unreachableMemory(context: Context): number {
  return Math.max(context.config.failedMemoryMs, context.config.unreachableMemoryMs);
}

/** How many base periods the next stabilization round waits: doubles per calm round, capped. */
function roundFactor(context: Context): number {
  return Math.min(context.config.stabilizeMaxIntervalFactor, 2 ** Math.min(context.rounds.calm.rounds, 16));
}

/** How many merge periods the next partition-merge probe waits: grows with the network (see RingConfig). */
function mergeFactor(context: Context): number {
  const { successorListLength, mergeReferenceSize, mergeMaxIntervalFactor } = context.config;
  return mergePeriodFactor(estimateNetworkSize(context.self, context.successors, successorListLength), mergeReferenceSize, mergeMaxIntervalFactor);
}

/** Predecessor and near successors (RingConfig.nearSuccessors), as a round ended with them (see noteCalm). */
interface Neighbourhood {
  predecessor: PeerId | undefined;
  successors: readonly PeerId[];
}

function neighbourhoodOf(context: Context): Neighbourhood {
  return { predecessor: context.predecessor?.id, successors: context.successors.slice(0, context.config.nearSuccessors).map((c) => c.id) };
}

/**
 * Whether our predecessor and near successors are still `seen`. Without allocating: the
 * `calmBroken` guard runs after every event of a waiting round (joined into one string, the
 * ids of nine neighbours made ~1.2 KB of garbage per ring event).
 */
function isNeighbourhood(context: Context, seen: Neighbourhood | undefined): boolean {
  if (seen === undefined) return false;
  const near = Math.min(context.config.nearSuccessors, context.successors.length);
  if (context.predecessor?.id !== seen.predecessor || near !== seen.successors.length) return false;
  for (let i = 0; i < near; i += 1) if (context.successors[i]!.id !== seen.successors[i]) return false;
  return true;
}

function neighbourIds(context: Context): PeerId[] {
  const ids = context.successors.map((c) => c.id);
  if (context.predecessor) ids.push(context.predecessor.id);
  return ids;
}

/**
 * Chord's notify: `from` takes us for its successor, so it is our predecessor if it is closer
 * than the one we have. Returns our predecessor after that.
 */
function considerPredecessor(context: Context, from: PeerId, enqueue: { assign(update: Partial<Context>): void }): Contact | undefined {
  const previous = context.predecessor;
  const predecessor = closerPredecessor(context.self, previous, contactOf(from));
  if (predecessor === previous || predecessor === undefined) return previous;
  enqueue.assign({ predecessor });
  // The displaced predecessor has a closer successor now (the newcomer): tell it at once
  // instead of at its next round — during a burst of joins this halves the walk.
  if (previous !== undefined && previous.id !== predecessor.id && context.links.has(previous.id)) {
    const successors = context.successors.map((c) => c.id);
    context.ports.send(previous.id, { t: 'neighbours', predecessor: predecessor.id, successors });
  }
  return predecessor;
}

/**
 * Links the neighbours due a link now (`next`: the context as the current event leaves it;
 * link-settling.ts), and when far successors were newly listed, has `links.settled` come back once
 * they have settled: a round would link them too, but a calm ring's rounds are up to ~96 s apart,
 * and a far successor unlinked that long after it settled is a failover that needs a connection first.
 */
function settleLinks(
  next: Context,
  enqueue: { assign(update: Partial<Context>): void; raise(event: Event, options: { delay: number }): void },
): void {
  const { link: due, listedSince, newlyListed } = settledNeighbours(
    next.successors,
    next.predecessor,
    next.links,
    next.listedSince,
    next.ports.clock.now(),
    next.config,
  );
  const owned = link(next, due);
  if (owned !== next.owned || listedSince !== next.listedSince) enqueue.assign({ owned, listedSince });
  if (newlyListed) enqueue.raise({ type: 'links.settled' }, { delay: next.config.linkSettleMs });
}

/** Asks for links to `peers` we lack, and returns the owned set including them. */
function link(context: Context, peers: readonly PeerId[], purpose?: 'discovery'): ReadonlySet<PeerId> {
  let owned: Set<PeerId> | undefined;
  for (const peer of peers) {
    if (peer === context.self.id) continue;
    if (!context.links.has(peer)) context.ports.connect(peer, purpose);
    if (!context.owned.has(peer)) (owned ??= new Set(context.owned)).add(peer);
  }
  return owned ?? context.owned;
}

/**
 * Successor lists propagate backwards one node per stabilization round in plain Chord. When
 * ours changes we push it to our predecessor, whose own list then changes and is pushed on in
 * turn: a join, leave or failure reaches the r nodes behind it in r message latencies instead
 * of r rounds. The cascade stops where a list no longer changes.
 *
 * A new predecessor (ours failed or left) gets our list too, changed or not: pushes we sent
 * while the old one was gone went nowhere, and the new one may hold a stale list that no round of
 * its own will correct soon, since a change past its near successors does not cut a calm wait
 * (RingConfig.nearSuccessors). Seen in ring-heal: one node kept a crashed peer at the end of its
 * list until its next round, 2.5 s after the rest had healed.
 */
function pushIfChanged(context: Context, successors: readonly Contact[], predecessor = context.predecessor): void {
  if (!predecessor) return;
  if (predecessor.id === context.predecessor?.id && sameIds(successors, context.successors)) return;
  pushList(context, successors, predecessor);
}

/** Tells our predecessor our successor list (unasked: see pushIfChanged). */
function pushList(context: Context, successors: readonly Contact[], predecessor: Contact): void {
  context.ports.send(predecessor.id, { t: 'neighbours', predecessor: predecessor.id, successors: successors.map((c) => c.id) });
}

/**
 * The peer we hold a link to that follows `asker` most closely, when one lies between it and us.
 * Joins in a crowd are answered with the successor among the members of the moment, and the
 * joiners that land in between each notify us, so our predecessor is only the closest of them:
 * an asker following predecessors walked back one node per stabilize round (200 nodes joining
 * in 1.2 s, simulator: one node took 40 s). The joiners all linked to us to join, so the asker's
 * true successor is usually among our links.
 */
function closestLinkAfter(context: Context, asker: PeerId): PeerId | undefined {
  const from = contactOf(asker).position;
  const isAlive = aliveCheck(context);
  const joining = joiningCheck(context);
  let best: Contact | undefined;
  for (const contact of linkedContacts(context)) {
    const peer = contact.id;
    if (peer === asker || peer === context.self.id || !isAlive(peer) || joining(peer)) continue;
    if (!between(contact.position, from, context.self.position)) continue;
    if (best === undefined || compareClockwise(from, contact.position, best.position) < 0) best = contact;
  }
  return best?.id;
}

/**
 * Dial the named peers that lie between us and our successor (a `hint`), keeping
 * them wanted until their link comes up — then adoptLinkedSuccessors takes them — or goes down.
 * Adopted at once instead, a crashed peer the sender had not yet noticed went back into lists
 * (ring-heal: 4.88 rounds after detection instead of 0.63).
 */
function dialToCheck(context: Context, peers: readonly PeerId[]): Partial<Context> {
  const next = successor(context);
  const isAlive = aliveCheck(context);
  const closer = peers.filter(
    (id) =>
      id !== context.self.id &&
      !context.links.has(id) &&
      !context.pending.includes(id) &&
      isAlive(id) &&
      (next === undefined || between(contactOf(id).position, context.self.position, next.position)),
  );
  if (closer.length === 0) return {};
  const pending = [...context.pending, ...closer].slice(-context.config.successorListLength);
  return { pending, owned: link(context, closer) };
}

/** A dial to check ended (its link came up or went down): the peer is no longer pending. */
function withoutPending(context: Context, peer: PeerId): readonly PeerId[] {
  return context.pending.includes(peer) ? context.pending.filter((p) => p !== peer) : context.pending;
}

/**
 * Our successor's list skips peers of ours that would come before its own successor; reconcile
 * drops them. Those we hold a live link to are alive as far as we know: tell the successor, which
 * links to them and adopts them once the link is up (a peer it saw fail stays out). Without
 * this, two interleaved chains of a ring that formed in a crowd — x → x+2 → x+4 and x+1 → x+3 → x+5, each node's predecessor
 * right — never meet: every stabilize answer confirms each chain (300 nodes joining in 1.8 s,
 * simulator: 6% of successors still wrong 40 s later). Each hint unzips one crossing, and the
 * successor's next answer to its own predecessor carries the fix on.
 */
function hintUnlisted(context: Context, report: SuccessorReport, isAlive: (id: PeerId) => boolean): void {
  // Only those: the rest of the successor's list follows from its own successor's answers.
  const next = report.list[0];
  if (next === undefined) return;
  const listed = new Set(report.list.map((c) => c.id));
  const unlisted = context.successors.filter(
    (c) => !listed.has(c.id) && isAlive(c.id) && context.links.has(c.id) && between(c.position, report.from.position, next.position),
  );
  if (unlisted.length > 0) context.ports.send(report.from.id, { t: 'hint', peers: unlisted.map((c) => c.id) });
}

function sameIds(a: readonly Contact[], b: readonly Contact[]): boolean {
  return a.length === b.length && a.every((contact, i) => contact.id === b[i]!.id);
}

/** Answer a lookup if we are responsible (or the target's predecessor); else pass it on. */
function routeFind(context: Context, message: Extract<RingMessage, { t: 'find' }>): void {
  const { self } = context;
  const answer = (node: PeerId, more?: true) => {
    const back = message.path[message.path.length - 1]!;
    const found: RingMessage = { t: 'found', rid: message.rid, target: message.target, node, path: message.path, by: self.id };
    context.ports.send(back, more ? { ...found, more } : found);
  };
  if (isResponsible(self.position, context.predecessor?.position, message.target)) {
    answer(self.id);
    return;
  }
  // Nodes on the path have seen this lookup: sending it back (to the origin of a probe for
  // the point just past it, say) only earns their own stale answer.
  const onPath = new Set(message.skip === undefined ? message.path : [...message.path, ...message.skip]);
  const hop = nextHop(self.position, message.target as Position, linkedContacts(context).filter((c) => !onPath.has(c.id)));
  if (hop === undefined) {
    // We are the target's predecessor as far as we know: the first node we know at or past the
    // target answers for it. (Not simply our successor: for a probe of the point just past the
    // origin, the origin's predecessor must name the origin's successor.)
    answer(firstKnownFrom(context, message.target, onPath)?.id ?? self.id);
    return;
  }
  if (message.path.length >= MAX_PATH) {
    // Out of path, and not there yet: say where the lookup got to. (Answering as if we were the
    // target's predecessor named a node before the target, which a joiner took for its
    // successor: a pointer nearly all the way round the ring, walked back one node per round.)
    answer(self.id, true);
    return;
  }
  context.ports.send(hop.id, { ...message, path: [...message.path, self.id] });
}

/**
 * A node that is not on the ring yet (joining, or back to bootstrap) knows no successor, so
 * any answer it gave would be a guess — and a guess was costly: sampled from the signaling
 * server as a joiner's bootstrap peer, it named the node it was itself joining through, which
 * lies before the target. The joiner took that for its successor (a pointer almost all the
 * way round the ring), stabilization walked it back one node per round, and the wrong lists
 * it spread made later joins wrong too: with 300 nodes joining 10 per second (simulator, seed
 * 1), the successor cycle still skipped a third of the ring a minute later. So such a node passes
 * the lookup on to the peer it is joining through. When it cannot (no such link, or the lookup
 * already went through it), it sends the lookup back (declineFind). Returns whether the lookup
 * was passed on.
 */
function passFindOn(context: Context, message: Extract<RingMessage, { t: 'find' }>): boolean {
  const via = context.via;
  if (via === undefined || !context.links.has(via) || message.path.includes(via) || message.skip?.includes(via) || message.path.length >= MAX_PATH) {
    return false;
  }
  return context.ports.send(via, { ...message, path: [...message.path, context.self.id] });
}

/**
 * A node not on a ring that cannot pass a lookup on sends it back to whoever sent it, naming
 * itself in `skip`: the sender routes it again past us, or (a joiner too) sends it further
 * back. Answering it instead — we are responsible for everything while we know no
 * predecessor — made a member that routed a lookup to a joiner linked to it (the joiner's
 * bootstrap peer, say) hand out that joiner as a successor, and the joiners of a crowd then
 * formed rings of their own beside the real one: 1,000 nodes joining in 6 s (simulator, seed 1)
 * were 10 interleaved rings, and only the merge probes joined them, a minute later. A lookup
 * that comes back to its origin is declined (the `lookup.declined` event). Returns whether
 * it was sent back.
 */
function declineFind(context: Context, message: Extract<RingMessage, { t: 'find' }>): boolean {
  const skip = [...(message.skip ?? []), context.self.id];
  if (skip.length > MAX_SKIP) return false;
  return context.ports.send(message.path[message.path.length - 1]!, { ...message, skip });
}

/**
 * A lookup we sent on, sent back by a peer not on a ring (declineFind): as it was before we sent
 * it. Only the decliner itself, naming itself last in `skip`, can send one back: otherwise any
 * linked peer could make a joiner give up its join (rids are sequential).
 */
function takenBack(context: Context, message: Extract<RingMessage, { t: 'find' }>, from: PeerId): Extract<RingMessage, { t: 'find' }> {
  if (message.path[message.path.length - 1] !== context.self.id || message.skip?.[message.skip.length - 1] !== from) return message;
  return { ...message, path: message.path.slice(0, -1) };
}

/**
 * The first node c we know — successor or link — with target ∈ (self, c]; our first successor
 * when none lies at or past the target (undefined: the caller answers itself). Links count:
 * when our list skips a stretch of the ring (churn left it wrong, see adoptLinkedSuccessors), a
 * link into that stretch gives the right answer where the list would confirm the wrong one. Nodes on the lookup's path are not answers: a joiner
 * linked to us (and adopted by adoptLinkedSuccessors) looking up its own position would be told
 * it is its own successor. Nor are peers still joining through us (see `joiners`).
 */
function firstKnownFrom(context: Context, target: Position, onPath: ReadonlySet<PeerId>): Contact | undefined {
  const self = context.self.position;
  let best: Contact | undefined;
  const consider = (candidate: Contact) => {
    if (!between(target, self, candidate.position, { inclusiveEnd: true })) return;
    if (best === undefined || compareClockwise(self, candidate.position, best.position) < 0) best = candidate;
  };
  const isAlive = aliveCheck(context);
  const joining = joiningCheck(context);
  for (const candidate of context.successors) if (!onPath.has(candidate.id) && !joining(candidate.id)) consider(candidate);
  for (const contact of linkedContacts(context)) {
    const peer = contact.id;
    if (peer !== context.self.id && !onPath.has(peer) && !joining(peer) && isAlive(peer)) consider(contact);
  }
  return best ?? context.successors.find((candidate) => !onPath.has(candidate.id) && !joining(candidate.id));
}

export type RingMachine = typeof ringMachine;
