import type { PeerId } from '../../identity/peer-id.js';
import { contactOf, type Contact } from '../ring/contact.js';
import { positionHex } from '../ring/id-space.js';
import { nextHop } from '../ring/routing.js';
import type { RouteFailCode } from './route-messages.js';

/**
 * Where a routed message goes next. Greedy over the ring (routing.ts `nextHop`): toward the
 * target's position, to the link closest before it, over whatever links the node has; the last
 * hop is the target itself, once it is a direct link. Each hop lands strictly closer (clockwise)
 * to the target, so honest nodes can neither loop nor overshoot, whatever their views.
 */

/**
 * The next hop toward `target`, or undefined when no link makes progress: no link lies between
 * us and the target, and the target is not linked (it is gone, or our neighbourhood does not
 * know it). `exclude` (the previous hop, the origin) is never chosen, except the target itself.
 */
export function chooseNextHop(self: Contact, target: PeerId, links: readonly PeerId[], exclude: readonly PeerId[] = []): PeerId | undefined {
  if (target !== self.id && links.includes(target)) return target;
  const candidates: Contact[] = [];
  for (const link of links) {
    if (link !== self.id && !exclude.includes(link)) candidates.push(contactOf(link));
  }
  return nextHop(self.position, positionHex(target), candidates)?.id;
}

/**
 * The ring neighbours first (`preferred`; a linked target among them goes direct), and all links
 * only when none of those makes progress. The other links (the ring's join and probe links) open
 * and close every round or so, and a frame that meets a link its far end has begun to close is
 * lost: the transport drops frames that arrive after its own goodbye. Neither a link's age nor
 * the target being linked says it will stay: probe links can live for many seconds. Measured in
 * formed 16-node rings (r = 2, 580 routed sends between unlinked nodes): greedy over every link
 * lost ~5% of the messages that way, this order none. The preferred links always make progress
 * in a correct ring: a node's successor is one of them.
 */
export function choosePreferredHop(
  self: Contact,
  target: PeerId,
  preferred: readonly PeerId[],
  links: readonly PeerId[],
  exclude: readonly PeerId[] = [],
): PeerId | undefined {
  const usable = preferred.filter((peer) => links.includes(peer));
  return chooseNextHop(self, target, usable, exclude) ?? chooseNextHop(self, target, links, exclude);
}

export type ForwardDecision = { action: 'forward'; to: PeerId; ttl: number } | { action: 'fail'; code: RouteFailCode };

export interface ForwardInput {
  self: Contact;
  target: PeerId;
  /** Links the message may still cross, as it arrived (or as the origin set it: see `originating`). */
  ttl: number;
  links: readonly PeerId[];
  /** Links tried first (see choosePreferredHop); default none. */
  preferred?: readonly PeerId[];
  /** The neighbour it came from; absent at the origin. */
  previousHop?: PeerId;
  origin: PeerId;
  /** True at the origin: the ttl it set counts the first link, so nothing is spent yet. */
  originating?: boolean;
}

/**
 * What a node does with a message it must pass on. `ttl` counts links: a message that arrived
 * with ttl 1 has used its last one, and expires here unless we are its target (not this
 * function's case). The ttl check comes first: an expired message is not forwarded even to a
 * linked target, so a ttl of n really bounds the path to n links.
 */
export function decideForward(input: ForwardInput): ForwardDecision {
  const ttl = input.originating ? input.ttl : input.ttl - 1;
  if (ttl < 1) return { action: 'fail', code: 'TTL_EXPIRED' };
  const exclude = input.previousHop === undefined ? [input.origin] : [input.previousHop, input.origin];
  const to = choosePreferredHop(input.self, input.target, input.preferred ?? [], input.links, exclude);
  if (to === undefined) return { action: 'fail', code: 'UNREACHABLE' };
  return { action: 'forward', to, ttl };
}
