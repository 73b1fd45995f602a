import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Link, LinkSignal, LinkTransport } from '../../src/ports/transport.js';

/**
 * One compliance suite for every LinkTransport (DESIGN §2 rule 6): the real WebRTC one on
 * wall time and the simulated one on virtual time run the same cases. The harness hides
 * the difference in time: `wait(ms)` sleeps or advances the virtual clock, `defer(fn)`
 * runs fn on a later turn of that time (the signaling relay between the two links).
 */
export interface ComplianceHarness {
  a: LinkTransport;
  b: LinkTransport;
  /** Lets `ms` of the transport's time pass. */
  wait(ms: number): Promise<void>;
  /** Runs `fn` soon, outside the current callback, on the transport's time. */
  defer(fn: () => void): void;
  close(): Promise<void>;
}

export interface ComplianceFactory {
  setup(): Promise<ComplianceHarness>;
  /** How long (in the transport's time) a link may take to open (default 10 s). */
  openWithinMs?: number;
}

interface End {
  link: Link;
  signals: LinkSignal[];
  opened: number;
  closes: string[];
  messages: Uint8Array[];
  lows: number;
}

const THRESHOLD = 64 * 1024;

/** Waits in small steps of the transport's time until `done()` holds. */
async function waitFor(harness: ComplianceHarness, done: () => boolean, maxMs: number, what: string): Promise<void> {
  const step = 5;
  for (let waited = 0; !done(); waited += step) {
    if (waited > maxMs) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await harness.wait(step);
  }
}

/** Two links wired to each other through a FIFO relay; `relay: false` keeps signals for inspection. */
function pair(harness: ComplianceHarness, options: { relay?: boolean } = {}): { a: End; b: End } {
  const queue: { to: End; signal: LinkSignal }[] = [];
  let draining = false;
  const relay = options.relay ?? true;
  const drain = () => {
    draining = false;
    for (const { to, signal } of queue.splice(0)) {
      try {
        to.link.applySignal(signal);
      } catch {
        // A failed apply shows up as a link that never opens.
      }
    }
  };
  const make = (transport: LinkTransport, initiator: boolean, other: () => End): End => {
    const end: End = { link: undefined as unknown as Link, signals: [], opened: 0, closes: [], messages: [], lows: 0 };
    end.link = transport.createLink({
      label: initiator ? 'compliance-a' : 'compliance-b',
      initiator,
      bufferedAmountLowThreshold: THRESHOLD,
      handlers: {
        onSignal: (signal) => {
          end.signals.push(signal);
          if (!relay) return;
          queue.push({ to: other(), signal });
          if (!draining) {
            draining = true;
            harness.defer(drain);
          }
        },
        onOpen: () => {
          end.opened += 1;
        },
        onMessage: (data) => {
          end.messages.push(data);
        },
        onClose: (reason) => {
          end.closes.push(reason);
        },
        onBufferedAmountLow: () => {
          end.lows += 1;
        },
      },
    });
    return end;
  };
  const ends = {} as { a: End; b: End };
  ends.a = make(harness.a, true, () => ends.b);
  ends.b = make(harness.b, false, () => ends.a);
  return ends;
}

export function runLinkTransportCompliance(name: string, factory: ComplianceFactory): void {
  const openWithin = factory.openWithinMs ?? 10_000;

  describe(`LinkTransport compliance: ${name}`, () => {
    let harness: ComplianceHarness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await harness.close();
    });

    const openPair = async () => {
      const ends = pair(harness);
      await waitFor(harness, () => ends.a.opened > 0 && ends.b.opened > 0, openWithin, 'both ends to open');
      return ends;
    };

    it('exactly one side offers: the initiator offers, the other answers', async () => {
      const { a, b } = await openPair();
      expect(a.signals.filter((s) => s.type === 'offer')).toHaveLength(1);
      expect(a.signals.filter((s) => s.type === 'answer')).toHaveLength(0);
      expect(b.signals.filter((s) => s.type === 'answer')).toHaveLength(1);
      expect(b.signals.filter((s) => s.type === 'offer')).toHaveLength(0);
      expect(a.signals.some((s) => s.type === 'candidate')).toBe(true);
    });

    it('a non-initiator says nothing until it hears an offer', async () => {
      const { a, b } = pair(harness, { relay: false });
      await waitFor(harness, () => a.signals.some((s) => s.type === 'offer'), openWithin, 'an offer');
      await harness.wait(50);
      expect(b.signals).toEqual([]);
    });

    it('opens on both sides, once each', async () => {
      const { a, b } = await openPair();
      await harness.wait(50);
      // Once each: an answerer that adopts a channel already open when it arrives must not
      // also pass on the channel's own open callback.
      expect([a.opened, b.opened]).toEqual([1, 1]);
      expect([a.closes, b.closes]).toEqual([[], []]);
    });

    it('delivers 1,000 messages of mixed sizes complete and in order', async () => {
      const { a, b } = await openPair();
      const sizes = [4, 17, 300, 1_200, 16_384, 65_536];
      const sent: Uint8Array[] = [];
      for (let i = 0; i < 1_000; i += 1) {
        const message = new Uint8Array(sizes[i % sizes.length]! + (i % 7));
        new DataView(message.buffer).setUint32(0, i);
        message.fill(i & 0xff, 4);
        sent.push(message);
        a.link.send(message);
      }
      await waitFor(harness, () => b.messages.length >= sent.length, 20_000, '1,000 messages');
      expect(b.messages.map((m) => new DataView(m.buffer, m.byteOffset).getUint32(0))).toEqual(sent.map((_, i) => i));
      const corrupted = b.messages.findIndex((m, i) => Buffer.compare(Buffer.from(m), Buffer.from(sent[i]!)) !== 0);
      expect(corrupted).toBe(-1);
    });

    it('carries a message of exactly maxMessageSize and refuses one byte more', async () => {
      const { a, b } = await openPair();
      const max = a.link.maxMessageSize();
      expect(max).toBeGreaterThanOrEqual(64 * 1024);
      const big = new Uint8Array(max).fill(0x5a);
      big[max - 1] = 0x01;
      a.link.send(big);
      expect(() => a.link.send(new Uint8Array(max + 1))).toThrow();
      await waitFor(harness, () => b.messages.length >= 1, 10_000, 'the largest message');
      expect(b.messages[0]!.length).toBe(max);
      expect(b.messages[0]![max - 1]).toBe(0x01);
      await harness.wait(50);
      expect(b.messages).toHaveLength(1);
    });

    it('counts queued bytes in bufferedAmount and reports when they drain below the threshold', async () => {
      const { a, b } = await openPair();
      expect(a.link.bufferedAmount()).toBe(0);
      const chunk = new Uint8Array(256 * 1024);
      for (let i = 0; i < 8; i += 1) a.link.send(chunk);
      expect(a.link.bufferedAmount()).toBeGreaterThan(THRESHOLD);
      await waitFor(harness, () => a.lows > 0, 10_000, 'onBufferedAmountLow');
      expect(a.link.bufferedAmount()).toBeLessThanOrEqual(THRESHOLD);
      await waitFor(harness, () => b.messages.length === 8, 10_000, 'the chunks to arrive');
    });

    it('a close on one side reaches the other side exactly once', async () => {
      const { a, b } = await openPair();
      a.link.close();
      await waitFor(harness, () => b.closes.length > 0, 10_000, 'the remote close');
      await harness.wait(200);
      expect(b.closes).toHaveLength(1);
      expect(a.closes.length).toBeLessThanOrEqual(1);
      a.link.close();
      await harness.wait(20);
      expect(a.closes.length).toBeLessThanOrEqual(1);
    });

    it('reports DTLS fingerprints that match across the two sides', async () => {
      const { a, b } = await openPair();
      const pattern = /^sha-256 (?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/;
      expect(a.link.localFingerprint()).toMatch(pattern);
      expect(b.link.localFingerprint()).toMatch(pattern);
      expect(a.link.localFingerprint()).not.toBe(b.link.localFingerprint());
      expect(b.link.remoteFingerprint()).toBe(a.link.localFingerprint());
      expect(a.link.remoteFingerprint()).toBe(b.link.localFingerprint());
    });

    it('throws on a garbage description', async () => {
      const { b } = pair(harness, { relay: false });
      expect(() => b.link.applySignal({ type: 'offer', sdp: 'this is not a session description' })).toThrow();
      expect(() => b.link.applySignal({ type: 'bogus' } as unknown as LinkSignal)).toThrow();
    });

    it('throws on send after close, and on send before open', async () => {
      const early = pair(harness, { relay: false });
      expect(() => early.a.link.send(new Uint8Array([1]))).toThrow();
      const { a } = await openPair();
      a.link.close();
      expect(() => a.link.send(new Uint8Array([1]))).toThrow();
    });

    it('consumes the bytes during send: the caller may reuse its buffer at once', async () => {
      const { a, b } = await openPair();
      const buffer = new Uint8Array(1024);
      for (let i = 0; i < 10; i += 1) {
        buffer.fill(i);
        a.link.send(buffer);
      }
      buffer.fill(0xff);
      await waitFor(harness, () => b.messages.length >= 10, 10_000, '10 messages');
      expect(b.messages.map((m) => [m.length, m[0], m[1023]])).toEqual(Array.from({ length: 10 }, (_, i) => [1024, i, i]));
    });
  });
}
