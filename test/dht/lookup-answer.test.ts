import { describe, expect, it } from 'vitest';
import { closestVouched } from '../../src/actors/dht/lookup-answer.js';
import type { TableContact } from '../../src/actors/dht/routing-table.js';
import { closest } from '../../src/actors/dht/xor-distance.js';
import { contactOf, type Contact } from '../../src/actors/ring/contact.js';
import { generateIdentity } from '../../src/identity/identity.js';
import { createSeededRandom } from '../../sim/seeded-random.js';

const random = createSeededRandom(3);
const contacts = (n: number): Contact[] => Array.from({ length: n }, () => contactOf(generateIdentity(random).peerId));
const tableEntry = (contact: Contact, lastSeen: number): TableContact => ({ ...contact, introducer: contact.id, addedAt: 0, lastSeen, failures: 0 });

describe('closestVouched: a lookup answer names only peers the node can vouch for', () => {
  const [self, ...others] = contacts(40) as [Contact, ...Contact[]];
  const links = others.slice(0, 5);
  const viaLinks = others.slice(5, 15);
  const stale = others.slice(15, 25);
  const fresh = others.slice(25, 30);
  const linkSets = new Map(links.map((link, i) => [link.id, viaLinks.slice(i * 2, i * 2 + 2)]));
  const table = [...stale.map((c) => tableEntry(c, 0)), ...fresh.map((c) => tableEntry(c, 9_000))];
  const answer = (target: Contact['position'], count: number) =>
    closestVouched({ self, target, count, links, linkSets, table, now: 10_000, freshMs: 2_000 });

  it('is the XOR-closest of self, links, their link sets and fresh table contacts — never a stale one', () => {
    const vouched = [self, ...links, ...viaLinks, ...fresh];
    for (const target of others.map((c) => c.position)) {
      expect(answer(target, 8)).toEqual(closest(target, vouched, 8, (c) => c.position).map((c) => c.id));
    }
    const staleIds = new Set(stale.map((c) => c.id));
    for (const target of stale.map((c) => c.position)) expect(answer(target, 20).some((id) => staleIds.has(id))).toBe(false);
  });

  it('includes a stale-looking table contact when a link vouches for it', () => {
    const vouchedStale = stale[0]!;
    const sets = new Map(linkSets);
    sets.set(links[0]!.id, [...(linkSets.get(links[0]!.id) ?? []), vouchedStale]);
    const found = closestVouched({ self, target: vouchedStale.position, count: 1, links, linkSets: sets, table, now: 10_000, freshMs: 2_000 });
    expect(found).toEqual([vouchedStale.id]);
  });
});
