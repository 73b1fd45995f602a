/**
 * Far successors are linked once they have stayed listed a while (RingConfig.linkSettleMs):
 * while a network grows, joins inside a list push its far end out within seconds, and a link
 * opened to each entry as it came was mostly closed again soon after (link-settling.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { settledNeighbours } from '../../src/actors/ring/link-settling.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const SETTLE_MS = 10_000;
const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 6, linkSettleMs: SETTLE_MS, eagerSuccessorLinks: 2, mergeIntervalMs: 3_600_000 };

const ids = (contacts: readonly Contact[]): PeerId[] => contacts.map((c) => c.id);

describe('settledNeighbours', () => {
  const [pred, a, b, c, d] = sortByPosition(randomContacts(createSeededRandom(3), 5)) as [Contact, Contact, Contact, Contact, Contact];
  const config = { linkSettleMs: 1_000, eagerSuccessorLinks: 1 };

  it('links the predecessor, the eager successors and linked ones at once, the rest once settled', () => {
    const first = settledNeighbours([a, b, c, d], pred, new Set([d.id]), new Map(), 5_000, config);
    expect(first.link.sort()).toEqual([pred.id, a.id, d.id].sort());
    // Linked or not, each far entry's listing time is kept (d's matters once its link closes).
    expect([...first.listedSince]).toEqual([
      [b.id, 5_000],
      [c.id, 5_000],
      [d.id, 5_000],
    ]);
    const early = settledNeighbours([a, b, c, d], pred, new Set([d.id]), first.listedSince, 5_999, config);
    expect(early.link).not.toContain(b.id);
    // Nothing new listed: the same Map, so the ring keeps its context.
    expect(early.listedSince).toBe(first.listedSince);
    expect([first.newlyListed, early.newlyListed]).toEqual([true, false]);
    const settled = settledNeighbours([a, b, c, d], pred, new Set([d.id]), first.listedSince, 6_000, config);
    expect(settled.link).toEqual(expect.arrayContaining([b.id, c.id]));
  });

  it('forgets entries that left the list, and restarts the wait of one listed again', () => {
    const first = settledNeighbours([a, b, c], undefined, new Set(), new Map(), 0, config);
    expect([...first.listedSince.keys()]).toEqual([b.id, c.id]);
    // c pushed out, d newly listed.
    const later = settledNeighbours([a, b, d], undefined, new Set(), first.listedSince, 500, config);
    expect([...later.listedSince]).toEqual([
      [b.id, 0],
      [d.id, 500],
    ]);
    expect(later.newlyListed).toBe(true);
    // Only an entry leaving: a new Map, but nothing newly listed (no settle to wait for).
    const shorter = settledNeighbours([a, d], undefined, new Set(), later.listedSince, 600, config);
    expect([...shorter.listedSince.keys()]).toEqual([d.id]);
    expect(shorter.newlyListed).toBe(false);
    const back = settledNeighbours([a, c, d], undefined, new Set(), later.listedSince, 1_200, config);
    expect(back.link).toEqual([a.id]);
    expect(back.listedSince.get(c.id)).toBe(1_200);
  });

  it('links a settled entry again at once when its link closes (the peer pruned it)', () => {
    const first = settledNeighbours([a, b], undefined, new Set([b.id]), new Map(), 0, config);
    expect(first.link).toEqual([a.id, b.id]);
    // 2 s later b closed the link it owned: b is still listed and settled, so we dial it now.
    const closed = settledNeighbours([a, b], undefined, new Set(), first.listedSince, 2_000, config);
    expect(closed.link).toEqual([a.id, b.id]);
    expect(closed.listedSince).toBe(first.listedSince);
  });

  it('links every neighbour at once with linkSettleMs 0', () => {
    const all = settledNeighbours([a, b, c, d], pred, new Set(), new Map(), 0, { linkSettleMs: 0, eagerSuccessorLinks: 1 });
    expect(all.link).toEqual([a.id, b.id, c.id, d.id, pred.id]);
    expect(all.listedSince.size).toBe(0);
  });
});

describe('ring actor: far successors are linked once settled', () => {
  let running: RingActorHarness | undefined;
  afterEach(() => {
    running?.stop();
    running = undefined;
  });

  it('dials the eager successors at once, a far one only after it stayed listed, and never one pushed out before that', async () => {
    const contacts = sortByPosition(randomContacts(createSeededRandom(8), 8));
    const [self, s0, s1, s2, s3, s4, joiner, s5] = contacts as [Contact, ...Contact[]] as Contact[];
    const h = startRingActor(self!, CONFIG, { linked: [s0!.id], bootstrap: [s0!.id] });
    running = h;
    // Our successor's list: us behind it, then s1 … s5 (r = 6 entries with s0 in ours).
    let report: Contact[] = [s1!, s2!, s3!, s4!, s5!];
    await h.joinBehind(s0!, report);
    expect(h.successors()).toEqual(ids([s0!, s1!, s2!, s3!, s4!, s5!]));
    await advance(h.clock, 0);
    // The first two successors at once; the far four wait.
    expect(h.connects).toContain(s1!.id);
    expect(h.connects).not.toContain(s2!.id);
    expect(h.connects).not.toContain(s5!.id);

    // A node joins between s4 and s5 before they settled: s5 is pushed out of our list.
    await h.answerGets(s0!, () => report, { withinMs: SETTLE_MS / 2 });
    expect(h.connects).not.toContain(s2!.id);
    report = [s1!, s2!, s3!, s4!, joiner!];
    await h.answerGets(s0!, () => report, { withinMs: SETTLE_MS / 2 + 2 * CONFIG.stabilizeIntervalMs * CONFIG.stabilizeMaxIntervalFactor });
    expect(h.successors()).toEqual(ids([s0!, s1!, s2!, s3!, s4!, joiner!]));
    // Settled entries got their links, from the first round after settling on.
    for (const settled of [s2!, s3!, s4!, joiner!]) expect(h.connects).toContain(settled.id);
    expect(h.connects).not.toContain(s5!.id);
  });

  it('links a far successor as soon as it has settled, not at the next round (calm rounds are far apart)', async () => {
    // Rounds at least 100 s apart: a link made within the settle time came from the settle itself.
    const slow: RingConfig = { ...CONFIG, stabilizeIntervalMs: 200_000, stabilizeMaxIntervalFactor: 1 };
    const contacts = sortByPosition(randomContacts(createSeededRandom(9), 8));
    const [self, s0, s1, s2, s3, s4, joiner, s5] = contacts as [Contact, ...Contact[]] as Contact[];
    const h = startRingActor(self!, slow, { linked: [s0!.id], bootstrap: [s0!.id] });
    running = h;
    await h.joinBehind(s0!, [s1!, s2!, s3!, s4!, s5!]);
    await h.answerGets(s0!, () => [s1!, s2!, s3!, s4!, s5!], { rounds: 1, withinMs: 1_000 });
    // A node joins between s4 and s5, and s0 pushes its new list.
    const pushedAt = h.clock.now();
    h.from(s0!, { t: 'neighbours', predecessor: self!.id, successors: ids([s1!, s2!, s3!, s4!, joiner!]) });
    expect(h.successors()).toContain(joiner!.id);
    await advance(h.clock, SETTLE_MS - 100);
    expect(h.connects).not.toContain(joiner!.id);
    await advance(h.clock, 200);
    expect(h.connects).toContain(joiner!.id);
    expect(h.sends.filter((s) => s.at >= pushedAt && s.message.t === 'get')).toHaveLength(0);
  });
});
