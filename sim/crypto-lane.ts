import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { createCryptoPort } from '../src/crypto/crypto-port.js';
import { isSmallOrderPublicKey } from '../src/crypto/ed25519-native.js';
import type { NativeKeyCache } from '../src/crypto/native-key-cache.js';
import type { Identity } from '../src/identity/identity.js';
import type { Clock } from '../src/ports/clock.js';
import type { CryptoPort } from '../src/ports/crypto.js';
import { CLOSED, CONTROL_LENGTH, DONE, KEY_OFFSET, KIND_SIGN, KIND_VERIFY, MESSAGE_OFFSET, SIGNATURE_OFFSET, SLEEPING, WRITTEN } from './crypto-lane-layout.js';

/**
 * Real ed25519 for the simulator on a second thread (`SimulatorOptions.crypto: 'thread'`), as
 * production verifies on worker threads (src/crypto/verify-pool.ts), and still deterministic.
 *
 * Each signature or verification takes `delayMs` of virtual time: it is handed to the thread
 * when asked for and its answer is read at its virtual deadline, by a timer of the virtual
 * clock. Meanwhile the simulation runs every event due before that deadline, on the main
 * thread, while the crypto thread computes. The answers are those of ed25519 whichever thread
 * computed them, and they arrive at virtual instants fixed by the calls alone, so the same seed
 * still gives the same run. Inline, the signatures and verifications were 13% of the wall time
 * of a 10,000-node churn run (a CPU profile: 72.7 of 554.8 s).
 *
 * Jobs travel through shared memory (crypto-lane-worker.js): a slot per job, two counters, and
 * Atomics.wait only when the main thread reaches a deadline the crypto thread has not yet
 * answered. A job that does not fit a slot, or finds every slot taken, is computed on the main
 * thread at its deadline instead: the same answer at the same virtual instant.
 */
export interface CryptoLaneOptions {
  clock: Clock;
  /** Virtual time each signature or verification takes (ms, ≥ 0). */
  delayMs: number;
  /** Parsed public keys for the jobs computed on the main thread (by the inline port, createCryptoPort). */
  keyCache: NativeKeyCache;
  /** Jobs in flight at most (default 4,096). */
  slotCount?: number;
  /** Bytes per job: 104 of header, key and signature, the rest for the message (default 2,048). */
  slotBytes?: number;
  /** How long the crypto thread may answer no job at all while the main thread waits, before the run fails (ms of wall time; default 30 s). */
  answerTimeoutMs?: number;
  /** The thread's script (default crypto-lane-worker.js beside this file; tests pass one that never answers). */
  workerUrl?: URL;
}

export interface CryptoLaneStats {
  /** Jobs computed on the crypto thread. */
  threaded: number;
  /** Jobs computed on the main thread (too large for a slot, or every slot taken). */
  inline: number;
  /** Deadlines the main thread reached before the crypto thread had answered (it then waited). */
  waits: number;
  /**
   * Signatures the thread could not make (OpenSSL refused the key there), then made or refused on
   * the main thread. Counted because a thread that refuses every key would otherwise turn the lane
   * inline without a word (as it did on Node 26 before the worker imported private keys as DER).
   */
  refused: number;
}

export interface CryptoLane {
  /** One simulated node's crypto port; closing it leaves the lane to the other nodes. */
  port(identity: Identity): CryptoPort;
  stats(): CryptoLaneStats;
  /** Stops the crypto thread; operations asked for afterwards reject. */
  close(): Promise<void>;
}

const DEFAULT_SLOT_COUNT = 4_096;
const DEFAULT_SLOT_BYTES = 2_048;
const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;
const WORKER_URL = new URL('./crypto-lane-worker.js', import.meta.url);
const MAX_JOBS = 0x7fff_ffff;

const closedError = () => new Error("the simulator's crypto lane is closed");

/** The crypto thread failed or stopped answering: the run cannot go on deterministically. */
export class CryptoLaneFailure extends Error {
  override name = 'CryptoLaneFailure';
}

export function createCryptoLane(options: CryptoLaneOptions): CryptoLane {
  const { clock, delayMs, keyCache } = options;
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`crypto delayMs must be a finite number ≥ 0, got ${delayMs}`);
  const slotCount = options.slotCount ?? DEFAULT_SLOT_COUNT;
  const slotBytes = options.slotBytes ?? DEFAULT_SLOT_BYTES;
  if (!Number.isInteger(slotCount) || slotCount < 1) throw new RangeError(`slotCount must be a positive integer, got ${slotCount}`);
  if (!Number.isInteger(slotBytes) || slotBytes < MESSAGE_OFFSET + 1) throw new RangeError(`slotBytes must be an integer > ${MESSAGE_OFFSET}, got ${slotBytes}`);
  const answerTimeoutMs = options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  const maxMessage = slotBytes - MESSAGE_OFFSET;

  const controlBuffer = new SharedArrayBuffer(CONTROL_LENGTH * Int32Array.BYTES_PER_ELEMENT);
  const control = new Int32Array(controlBuffer);
  const slotsBuffer = new SharedArrayBuffer(slotCount * slotBytes);
  const slots = Buffer.from(slotsBuffer);
  const taken = new Uint8Array(slotCount);
  const worker = new Worker(options.workerUrl ?? WORKER_URL, { workerData: { control: controlBuffer, slots: slotsBuffer, slotBytes, slotCount } });
  // The simulation owns the thread's life (close); it must not keep a finished process alive.
  worker.unref();
  let closed = false;
  let written = 0;
  const stats: CryptoLaneStats = { threaded: 0, inline: 0, waits: 0, refused: 0 };
  /** Once set, every later answer fails the run with it: a lane that lost its thread must not quietly turn inline. */
  let workerFailure: CryptoLaneFailure | undefined;
  worker.on('error', (error) => {
    workerFailure ??= new CryptoLaneFailure(`the simulator's crypto thread failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  worker.on('exit', (code) => {
    if (!closed) workerFailure ??= new CryptoLaneFailure(`the simulator's crypto thread exited (code ${code})`);
  });

  /** Hands a job to the thread: its number, or undefined if it must be computed inline. */
  const submit = (kind: number, key: Uint8Array, message: Uint8Array, signature?: Uint8Array): number | undefined => {
    const slot = written % slotCount;
    // The counters are Int32: past MAX_JOBS every job is computed inline rather than wrap them.
    if (message.length > maxMessage || taken[slot] === 1 || written >= MAX_JOBS) {
      stats.inline += 1;
      return undefined;
    }
    const base = slot * slotBytes;
    slots[base] = kind;
    slots[base + 1] = 0;
    slots.writeUInt32LE(message.length, base + 4);
    slots.set(key, base + KEY_OFFSET);
    if (signature !== undefined) slots.set(signature, base + SIGNATURE_OFFSET);
    slots.set(message, base + MESSAGE_OFFSET);
    taken[slot] = 1;
    written += 1;
    stats.threaded += 1;
    Atomics.store(control, WRITTEN, written);
    if (Atomics.load(control, SLEEPING) === 1) Atomics.notify(control, WRITTEN, 1);
    return written - 1;
  };

  /**
   * Waits until job `job` is answered; returns the first byte of its slot. Bounded by progress,
   * not by a clock (nothing in sim/ reads wall time): the thread answers one job after another,
   * so a wait of answerTimeoutMs with no job answered at all means it stopped, and that is
   * remembered (the other answers due at the same instant must not each wait again).
   */
  const answerBase = (job: number): number => {
    // Closed or failed: the same outcome whether or not the thread had answered in time.
    if (closed) throw closedError();
    if (workerFailure !== undefined) throw workerFailure;
    let done = Atomics.load(control, DONE);
    if (done <= job) {
      stats.waits += 1;
      while (done <= job) {
        if (Atomics.wait(control, DONE, done, answerTimeoutMs) === 'timed-out') {
          workerFailure ??= new CryptoLaneFailure(`the simulator's crypto thread did not answer within ${answerTimeoutMs} ms (job ${job}, ${done} answered)`);
          throw workerFailure;
        }
        done = Atomics.load(control, DONE);
      }
    }
    const slot = job % slotCount;
    taken[slot] = 0;
    return slot * slotBytes;
  };

  /** Computed on the main thread at its deadline: the thread's failure still fails the run. */
  const inlineAnswer = <T>(compute: () => Promise<T>) => () => {
    if (workerFailure !== undefined) throw workerFailure;
    return compute();
  };

  /**
   * Settles at the virtual deadline with `compute`'s answer. A crypto thread that failed or
   * stopped answering fails the run too (the throw reaches the clock), not only this promise.
   */
  const atDeadline = <T>(compute: () => T | Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      clock.setTimeout(() => {
        let value: T | Promise<T>;
        try {
          value = compute();
        } catch (error) {
          reject(error);
          if (error instanceof CryptoLaneFailure) throw error;
          return;
        }
        resolve(value);
      }, delayMs);
    });

  const rejectClosed = () => Promise.reject(closedError());

  return {
    port(identity: Identity): CryptoPort {
      const secret = Uint8Array.from(identity.secretKey);
      // As createCryptoPort refuses it (nativePrivateKey): a job carries exactly 32 key bytes.
      if (secret.length !== 32) throw new RangeError('ed25519 secret key must be 32 bytes');
      // The answers of a job computed on the main thread: the simulator's inline port itself,
      // made at the first such job (it parses the private key, ~a signature's cost per node).
      let inlinePort: CryptoPort | undefined;
      const inline = () => (inlinePort ??= createCryptoPort({ identity, keyCache }));
      const publicKey = Uint8Array.from(identity.publicKey);
      return {
        publicKey,
        sign(message) {
          if (closed) return rejectClosed();
          if (!(message instanceof Uint8Array)) return Promise.reject(new TypeError('sign() needs a Uint8Array message'));
          const job = submit(KIND_SIGN, secret, message);
          if (job === undefined) {
            const copy = Uint8Array.from(message);
            return atDeadline(inlineAnswer(() => inline().sign(copy)));
          }
          return atDeadline(() => {
            const base = answerBase(job);
            // The thread could not sign (OpenSSL refused the key): the inline port fails as production would.
            if (slots[base + 1] !== 1) {
              stats.refused += 1;
              return inline().sign(slots.slice(base + MESSAGE_OFFSET, base + MESSAGE_OFFSET + slots.readUInt32LE(base + 4)));
            }
            return new Uint8Array(slots.subarray(base + SIGNATURE_OFFSET, base + SIGNATURE_OFFSET + 64));
          });
        },
        verify(key, message, signature) {
          if (closed) return rejectClosed();
          const readable = key instanceof Uint8Array && message instanceof Uint8Array && signature instanceof Uint8Array;
          // What ed25519-native rejects without computing: the same answer, at the same deadline.
          if (!readable || key.length !== 32 || signature.length !== 64 || isSmallOrderPublicKey(key)) return atDeadline(() => false);
          const job = submit(KIND_VERIFY, key, message, signature);
          if (job === undefined) {
            const [keyCopy, messageCopy, signatureCopy] = [Uint8Array.from(key), Uint8Array.from(message), Uint8Array.from(signature)];
            return atDeadline(inlineAnswer(() => inline().verify(keyCopy, messageCopy, signatureCopy)));
          }
          return atDeadline(() => slots[answerBase(job) + 1] === 1);
        },
        sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
        close: async () => undefined,
      };
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      Atomics.store(control, CLOSED, 1);
      Atomics.notify(control, WRITTEN);
      await worker.terminate();
    },
  };
}
