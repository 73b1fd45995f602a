import { PeerSockError } from '../errors.js';
import { isPeerId, type PeerId } from '../identity/peer-id.js';

/**
 * Replay protection for routed messages, in bounded memory.
 *
 * A message is identified by (origin, msgId), not msgId alone: a hop that sees a msgId pass
 * could otherwise send its own message under the same id by a faster path and have the real
 * one rejected as a replay.
 *
 * Rules, with `now` the local wall clock (ms since the Unix epoch, passed in):
 *   - sentAt outside now ± windowMs: rejected (stale, or dated in the future);
 *   - sentAt ≤ floor: rejected (see below);
 *   - (origin, msgId) remembered: rejected.
 *
 * The soundness invariant: every message ever admitted is either remembered or has
 * sentAt ≤ floor. Forgetting a message always raises the floor to at least its sentAt, so a
 * replay of anything forgotten is still rejected, by the floor if not by the time check.
 * Memory is bounded by `maxEntries`; messages are forgotten oldest sentAt first, and
 *   - those older than now − windowMs would fail the time check anyway, so forgetting them
 *     loses nothing (the floor they leave behind only matters if the clock steps back);
 *   - under a flood that fills the table within the window, the floor rises into the window:
 *     the guard stays exact but gets stricter, rejecting honest messages older than the
 *     floor. The effective past window shrinks to about maxEntries / (messages per ms).
 *     Failing closed is the point: a bounded table must never make a replay look new.
 *
 * Callers: check() before the (expensive) signature check, to drop known replays cheaply;
 * admit() only after the envelope opened, so a forgery cannot burn an honest msgId.
 */
export interface ReplayWindowOptions {
  /** How far sentAt may be from the local clock, either way (default 5 minutes, as in Kerberos). */
  windowMs?: number;
  /** Most messages remembered (default 16,384: ~4 MB, 5 minutes at ~55 msg/s before the floor rises). */
  maxEntries?: number;
}

export interface ReplayCandidate {
  origin: PeerId;
  msgId: Uint8Array;
  /** The origin's wall clock when it sent, ms since the Unix epoch. */
  sentAt: number;
}

export const DEFAULT_REPLAY_WINDOW_MS = 5 * 60_000;
export const DEFAULT_REPLAY_MAX_ENTRIES = 16_384;

interface Entry {
  sentAt: number;
  key: string;
}

export class ReplayWindow {
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly remembered = new Map<string, number>();
  /** Min-heap on sentAt over the remembered messages: the next one to forget is at the top. */
  private readonly heap: Entry[] = [];
  private floor = Number.NEGATIVE_INFINITY;

  constructor(options: ReplayWindowOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_REPLAY_MAX_ENTRIES;
    if (!Number.isSafeInteger(this.windowMs) || this.windowMs < 0) {
      throw new PeerSockError('INVALID_ARGUMENT', `windowMs must be a non-negative integer, got ${this.windowMs}`);
    }
    if (!Number.isSafeInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new PeerSockError('INVALID_ARGUMENT', `maxEntries must be a positive integer, got ${this.maxEntries}`);
    }
  }

  /** Messages remembered now. */
  get size(): number {
    return this.remembered.size;
  }

  /** Throws REPLAYED if `message` would be refused now; remembers nothing. */
  check(message: ReplayCandidate, now: number): void {
    this.verdict(message, now, keyOf(message));
  }

  /** Throws REPLAYED as check() does; otherwise remembers the message. */
  admit(message: ReplayCandidate, now: number): void {
    this.forgetBefore(now - this.windowMs);
    const key = keyOf(message);
    this.verdict(message, now, key);
    this.remembered.set(key, message.sentAt);
    this.push({ sentAt: message.sentAt, key });
    // The new message itself may be the oldest: then it is forgotten at once, into the floor.
    while (this.heap.length > this.maxEntries) this.forget();
  }

  private verdict(message: ReplayCandidate, now: number, key: string): void {
    const { sentAt } = message;
    if (!Number.isSafeInteger(sentAt) || sentAt < 0) throw replayed(`sentAt ${String(sentAt)} is not a time`);
    if (!Number.isFinite(now)) throw new PeerSockError('INVALID_ARGUMENT', `now must be a finite number, got ${now}`);
    if (sentAt < now - this.windowMs) throw replayed(`sent ${seconds(now - sentAt)} ago, outside the ±${seconds(this.windowMs)} window`);
    if (sentAt > now + this.windowMs) throw replayed(`dated ${seconds(sentAt - now)} ahead of the local clock, outside the ±${seconds(this.windowMs)} window`);
    if (sentAt <= this.floor) throw replayed('older than every message still remembered (the replay table is full); resend');
    if (this.remembered.has(key)) throw replayed(`message ${key.slice(64)} from ${message.origin.slice(0, 8)} was already received`);
  }

  private forgetBefore(cutoff: number): void {
    while (this.heap.length > 0 && (this.heap[0] as Entry).sentAt < cutoff) this.forget();
  }

  private forget(): void {
    const oldest = this.pop();
    this.remembered.delete(oldest.key);
    if (oldest.sentAt > this.floor) this.floor = oldest.sentAt;
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entry).sentAt <= entry.sentAt) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0] as Entry;
    const last = heap.pop() as Entry;
    if (heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Entry).sentAt < (heap[left] as Entry).sentAt ? right : left;
      if ((heap[child] as Entry).sentAt >= last.sentAt) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function keyOf(message: ReplayCandidate): string {
  if (!isPeerId(message.origin) || !(message.msgId instanceof Uint8Array)) {
    throw new PeerSockError('INVALID_ARGUMENT', 'a replay candidate needs an origin PeerId and a msgId');
  }
  return message.origin + Buffer.from(message.msgId).toString('hex');
}

function replayed(why: string): PeerSockError {
  return new PeerSockError('REPLAYED', `routed message refused: ${why}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
