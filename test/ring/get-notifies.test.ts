/**
 * A stabilize request (`get`) is the asker's notify too: only a node that takes the receiver for
 * its successor asks. A round sends no separate `notify`, and a new successor is asked at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { between } from '../../src/actors/ring/id-space.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const R = 4;
const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: R, mergeIntervalMs: 3_600_000, probeMaxIntervalRounds: 1 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** A member `self` (the lowest position) behind others[0], every other contact linked. */
async function member(): Promise<{ h: RingActorHarness; self: Contact; others: Contact[] }> {
  const [self, ...others] = sortByPosition(randomContacts(createSeededRandom(31), 12)) as [Contact, ...Contact[]];
  const h = startRingActor(self, CONFIG, { linked: others.map((c) => c.id), bootstrap: [others[0]!.id] });
  running = h;
  await h.joinBehind(others[0]!, others.slice(1, R));
  return { h, self, others };
}

describe('get is a notify', () => {
  it('a get from a closer node makes it our predecessor, and the answer says so', async () => {
    const { h, others } = await member();
    // Clockwise from the highest position we come next: the last contact is the closest before us.
    const closest = others.at(-1)!;
    const farther = others.at(-2)!;
    h.from(farther, { t: 'get' });
    expect(h.actor.getSnapshot().context.predecessor?.id).toBe(farther.id);
    h.from(closest, { t: 'get' });
    expect(h.actor.getSnapshot().context.predecessor?.id).toBe(closest.id);
    const answer = h.sends.at(-1)!;
    expect(answer.to).toBe(closest.id);
    expect(answer.message).toMatchObject({ t: 'neighbours', predecessor: closest.id });
    // A farther asker does not displace the closer predecessor.
    h.from(farther, { t: 'get' });
    expect(h.actor.getSnapshot().context.predecessor?.id).toBe(closest.id);
    expect(h.sends.at(-1)!.message).toMatchObject({ t: 'neighbours', predecessor: closest.id });
  });

  it('a round sends no notify, and a closer successor is asked at once with no notify either', async () => {
    const { h, self, others } = await member();
    const successor = others[0]!;
    const report = () => others.slice(1, R);
    const withinMs = (rounds: number) => 4 * rounds * CONFIG.stabilizeMaxIntervalFactor * CONFIG.stabilizeIntervalMs;
    expect(await h.answerGets(successor, report, { rounds: 1, withinMs: withinMs(1) })).toBe(1);
    const before = h.sends.length;
    expect(await h.answerGets(successor, report, { rounds: 3, withinMs: withinMs(3) })).toBe(3);
    const later = h.sends.slice(before);
    expect(later.filter((s) => s.message.t === 'get')).toHaveLength(3);
    expect(later.filter((s) => s.message.t === 'notify')).toHaveLength(0);

    // A closer successor's link comes up: it is adopted and asked at once, and that request is
    // our notify (no separate one goes to it or anyone).
    const newcomer = randomContacts(createSeededRandom(77), 400).find((c) => between(c.position, self.position, successor.position))!;
    const mark = h.sends.length;
    h.linkUp(newcomer);
    await advance(h.clock, 0);
    expect(h.successors()[0]).toBe(newcomer.id);
    const toNewcomer = h.sends.slice(mark).filter((s) => s.to === newcomer.id);
    expect(toNewcomer.map((s) => s.message.t)).toEqual(['get']);
    expect(h.sends.slice(mark).filter((s) => s.message.t === 'notify')).toHaveLength(0);
  });
});
