/** The bounded memory of where a node forwarded recent lookups (forwarded-lookups.ts). */
import { describe, expect, it } from 'vitest';
import { ForwardedLookups, silentAims } from '../../src/actors/dht/forwarded-lookups.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import { idOf } from './arbitraries.js';

const [origin, hop, aim, other] = [idOf(1), idOf(2), idOf(3), idOf(4)];
const target = contactOf(idOf(9)).position;
const elsewhere = contactOf(idOf(10)).position;
const memory = (capacity = 8) => new ForwardedLookups({ silentAfterMs: 500, maxAgeMs: 5_000, capacity });

describe('ForwardedLookups', () => {
  it('tells the ways an earlier copy went once they have been silent for silentAfterMs', () => {
    const m = memory();
    m.remember(origin, 7, target, { hop, aim }, 100);
    expect(m.silentWays(origin, 7, target, 599)).toEqual([]);
    expect(m.silentWays(origin, 7, target, 600)).toEqual([{ hop, aim, at: 100 }]);
  });

  it('keys by origin, rid and target: another lookup, or a restarted origin reusing the rid elsewhere, finds nothing', () => {
    const m = memory();
    m.remember(origin, 7, target, { hop, aim }, 0);
    expect(m.silentWays(origin, 8, target, 1_000)).toEqual([]);
    expect(m.silentWays(other, 7, target, 1_000)).toEqual([]);
    expect(m.silentWays(origin, 7, elsewhere, 1_000)).toEqual([]);
  });

  it('adds each way a lookup forwarded again took, up to four; only those silent long enough count', () => {
    const m = memory();
    m.remember(origin, 7, target, { hop, aim }, 0);
    m.remember(origin, 7, target, { hop: other, aim: other }, 1_000);
    expect(m.silentWays(origin, 7, target, 1_200)).toEqual([{ hop, aim, at: 0 }]);
    expect(m.silentWays(origin, 7, target, 1_500)).toHaveLength(2);
    for (let i = 0; i < 5; i += 1) m.remember(origin, 7, target, { hop: idOf(10 + i), aim: idOf(20 + i) }, 2_000);
    expect(m.silentWays(origin, 7, target, 3_000).map((way) => way.hop)).toEqual([idOf(11), idOf(12), idOf(13), idOf(14)]);
    expect(m.size).toBe(1);
  });

  it('forgets a lookup maxAgeMs after its first forward', () => {
    const m = memory();
    m.remember(origin, 7, target, { hop, aim }, 0);
    m.remember(origin, 7, target, { hop: other, aim: other }, 4_000);
    expect(m.silentWays(origin, 7, target, 5_000)).toHaveLength(2);
    expect(m.silentWays(origin, 7, target, 5_001)).toEqual([]);
    expect(m.size).toBe(0);
  });

  it('holds at most `capacity` lookups, dropping the oldest', () => {
    const m = memory(3);
    for (let rid = 0; rid < 5; rid += 1) m.remember(origin, rid, target, { hop, aim }, rid);
    expect(m.size).toBe(3);
    expect(m.silentWays(origin, 1, target, 1_000)).toEqual([]);
    expect(m.silentWays(origin, 2, target, 1_000)).toHaveLength(1);
    expect(m.silentWays(origin, 4, target, 1_000)).toHaveLength(1);
  });
});

describe('silentAims (the origin\'s suspect rule, at a hop)', () => {
  it('leaves out an aim that was its own hop, or that two ways were aimed at; not an aim behind one relay', () => {
    expect(silentAims([{ hop: aim, aim, at: 0 }])).toEqual([aim]);
    expect(silentAims([{ hop, aim, at: 0 }])).toEqual([]);
    expect(silentAims([{ hop, aim, at: 0 }, { hop: other, aim, at: 1 }])).toEqual([aim]);
  });
});
