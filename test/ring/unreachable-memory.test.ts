/**
 * A peer that could not be reached (its link went silent, a dial or a request timed out) may
 * have crashed, and peers whose links to it are unwatched keep naming it in their lists until
 * their own, longer detection: it stays out of our list for unreachableMemoryMs. A peer that
 * refused us or left is forgotten after failedMemoryMs: in a crowd of joiners many first dials
 * are refused, and a joiner kept out for the longer memory left the ring incorrect for ~60 s
 * instead of ~23 (a probe of test/sim/flash-crowd.test.ts's crowd at unwatchedHeartbeatFactor 4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 3, mergeIntervalMs: 600_000, failedMemoryMs: 10_000, unreachableMemoryMs: 35_000 };
/** Past failedMemoryMs, within unreachableMemoryMs. */
const REPORT_AFTER_MS = 15_000;
/** Most of unreachableMemoryMs. */
const STAYS_OUT_MS = 30_000;

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/** Our second successor's link fails; our first successor, which has not noticed, keeps listing it; the list REPORT_AFTER_MS later. */
async function listAfterStaleReport(failure: { unreachable: boolean }): Promise<{ list: PeerId[]; failedPeer: PeerId }> {
  const [self, s1, s2, s3, s4] = sortByPosition(randomContacts(createSeededRandom(43), 5)) as [Contact, Contact, Contact, Contact, Contact];
  running = startRingActor(self, CONFIG, { linked: [s1.id, s2.id, s3.id], bootstrap: [s1.id] });
  const h = running;
  await h.joinBehind(s1, [s2, s3, s4]);
  expect(h.successors()).toEqual([s1.id, s2.id, s3.id]);
  await advance(h.clock, 100);

  h.linked.delete(s2.id);
  h.actor.send({ type: 'link.down', peer: s2.id, failed: true, ...(failure.unreachable ? { unreachable: true } : {}) });
  expect(h.successors()).not.toContain(s2.id);
  const failedAt = h.clock.now();
  // s1 answers every stabilization request with its stale list, until one asked REPORT_AFTER_MS later.
  let answered = h.sends.length;
  for (;;) {
    await advance(h.clock, 100);
    const gets = h.sends.slice(answered).filter((s) => s.to === s1.id && s.message.t === 'get');
    answered = h.sends.length;
    for (const _ of gets) h.from(s1, { t: 'neighbours', predecessor: self.id, successors: [s2.id, s3.id, s4.id] });
    if (gets.some((s) => s.at >= failedAt + REPORT_AFTER_MS)) break;
    if (h.clock.now() > failedAt + REPORT_AFTER_MS + 30_000) throw new Error('no stabilization request to the first successor');
  }
  return { list: h.successors(), failedPeer: s2.id };
}

describe('the memory of failed peers', () => {
  it('keeps a peer that could not be reached out of our list past failedMemoryMs, up to unreachableMemoryMs', async () => {
    const { list, failedPeer } = await listAfterStaleReport({ unreachable: true });
    expect(list).not.toContain(failedPeer);
    expect(list).toHaveLength(3);
  });

  it('keeps a successor that did not answer a request out for unreachableMemoryMs, though its successor names it and its link stays open', async () => {
    const [self, s1, s2, s3, s4] = sortByPosition(randomContacts(createSeededRandom(47), 5)) as [Contact, Contact, Contact, Contact, Contact];
    running = startRingActor(self, CONFIG, { linked: [s1.id, s2.id, s3.id], bootstrap: [s1.id] });
    const h = running;
    await h.joinBehind(s1, [s2, s3, s4]);
    expect(h.successors()[0]).toBe(s1.id);
    // s1 answers nothing from now on: a request to it times out and s2 moves up.
    let lastStep = h.sends.length;
    while (h.successors()[0] === s1.id) {
      lastStep = h.sends.length;
      await advance(h.clock, 100);
      if (h.clock.now() > 30_000) throw new Error('the silent successor was never suspected');
    }
    const suspectedAt = h.clock.now();
    // s2 has not noticed: it names s1 as its predecessor and as the peer closest after us (the
    // first request to s2 went out in the step that suspected s1), and s1's link stays open.
    let answered = lastStep;
    let backAt: number | undefined;
    while (h.clock.now() < suspectedAt + STAYS_OUT_MS) {
      await advance(h.clock, 100);
      const gets = h.sends.slice(answered).filter((s) => s.to === s2.id && s.message.t === 'get');
      answered = h.sends.length;
      for (const _ of gets) h.from(s2, { t: 'neighbours', predecessor: s1.id, successors: [s3.id, s4.id, self.id], closest: s1.id });
      if (h.successors().includes(s1.id)) backAt ??= h.clock.now() - suspectedAt;
    }
    // With failedMemoryMs it was back (and out again at its next silent request) 10 s later.
    expect(backAt).toBeUndefined();
  });

  it('takes a peer back from reports after failedMemoryMs when it refused or left', async () => {
    const { list, failedPeer } = await listAfterStaleReport({ unreachable: false });
    expect(list).toContain(failedPeer);
  });
});
