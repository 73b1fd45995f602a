/**
 * Dials turned away by full peers pause the node's dialing, longer each time, until a dial
 * holds or a link of its own fails (src/actors/dht/dial-pause.ts, dht.machine.ts).
 */
import { describe, expect, it } from 'vitest';
import { DialPause, MAX_DOUBLINGS } from '../../src/actors/dht/dial-pause.js';
import type { DhtMessage } from '../../src/actors/dht/dht-messages.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { startDht, type DhtHarness } from '../helpers/dht-harness.js';
import { positionHex } from '../../src/actors/ring/id-space.js';
import { idOf } from './arbitraries.js';

const SELF = idOf(0x5e1f);
const PLAN_MS = 10_000;
const BUDGET = 8;
const INTRO = idOf(0x1);

describe('DialPause', () => {
  it('pauses one round, then two, four… up to 2^MAX_DOUBLINGS, and starts over after a reset', () => {
    const pause = new DialPause();
    expect(pause.paused(0)).toBe(false);
    let now = 0;
    const lengths: number[] = [];
    for (let i = 0; i < MAX_DOUBLINGS + 3; i += 1) {
      pause.turnedAway(now, PLAN_MS);
      let until = now;
      while (pause.paused(until)) until += 1_000;
      lengths.push(until - now);
      now = until;
    }
    const rounds = lengths.map((ms) => ms / PLAN_MS);
    expect(rounds).toEqual([1, 2, 4, 8, 16, 32, 32, 32]);
    pause.reset();
    expect(pause.paused(now)).toBe(false);
    pause.turnedAway(now, PLAN_MS);
    expect(pause.paused(now + PLAN_MS - 1)).toBe(true);
    expect(pause.paused(now + PLAN_MS)).toBe(false);
  });

  it('a second refusal during a pause neither extends it nor doubles the next one', () => {
    const pause = new DialPause();
    pause.turnedAway(0, PLAN_MS);
    pause.turnedAway(5_000, PLAN_MS);
    expect(pause.paused(PLAN_MS)).toBe(false);
    pause.turnedAway(PLAN_MS, PLAN_MS);
    expect(pause.paused(3 * PLAN_MS - 1)).toBe(true);
    expect(pause.paused(3 * PLAN_MS)).toBe(false);
  });
});

/**
 * A node with one link (INTRO) that names many peers: the planner always has someone to dial.
 * `ring`: its ring neighbours (read at every use, so a test may add to it).
 */
function startNode(ring: PeerId[] = []): DhtHarness {
  const t = startDht({ self: SELF, open: [INTRO], ring, config: { planIntervalMs: PLAN_MS, linkBudget: BUDGET, lookupTimeoutMs: 5_000 } });
  const named = Array.from({ length: 30 }, (_, i) => idOf(0x100 + i));
  t.receive(INTRO, { t: 'links', peers: named });
  return t;
}

/** The far end's link set: its own BUDGET links first, so we (its latest link) are past its budget. */
const full: DhtMessage = { t: 'links', peers: [...Array.from({ length: BUDGET }, (_, i) => idOf(0x900 + i)), SELF], own: 0 };
const room = (peer: PeerId): DhtMessage => ({ t: 'links', peers: [SELF, peer === INTRO ? idOf(0x901) : INTRO] });

/** Runs `ms` of virtual time; every dial opens, and `answer` says what its far end tells us. Returns the instants with dials. */
function run(t: DhtHarness, ms: number, answer: (peer: PeerId, i: number) => DhtMessage = () => full): number[] {
  const rounds: number[] = [];
  let seen = t.connects.length;
  let closed = t.disconnects.length;
  // The transport closes what the actor gives up, gracefully.
  const closeGivenUp = () => {
    for (const peer of t.disconnects.slice(closed)) t.down(peer, false);
    closed = t.disconnects.length;
  };
  const end = t.clock.now() + ms;
  while (t.clock.now() < end) {
    t.clock.advance(500);
    closeGivenUp();
    if (t.connects.length === seen) continue;
    rounds.push(t.clock.now());
    t.connects.slice(seen).forEach((peer, i) => {
      t.up(peer);
      t.receive(peer, answer(peer, i));
      closeGivenUp();
    });
    seen = t.connects.length;
  }
  return rounds;
}

describe('the planner under dial pauses', () => {
  it('dials turned away every time: rounds with dials come ever further apart (4–9 in 10 minutes, not one per round)', () => {
    const t = startNode();
    const rounds = run(t, 600_000);
    // Unpaused, every plan round (~60 in 10 minutes) dialed.
    expect(rounds.length).toBeGreaterThanOrEqual(4);
    expect(rounds.length).toBeLessThanOrEqual(9);
    const gaps = rounds.slice(1).map((at, i) => at - rounds[i]!);
    expect(gaps.at(-1)!).toBeGreaterThanOrEqual(16 * PLAN_MS);
    // Every dial it made was given up at once (its far end was full).
    expect(t.disconnects.length).toBe(t.connects.length);
  });

  it('a dial that holds ends the pause: the next round dials again', () => {
    const t = startNode();
    run(t, 120_000); // paused for several rounds by now
    const before = t.connects.length;
    // From here the first dial of each round is turned away and the others hold.
    const rounds = run(t, 400_000, (peer, i) => (i === 0 ? full : room(peer)));
    expect(t.connects.length).toBeGreaterThan(before);
    // After the hold, the following dial round comes within one plan round (±50% jitter), not after a doubled pause.
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(rounds[1]! - rounds[0]!).toBeLessThanOrEqual(1.5 * PLAN_MS + 500);
  });

  it('a link that held and later finds itself past its far end\'s budget yields without pausing the dials', () => {
    const t = startNode();
    run(t, 60_000, (peer) => room(peer));
    const held = [...t.state().owned].find((peer) => t.state().links.has(peer));
    expect(held).toBeDefined();
    expect(t.state().dialPause.paused(t.clock.now())).toBe(false);
    t.receive(held!, full);
    expect(t.disconnects).toContain(held);
    expect(t.state().dialPause.paused(t.clock.now())).toBe(false);
  });

  it('a far end that lists a new dial past its budget but keeps it (we are its ring neighbour) still pauses the dials', () => {
    const ring: PeerId[] = [];
    const t = startNode(ring);
    while (t.connects.length === 0 && t.clock.now() < 2 * PLAN_MS) t.clock.advance(500);
    const dialed = t.connects[0]!;
    t.up(dialed);
    // Our ring neighbour now: we never yield that link, whatever its list says.
    ring.push(dialed);
    t.receive(dialed, full);
    expect(t.disconnects).not.toContain(dialed);
    expect(t.state().dialPause.paused(t.clock.now())).toBe(true);
  });

  it('while dials are paused, the planner closes none of its links for a better one it cannot dial', () => {
    // Positions in SELF's bucket 0: INTRO (a fixed link), A sharing its next two bits, B not
    // sharing the next one. With one slot beside INTRO the planner wants B instead of A.
    const bit = (id: PeerId, k: number) => (BigInt('0x' + positionHex(id)) >> BigInt(255 - k)) & 1n;
    const self = SELF;
    const inBucket0 = (id: PeerId) => bit(id, 0) !== bit(self, 0);
    const ids = Array.from({ length: 400 }, (_, i) => idOf(0x2000 + i)).filter(inBucket0);
    const intro = ids[0]!;
    const a = ids.find((id) => id !== intro && bit(id, 1) === bit(intro, 1) && bit(id, 2) === bit(intro, 2))!;
    const b = ids.find((id) => bit(id, 1) !== bit(intro, 1))!;
    const t = startDht({ self, open: [intro], config: { planIntervalMs: PLAN_MS, linkBudget: 2, lookupTimeoutMs: 5_000 } });
    t.receive(intro, { t: 'links', peers: [a] });
    while (!t.connects.includes(a)) t.clock.advance(500);
    t.up(a);
    t.receive(a, room(a));
    expect(t.state().dialPause.paused(t.clock.now())).toBe(false);
    // A long pause; then B is heard of.
    t.state().dialPause.turnedAway(t.clock.now() + 10 * PLAN_MS, PLAN_MS);
    t.receive(intro, { t: 'links', peers: [a, b] });
    t.clock.advance(5 * PLAN_MS);
    expect(t.disconnects).not.toContain(a);
    expect(t.connects).not.toContain(b);
    // Once the pause is over it swaps A for B: it closes A, and dials B when A's slot is free.
    t.clock.advance(10 * PLAN_MS);
    expect(t.disconnects).toContain(a);
    t.down(a, false);
    t.clock.advance(2 * PLAN_MS);
    expect(t.connects).toContain(b);
  });

  it('a link of its own that fails ends the pause', () => {
    const t = startNode();
    // One dial holds at the start, then every dial is turned away: a long pause.
    let held: PeerId | undefined;
    run(t, 300_000, (peer) => {
      if (held === undefined) {
        held = peer;
        return room(peer);
      }
      return full;
    });
    expect(held).toBeDefined();
    // Fresh peers to dial: still paused, it dials none of them.
    t.receive(INTRO, { t: 'links', peers: Array.from({ length: 30 }, (_, i) => idOf(0x300 + i)) });
    const before = t.connects.length;
    run(t, 1.5 * PLAN_MS + 500);
    expect(t.connects.length).toBe(before);
    t.down(held!, true);
    run(t, 1.5 * PLAN_MS + 500);
    expect(t.connects.length).toBeGreaterThan(before);
  });
});
