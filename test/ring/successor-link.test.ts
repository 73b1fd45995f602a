/**
 * The ring actor's stabilize round towards a successor it has no link to yet.
 *
 * Regression for the demo's formation stall (8 nodes on loopback took up to 12 s, 32 did not
 * finish): a node adopted a closer successor X from its old successor's report, and the next
 * round sent X a `get` before the link to X was open. The transport dropped it (send() returned
 * false), the round waited requestTimeoutMs for an answer that could not come, then suspected
 * X: X left the list and went into the failed-peer memory, so every later report naming X was
 * ignored for the failed-peer memory (failedMemoryMs then, RingConfig.unreachableMemoryMs now) while X,
 * alive and linked, had no predecessor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { contactOf, sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = {
  ...DEFAULT_RING_CONFIG,
  successorListLength: 2,
  stabilizeIntervalMs: 250,
  requestTimeoutMs: 1_000,
  linkTimeoutMs: 5_000,
  failedMemoryMs: 10_000,
  mergeIntervalMs: 600_000,
};

interface Harness extends RingActorHarness {
  self: Contact;
  /** Between self and `old`: the successor adopted from old's report. */
  closer: Contact;
  old: Contact;
}

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

/**
 * Self joins through `old` (linked from the start), then old reports `closer` as its
 * predecessor: self adopts closer, to which it has no link.
 */
async function joinedThenTold(): Promise<Harness> {
  const [self, closer, old] = sortByPosition(randomContacts(createSeededRandom(11), 3)) as [Contact, Contact, Contact];
  running = startRingActor(self, CONFIG, { linked: [old.id], bootstrap: [old.id] });
  const harness: Harness = { ...running, self, closer, old };
  const { clock, sends, connects } = harness;
  await advance(clock, 0);
  // The join lookup went to old: old answers that it is our successor.
  const find = sends.find((s) => s.message.t === 'find');
  if (find?.message.t !== 'find') throw new Error('no join lookup was sent');
  harness.from(old, { t: 'found', rid: find.message.rid, target: find.message.target, node: old.id, path: [self.id] });
  expect(harness.successors()).toEqual([old.id]);
  // Old is asked at once; it answers that closer is its predecessor now.
  expect(sends.some((s) => s.to === old.id && s.message.t === 'get' && s.sent)).toBe(true);
  harness.from(old, { t: 'neighbours', predecessor: closer.id, successors: [self.id, closer.id] });
  expect(harness.successors()).toEqual([closer.id, old.id]);
  expect(connects).toContain(closer.id);
  return harness;
}

const maintenanceIn = (h: Harness, state: string) => h.actor.getSnapshot().matches({ member: { maintenance: state } } as never);

describe('a successor whose link is not open yet', () => {
  it('is not suspected while its link is being set up, past the request timeout that used to blame it', async () => {
    const h = await joinedThenTold();
    // Longer than a request timeout (when the dropped request used to be blamed), within the
    // await-link timeout (2 request timeouts).
    await advance(h.clock, 1.5 * CONFIG.requestTimeoutMs);
    expect(h.successors()).toEqual([h.closer.id, h.old.id]);
    expect(h.actor.getSnapshot().context.failed.has(h.closer.id)).toBe(false);
    expect(maintenanceIn(h, 'awaitingLink')).toBe(true);
  });

  it('is asked as soon as the link opens, and its report is taken', async () => {
    const h = await joinedThenTold();
    await advance(h.clock, 1.5 * CONFIG.requestTimeoutMs);
    const before = h.sends.length;
    h.linkUp(h.closer);
    const asked = h.sends.slice(before).filter((s) => s.to === h.closer.id && s.message.t === 'get');
    expect(asked.map((s) => [s.at, s.sent])).toEqual([[h.clock.now(), true]]);
    h.from(h.closer, { t: 'neighbours', predecessor: h.self.id, successors: [h.old.id, h.self.id] });
    expect(h.successors()).toEqual([h.closer.id, h.old.id]);
    expect(maintenanceIn(h, 'waiting')).toBe(true);
  });

  it('is suspected only after the await-link timeout (2 request timeouts, at most linkTimeoutMs) when the link never opens', async () => {
    const h = await joinedThenTold();
    const awaitLinkMs = Math.min(CONFIG.linkTimeoutMs, 2 * CONFIG.requestTimeoutMs);
    // The wait starts with the round that finds the link missing, within one stabilize interval.
    await advance(h.clock, awaitLinkMs - 10);
    expect(h.successors()[0]).toBe(h.closer.id);
    await advance(h.clock, CONFIG.stabilizeIntervalMs * 2);
    expect(h.successors()).toEqual([h.old.id]);
    expect(h.actor.getSnapshot().context.failed.has(h.closer.id)).toBe(true);
  });

  it('a request lost with a gracefully closed link is re-sent when the link is back, not timed out', async () => {
    const h = await joinedThenTold();
    h.linkUp(h.closer);
    expect(h.actor.getSnapshot().context.rounds.asked).toBe(h.closer.id);
    // The closer peer pruned the link before answering: our request went down with it.
    h.linked.delete(h.closer.id);
    h.actor.send({ type: 'link.down', peer: h.closer.id, failed: false });
    await advance(h.clock, 1.5 * CONFIG.requestTimeoutMs);
    expect(h.successors()[0]).toBe(h.closer.id);
    expect(h.actor.getSnapshot().context.failed.has(h.closer.id)).toBe(false);
    const before = h.sends.length;
    h.linkUp(h.closer);
    expect(h.sends.slice(before).some((s) => s.to === h.closer.id && s.message.t === 'get' && s.sent)).toBe(true);
  });
});
