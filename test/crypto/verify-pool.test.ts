import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { isPeerSockError } from '../../src/errors.js';
import { nativePrivateKey, nativePublicKeyFromSecret, nativeSign, nativeVerify } from '../../src/crypto/ed25519-native.js';
import { createVerifyPool, type VerifyPool, type VerifyPoolOptions } from '../../src/crypto/verify-pool.js';
import { packBatch } from '../../src/crypto/verify-batch-format.js';
import verifyBatch from '../../src/crypto/verify-worker.js';
import { uncachedTsxEnv } from '../helpers/uncached-tsx.js';

interface Case {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  expected: boolean;
  kind: string;
}

function makeKeys(count: number) {
  return Array.from({ length: count }, () => {
    const seed = new Uint8Array(randomBytes(32));
    return { publicKey: nativePublicKeyFromSecret(seed), privateKey: nativePrivateKey(seed) };
  });
}

function flip(data: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(data);
  copy[index % copy.length] = (copy[index % copy.length] as number) ^ 0x01;
  return copy;
}

/** A shuffled mix of valid and invalid (tampered, wrong key, malformed) requests. */
function makeCases(count: number, keyCount = 12): Case[] {
  const keys = makeKeys(keyCount);
  const kinds = ['valid', 'valid', 'valid', 'flippedSignature', 'flippedMessage', 'wrongKey', 'shortSignature', 'shortKey', 'smallOrderKey', 'emptyValid'];
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const key = keys[i % keys.length]!;
    const other = keys[(i + 1) % keys.length]!;
    const kind = kinds[(i * 7) % kinds.length]!;
    const message = kind === 'emptyValid' ? new Uint8Array(0) : new Uint8Array(randomBytes(1 + (i % 300)));
    const signature = nativeSign(key.privateKey, message);
    const base = { publicKey: key.publicKey, message, signature, kind };
    switch (kind) {
      case 'valid':
      case 'emptyValid':
        cases.push({ ...base, expected: true });
        break;
      case 'flippedSignature':
        cases.push({ ...base, signature: flip(signature, i), expected: false });
        break;
      case 'flippedMessage':
        cases.push({ ...base, message: flip(message, i), expected: false });
        break;
      case 'wrongKey':
        cases.push({ ...base, publicKey: other.publicKey, expected: false });
        break;
      case 'shortSignature':
        cases.push({ ...base, signature: signature.subarray(0, 63), expected: false });
        break;
      case 'shortKey':
        cases.push({ ...base, publicKey: key.publicKey.subarray(1), expected: false });
        break;
      case 'smallOrderKey':
        cases.push({ ...base, publicKey: new Uint8Array(32), signature: new Uint8Array(64), expected: false });
        break;
    }
  }
  return cases;
}

const pools: VerifyPool[] = [];
function pool(options: VerifyPoolOptions = {}): VerifyPool {
  const created = createVerifyPool({ threads: 2, ...options });
  pools.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('verify pool: correctness', () => {
  it('answers a same-tick mix of valid and invalid signatures, each call its own answer', async () => {
    const cases = makeCases(600);
    const p = pool({ inlineBelow: 0 });
    const results = await Promise.all(cases.map((c) => p.verify(c.publicKey, c.message, c.signature)));
    const wrong = cases.filter((c, i) => results[i] !== c.expected).map((c) => c.kind);
    expect(wrong).toEqual([]);
    expect(results.filter(Boolean).length).toBe(cases.filter((c) => c.expected).length);
    const stats = p.stats();
    expect(stats.pooled).toBeGreaterThan(0);
    expect(stats.inline).toBe(0);
    expect(stats.queued + stats.inFlight).toBe(0);
  });

  it('agrees with native verification on requests spread over many ticks', async () => {
    const cases = makeCases(300);
    const p = pool();
    const pending: Promise<boolean>[] = [];
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      pending.push(p.verify(c.publicKey, c.message, c.signature));
      if (i % 37 === 0) await nextTick();
    }
    const results = await Promise.all(pending);
    expect(results).toEqual(cases.map((c) => nativeVerify(c.publicKey, c.message, c.signature)));
    expect(results).toEqual(cases.map((c) => c.expected));
  });

  it('collects same-tick calls into batches of at most maxBatch', async () => {
    const cases = makeCases(200).filter((c) => c.publicKey.length === 32 && c.signature.length === 64);
    const p = pool({ maxBatch: 16, inlineBelow: 0 });
    const results = await Promise.all(cases.map((c) => p.verify(c.publicKey, c.message, c.signature)));
    expect(results).toEqual(cases.map((c) => c.expected));
    const stats = p.stats();
    expect(stats.pooled).toBe(cases.length);
    expect(stats.batches).toBe(Math.ceil(cases.length / 16));
  });

  it('verifies a lone request inline when nothing else is queued, and on a worker when told not to', async () => {
    const [c] = makeCases(1);
    const inline = pool();
    expect(await inline.verify(c!.publicKey, c!.message, c!.signature)).toBe(true);
    expect(inline.stats()).toMatchObject({ inline: 1, batches: 0 });

    const pooled = pool({ inlineBelow: 0 });
    expect(await pooled.verify(c!.publicKey, c!.message, c!.signature)).toBe(true);
    expect(pooled.stats()).toMatchObject({ inline: 0, batches: 1, pooled: 1 });
  });

  it('never rejects on malformed arguments', async () => {
    const p = pool();
    const junk = [undefined, null, 'abc', 42, {}, new Uint8Array(0)] as unknown as Uint8Array[];
    for (const value of junk) {
      expect(await p.verify(value, new Uint8Array(1), new Uint8Array(64))).toBe(false);
      expect(await p.verify(new Uint8Array(32), value, new Uint8Array(64))).toBe(false);
      expect(await p.verify(new Uint8Array(32), new Uint8Array(1), value)).toBe(false);
    }
  });
});

describe('verify pool: bounded queue', () => {
  it('rejects with BACKPRESSURE beyond maxQueue pending verifications, and recovers', async () => {
    const cases = makeCases(40).filter((c) => c.expected);
    const p = pool({ maxQueue: 10, inlineBelow: 0 });
    const outcomes = await Promise.allSettled(cases.slice(0, 15).map((c) => p.verify(c.publicKey, c.message, c.signature)));
    expect(outcomes.slice(0, 10).every((o) => o.status === 'fulfilled' && o.value === true)).toBe(true);
    for (const o of outcomes.slice(10)) {
      expect(o.status).toBe('rejected');
      expect(isPeerSockError((o as PromiseRejectedResult).reason, 'BACKPRESSURE')).toBe(true);
    }
    // Drained: accepted again.
    const again = cases[15]!;
    expect(await p.verify(again.publicKey, again.message, again.signature)).toBe(true);
  });

  it('counts in-flight work against the bound, not just the queue', async () => {
    const cases = makeCases(60).filter((c) => c.expected);
    const p = pool({ maxQueue: 8, maxBatch: 4, inlineBelow: 0 });
    const first = cases.slice(0, 8).map((c) => p.verify(c.publicKey, c.message, c.signature));
    await nextTick(); // dispatched to workers, not answered yet
    expect(p.stats().inFlight + p.stats().queued).toBe(8);
    const extra = cases[8]!;
    await expect(p.verify(extra.publicKey, extra.message, extra.signature)).rejects.toMatchObject({ code: 'BACKPRESSURE' });
    expect(await Promise.all(first)).toEqual(first.map(() => true));
  });
});

describe('verify pool: close', () => {
  it('rejects queued and in-flight calls with NODE_STOPPED and terminates the workers', async () => {
    const cases = makeCases(2000).filter((c) => c.expected);
    const p = createVerifyPool({ threads: 2, inlineBelow: 0 });
    // Threads start on demand: none before the first batch.
    expect(p.stats().threads).toBe(0);
    const calls = cases.map((c) => p.verify(c.publicKey, c.message, c.signature));
    await nextTick();
    expect(p.stats().inFlight).toBeGreaterThan(0);
    expect(p.stats().threads).toBeGreaterThan(0);
    const settled = Promise.allSettled(calls);
    await p.close();
    const outcomes = await settled;
    const stopped = outcomes.filter((o) => o.status === 'rejected' && isPeerSockError(o.reason, 'NODE_STOPPED')).length;
    const valid = outcomes.filter((o) => o.status === 'fulfilled' && o.value === true).length;
    expect(stopped).toBeGreaterThan(0);
    expect(stopped + valid).toBe(calls.length);
    expect(p.stats().threads).toBe(0);
    const c = cases[0]!;
    await expect(p.verify(c.publicKey, c.message, c.signature)).rejects.toMatchObject({ code: 'NODE_STOPPED' });
    await p.close(); // idempotent
  });

  it('lets the process exit on its own after close (no leaked worker)', async () => {
    const child = fileURLToPath(new URL('./fixtures/pool-exit-child.ts', import.meta.url));
    const { code, stdout, stderr, timedOut } = await new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>((resolve) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', child], { cwd: fileURLToPath(new URL('../..', import.meta.url)), env: uncachedTsxEnv() });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      proc.stdout.on('data', (d) => (stdout += d));
      proc.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        timedOut = true;
        proc.kill('SIGKILL');
      }, 20_000);
      proc.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, stdout, stderr, timedOut });
      });
    });
    expect(timedOut, stderr).toBe(false);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    expect(report).toMatchObject({ threadsBefore: 2, threadsAfter: 0, other: 0, activeResources: [] });
    expect(report.stopped).toBeGreaterThan(0);
    expect(report.resolvedTrue + report.stopped).toBe(3000);
  });
});

describe('verify worker: batch parsing', () => {
  it('verifies a packed batch in order', () => {
    const cases = makeCases(50).filter((c) => c.publicKey.length === 32 && c.signature.length === 64);
    const results: Uint8Array = verifyBatch(packBatch(cases));
    expect(Array.from(results, (r) => r === 1)).toEqual(cases.map((c) => c.expected));
  });

  it('never throws on malformed batches and never reports them valid', () => {
    expect(verifyBatch(undefined)).toHaveLength(0);
    expect(verifyBatch('junk')).toHaveLength(0);
    expect(verifyBatch(new ArrayBuffer(2))).toHaveLength(0);
    // A header claiming 4 billion items in an 8-byte buffer.
    expect(verifyBatch(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0).buffer)).toHaveLength(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const results: Uint8Array = verifyBatch(bytes);
        expect(results.every((r) => r === 0)).toBe(true);
      }),
    );
  });

  it('truncated batches answer false for what is cut off', () => {
    const cases = makeCases(20).filter((c) => c.expected);
    const packed = new Uint8Array(packBatch(cases));
    const cut = packed.slice(0, packed.length - 1);
    const results: Uint8Array = verifyBatch(cut);
    expect(Array.from(results.subarray(0, cases.length - 1), (r) => r === 1)).toEqual(cases.slice(0, -1).map(() => true));
    expect(results[cases.length - 1] ?? 0).toBe(0);
  });
});
