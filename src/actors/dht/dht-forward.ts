import type { PeerId } from '../../identity/peer-id.js';
import { contactOf, type Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import type { DhtMessage } from './dht-messages.js';
import { nonNextHop } from './non-next-hop.js';
import { compareDistance } from './xor-distance.js';

/**
 * Forwarding a routed DHT request (lookup, provider query, record store) one link nearer its
 * target. Shared by the lookup and provider-record handlers so both route the same way: over
 * links the node already holds, neighbour-of-neighbour greedy, never a new connection per hop.
 */
export interface ForwardingNode {
  self: Contact;
  state: { links: ReadonlySet<PeerId>; linkSets: ReadonlyMap<PeerId, readonly Contact[]> };
  ports: { send(to: PeerId, message: DhtMessage): boolean };
}

export function linkContacts(node: Pick<ForwardingNode, 'state'>): Contact[] {
  return [...node.state.links].map(contactOf);
}

/** The link to forward toward `target` through, NoN-greedy; undefined when none gets closer. */
export function hopToward(node: ForwardingNode, target: Position, avoid: ReadonlySet<PeerId>): Contact | undefined {
  const { state } = node;
  return nonNextHop(node.self.position, target, linkContacts(node), (link) => state.linkSets.get(link.id), avoid);
}

/** Sends `message` to the best hop toward `target` that accepts it; returns that hop (undefined: none did). */
export function forward(node: ForwardingNode, target: Position, avoid: Set<PeerId>, message: DhtMessage): PeerId | undefined {
  for (let hop = hopToward(node, target, avoid); hop !== undefined; hop = hopToward(node, target, avoid)) {
    if (node.ports.send(hop.id, message)) return hop.id;
    avoid.add(hop.id);
  }
  return undefined;
}

/**
 * The node a request sent through `hop` is aimed at: of `hop` and its link set, the one nearest
 * `target` (what nonNextHop chose `hop` for), skipping `avoid`.
 */
export function aimThrough(node: Pick<ForwardingNode, 'state'>, target: Position, hop: PeerId, avoid: ReadonlySet<PeerId>): PeerId {
  let aim = contactOf(hop);
  for (const next of node.state.linkSets.get(hop) ?? []) {
    if (!avoid.has(next.id) && compareDistance(target, next.position, aim.position) < 0) aim = next;
  }
  return aim.id;
}
