/**
 * A successor that does not answer a stabilize request is suspected and dropped, and the list
 * that leaves is pushed to our predecessor at once, as every other change of the list is
 * (pushIfChanged): those behind us do not wait for their next round to drop it too.
 */
import { afterEach, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const R = 4;
const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: R, mergeIntervalMs: 3_600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

it('pushes the list left by a silent successor to the predecessor', async () => {
  const [self, ...others] = sortByPosition(randomContacts(createSeededRandom(41), 10)) as [Contact, ...Contact[]];
  const h = startRingActor(self, CONFIG, { linked: others.map((c) => c.id), bootstrap: [others[0]!.id] });
  running = h;
  await h.joinBehind(others[0]!, others.slice(1, R));
  const predecessor = others.at(-1)!;
  h.from(predecessor, { t: 'get' });
  expect(h.actor.getSnapshot().context.predecessor?.id).toBe(predecessor.id);

  // The successor never answers again: within a round and a request timeout it is suspected.
  const silent = others[0]!;
  const mark = h.sends.length;
  const deadline = h.clock.now() + 2 * CONFIG.stabilizeIntervalMs * CONFIG.stabilizeMaxIntervalFactor + CONFIG.requestTimeoutMs;
  while (h.successors()[0] === silent.id && h.clock.now() < deadline) await advance(h.clock, 250);
  expect(h.successors()).not.toContain(silent.id);
  const pushes = h.sends.slice(mark).filter((s) => s.to === predecessor.id && s.message.t === 'neighbours');
  expect(pushes.length).toBeGreaterThan(0);
  const pushed = pushes.at(-1)!.message;
  if (pushed.t !== 'neighbours') throw new Error('unreachable');
  expect(pushed.successors[0]).toBe(others[1]!.id);
  expect(pushed.successors).not.toContain(silent.id);
});
