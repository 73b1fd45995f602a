import type { SealedEnvelope } from '../../crypto/sealed-envelope.js';
import { PeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';

/** Settles one routed send: no error = acknowledged. */
export type Settle = (error?: PeerSockError) => void;

interface Entry {
  target: PeerId;
  settle: Settle;
  /** The sealed message, kept for retransmission (the router sends the very same envelope again). */
  env?: SealedEnvelope;
  /** Copies sent after the first. */
  resent: number;
  /** The links the copies so far left by, first copy first. */
  hops: PeerId[];
}

/**
 * Routed sends awaiting their ack, by msgId (hex), at the origin. The promise handles live here,
 * outside the router actor's context (a snapshot should hold data, not closures); the actor
 * decides when each one settles. Bounded: a slot is reserved before the (asynchronous) sealing,
 * so sends still being sealed count against the limit too.
 */
export class PendingSends {
  private readonly entries = new Map<string, Entry>();
  private reserved = 0;

  constructor(readonly max: number) {}

  /** Sends awaiting an ack, plus those still being sealed. */
  get size(): number {
    return this.entries.size + this.reserved;
  }

  /** Takes a slot for a send about to be sealed; false when full (the caller rejects with BACKPRESSURE). */
  reserve(): boolean {
    if (this.size >= this.max) return false;
    this.reserved += 1;
    return true;
  }

  /** Gives back a reserved slot that will not be used (sealing failed, node stopped). */
  release(): void {
    if (this.reserved > 0) this.reserved -= 1;
  }

  /** Turns a reserved slot into a pending send. */
  add(key: string, target: PeerId, settle: Settle): void {
    this.release();
    if (this.entries.has(key)) {
      // 128 random bits colliding means a broken Random port; never let one send settle another's promise.
      settle(new PeerSockError('INVALID_ARGUMENT', `msgId ${key} is already in use`));
      return;
    }
    this.entries.set(key, { target, settle, resent: 0, hops: [] });
  }

  /** Keeps the sealed envelope of a pending send, for retransmission. */
  keep(key: string, env: SealedEnvelope): void {
    const entry = this.entries.get(key);
    if (entry) entry.env = env;
  }

  /** Copies of a pending send sent after the first (0 when it is not pending). */
  resentOf(key: string): number {
    return this.entries.get(key)?.resent ?? 0;
  }

  /** Notes the link a copy of a pending send left by. */
  noteHop(key: string, hop: PeerId): void {
    const entry = this.entries.get(key);
    if (entry && !entry.hops.includes(hop)) entry.hops.push(hop);
  }

  /** The links earlier copies of a pending send left by. */
  hopsOf(key: string): readonly PeerId[] {
    return this.entries.get(key)?.hops ?? [];
  }

  /**
   * The envelope to send again for a pending send, counting the copy; undefined when it is not
   * pending, has no envelope kept, or has had `max` copies already.
   */
  takeResend(key: string, max: number): SealedEnvelope | undefined {
    const entry = this.entries.get(key);
    if (!entry?.env || entry.resent >= max) return undefined;
    entry.resent += 1;
    return entry.env;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The peer a pending send went to: an ack or failure notice must name the same one. */
  targetOf(key: string): PeerId | undefined {
    return this.entries.get(key)?.target;
  }

  /** Resolves (no error) or rejects one send; false if it was not pending (already settled). */
  settle(key: string, error?: PeerSockError): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    entry.settle(error);
    return true;
  }

  /** Rejects every pending send (node stopped, router restarted). */
  rejectAll(error: PeerSockError): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) entry.settle(error);
  }
}
