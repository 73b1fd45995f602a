/**
 * The ring-events benchmark (bench/ring-events.bench.ts, bench/ring-actors.ts): its actors are
 * settled members, and each event it times reaches the ring as the kind it is named for.
 */
import { describe, expect, it } from 'vitest';
import { ringEvent, ringEventCosts, RING_EVENT_KINDS } from '../../bench/ring-events.bench.js';
import { settledRingActors } from '../../bench/ring-actors.js';
import { DEFAULT_RING_CONFIG } from '../../src/actors/ring/ring-config.js';

describe('settled ring actors', () => {
  it('are members with the full list, the predecessor and the links they were given', async () => {
    const rings = await settledRingActors(4);
    for (const ring of rings) {
      const { context } = ring.actor.getSnapshot();
      expect(ring.actor.getSnapshot().matches('member')).toBe(true);
      expect(context.successors.map((c) => c.id)).toEqual(ring.successors.map((c) => c.id));
      expect(ring.successors).toHaveLength(DEFAULT_RING_CONFIG.successorListLength);
      expect(context.predecessor?.id).toBe(ring.predecessor.id);
      expect([...context.links].sort()).toEqual([...ring.successors, ring.predecessor].map((c) => c.id).sort());
      ring.actor.stop();
    }
  });
});

describe('the timed events', () => {
  it('reach the ring: a get is answered, a neighbours report and a notify are read, a link.up is taken', async () => {
    const [ring] = await settledRingActors(1, 7);
    if (!ring) throw new Error('no ring actor');
    ring.actor.send(ringEvent(ring, 'get'));
    expect(ring.sent).toBe(1);
    // The same report as the timed one but for its last entry, which a peer we know replaces:
    // read, it changes the list (so the timed one is read too, and changes nothing).
    const report = ringEvent(ring, 'neighbours') as { type: 'ring.message'; from: string; message: { t: 'neighbours'; successors: string[] } };
    const newcomer = ring.predecessor.id; // it lies just before us: the list takes it last
    ring.actor.send({ ...report, message: { ...report.message, successors: [...report.message.successors.slice(0, -1), newcomer] } } as never);
    expect(ring.actor.getSnapshot().context.successors.map((c) => c.id)).not.toEqual(ring.successors.map((c) => c.id));
    const links = ring.actor.getSnapshot().context.links;
    ring.actor.send(ringEvent(ring, 'linkUp'));
    expect(ring.actor.getSnapshot().context.links).not.toBe(links);
    ring.actor.stop();
  });

  it('leave every actor as it was, with one reply per get and no dial, and are priced against the unhandled event', async () => {
    const figures = await ringEventCosts(20, 200);
    expect(figures.actorsAsExpected).toBe(20);
    for (const kind of RING_EVENT_KINDS) expect(figures.usPerEvent[kind]).toBeGreaterThan(0);
    expect(figures.overUnhandled.get).toBeCloseTo(figures.usPerEvent.get / figures.usPerEvent.unhandled, 10);
  });
});
