import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { PeerSockError } from '../errors.js';
import { nativeVerify } from './ed25519-native.js';
import { NativeKeyCache } from './native-key-cache.js';
import { BATCH_HEADER_BYTES, ITEM_HEADER_BYTES, packBatch, type BatchItem } from './verify-batch-format.js';

/**
 * ed25519 verification on worker threads, in batches. One verification per task
 * costs more in messaging than it saves (DESIGN §4); 64 per task pays off. Calls
 * made in the same tick are collected and sent together; under load the queue
 * waits for a free worker, so batches grow to `maxBatch` by themselves.
 */
export interface VerifyPool {
  /** True iff valid. Never rejects on bad input; rejects with BACKPRESSURE when full, NODE_STOPPED when closed. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** Terminates the workers; pending calls reject with NODE_STOPPED. */
  close(): Promise<void>;
  stats(): VerifyPoolStats;
}

export interface VerifyPoolOptions {
  /** Worker threads (default: available cores, at most 4). */
  threads?: number;
  /** Most verifications per worker task (default 64). */
  maxBatch?: number;
  /** Most verifications waiting or running before verify() rejects with BACKPRESSURE (default 8192). */
  maxQueue?: number;
  /** With nothing in flight, fewer queued verifications than this run on the main thread (default 4). */
  inlineBelow?: number;
}

export interface VerifyPoolStats {
  /** Waiting for a worker. */
  queued: number;
  /** Sent to a worker, result not back yet. */
  inFlight: number;
  /** Worker tasks sent so far. */
  batches: number;
  /** Verifications done on workers / on the main thread so far. */
  pooled: number;
  inline: number;
  /** Live worker threads (0 once closed). */
  threads: number;
}

interface Pending extends BatchItem {
  resolve(valid: boolean): void;
  reject(error: unknown): void;
}

interface Batch {
  items: Pending[];
}

const DEFAULT_MAX_BATCH = 64;
const DEFAULT_MAX_QUEUE = 8192;
const DEFAULT_INLINE_BELOW = 4;
// One huge message should not drag a megabyte-sized copy of its neighbours along.
const MAX_BATCH_BYTES = 1 << 20;

const WORKER_URL = new URL('./verify-worker.js', import.meta.url);

export function createVerifyPool(options: VerifyPoolOptions = {}): VerifyPool {
  const threads = positiveInt(options.threads, Math.max(1, Math.min(4, availableParallelism())), 'threads');
  const maxBatch = positiveInt(options.maxBatch, DEFAULT_MAX_BATCH, 'maxBatch');
  const maxQueue = positiveInt(options.maxQueue, DEFAULT_MAX_QUEUE, 'maxQueue');
  const inlineBelow = nonNegativeInt(options.inlineBelow, DEFAULT_INLINE_BELOW, 'inlineBelow');
  // Two tasks per worker: it starts the next batch while the main thread handles the last result.
  const maxBatchesInFlight = threads * 2;

  const piscina = new Piscina({
    filename: WORKER_URL.href,
    // Threads start on the first batch and leave after a quiet minute: most nodes verify a
    // handful of handshakes inline and never need them, and booting workers costs CPU.
    minThreads: 0,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    recordTiming: false,
    idleTimeout: 60_000,
  });
  const keyCache = new NativeKeyCache();

  // FIFO as array + head index: shift() on a long array is O(n).
  let queue: Pending[] = [];
  let head = 0;
  const inFlight = new Set<Batch>();
  let inFlightItems = 0;
  let flushScheduled = false;
  let closed = false;
  let closing: Promise<void> | undefined;
  const counters = { batches: 0, pooled: 0, inline: 0 };

  const queued = () => queue.length - head;

  function take(): Pending[] {
    const items: Pending[] = [];
    let bytes = BATCH_HEADER_BYTES;
    while (head < queue.length && items.length < maxBatch) {
      const next = queue[head] as Pending;
      const size = ITEM_HEADER_BYTES + next.message.length;
      if (items.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      items.push(next);
      bytes += size;
      head++;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 4096 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return items;
  }

  function verifyInline(item: Pending): void {
    counters.inline++;
    const key = keyCache.get(item.publicKey);
    item.resolve(key !== undefined && nativeVerify(key, item.message, item.signature));
  }

  function scheduleFlush(): void {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    flushScheduled = false;
    if (closed) return;
    if (inFlight.size === 0 && queued() < inlineBelow) {
      // A handshake's lone verification: a worker round trip would only add latency.
      for (const item of take()) verifyInline(item);
      return;
    }
    while (inFlight.size < maxBatchesInFlight && queued() > 0) dispatch(take());
  }

  function dispatch(items: Pending[]): void {
    const batch: Batch = { items };
    inFlight.add(batch);
    inFlightItems += items.length;
    counters.batches++;
    const packed = packBatch(items);
    piscina.run(packed, { transferList: [packed] }).then(
      (results: unknown) => {
        if (!finish(batch)) return;
        counters.pooled += items.length;
        const valid = results instanceof Uint8Array ? results : new Uint8Array(0);
        for (let i = 0; i < items.length; i++) (items[i] as Pending).resolve(valid[i] === 1);
        scheduleFlush();
      },
      () => {
        if (!finish(batch)) return;
        // A worker died (it should not): answer on the main thread rather than fail callers.
        for (const item of items) verifyInline(item);
        scheduleFlush();
      },
    );
  }

  /** False if close() already settled this batch. */
  function finish(batch: Batch): boolean {
    if (!inFlight.delete(batch)) return false;
    inFlightItems -= batch.items.length;
    return true;
  }

  return {
    verify(publicKey, message, signature) {
      if (closed) return Promise.reject(stopped());
      if (!isVerifiable(publicKey, message, signature)) return Promise.resolve(false);
      if (queued() + inFlightItems >= maxQueue) {
        return Promise.reject(new PeerSockError('BACKPRESSURE', `signature verification queue is full (${maxQueue} pending)`));
      }
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ publicKey, message, signature, resolve, reject });
        scheduleFlush();
      });
    },

    close() {
      if (closing !== undefined) return closing;
      closed = true;
      const error = stopped();
      for (const item of queue.slice(head)) item.reject(error);
      queue = [];
      head = 0;
      for (const batch of inFlight) for (const item of batch.items) item.reject(error);
      inFlight.clear();
      inFlightItems = 0;
      closing = piscina.destroy().catch(() => undefined);
      return closing;
    },

    stats() {
      return { queued: queued(), inFlight: inFlightItems, ...counters, threads: piscina.threads.length };
    },
  };
}

function isVerifiable(publicKey: unknown, message: unknown, signature: unknown): boolean {
  return (
    publicKey instanceof Uint8Array &&
    message instanceof Uint8Array &&
    signature instanceof Uint8Array &&
    publicKey.length === 32 &&
    signature.length === 64 &&
    message.length <= 0xffff_ffff
  );
}

function stopped(): PeerSockError {
  return new PeerSockError('NODE_STOPPED', 'the signature verification pool is closed');
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new PeerSockError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new PeerSockError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${value}`);
  return value;
}
