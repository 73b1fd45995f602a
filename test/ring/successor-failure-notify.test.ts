/**
 * When the link to our first successor fails, the next successor is notified at once that we
 * are its predecessor now, instead of at our next stabilization round (a calm ring spaces its
 * rounds out up to stabilizeMaxIntervalFactor periods, and the next successor, which lost its
 * predecessor in the same crash, waits for exactly this notify).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 2, mergeIntervalMs: 600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

describe('a failed first successor', () => {
  it('makes us notify the next successor at once; a graceful close does not', async () => {
    const [self, first, second] = sortByPosition(randomContacts(createSeededRandom(41), 3)) as [Contact, Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [first.id, second.id], bootstrap: [first.id] });
    const h = running;
    await advance(h.clock, 0);
    const find = h.sends.find((s) => s.message.t === 'find');
    if (find?.message.t !== 'find') throw new Error('no join lookup was sent');
    h.from(first, { t: 'found', rid: find.message.rid, target: find.message.target, node: first.id, path: [self.id] });
    h.from(first, { t: 'neighbours', predecessor: self.id, successors: [second.id, self.id] });
    expect(h.successors()).toEqual([first.id, second.id]);
    await advance(h.clock, 100);

    const notifies = () => h.sends.filter((s) => s.to === second.id && s.message.t === 'notify').length;
    const before = notifies();
    h.actor.send({ type: 'link.down', peer: second.id, failed: false }); // not our first successor, and graceful
    expect(notifies()).toBe(before);
    h.linked.delete(first.id);
    h.actor.send({ type: 'link.down', peer: first.id, failed: true });
    expect(h.successors()[0]).toBe(second.id);
    expect(notifies()).toBe(before + 1);
  });
});
