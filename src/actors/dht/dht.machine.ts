import { assign, enqueueActions, setup } from 'xstate';
import type { ErrorCode } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { Random } from '../../ports/random.js';
import { contactOf, type Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import { Candidates } from './candidates.js';
import type { DhtConfig } from './dht-config.js';
import { MAX_LINK_SET, MAX_PATH, MAX_TTL, type DhtMessage } from './dht-messages.js';
import { planLinks } from './link-planner.js';
import { closestKnown } from './lookup-answer.js';
import { nonNextHop } from './non-next-hop.js';
import { planningTable } from './planning-table.js';
import { RoutingTable } from './routing-table.js';

/**
 * The DHT of one node (systemId 'dht'): a Kademlia routing table fed by the node's links,
 * lookups routed recursively over links that already exist (never a new connection per hop),
 * and a planner that spends the node's few links on the contacts that make lookups short.
 *
 *   running ── planDelay (jittered) ──▶ running (re-entered: plan links, announce link set)
 *
 * One state, because the DHT has no phases of its own: the ring brings the first links, and
 * everything else is a reaction to a link or a message. Every wait has a timeout: a lookup
 * started here fails with TIMEOUT after lookupTimeoutMs; a dial the planner asked for that has
 * not opened by the next plan round (≥ planIntervalMs later) counts as a failure of that contact.
 *
 * Contacts: a link that comes up is a verified contact (an authenticated channel proves the
 * key) and enters the table. Peers we only hear of (in a link set or a `closest` answer) are
 * held as unverified candidates the planner may choose to link to; they never enter the table
 * or an answer until their link opens. A link that fails is evicted at once.
 *
 * Neighbour-of-neighbour routing needs each link's link set: on link up we send the peer ours
 * (`links`), and when ours changes we send the new one to every link at most once per
 * planIntervalMs (batched: changes in between go out together at the next plan round).
 *
 * Link budget: links others opened count against ours and are never closed by us, so the
 * planner treats them like ring neighbours (fixed: counted, never closed) and we shed our own
 * as soon as a link up puts us over budget; an opener that finds itself past the budget in its
 * peer's link set yields (see yieldIfSaturated), backing off that peer exponentially.
 *
 * Mutable state (the table, the candidates, the maps below) lives in `state` and is changed only
 * from this machine's actions; each handler bumps `version` so snapshots change with it.
 */
export interface DhtPorts {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Sends over an open, authenticated link; false when there is none. */
  send(to: PeerId, message: DhtMessage): boolean;
  /** Asks the transport for a link (idempotent); `link.up` follows if it opens. */
  connect(peer: PeerId): void;
  /** Closes a link this actor opened (graceful; `link.down` follows). */
  disconnect(peer: PeerId): void;
  /** Peers with an open link right now (the DHT may start after some opened). */
  openPeers(): readonly PeerId[];
  /** The ring's predecessor and successors: counted against the budget, never closed here. */
  ringNeighbours(): readonly PeerId[];
  /** The outcome of a lookup the runtime asked for with `lookup {rid}`. */
  answer(rid: number, outcome: LookupOutcome): void;
}

export type LookupOutcome =
  /** `hops`: links the request crossed before the answering node (0: answered here). */
  | { ok: true; peers: PeerId[]; hops: number }
  | { ok: false; code: Extract<ErrorCode, 'TIMEOUT' | 'BACKPRESSURE' | 'NOT_CONNECTED'>; message: string };

export interface DhtInput {
  self: PeerId;
  config: DhtConfig;
  ports: DhtPorts;
}

/** One introducer places at most this many candidates per bucket in the planner's view. */
const CANDIDATES_PER_INTRODUCER = 2;
/** Plan rounds we leave a peer alone after it was over its link budget. */
const SATURATED_BACKOFF_ROUNDS = 3;
const SATURATED_MAX_DOUBLINGS = 5;

interface PendingLookup {
  target: Position;
  count: number;
}

/** The DHT's mutable state; see the machine comment. */
export interface DhtState {
  table: RoutingTable;
  candidates: Candidates;
  links: Set<PeerId>;
  /** Links this actor asked for: the only ones it ever closes. */
  owned: Set<PeerId>;
  /** Dials not yet open, by the time they were asked for. */
  dialing: Map<PeerId, number>;
  /** Each current link's own link set, as it last told us. */
  linkSets: Map<PeerId, Contact[]>;
  /** Lookups started here, by the runtime's rid. */
  pending: Map<number, PendingLookup>;
  /** Peers that were over their link budget when we linked to them: left alone until `until`. */
  saturated: Map<PeerId, { until: number; times: number }>;
  linkSetChanged: boolean;
  lastAnnouncedAt: number;
}

interface Context {
  self: Contact;
  config: DhtConfig;
  ports: DhtPorts;
  state: DhtState;
  version: number;
}

type Event =
  | { type: 'link.up'; peer: PeerId }
  | { type: 'link.down'; peer: PeerId; failed: boolean }
  | { type: 'dht.message'; from: PeerId; message: DhtMessage }
  /** From the runtime: find the `count` peers nearest `target`; the outcome goes to `ports.answer(rid)`. */
  | { type: 'lookup'; rid: number; target: Position; count: number }
  | { type: 'lookup.expire'; rid: number };

function linkContacts(state: DhtState): Contact[] {
  return [...state.links].map(contactOf);
}

function linkSetMessage(state: DhtState): DhtMessage {
  return { t: 'links', peers: [...state.links].slice(0, MAX_LINK_SET) };
}

/** The link to forward a lookup for `target` to, NoN-greedy; undefined when none gets closer. */
function hopToward(context: Context, target: Position, avoid: ReadonlySet<PeerId>): Contact | undefined {
  const { state } = context;
  return nonNextHop(context.self.position, target, linkContacts(state), (link) => state.linkSets.get(link.id), avoid);
}

/** Sends `message(hop)` to the best hop that accepts it; returns whether one did. */
function forward(context: Context, target: Position, avoid: Set<PeerId>, message: DhtMessage): boolean {
  for (let hop = hopToward(context, target, avoid); hop !== undefined; hop = hopToward(context, target, avoid)) {
    if (context.ports.send(hop.id, message)) return true;
    avoid.add(hop.id);
  }
  return false;
}

/** `told`: a link that has just been sent the current set already. */
function announceIfDue(context: Context, now: number, told?: PeerId): void {
  const { state } = context;
  if (!state.linkSetChanged || now - state.lastAnnouncedAt < context.config.planIntervalMs) return;
  const message = linkSetMessage(state);
  for (const link of state.links) if (link !== told) context.ports.send(link, message);
  state.linkSetChanged = false;
  state.lastAnnouncedAt = now;
}

function linkUp(context: Context, peer: PeerId): void {
  const { state, ports } = context;
  const now = ports.clock.now();
  state.dialing.delete(peer);
  state.candidates.forget(peer);
  state.table.observe(contactOf(peer), now, { verified: true });
  if (state.links.has(peer)) return;
  state.links.add(peer);
  ports.send(peer, linkSetMessage(state));
  state.linkSetChanged = true;
  // Over budget (a link someone else opened, or our dials landing together): shed our own
  // excess now rather than at the next plan round.
  if (state.links.size > context.config.linkBudget) applyPlan(context, now, { open: false });
  announceIfDue(context, now, peer);
}

function linkDown(context: Context, peer: PeerId, failed: boolean): void {
  const { state } = context;
  state.owned.delete(peer);
  state.dialing.delete(peer);
  state.linkSets.delete(peer);
  // A failed link is direct evidence; a graceful close (a planner pruning) says the peer lives.
  if (failed) {
    state.table.evict(peer);
    state.candidates.forget(peer);
  }
  if (!state.links.delete(peer)) return;
  state.linkSetChanged = true;
  announceIfDue(context, context.ports.clock.now());
}

function receive(context: Context, from: PeerId, message: DhtMessage): void {
  const { state, ports, self } = context;
  switch (message.t) {
    case 'links': {
      if (!state.links.has(from)) return;
      const contacts = message.peers.filter((peer) => peer !== self.id && peer !== from).map(contactOf);
      state.linkSets.set(from, contacts);
      state.candidates.hear(contacts, from, self.id);
      yieldIfSaturated(context, from, message.peers);
      return;
    }
    case 'lookup':
      onLookup(context, from, message);
      return;
    case 'closest':
      onClosest(context, from, message);
      return;
    case 'ping':
      ports.send(from, { t: 'pong', nonce: message.nonce });
      return;
    // pong (bucket liveness), announce / find-providers / providers: later slices.
    default:
      return;
  }
}

/**
 * Others' links count against a node's budget and it may not close them, so the openers keep
 * it within budget: a link set lists links in the order they came up, and an opener that finds
 * itself past the budget in the peer's list closes its link and leaves that peer alone for a
 * few plan rounds. The latest links go first, exactly the excess, with no extra message.
 */
function yieldIfSaturated(context: Context, from: PeerId, theirLinks: readonly PeerId[]): void {
  const { state, ports, config, self } = context;
  if (!state.owned.has(from) || theirLinks.indexOf(self.id) < config.linkBudget) return;
  if (ports.ringNeighbours().includes(from)) return;
  state.owned.delete(from);
  // Backs off longer each time, so a popular peer stops drawing dials that it will shed.
  const times = Math.min((state.saturated.get(from)?.times ?? 0) + 1, SATURATED_MAX_DOUBLINGS);
  state.saturated.set(from, { until: ports.clock.now() + SATURATED_BACKOFF_ROUNDS * 2 ** (times - 1) * config.planIntervalMs, times });
  ports.disconnect(from);
}

function onLookup(context: Context, from: PeerId, message: Extract<DhtMessage, { t: 'lookup' }>): void {
  const { self, ports, state } = context;
  // Each hop appends itself before forwarding: the sender must be the path's last entry.
  if (message.path[message.path.length - 1] !== from || message.path.includes(self.id)) {
    ports.logger.debug('dht lookup dropped: bad path', { from });
    return;
  }
  if (message.ttl > 0 && message.path.length < MAX_PATH) {
    const onward: DhtMessage = { ...message, ttl: message.ttl - 1, path: [...message.path, self.id] };
    if (forward(context, message.target, new Set(message.path), onward)) return;
  }
  const peers = closestKnown(self, message.target, message.count, linkContacts(state), state.table);
  ports.send(from, { t: 'closest', rid: message.rid, target: message.target, peers, path: message.path });
}

function onClosest(context: Context, from: PeerId, message: Extract<DhtMessage, { t: 'closest' }>): void {
  const { self, ports, state } = context;
  const at = message.path.indexOf(self.id);
  if (at < 0) return;
  if (at > 0) {
    ports.send(message.path[at - 1]!, message);
    return;
  }
  const pending = state.pending.get(message.rid);
  if (pending === undefined || pending.target !== message.target) return;
  state.pending.delete(message.rid);
  state.candidates.hear(message.peers.map(contactOf), from, self.id);
  ports.answer(message.rid, { ok: true, peers: message.peers.slice(0, pending.count), hops: message.path.length });
}

/** Starts a lookup: forwarded (pending until `closest` or expiry) or answered at once. */
function startLookup(context: Context, rid: number, target: Position, count: number): void {
  const { self, ports, state, config } = context;
  if (state.pending.size >= config.maxPendingLookups) {
    ports.answer(rid, { ok: false, code: 'BACKPRESSURE', message: `${config.maxPendingLookups} lookups already await their answer` });
    return;
  }
  const request: DhtMessage = { t: 'lookup', rid, target, count, ttl: MAX_TTL - 1, path: [self.id] };
  if (forward(context, target, new Set([self.id]), request)) {
    state.pending.set(rid, { target, count });
    return;
  }
  if (state.links.size === 0 && state.table.size === 0) {
    ports.answer(rid, { ok: false, code: 'NOT_CONNECTED', message: 'this node knows no peers yet' });
    return;
  }
  // Nothing nearer within two hops: this node is where the lookup would stop.
  ports.answer(rid, { ok: true, peers: closestKnown(self, target, count, linkContacts(state), state.table), hops: 0 });
}

function plan(context: Context): void {
  const { state, ports, config } = context;
  const now = ports.clock.now();
  for (const [peer, since] of state.dialing) {
    if (now - since < config.planIntervalMs) continue;
    state.dialing.delete(peer);
    state.owned.delete(peer);
    state.table.markFailed(peer);
    state.candidates.forget(peer);
  }
  applyPlan(context, now, { open: true });
  announceIfDue(context, now);
}

/** Plans the links and closes the owned ones the plan drops; dials the ones it adds if `open`. */
function applyPlan(context: Context, now: number, options: { open: boolean }): void {
  const { state, ports, config } = context;
  const excluded = new Set<PeerId>();
  for (const [peer, { until }] of state.saturated) {
    if (now < until) excluded.add(peer);
    // Remembered a while past the back-off so a peer that fills up again backs us off longer.
    else if (now >= until + SATURATED_BACKOFF_ROUNDS * 2 ** SATURATED_MAX_DOUBLINGS * config.planIntervalMs) state.saturated.delete(peer);
  }
  // Links we may not close (the ring's neighbours, links others opened to us) are fixed for
  // the planner as ring neighbours are: counted in the budget and in their bucket, never closed.
  const fixed = new Set(ports.ringNeighbours());
  for (const peer of state.links) if (!state.owned.has(peer)) fixed.add(peer);
  const ownedLinks = [...state.owned].filter((peer) => state.links.has(peer));
  const table = planningTable(state.table, state.candidates.list(), now, CANDIDATES_PER_INTRODUCER, excluded);
  const { open, close } = planLinks({ table, links: ownedLinks, ringNeighbours: [...fixed], budget: config.linkBudget });
  for (const peer of options.open ? open : []) {
    if (state.links.has(peer) || state.dialing.has(peer)) continue;
    state.owned.add(peer);
    state.dialing.set(peer, now);
    ports.connect(peer);
  }
  for (const peer of close) {
    if (!state.owned.delete(peer)) continue;
    ports.disconnect(peer);
  }
}

function jittered(random: Random, meanMs: number): number {
  return Math.round(meanMs * (0.5 + random.float()));
}

export const dhtMachine = setup({
  types: {
    context: {} as Context,
    events: {} as Event,
    input: {} as DhtInput,
  },
  delays: {
    planDelay: ({ context }) => jittered(context.ports.random, context.config.planIntervalMs),
  },
  actions: {
    loadLinks: ({ context }) => {
      for (const peer of context.ports.openPeers()) linkUp(context, peer);
    },
    linkUp: ({ context, event }) => {
      if (event.type === 'link.up') linkUp(context, event.peer);
    },
    linkDown: ({ context, event }) => {
      if (event.type === 'link.down') linkDown(context, event.peer, event.failed);
    },
    receive: ({ context, event }) => {
      if (event.type !== 'dht.message') return;
      try {
        receive(context, event.from, event.message);
      } catch (error) {
        // Validated input should never get here; a bug in one message must not stop the DHT.
        context.ports.logger.warn('dht message failed', { from: event.from, t: event.message.t, error: String(error) });
      }
    },
    startLookup: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'lookup') return;
      enqueue(() => startLookup(context, event.rid, event.target, event.count));
      // Raised for every lookup and never cancelled: an expiry for a settled rid finds nothing.
      enqueue.raise({ type: 'lookup.expire', rid: event.rid }, { delay: context.config.lookupTimeoutMs });
    }),
    expire: ({ context, event }) => {
      if (event.type !== 'lookup.expire') return;
      if (!context.state.pending.delete(event.rid)) return;
      context.ports.answer(event.rid, { ok: false, code: 'TIMEOUT', message: `no answer to the lookup within ${context.config.lookupTimeoutMs} ms` });
    },
    plan: ({ context }) => plan(context),
    bump: assign(({ context }) => ({ version: context.version + 1 })),
  },
}).createMachine({
  id: 'dht',
  context: ({ input }) => ({
    self: contactOf(input.self),
    config: input.config,
    ports: input.ports,
    state: {
      table: new RoutingTable(contactOf(input.self).position, input.ports.clock.now(), { k: input.config.k }),
      candidates: new Candidates(),
      links: new Set(),
      owned: new Set(),
      dialing: new Map(),
      linkSets: new Map(),
      pending: new Map(),
      saturated: new Map(),
      linkSetChanged: false,
      lastAnnouncedAt: Number.NEGATIVE_INFINITY,
    },
    version: 0,
  }),
  entry: ['loadLinks', 'bump'],
  initial: 'running',
  states: {
    running: {
      after: { planDelay: { target: 'running', reenter: true, actions: ['plan', 'bump'] } },
      on: {
        'link.up': { actions: ['linkUp', 'bump'] },
        'link.down': { actions: ['linkDown', 'bump'] },
        'dht.message': { actions: ['receive', 'bump'] },
        lookup: { actions: ['startLookup', 'bump'] },
        'lookup.expire': { actions: ['expire', 'bump'] },
      },
    },
  },
});
