import { afterEach, describe, expect, it } from 'vitest';
import { createCryptoLane, CryptoLaneFailure, type CryptoLane } from '../../sim/crypto-lane.js';
import { createSimulatedClock, type VirtualClock } from '../../sim/simulated-clock.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulator } from '../../sim/simulator.js';
import { advance } from '../../sim/drive.js';
import { runChurn } from '../../src/cli/sim-run.js';
import { DEFAULT_RING_CONFIG } from '../../src/actors/ring/ring-config.js';
import { nativePrivateKey, nativeSign } from '../../src/crypto/ed25519-native.js';
import { NativeKeyCache } from '../../src/crypto/native-key-cache.js';
import { generateIdentity } from '../../src/identity/identity.js';

const identity = (seed: number) => generateIdentity(createSeededRandom(seed));
/** The encoding of the identity point (y = 1): a small-order key that ed25519-native refuses. */
const SMALL_ORDER_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));

describe('the crypto lane (ed25519 on a second thread, answered in virtual time)', () => {
  let lane: CryptoLane | undefined;
  afterEach(async () => {
    await lane?.close();
    lane = undefined;
  });
  const open = (clock: VirtualClock, extra: { slotCount?: number; slotBytes?: number } = {}) => {
    lane = createCryptoLane({ clock, delayMs: 3, keyCache: new NativeKeyCache(), ...extra });
    return lane;
  };

  it('answers as ed25519 does, and only once the delay has passed in virtual time', async () => {
    const clock = createSimulatedClock();
    const alice = identity(1);
    const port = open(clock).port(alice);
    const message = new Uint8Array([1, 2, 3]);
    let signature: Uint8Array | undefined;
    void port.sign(message).then((value) => (signature = value));
    // The caller may reuse its buffer at once: the job holds its own copy.
    message[0] = 9;
    await advance(clock, 2);
    expect(signature).toBeUndefined();
    await advance(clock, 1);
    expect(signature).toEqual(nativeSign(nativePrivateKey(alice.secretKey), new Uint8Array([1, 2, 3])));

    const verdicts: boolean[] = [];
    const tampered = Uint8Array.from(signature!);
    tampered[5]! ^= 1;
    const original = new Uint8Array([1, 2, 3]);
    const checks = [
      port.verify(alice.publicKey, original, signature!),
      port.verify(alice.publicKey, new Uint8Array([1, 2, 4]), signature!),
      port.verify(identity(2).publicKey, original, signature!),
      port.verify(alice.publicKey, original, tampered),
      port.verify(alice.publicKey, original, signature!.subarray(0, 63)),
      port.verify(SMALL_ORDER_KEY, original, signature!),
      port.verify('x' as unknown as Uint8Array, original, signature!),
    ];
    void Promise.all(checks).then((values) => verdicts.push(...values));
    await advance(clock, 3);
    expect(verdicts).toEqual([true, false, false, false, false, false, false]);
    expect(lane!.stats()).toMatchObject({ threaded: 5, inline: 0, refused: 0 });
  });

  it('computes on the main thread, with the same answers, a message too large for a slot or a job that finds every slot taken', async () => {
    const clock = createSimulatedClock();
    const alice = identity(3);
    const port = open(clock, { slotCount: 2, slotBytes: 104 + 16 }).port(alice);
    const privateKey = nativePrivateKey(alice.secretKey);
    const messages = [new Uint8Array(8).fill(1), new Uint8Array(8).fill(2), new Uint8Array(8).fill(3), new Uint8Array(40).fill(4)];
    const signatures = Promise.all(messages.map((message) => port.sign(message)));
    await advance(clock, 3);
    expect(await signatures).toEqual(messages.map((message) => nativeSign(privateKey, message)));
    // Two fit the two slots; the third found both taken, the fourth is larger than a slot.
    expect(lane!.stats()).toMatchObject({ threaded: 2, inline: 2 });
    // Slots free again once their answers were read.
    const valid = port.verify(alice.publicKey, messages[0]!, nativeSign(privateKey, messages[0]!));
    await advance(clock, 3);
    expect(await valid).toBe(true);
    expect(lane!.stats().threaded).toBe(3);
  });

  it('rejects operations once closed, and answers still due, and refuses a bad delay', async () => {
    const clock = createSimulatedClock();
    const port = open(clock).port(identity(4));
    const due = expect(port.sign(new Uint8Array([1]))).rejects.toThrow(/closed/);
    await lane!.close();
    await advance(clock, 3);
    await due;
    await expect(port.sign(new Uint8Array([1]))).rejects.toThrow(/closed/);
    await expect(port.verify(identity(4).publicKey, new Uint8Array([1]), new Uint8Array(64))).rejects.toThrow(/closed/);
    expect(() => createCryptoLane({ clock, delayMs: -1, keyCache: new NativeKeyCache() })).toThrow(/delayMs/);
  });

  it('a crypto thread that stops answering fails the run within the timeout, once for every answer due', async () => {
    const clock = createSimulatedClock();
    lane = createCryptoLane({
      clock,
      delayMs: 1,
      keyCache: new NativeKeyCache(),
      answerTimeoutMs: 400,
      workerUrl: new URL('../fixtures/silent-crypto-worker.js', import.meta.url),
    });
    const port = lane.port(identity(5));
    // Two answers due at the same instant: the second must not wait another timeout.
    const signed = port.sign(new Uint8Array([1]));
    const verified = port.verify(identity(6).publicKey, new Uint8Array([1]), new Uint8Array(64).fill(1));
    const started = performance.now();
    await expect(advance(clock, 1)).rejects.toThrow(CryptoLaneFailure);
    expect(performance.now() - started).toBeLessThan(780);
    await expect(signed).rejects.toThrow(/did not answer within 400 ms/);
    await expect(verified).rejects.toThrow(/did not answer within 400 ms/);
    expect(lane.stats().waits).toBe(1);
    // And every later answer, even one computed inline, fails the run the same way.
    const later = port.sign(new Uint8Array(5_000));
    await expect(advance(clock, 1)).rejects.toThrow(CryptoLaneFailure);
    await expect(later).rejects.toThrow(CryptoLaneFailure);
  });

  it('gives the same answers at the same instants whether the thread or the main thread computes them', async () => {
    const run = async (slotBytes: number) => {
      const clock = createSimulatedClock();
      const own = createCryptoLane({ clock, delayMs: 2, keyCache: new NativeKeyCache(), slotBytes });
      try {
        const alice = own.port(identity(7));
        const key = identity(7).publicKey;
        const settled: string[] = [];
        const note = (label: string) => (value: Uint8Array | boolean) => settled.push(`${clock.now()} ${label} ${typeof value === 'boolean' ? value : Buffer.from(value).toString('hex')}`);
        // Views at an offset into larger buffers, as frames are.
        const backing = new Uint8Array(300).map((_, i) => i);
        const message = backing.subarray(17, 217);
        const signature = await (async () => {
          void alice.sign(message).then(note('sign'));
          await advance(clock, 1);
          void alice.sign(backing.subarray(3, 9)).then(note('sign-short'));
          await advance(clock, 2);
          return nativeSign(nativePrivateKey(identity(7).secretKey), message);
        })();
        const wrongKeyBacking = new Uint8Array(40);
        wrongKeyBacking.set(identity(8).publicKey, 8);
        void alice.verify(key, message, signature).then(note('valid'));
        void alice.verify(wrongKeyBacking.subarray(8, 40), message, signature).then(note('other-key'));
        void alice.verify(key, backing.subarray(18, 218), signature).then(note('other-message'));
        await advance(clock, 3);
        return { settled, stats: own.stats() };
      } finally {
        await own.close();
      }
    };
    const threaded = await run(2_048);
    const inline = await run(104 + 1);
    expect(threaded.settled).toHaveLength(5);
    expect(threaded.stats).toMatchObject({ threaded: 5, inline: 0, refused: 0 });
    expect(inline.stats).toMatchObject({ threaded: 0, inline: 5 });
    expect(inline.settled).toEqual(threaded.settled);
  });

  it('refuses a secret key that is not 32 bytes, as the inline port does', () => {
    const clock = createSimulatedClock();
    const bad = { ...identity(9), secretKey: new Uint8Array(31) };
    expect(() => open(clock).port(bad)).toThrow(/32 bytes/);
  });

  it('refuses options that would silently run without it', () => {
    expect(() => createSimulator({ seed: 1, crypto: 'threads' as 'thread' })).toThrow(/crypto must be/);
    expect(() => createSimulator({ seed: 1, cryptoDelayMs: 2 })).toThrow(/cryptoDelayMs needs/);
    expect(() => createSimulator({ seed: 1, crypto: 'thread', signatures: 'simulated' })).toThrow(/cannot be combined/);
  });

  it('a churning ring simulated with it forms, heals and gives the same trace twice', async () => {
    const run = async () => {
      const result = await runChurn({
        nodes: 24,
        durationMs: 120_000,
        seed: 11,
        model: { kind: 'exponential', medianMs: 60_000 },
        ring: DEFAULT_RING_CONFIG,
        quietMs: 60_000,
        traceLimit: 1_000,
        simulator: { crypto: 'thread', trace: 'full' },
      });
      return { hash: result.traceHash, final: result.final, stats: result.simulator.cryptoStats() };
    };
    const first = await run();
    expect(first.final).toEqual([]);
    // Every connection signed and verified on the thread.
    expect(first.stats!.threaded).toBeGreaterThan(100);
    expect(first.stats!.inline).toBe(0);
    const second = await run();
    expect(second.hash).toBe(first.hash);
  }, 60_000);
});
