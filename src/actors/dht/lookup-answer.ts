import type { PeerId } from '../../identity/peer-id.js';
import type { Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import type { RoutingTable } from './routing-table.js';
import { closest } from './xor-distance.js';

/**
 * The answer of the node where a lookup stops: the `count` peers nearest `target` by XOR among
 * the node itself, its links and its routing table, nearest first. Only peers the node has
 * verified (itself, its links, table contacts: the table admits verified contacts only), never
 * rumours, so an answer names no peer the node merely heard of.
 */
export function closestKnown(
  self: Contact,
  target: Position,
  count: number,
  links: readonly Contact[],
  table: Pick<RoutingTable, 'closest'>,
): PeerId[] {
  const pool = new Map<PeerId, Contact>([[self.id, self]]);
  for (const link of links) pool.set(link.id, link);
  for (const contact of table.closest(target, count)) if (!pool.has(contact.id)) pool.set(contact.id, contact);
  return closest(target, [...pool.values()], count, (contact) => contact.position).map((contact) => contact.id);
}
