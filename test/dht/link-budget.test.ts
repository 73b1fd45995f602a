/**
 * The link budget across both ends of a link: a node announces its link set in the order it
 * would keep its links, so that the openers listed past the budget are exactly the ones to
 * yield (dht.machine.ts: linkSetMessage, noteOpener, yieldIfSaturated).
 */
import { describe, expect, it } from 'vitest';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import type { DhtMessage } from '../../src/actors/dht/dht-messages.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { startDht, type DhtHarness } from '../helpers/dht-harness.js';
import { idOf } from './arbitraries.js';

const SELF = idOf(0x5e1f);
const PLAN_MS = 10_000;

function start(options: { config?: Partial<DhtConfig>; open?: PeerId[]; ring?: PeerId[] } = {}) {
  return startDht({ self: SELF, ...options, config: { planIntervalMs: PLAN_MS, lookupTimeoutMs: 5_000, ...options.config } });
}

/** The link set `t` last sent anyone. */
const lastLinkSet = (t: DhtHarness) => t.of('links').at(-1)!.message;

/** `opener` tells us its link set: we are one of its own dials, or a link it keeps for something else. */
function tell(t: DhtHarness, opener: PeerId, weAre: 'its dial' | 'kept by it') {
  const others = [idOf(0x900), idOf(0x901)];
  const message: DhtMessage = weAre === 'its dial' ? { t: 'links', peers: [...others, SELF], own: 1 } : { t: 'links', peers: [SELF, ...others], own: 1 };
  t.receive(opener, message);
}

describe('link budget: the announced order decides who yields', () => {
  it('lists ring neighbours, links kept by their openers, links others\u2019 DHTs opened, then its own dials (counted in `own`)', () => {
    const ring = idOf(1);
    const theirs = idOf(2);
    const kept = idOf(3);
    const t = start({ open: [theirs, ring, kept], ring: [ring], config: { linkBudget: 8 } });
    tell(t, theirs, 'its dial');
    tell(t, kept, 'kept by it');
    // Our own dial: a candidate heard of, dialled at the next plan round.
    t.receive(theirs, { t: 'links', peers: [idOf(0x40), SELF], own: 1 });
    t.clock.advance(2 * PLAN_MS);
    const ours = t.connects.filter((peer) => peer === idOf(0x40));
    expect(ours).toHaveLength(1);
    t.up(idOf(0x40));
    expect(t.of('links').at(-1)).toEqual({ to: idOf(0x40), message: { t: 'links', peers: [ring, kept, theirs, idOf(0x40)], own: 1 } });
  });

  it('a link its opener keeps (an application link) that arrives at a full node pushes the latest DHT opener past the budget, not itself', () => {
    const dialers = [idOf(1), idOf(2), idOf(3), idOf(4)];
    const t = start({ open: dialers, config: { linkBudget: 4 } });
    for (const dialer of dialers) tell(t, dialer, 'its dial');
    t.clock.advance(2 * PLAN_MS);
    const app = idOf(5);
    t.up(app);
    tell(t, app, 'kept by it');
    t.clock.advance(2 * PLAN_MS);
    const announced = t.of('links').filter((s) => s.to === idOf(4)).at(-1)!.message as Extract<DhtMessage, { t: 'links' }>;
    // Listed in arrival order, the application link was the one past the budget and nobody yielded.
    expect(announced.peers).toEqual([app, ...dialers]);
    expect(announced.peers.indexOf(idOf(4))).toBeGreaterThanOrEqual(4);
  });

  it('a ring neighbour adopted without a link event (an existing link) is announced first at the next round', () => {
    const ring: PeerId[] = [];
    const dialers = [idOf(1), idOf(2), idOf(3)];
    const t = start({ open: dialers, ring, config: { linkBudget: 8 } });
    t.clock.advance(2 * PLAN_MS);
    expect(lastLinkSet(t)).toEqual({ t: 'links', peers: dialers });
    const sent = t.of('links').length;
    ring.push(idOf(3));
    t.clock.advance(2 * PLAN_MS);
    expect(t.of('links').length).toBeGreaterThan(sent);
    expect(lastLinkSet(t)).toEqual({ t: 'links', peers: [idOf(3), idOf(1), idOf(2)] });
    // Nothing changed since: nothing more is sent.
    const after = t.of('links').length;
    t.clock.advance(3 * PLAN_MS);
    expect(t.of('links').length).toBe(after);
  });

  it('files a link by where its far end lists us: a link set that does not name us changes nothing', () => {
    const peer = idOf(7);
    const t = start({ open: [peer] });
    tell(t, peer, 'kept by it');
    expect(t.state().kept.has(peer)).toBe(true);
    t.receive(peer, { t: 'links', peers: [idOf(0x900)] });
    expect(t.state().kept.has(peer)).toBe(true);
    tell(t, peer, 'its dial');
    expect(t.state().kept.has(peer)).toBe(false);
    tell(t, peer, 'kept by it');
    t.down(peer, false);
    expect(t.state().kept.has(peer)).toBe(false);
  });
});

describe('link-set announcements', () => {
  /** Link-set messages sent to `peer` so far. */
  const toPeer = (t: DhtHarness, peer: PeerId) => t.of('links').filter((s) => s.to === peer).length;

  it('a link that opens and closes gracefully between two plan rounds announces nothing', () => {
    const [a, b] = [idOf(1), idOf(2)];
    const t = start({ open: [a, b], config: { linkBudget: 8 } });
    t.clock.advance(3 * PLAN_MS);
    // Announcements go out at most once per plan interval: the last one is that long ago now.
    t.clock.advance(PLAN_MS);
    const sent = toPeer(t, a);
    expect(sent).toBeGreaterThan(0);
    // A merge probe's link: up, and closed a second later.
    const probe = idOf(3);
    t.up(probe);
    t.clock.advance(1_000);
    t.down(probe, false);
    t.clock.advance(3 * PLAN_MS);
    expect(toPeer(t, a)).toBe(sent);
  });

  it('a link that opens and stays is announced at the next plan round, not at once', () => {
    const [a, b] = [idOf(1), idOf(2)];
    const t = start({ open: [a, b], config: { linkBudget: 8 } });
    t.clock.advance(3 * PLAN_MS);
    // Announcements go out at most once per plan interval: the last one is that long ago now.
    t.clock.advance(PLAN_MS);
    const sent = toPeer(t, a);
    t.up(idOf(3));
    expect(toPeer(t, a)).toBe(sent);
    t.clock.advance(2 * PLAN_MS);
    expect(toPeer(t, a)).toBe(sent + 1);
    expect(lastLinkSet(t)).toEqual({ t: 'links', peers: [a, b, idOf(3)] });
  });

  it('a failed link is announced at once (answers must stop naming it), and so is a link up past the budget', () => {
    const [a, b, c] = [idOf(1), idOf(2), idOf(3)];
    const t = start({ open: [a, b, c], config: { linkBudget: 3 } });
    t.clock.advance(3 * PLAN_MS);
    // Announcements go out at most once per plan interval: the last one is that long ago now.
    t.clock.advance(PLAN_MS);
    let sent = toPeer(t, a);
    t.down(c, true);
    expect(toPeer(t, a)).toBe(sent + 1);
    expect(lastLinkSet(t)).toEqual({ t: 'links', peers: [a, b] });
    t.clock.advance(2 * PLAN_MS);
    sent = toPeer(t, a);
    // Two more links (opened by others): the fourth takes us past the budget of 3.
    t.up(idOf(4));
    expect(toPeer(t, a)).toBe(sent);
    t.up(idOf(5));
    expect(toPeer(t, a)).toBe(sent + 1);
  });

  it('a failure right after an announcement is announced at once all the same', () => {
    const [a, b, c] = [idOf(1), idOf(2), idOf(3)];
    const t = start({ open: [a, b], config: { linkBudget: 8 } });
    t.clock.advance(3 * PLAN_MS);
    // c stays: the next round announces it; c fails a moment later.
    t.up(c);
    const before = toPeer(t, a);
    for (let waited = 0; toPeer(t, a) === before && waited < 2 * PLAN_MS; waited += 100) t.clock.advance(100);
    expect(toPeer(t, a)).toBe(before + 1);
    t.clock.advance(500);
    t.down(c, true);
    expect(toPeer(t, a)).toBe(before + 2);
    expect(lastLinkSet(t)).toEqual({ t: 'links', peers: [a, b] });
  });
});
