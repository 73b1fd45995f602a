import type { Candidate } from './candidates.js';
import { RoutingTable, type TableContact } from './routing-table.js';

/**
 * The table the link planner chooses from: the verified contacts, then the unverified
 * candidates. A throwaway copy, so candidates never reach the real table (a dial to one that
 * opens is an authenticated link: only then is it admitted), and each introducer places at most
 * `maxPerIntroducer` of them per bucket (no peer can steer our links to identities it made up).
 * `exclude`: peers the planner must not pick for now. Candidates compete with verified contacts
 * on failures and nearness alone (link-planner.ts): the table keeps the longest-known members of
 * a wide bucket, much the same few peers for every node, so ranking verified contacts first
 * would concentrate the network's links on them again (reasoned, not measured). A candidate
 * that does not answer fails its dial and is forgotten until heard of again.
 */
export function planningTable(
  table: RoutingTable,
  candidates: readonly Candidate[],
  now: number,
  maxPerIntroducer: number,
  exclude: ReadonlySet<string> = new Set(),
): RoutingTable {
  const plan = new RoutingTable(table.self, now, { k: table.config.k, replacementCacheSize: 0, maxPerIntroducer });
  const verified = table.contacts().sort((a: TableContact, b: TableContact) => a.addedAt - b.addedAt);
  for (const contact of verified) {
    if (exclude.has(contact.id)) continue;
    plan.observe(contact, contact.addedAt, { verified: true });
    // Keep its failure count: the planner prefers contacts that fail less.
    for (let i = 0; i < contact.failures; i += 1) plan.markFailed(contact.id);
  }
  for (const candidate of candidates) {
    if (table.has(candidate.id) || exclude.has(candidate.id)) continue;
    plan.observe(candidate, now + 1, { verified: true, introducer: candidate.introducer });
  }
  return plan;
}
