/**
 * A stabilization round that learns nothing new leaves the ring's lists and link sets as they
 * were: the same objects, not fresh copies. Each assign is a new XState snapshot (the context
 * copied, the state value and tags rebuilt: ~4 µs and a few KB of garbage), and such rounds
 * are most of a ring's events at rest; reconcile, linkNeighbours and pruneLinks assigned on
 * every round whether or not anything changed (`npm run bench -- ring-events`: a neighbours
 * push that changes nothing cost 45-54 µs among 1,000 ring actors, 20-22 µs since).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { between } from '../../src/actors/ring/id-space.js';
import { DEFAULT_RING_CONFIG } from '../../src/actors/ring/ring-config.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** A member behind `successors[0]`, every peer linked, whose successor reports the same list each round. */
async function settledMember(): Promise<{ h: RingActorHarness; self: Contact; successors: Contact[] }> {
  const [self, ...others] = sortByPosition(randomContacts(createSeededRandom(21), 1 + DEFAULT_RING_CONFIG.successorListLength)) as [Contact, ...Contact[]];
  const h = startRingActor(self, DEFAULT_RING_CONFIG, { linked: others.map((c) => c.id), bootstrap: [others[0]!.id] });
  running = h;
  await h.joinBehind(others[0]!, others.slice(1));
  expect(h.successors()).toEqual(others.map((c) => c.id).slice(0, DEFAULT_RING_CONFIG.successorListLength));
  return { h, self, successors: others };
}

/** Runs rounds until `rounds` requests went to the successor, each answered with the same report. */
async function answerRounds(h: RingActorHarness, successors: Contact[], rounds: number): Promise<void> {
  // A calm ring spaces its rounds out up to stabilizeMaxIntervalFactor periods: ample.
  const withinMs = 4 * rounds * DEFAULT_RING_CONFIG.stabilizeMaxIntervalFactor * DEFAULT_RING_CONFIG.stabilizeIntervalMs;
  expect(await h.answerGets(successors[0]!, () => successors.slice(1), { rounds, withinMs })).toBe(rounds);
}

describe('a stabilization round with nothing new', () => {
  it('keeps the successor list, the owned links and the open links as the same objects', async () => {
    const { h, successors } = await settledMember();
    // A first round settles whatever the join left to settle (links to own, a prune).
    await answerRounds(h, successors, 1);
    const before = h.actor.getSnapshot().context;
    await answerRounds(h, successors, 3);
    const after = h.actor.getSnapshot().context;
    // The rounds did run: the calm count moved on (that assign is kept: it changes every round).
    expect(after.rounds.calm.rounds).toBeGreaterThan(before.rounds.calm.rounds);
    expect(after.successors).toBe(before.successors);
    expect(after.owned).toBe(before.owned);
    expect(after.listedSince).toBe(before.listedSince);
    // (Kept before this change too: a prune replaces the links only when it closes one.)
    expect(after.links).toBe(before.links);
  });

  it('still takes a changed report: a new successor is adopted and dialled', async () => {
    const { h, self, successors } = await settledMember();
    await answerRounds(h, successors, 1);
    const before = h.actor.getSnapshot().context;
    // The successor reports a peer right behind it, which we have no link to yet: our second
    // successor now, which is linked as soon as listed (a far one waits: link-settling.test.ts).
    const newcomer = randomContacts(createSeededRandom(99), 200).find((c) => between(c.position, successors[0]!.position, successors[1]!.position));
    if (!newcomer) throw new Error('no contact between the first and second successors');
    const reported = [newcomer, ...successors.slice(1)];
    h.from(successors[0]!, { t: 'neighbours', predecessor: self.id, successors: reported.map((c) => c.id) });
    const after = h.actor.getSnapshot().context;
    expect(after.successors).not.toBe(before.successors);
    expect(after.successors.map((c) => c.id)).toEqual([successors[0]!, ...reported].slice(0, DEFAULT_RING_CONFIG.successorListLength).map((c) => c.id));
    expect(after.owned.has(newcomer.id)).toBe(true);
    expect(h.connects).toContain(newcomer.id);
  });
});
