import type { PeerId } from '../../identity/peer-id.js';
import type { Position } from '../ring/id-space.js';
import { aimThrough, forward, type ForwardingNode } from './dht-forward.js';
import { MAX_AVOID, MAX_PEERS, MAX_TTL, type DhtMessage } from './dht-messages.js';

/**
 * Re-sending a lookup that gets no answer (issue 4, item 8).
 *
 * A crashed peer's link looks open until the heartbeat notices (15–20 s), and sending over it
 * still "succeeds". So the origin does not wait for the whole timeout: with no answer after
 * lookupRetryMs it sends the same request again (same rid: whichever answer comes first settles
 * it, later ones find nothing pending), routed around the peers its silent tries went through,
 * and again each interval, at most MAX_AVOID tries in all.
 *
 * Each try goes over a first hop and is aimed (NoN) at a node: of that hop and its link set,
 * the one nearest the target. Measured in the simulator (N = 100, 5-min sessions), the silent
 * node is mostly not the first hop but the node it aims at, the live-looking node nearest the
 * target that every route ends at, while the first hop is alive and often the nearest live
 * node itself. So a re-send routes around (`avoid`, honoured by every hop) every first hop
 * tried, but only *suspects* are also dropped from the answer: a first hop that was its own aim
 * (a link straight to the node nearest the target), and a node two silent tries through
 * different first hops were aimed at. Routing around a live first hop costs a longer route at
 * worst; leaving the nearest live peer out of the answer would make the answer wrong.
 */
export interface RetriableLookup {
  target: Position;
  count: number;
  /**
   * Each send so far: the link it went over, the node it was aimed at, when it was sent, and
   * whether that link closed gracefully before an answer came (its peer alive: no evidence);
   * first try first.
   */
  tries: { hop: PeerId; aim: PeerId; at: number; closed?: boolean }[];
  /** How many of the tries, from the first, went unanswered for a whole retry interval. */
  silent: number;
}

/** Peers believed gone after the silent tries: routed around, and left out of the answer. */
export function suspects(lookup: RetriableLookup): PeerId[] {
  const silent = lookup.tries.slice(0, lookup.silent).filter((t) => t.closed !== true);
  const aimed = new Map<PeerId, number>();
  for (const { aim } of silent) aimed.set(aim, (aimed.get(aim) ?? 0) + 1);
  const out = new Set<PeerId>();
  for (const { hop, aim } of silent) {
    if (hop === aim || aimed.get(aim)! >= 2) out.add(aim);
  }
  return [...out];
}

/** The peers a re-send routes around: every silent try's first hop, and the suspects. */
export function routedAround(lookup: RetriableLookup): PeerId[] {
  const hops = lookup.tries.slice(0, lookup.silent).map((t) => t.hop);
  return [...new Set([...hops, ...suspects(lookup)])].slice(0, MAX_AVOID);
}

/** The request for lookup `rid` as its origin sends it; `avoid` the peers to route around. */
export function lookupRequest(origin: PeerId, rid: number, target: Position, count: number, avoid: readonly PeerId[] = []): DhtMessage {
  const request: DhtMessage = { t: 'lookup', rid, target, count, ttl: MAX_TTL - 1, path: [origin] };
  return avoid.length === 0 ? request : { ...request, avoid: [...avoid] };
}

/** The first send of lookup `rid`: the lookup with its first try, or undefined when no link leads nearer the target. */
export function sendLookup(node: ForwardingNode, rid: number, target: Position, count: number, now: number): RetriableLookup | undefined {
  const lookup: RetriableLookup = { target, count, tries: [], silent: 0 };
  return send(node, rid, lookup, now) ? lookup : undefined;
}

/**
 * Whether the latest try has had a whole retry interval: one re-sent early (its link closed)
 * is not silent yet when the periodic retry comes round (measured: judging such a try after
 * ~20 ms made the node it was aimed at, alive, a suspect).
 */
export function retryDue(lookup: RetriableLookup, now: number, retryMs: number): boolean {
  const last = lookup.tries.at(-1);
  return last === undefined || now - last.at >= retryMs;
}

export type Resent =
  /** Sent again through `hop`. */
  | { kind: 'sent'; hop: PeerId }
  /** No other link leads nearer the target than this node: it is where the lookup stops now. */
  | { kind: 'stop' }
  /** MAX_AVOID tries made: the lookup waits for an answer or its timeout. */
  | { kind: 'exhausted' };

/** No answer for a retry interval: every try so far is silent; sends lookup `rid` again, routed around them. */
export function resendLookup(node: ForwardingNode, rid: number, lookup: RetriableLookup, now: number): Resent {
  lookup.silent = lookup.tries.length;
  if (lookup.tries.length >= MAX_AVOID) return { kind: 'exhausted' };
  const hop = send(node, rid, lookup, now);
  return hop === undefined ? { kind: 'stop' } : { kind: 'sent', hop };
}

/**
 * The link `peer` closed (`failed`: a crash noticed). If the latest try of `lookup` went over
 * it, its answer cannot come back that way: true, and the caller re-sends now rather than after
 * the retry interval. A graceful close says the peer lives (the planner pruned the link, often
 * within ms of the send), so that try is no evidence against it or its aim.
 */
export function tryLost(lookup: RetriableLookup, peer: PeerId, failed: boolean): boolean {
  const last = lookup.tries.at(-1);
  if (last === undefined || last.hop !== peer || lookup.silent === lookup.tries.length) return false;
  if (!failed) last.closed = true;
  return true;
}

/** Asks for as many more peers as there are suspects, so the answer is still `count` long without them. */
function send(node: ForwardingNode, rid: number, lookup: RetriableLookup, now: number): PeerId | undefined {
  const avoid = routedAround(lookup);
  const count = Math.min(lookup.count + suspects(lookup).length, MAX_PEERS);
  const skip = new Set([node.self.id, ...avoid]);
  const hop = forward(node, lookup.target, skip, lookupRequest(node.self.id, rid, lookup.target, count, avoid));
  if (hop !== undefined) lookup.tries.push({ hop, aim: aimThrough(node, lookup.target, hop, skip), at: now });
  return hop;
}

/** The answer to `lookup` from the peers an answer named (nearest first): its suspects left out, `count` long. */
export function answerFor(lookup: RetriableLookup, peers: readonly PeerId[]): PeerId[] {
  return without(peers, suspects(lookup)).slice(0, lookup.count);
}

/**
 * The `count` peers of an answer without `left` (peers it must not name): `nearest(n)` gives
 * the n nearest the answering node vouches for, so asking a few more keeps it `count` long.
 */
export function answerWithout(nearest: (n: number) => PeerId[], count: number, left: readonly PeerId[]): PeerId[] {
  if (left.length === 0) return nearest(count);
  return without(nearest(Math.min(count + left.length, 2 * MAX_PEERS)), left).slice(0, count);
}

function without(peers: readonly PeerId[], left: readonly PeerId[]): PeerId[] {
  if (left.length === 0) return [...peers];
  const skip = new Set(left);
  return peers.filter((peer) => !skip.has(peer));
}
