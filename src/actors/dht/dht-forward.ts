import type { PeerId } from '../../identity/peer-id.js';
import { contactOf, type Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import type { DhtMessage } from './dht-messages.js';
import { nonNextHop } from './non-next-hop.js';

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

/** Sends `message` to the best hop toward `target` that accepts it; returns whether one did. */
export function forward(node: ForwardingNode, target: Position, avoid: Set<PeerId>, message: DhtMessage): boolean {
  for (let hop = hopToward(node, target, avoid); hop !== undefined; hop = hopToward(node, target, avoid)) {
    if (node.ports.send(hop.id, message)) return true;
    avoid.add(hop.id);
  }
  return false;
}
