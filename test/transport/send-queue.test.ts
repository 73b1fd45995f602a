import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSimulatedClock, type VirtualClock } from '../../sim/simulated-clock.js';
import { SendQueue, type SendQueueOptions } from '../../src/actors/transport/send-queue.js';
import { PeerSockError, isPeerSockError } from '../../src/errors.js';

/** A link stand-in: written bytes stay buffered until the test "transmits" them. */
class FakeSink {
  buffered = 0;
  readonly written: Uint8Array[] = [];
  bufferedAmount = () => this.buffered;
  write = (frame: Uint8Array) => {
    this.written.push(frame);
    this.buffered += frame.length;
  };
  transmit(bytes: number): void {
    this.buffered = Math.max(0, this.buffered - bytes);
  }
}

function setup(options: Partial<Omit<SendQueueOptions, 'clock'>> = {}) {
  const clock = createSimulatedClock();
  const sink = new FakeSink();
  const queue = new SendQueue(sink, { budgetBytes: 100, maxQueuedBytes: 200, timeoutMs: 1_000, clock, ...options });
  return { clock, sink, queue };
}

const frame = (length: number, tag = 0) => new Uint8Array(length).fill(tag);

type Outcome = { state: 'pending' } | { state: 'resolved'; at: number } | { state: 'rejected'; at: number; code: string };

/** Watches a send promise, stamping its outcome with the virtual time it settled at. */
function track(promise: Promise<void>, clock: VirtualClock): { outcome: Outcome; settlements: number } {
  const tracked: { outcome: Outcome; settlements: number } = { outcome: { state: 'pending' }, settlements: 0 };
  promise.then(
    () => {
      tracked.settlements += 1;
      tracked.outcome = { state: 'resolved', at: clock.now() };
    },
    (error: unknown) => {
      tracked.settlements += 1;
      tracked.outcome = { state: 'rejected', at: clock.now(), code: isPeerSockError(error) ? error.code : `not a PeerSockError: ${String(error)}` };
    },
  );
  return tracked;
}

const flush = async () => {
  for (let i = 0; i < 3; i += 1) await Promise.resolve();
};

describe('SendQueue', () => {
  it('writes at once while the link holds less than the budget', async () => {
    const { sink, queue, clock } = setup();
    const frames = [frame(40, 1), frame(60, 2)];
    const sends = frames.map((f) => track(queue.send(f), clock));
    expect(sink.written).toEqual(frames);
    await flush();
    expect(sends.map((s) => s.outcome.state)).toEqual(['resolved', 'resolved']);
    expect(queue.pendingBytes).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('holds frames beyond the budget in FIFO order and writes them as the link drains', async () => {
    const { sink, queue, clock } = setup();
    const first = frame(80, 1);
    const big = frame(50, 2);
    const small = frame(10, 3); // would fit now, but must not overtake `big`
    const sends = [first, big, small].map((f) => track(queue.send(f), clock));
    expect(sink.written).toEqual([first]);
    expect(queue.pendingBytes).toBe(60);
    await flush();
    expect(sends.map((s) => s.outcome.state)).toEqual(['resolved', 'pending', 'pending']);

    sink.transmit(30); // 50 buffered: big fits exactly, small then does not
    queue.drain();
    expect(sink.written).toEqual([first, big]);
    sink.transmit(100);
    queue.drain();
    expect(sink.written).toEqual([first, big, small]);
    await flush();
    expect(sends.map((s) => s.outcome.state)).toEqual(['resolved', 'resolved', 'resolved']);
    expect(queue.pendingBytes).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects with BACKPRESSURE at once past maxQueuedBytes, dropping nothing that was accepted', async () => {
    const { sink, queue, clock } = setup({ maxQueuedBytes: 100 });
    queue.send(frame(100, 0)); // fills the link's budget
    const waiting = [frame(60, 1), frame(40, 2)].map((f) => track(queue.send(f), clock));
    const refused = track(queue.send(frame(1, 3)), clock);
    await flush();
    expect(refused.outcome).toEqual({ state: 'rejected', at: 0, code: 'BACKPRESSURE' });
    expect(queue.pendingBytes).toBe(100);
    sink.transmit(100);
    queue.drain();
    await flush();
    expect(waiting.map((w) => w.outcome.state)).toEqual(['resolved', 'resolved']);
    expect(sink.written.map((f) => f[0])).toEqual([0, 1, 2]);
  });

  it('rejects with SEND_TIMEOUT exactly timeoutMs after each frame began waiting; later frames still flow', async () => {
    const { sink, queue, clock } = setup({ timeoutMs: 1_000 });
    queue.send(frame(100, 0));
    const early = track(queue.send(frame(10, 1)), clock);
    clock.advance(400);
    const late = track(queue.send(frame(10, 2)), clock);
    clock.advance(599);
    await flush();
    expect([early.outcome.state, late.outcome.state]).toEqual(['pending', 'pending']);
    clock.advance(1);
    await flush();
    expect(early.outcome).toEqual({ state: 'rejected', at: 1_000, code: 'SEND_TIMEOUT' });
    expect(late.outcome.state).toBe('pending');
    clock.advance(400);
    await flush();
    expect(late.outcome).toEqual({ state: 'rejected', at: 1_400, code: 'SEND_TIMEOUT' });
    expect(queue.pendingBytes).toBe(0);
    expect(clock.pendingTimers()).toBe(0);

    sink.transmit(100);
    queue.drain();
    const after = track(queue.send(frame(10, 3)), clock);
    await flush();
    expect(after.outcome).toEqual({ state: 'resolved', at: 1_400 });
    expect(sink.written.map((f) => f[0])).toEqual([0, 3]);
  });

  it('failAll rejects everything waiting with the given error and stops its timer', async () => {
    const { queue, clock } = setup();
    queue.send(frame(100, 0));
    const waiting = [1, 2, 3].map((tag) => track(queue.send(frame(10, tag)), clock));
    queue.failAll(new PeerSockError('LINK_CLOSED', 'gone'));
    await flush();
    expect(waiting.map((w) => w.outcome)).toEqual(waiting.map(() => ({ state: 'rejected', at: 0, code: 'LINK_CLOSED' })));
    expect(queue.pendingBytes).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('failAll with a factory makes the error only when something waits (once), not for an idle queue', async () => {
    const { queue, clock } = setup();
    let made = 0;
    const factory = () => {
      made += 1;
      return new PeerSockError('LINK_CLOSED', 'gone');
    };
    queue.failAll(factory);
    expect(made).toBe(0);
    queue.send(frame(100, 0));
    const waiting = [1, 2].map((tag) => track(queue.send(frame(10, tag)), clock));
    queue.failAll(factory);
    await flush();
    expect(made).toBe(1);
    expect(waiting.map((w) => w.outcome)).toEqual(waiting.map(() => ({ state: 'rejected', at: 0, code: 'LINK_CLOSED' })));
  });

  it('property: every send settles exactly once, FIFO, within bounds, whatever the sends, drains and ticks', async () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), size: fc.integer({ min: 0, max: 160 }) }),
      fc.record({ kind: fc.constant('drain' as const), bytes: fc.integer({ min: 0, max: 200 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 700 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          budgetBytes: fc.integer({ min: 1, max: 150 }),
          maxQueuedBytes: fc.integer({ min: 0, max: 300 }),
          timeoutMs: fc.integer({ min: 1, max: 2_000 }),
        }),
        fc.array(command, { maxLength: 60 }),
        async (options, commands) => {
          const { clock, sink, queue } = setup(options);
          const sent: { frame: Uint8Array; at: number; tracked: ReturnType<typeof track> }[] = [];
          const resolvedOrder: number[] = [];
          for (const step of commands) {
            if (step.kind === 'send') {
              const f = new Uint8Array(step.size);
              const index = sent.length;
              const promise = queue.send(f);
              promise.then(() => resolvedOrder.push(index), () => undefined);
              sent.push({ frame: f, at: clock.now(), tracked: track(promise, clock) });
            } else if (step.kind === 'drain') {
              sink.transmit(step.bytes);
              queue.drain();
            } else {
              // Timer by timer, so each outcome is stamped with the instant it happened.
              const target = clock.now() + step.ms;
              for (let next = clock.nextDeadline(); next !== undefined && next <= target; next = clock.nextDeadline()) {
                clock.advanceTo(next);
                await flush();
              }
              clock.advanceTo(target);
            }
            await flush();
            expect(queue.pendingBytes).toBeLessThanOrEqual(options.maxQueuedBytes);
            expect(queue.pendingBytes).toBeGreaterThanOrEqual(0);
          }
          queue.failAll(new PeerSockError('LINK_CLOSED', 'end of run'));
          await flush();

          expect(queue.pendingBytes).toBe(0);
          expect(clock.pendingTimers()).toBe(0);
          // Settled exactly once each.
          for (const s of sent) expect(s.tracked.settlements).toBe(1);
          // Resolutions happen in send order, and the sink saw exactly the resolved frames, in that order.
          expect(resolvedOrder).toEqual([...resolvedOrder].sort((x, y) => x - y));
          expect(sink.written).toHaveLength(resolvedOrder.length);
          sink.written.forEach((written, i) => expect(written).toBe(sent[resolvedOrder[i]!]!.frame));
          for (const s of sent) {
            const outcome = s.tracked.outcome;
            if (outcome.state !== 'rejected') continue;
            expect(['BACKPRESSURE', 'SEND_TIMEOUT', 'LINK_CLOSED']).toContain(outcome.code);
            if (outcome.code === 'BACKPRESSURE') expect(outcome.at).toBe(s.at);
            if (outcome.code === 'SEND_TIMEOUT') expect(outcome.at - s.at).toBe(options.timeoutMs);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
