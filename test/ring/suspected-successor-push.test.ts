/**
 * A successor that does not answer a stabilize request is suspected and dropped, and the list
 * that leaves is pushed to our predecessor at once, as every other change of the list is
 * (pushIfChanged): those behind us do not wait for their next round to drop it too.
 */
import { expect, it } from 'vitest';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { memberWithPredecessor, ringActorsStoppedAfterEach } from '../helpers/ring-actor.js';

const R = 4;
const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: R, mergeIntervalMs: 3_600_000 };
const start = ringActorsStoppedAfterEach();

it('pushes the list left by a silent successor to the predecessor', async () => {
  const { h, others, predecessor } = await memberWithPredecessor(start, 41, CONFIG);
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
