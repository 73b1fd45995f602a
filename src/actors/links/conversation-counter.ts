import type { PeerId } from '../../identity/peer-id.js';

/**
 * Routed application messages per peer in fixed windows: the measure of a "busy" conversation.
 * Bounded: at most `maxTracked` peers, the least recently counted forgotten first (a Map keeps
 * insertion order, and a counted peer is moved to the end).
 */
export class ConversationCounter {
  private readonly windows = new Map<PeerId, { start: number; count: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxTracked: number,
  ) {}

  /** Counts one message with `peer` at `now`; returns the count in its current window. */
  count(peer: PeerId, now: number): number {
    const previous = this.windows.get(peer);
    this.windows.delete(peer);
    const window = previous === undefined || now - previous.start >= this.windowMs ? { start: now, count: 1 } : { start: previous.start, count: previous.count + 1 };
    this.windows.set(peer, window);
    if (this.windows.size > this.maxTracked) this.windows.delete(this.windows.keys().next().value as PeerId);
    return window.count;
  }

  forget(peer: PeerId): void {
    this.windows.delete(peer);
  }

  get size(): number {
    return this.windows.size;
  }
}
