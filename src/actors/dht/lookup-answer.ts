import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import { contactOf, type Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import type { RoutingTable, TableContact } from './routing-table.js';
import { closest } from './xor-distance.js';

/**
 * The answer of the node where a lookup stops: the `count` peers nearest `target` by XOR among
 * those this node can vouch are alive now, nearest first:
 *   - itself and its links (an open link is heartbeat-checked);
 *   - its links' own links, as each link last announced them (the link vouches for them, and
 *     re-announces when they change: a crashed one leaves the set as soon as the link notices
 *     the failure, other changes at its next plan round);
 *   - table contacts observed within `freshMs` (a link that closed gracefully, recently).
 * Never rumours (peers only heard of), and never a table contact not seen for longer, however
 * close: the node has no evidence it still lives. Over real WebRTC a peer that crashed after
 * its link to the answering node had closed stayed in that node's table and came back in
 * answers for as long as the table kept it.
 */
export function closestVouched(input: {
  self: Contact;
  target: Position;
  count: number;
  links: readonly Contact[];
  linkSets: ReadonlyMap<PeerId, readonly Contact[]>;
  table: readonly TableContact[];
  now: number;
  freshMs: number;
}): PeerId[] {
  const { self, target, count, links, linkSets, table, now, freshMs } = input;
  const pool = new Map<PeerId, Contact>([[self.id, self]]);
  for (const link of links) {
    pool.set(link.id, link);
    for (const vouched of linkSets.get(link.id) ?? []) if (!pool.has(vouched.id)) pool.set(vouched.id, vouched);
  }
  for (const contact of table) {
    if (now - contact.lastSeen <= freshMs && !pool.has(contact.id)) pool.set(contact.id, contact);
  }
  return closest(target, [...pool.values()], count, (contact) => contact.position).map((contact) => contact.id);
}

/** Table contacts considered for an answer: the nearest few times `count`, so fresh ones behind stale ones still count. */
const TABLE_CANDIDATES_PER_ANSWER = 4;

/** closestVouched for a DHT node: its links, their link sets, and table contacts seen within two plan rounds. */
export function answerPeers(
  node: {
    self: Contact;
    config: { planIntervalMs: number };
    ports: { clock: Clock };
    state: { links: ReadonlySet<PeerId>; linkSets: ReadonlyMap<PeerId, readonly Contact[]>; table: Pick<RoutingTable, 'closest'> };
  },
  target: Position,
  count: number,
): PeerId[] {
  return closestVouched({
    self: node.self,
    target,
    count,
    links: [...node.state.links].map(contactOf),
    linkSets: node.state.linkSets,
    table: node.state.table.closest(target, count * TABLE_CANDIDATES_PER_ANSWER),
    now: node.ports.clock.now(),
    freshMs: 2 * node.config.planIntervalMs,
  });
}
