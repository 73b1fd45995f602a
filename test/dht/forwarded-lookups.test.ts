/** The bounded memory of where a node forwarded recent lookups (forwarded-lookups.ts). */
import { describe, expect, it } from 'vitest';
import { ForwardedLookups } from '../../src/actors/dht/forwarded-lookups.js';
import { idOf } from './arbitraries.js';

const [origin, hop, aim, other] = [idOf(1), idOf(2), idOf(3), idOf(4)];

describe('ForwardedLookups', () => {
  it('tells where an earlier copy went, by origin and rid', () => {
    const memory = new ForwardedLookups(8, 5_000);
    memory.remember(origin, 7, { hop, aim }, 100);
    expect(memory.earlier(origin, 7, 200)).toEqual({ hops: [hop], aims: [aim], at: 100 });
    expect(memory.earlier(origin, 8, 200)).toBeUndefined();
    expect(memory.earlier(other, 7, 200)).toBeUndefined();
  });

  it('counts a lookup up to maxAgeMs after its first forward, not after', () => {
    const memory = new ForwardedLookups(8, 5_000);
    memory.remember(origin, 7, { hop, aim }, 0);
    memory.remember(origin, 7, { hop: other, aim: other }, 4_000);
    expect(memory.earlier(origin, 7, 5_000)).toBeDefined();
    expect(memory.earlier(origin, 7, 5_001)).toBeUndefined();
  });

  it('adds each way a lookup forwarded again took, up to four', () => {
    const memory = new ForwardedLookups(8, 5_000);
    memory.remember(origin, 7, { hop, aim }, 0);
    memory.remember(origin, 7, { hop: other, aim: other }, 1_000);
    expect(memory.earlier(origin, 7, 1_000)).toEqual({ hops: [hop, other], aims: [aim, other], at: 0 });
    expect(memory.size).toBe(1);
    for (let i = 0; i < 5; i += 1) memory.remember(origin, 7, { hop: idOf(10 + i), aim: idOf(20 + i) }, 2_000);
    expect(memory.earlier(origin, 7, 2_000)!.hops).toEqual([idOf(11), idOf(12), idOf(13), idOf(14)]);
  });

  it('starts afresh after maxAgeMs: an old lookup\'s ways are not added to', () => {
    const memory = new ForwardedLookups(8, 5_000);
    memory.remember(origin, 7, { hop, aim }, 0);
    memory.remember(origin, 7, { hop: other, aim: other }, 6_000);
    expect(memory.earlier(origin, 7, 6_000)).toEqual({ hops: [other], aims: [other], at: 6_000 });
  });

  it('holds at most `capacity` entries, dropping the oldest', () => {
    const memory = new ForwardedLookups(3, 5_000);
    for (let rid = 0; rid < 5; rid += 1) memory.remember(origin, rid, { hop, aim }, rid);
    expect(memory.size).toBe(3);
    expect(memory.earlier(origin, 1, 10)).toBeUndefined();
    expect(memory.earlier(origin, 2, 10)).toBeDefined();
    expect(memory.earlier(origin, 4, 10)).toBeDefined();
  });
});
