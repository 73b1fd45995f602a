import { describe, it, expect } from 'vitest';
import { thrownCode } from '../helpers/error-code.js';
import fc from 'fast-check';
import { ReplayWindow, type ReplayCandidate } from '../../src/crypto/replay-window.js';
import { isPeerSockError, PeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const A = 'a'.repeat(64) as PeerId;
const B = 'b'.repeat(64) as PeerId;
const T0 = 1_760_000_000_000;
const WINDOW = 60_000;

function message(id: number, sentAt: number, origin: PeerId = A): ReplayCandidate {
  const msgId = new Uint8Array(16);
  new DataView(msgId.buffer).setUint32(0, id);
  return { origin, msgId, sentAt };
}


describe('ReplayWindow', () => {
  it('admits a message once and refuses it after', () => {
    const window = new ReplayWindow({ windowMs: WINDOW });
    window.admit(message(1, T0), T0);
    expect(() => window.admit(message(1, T0), T0 + 5)).toThrow(expect.objectContaining({ code: 'REPLAYED', message: expect.stringContaining('already received') }));
    expect(thrownCode(() => window.check(message(1, T0), T0 + 5))).toBe('REPLAYED');
    expect(window.size).toBe(1);
  });

  it('keys on (origin, msgId): another origin may use the same msgId', () => {
    const window = new ReplayWindow({ windowMs: WINDOW });
    window.admit(message(1, T0, A), T0);
    expect(thrownCode(() => window.admit(message(1, T0, B), T0))).toBeUndefined();
    expect(window.size).toBe(2);
  });

  it('check() remembers nothing', () => {
    const window = new ReplayWindow({ windowMs: WINDOW });
    window.check(message(1, T0), T0);
    window.check(message(1, T0), T0);
    expect(window.size).toBe(0);
    expect(thrownCode(() => window.admit(message(1, T0), T0))).toBeUndefined();
  });

  it('refuses a sentAt outside now ± window, inclusive bounds admitted', () => {
    const window = new ReplayWindow({ windowMs: WINDOW });
    expect(thrownCode(() => window.admit(message(1, T0 - WINDOW), T0))).toBeUndefined();
    expect(thrownCode(() => window.admit(message(2, T0 + WINDOW), T0))).toBeUndefined();
    const stale = thrownCode(() => window.admit(message(3, T0 - WINDOW - 1), T0));
    const future = thrownCode(() => window.admit(message(4, T0 + WINDOW + 1), T0));
    expect([stale, future]).toEqual(['REPLAYED', 'REPLAYED']);
    expect(() => window.check(message(5, T0 + 2 * WINDOW), T0)).toThrow(/ahead of the local clock/);
    expect(() => window.check(message(5, T0 - 2 * WINDOW), T0)).toThrow(/ago, outside/);
  });

  it('forgets messages once the time check alone refuses them', () => {
    const window = new ReplayWindow({ windowMs: WINDOW });
    for (let i = 0; i < 10; i++) window.admit(message(i, T0 + i), T0 + i);
    expect(window.size).toBe(10);
    window.admit(message(100, T0 + WINDOW + 5), T0 + WINDOW + 5); // forgets sentAt < T0 + 5
    expect(window.size).toBe(6);
    // The forgotten ones are still refused: by the clock now.
    expect(thrownCode(() => window.admit(message(0, T0), T0 + WINDOW + 5))).toBe('REPLAYED');
  });

  it('stays sound when the local clock steps back after forgetting', () => {
    const window = new ReplayWindow({ windowMs: WINDOW });
    window.admit(message(1, T0), T0);
    window.admit(message(2, T0 + 10 * WINDOW), T0 + 10 * WINDOW); // message 1 forgotten
    expect(window.size).toBe(1);
    // Clock back to T0: message 1 is in the time window again, and not remembered; the floor refuses it.
    expect(() => window.admit(message(1, T0), T0)).toThrow(expect.objectContaining({ code: 'REPLAYED', message: expect.stringContaining('older than') }));
  });

  it('holds at most maxEntries and fails closed when full', () => {
    const window = new ReplayWindow({ windowMs: WINDOW, maxEntries: 4 });
    for (let i = 0; i < 10; i++) window.admit(message(i, T0 + i * 10), T0 + 100);
    expect(window.size).toBe(4);
    for (let i = 0; i < 10; i++) expect(thrownCode(() => window.admit(message(i, T0 + i * 10), T0 + 100)), `replay of ${i}`).toBe('REPLAYED');
    // Fresh but older than everything still remembered: refused (floor = T0 + 50).
    expect(thrownCode(() => window.admit(message(50, T0 + 50), T0 + 100))).toBe('REPLAYED');
    expect(thrownCode(() => window.admit(message(51, T0 + 51), T0 + 100))).toBeUndefined();
  });

  it('forgets the oldest sentAt first, even when it arrives last', () => {
    const window = new ReplayWindow({ windowMs: WINDOW, maxEntries: 3 });
    for (const [id, sentAt] of [[1, T0 + 30], [2, T0 + 20], [3, T0 + 40]] as const) window.admit(message(id, sentAt), T0 + 50);
    window.admit(message(4, T0 + 10), T0 + 50); // older than all: forgotten at once, raising the floor to T0 + 10
    expect(window.size).toBe(3);
    expect(thrownCode(() => window.admit(message(5, T0 + 25), T0 + 50))).toBeUndefined(); // above the floor; 2 (T0 + 20) goes
    expect(thrownCode(() => window.admit(message(2, T0 + 20), T0 + 50))).toBe('REPLAYED');
    expect(thrownCode(() => window.admit(message(6, T0 + 20), T0 + 50))).toBe('REPLAYED');
    expect(thrownCode(() => window.admit(message(7, T0 + 21), T0 + 50))).toBeUndefined();
    expect(thrownCode(() => window.admit(message(3, T0 + 40), T0 + 50))).toBe('REPLAYED');
  });

  it('never admits the same (origin, msgId) twice, whatever the clock, the order or the cap', () => {
    const op = fc.record({
      origin: fc.constantFrom(A, B),
      id: fc.integer({ min: 0, max: 30 }),
      sentAtOffset: fc.integer({ min: -3 * WINDOW, max: 3 * WINDOW }),
      // Absolute, not a random walk: the clock jumps back and forth around T0.
      clockOffset: fc.integer({ min: -2 * WINDOW, max: 2 * WINDOW }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (maxEntries, ops) => {
        const window = new ReplayWindow({ windowMs: WINDOW, maxEntries });
        const sentAtOf = new Map<string, number>();
        const admitted = new Set<string>();
        for (const { origin, id, sentAtOffset, clockOffset } of ops) {
          const key = `${origin}/${id}`;
          // The first use of an id fixes its sentAt; later uses are replays of it.
          if (!sentAtOf.has(key)) sentAtOf.set(key, T0 + sentAtOffset);
          try {
            window.admit(message(id, sentAtOf.get(key)!, origin), T0 + clockOffset);
            expect(admitted.has(key), `${key} admitted twice`).toBe(false);
            admitted.add(key);
          } catch (error) {
            expect(isPeerSockError(error, 'REPLAYED')).toBe(true);
          }
          expect(window.size).toBeLessThanOrEqual(maxEntries);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with room to spare and a clock that only moves forward, admits every fresh message in the window', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ step: fc.nat(WINDOW), skew: fc.integer({ min: -WINDOW, max: WINDOW }) }), { maxLength: 200 }), (ops) => {
        const window = new ReplayWindow({ windowMs: WINDOW, maxEntries: 1000 });
        let now = T0;
        ops.forEach(({ step, skew }, id) => {
          now += step;
          window.admit(message(id, now + skew), now);
        });
      }),
    );
  });

  it('refuses bad options and bad candidates', () => {
    for (const options of [{ windowMs: -1 }, { windowMs: 1.5 }, { maxEntries: 0 }, { maxEntries: Number.POSITIVE_INFINITY }]) {
      expect(thrownCode(() => new ReplayWindow(options))).toBe('INVALID_ARGUMENT');
    }
    const window = new ReplayWindow();
    expect(thrownCode(() => window.admit({ origin: 'nope' as PeerId, msgId: new Uint8Array(16), sentAt: T0 }, T0))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => window.admit({ origin: A, msgId: 'x' as unknown as Uint8Array, sentAt: T0 }, T0))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => window.admit(message(1, Number.NaN), T0))).toBe('REPLAYED');
    expect(thrownCode(() => window.admit(message(1, T0), Number.NaN))).toBe('INVALID_ARGUMENT');
    expect(window.size).toBe(0);
  });
});
