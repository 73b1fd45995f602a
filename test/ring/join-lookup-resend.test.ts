/**
 * The join's lookup of its own position is sent again once when no answer came within
 * joinLookupResendMs, and an answer to either request completes the join. A find lost with a
 * link on its path used to cost the whole lookupTimeoutMs plus a re-bootstrap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sortByPosition, type Contact } from '../../src/actors/ring/contact.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import type { RingMessage } from '../../src/actors/ring/ring-messages.js';
import { advance } from '../../sim/drive.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { startRingActor, type RingActorHarness } from '../helpers/ring-actor.js';
import { randomContacts } from './ring-model.js';

const CONFIG: RingConfig = { ...DEFAULT_RING_CONFIG, successorListLength: 2, lookupTimeoutMs: 5_000, joinLookupResendMs: 1_500, mergeIntervalMs: 600_000 };

let running: RingActorHarness | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

type Find = Extract<RingMessage, { t: 'find' }>;
const finds = (h: RingActorHarness) => h.sends.filter((s) => s.message.t === 'find').map((s) => ({ at: s.at, to: s.to, message: s.message as Find }));

async function joining(config: RingConfig) {
  const [self, via] = sortByPosition(randomContacts(createSeededRandom(31), 2)) as [Contact, Contact];
  running = startRingActor(self, config, { linked: [via.id], bootstrap: [via.id] });
  await advance(running.clock, 0);
  expect(running.actor.getSnapshot().value).toEqual({ joining: 'locating' });
  return { h: running, self, via };
}

describe('the join lookup', () => {
  it('is sent again once, with a new request id, when no answer came; an answer to the first still completes the join', async () => {
    const { h, self, via } = await joining(CONFIG);
    await advance(h.clock, CONFIG.joinLookupResendMs - 1);
    expect(finds(h)).toHaveLength(1);
    await advance(h.clock, 1);
    const sent = finds(h);
    expect(sent.map((f) => [f.at, f.to])).toEqual([
      [0, via.id],
      [CONFIG.joinLookupResendMs, via.id],
    ]);
    expect(sent[1]!.message.rid).not.toBe(sent[0]!.message.rid);
    await advance(h.clock, CONFIG.lookupTimeoutMs - CONFIG.joinLookupResendMs - 1);
    expect(finds(h)).toHaveLength(2);
    // The first request's answer, late: the join goes on with it.
    h.from(via, { t: 'found', rid: sent[0]!.message.rid, target: sent[0]!.message.target, node: via.id, path: [self.id] });
    expect(h.actor.getSnapshot().matches('member')).toBe(true);
    expect(h.successors()).toEqual([via.id]);
  });

  it('still gives up at lookupTimeoutMs when neither is answered, and is not resent when the resend is ≥ the timeout', async () => {
    const { h } = await joining(CONFIG);
    await advance(h.clock, CONFIG.lookupTimeoutMs);
    expect(h.actor.getSnapshot().value).toBe('rebootstrapping');
    h.stop();
    const never = await joining({ ...CONFIG, joinLookupResendMs: CONFIG.lookupTimeoutMs });
    await advance(never.h.clock, CONFIG.lookupTimeoutMs - 1);
    expect(finds(never.h)).toHaveLength(1);
  });
});
