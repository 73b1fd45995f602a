/**
 * ed25519 verification throughput: native and noble on the main thread, then the
 * batched worker pool under a flood, with the event loop's p99 delay during it.
 * Run: npx tsx bench/verify.bench.ts   (last line of output: one JSON object)
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { nativePrivateKey, nativePublicKeyFromSecret, nativeSign, nativeVerify } from '../src/crypto/ed25519-native.js';
import { nobleVerify } from '../src/crypto/ed25519-noble.js';
import { NativeKeyCache } from '../src/crypto/native-key-cache.js';
import { createVerifyPool, type VerifyPoolOptions } from '../src/crypto/verify-pool.js';
import { machineState } from './machine.js';

export interface VerifyBenchOptions {
  /** Milliseconds per measurement (default 2500). */
  durationMs?: number;
  /** Distinct signing keys in the workload (default 100). */
  keys?: number;
  /** Verifications kept in flight during the pool flood (default 2000). */
  inFlight?: number;
  pool?: VerifyPoolOptions;
  log?: (line: string) => void;
}

interface Sample {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

const TARGETS = { verifyPerSecPool: 25_000, loopDelayP99Ms: 20 };

function makeWorkload(keyCount: number, perKey: number): Sample[] {
  const samples: Sample[] = [];
  for (let k = 0; k < keyCount; k++) {
    const seed = new Uint8Array(randomBytes(32));
    const signer = nativePrivateKey(seed);
    const publicKey = nativePublicKeyFromSecret(seed);
    for (let m = 0; m < perKey; m++) {
      // Frame-sized messages: a signed transcript or routed-message header.
      const message = new Uint8Array(randomBytes(96 + ((k * 31 + m) % 128)));
      samples.push({ publicKey, message, signature: nativeSign(signer, message) });
    }
  }
  // Interleave keys so consecutive requests come from different peers.
  return samples.sort((a, b) => (a.message[0] as number) - (b.message[0] as number));
}

/** Synchronous loop on the main thread: verifications per second. */
function measureMainThread(samples: Sample[], durationMs: number, verify: (s: Sample) => boolean): { perSec: number; invalid: number } {
  let done = 0;
  let invalid = 0;
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    for (let i = 0; i < 16; i++) {
      if (!verify(samples[done % samples.length] as Sample)) invalid++;
      done++;
    }
    now = performance.now();
  }
  return { perSec: (done * 1000) / (now - start), invalid };
}

async function measurePool(
  samples: Sample[],
  durationMs: number,
  inFlight: number,
  poolOptions: VerifyPoolOptions,
): Promise<{ perSec: number; perCpuSec: number; invalid: number; p99Ms: number; maxMs: number; meanBatch: number }> {
  const pool = createVerifyPool(poolOptions);
  try {
    // Warm-up: workers started, modules loaded, key caches filled.
    await Promise.all(samples.slice(0, 2000).map((s) => pool.verify(s.publicKey, s.message, s.signature)));

    const histogram = monitorEventLoopDelay({ resolution: 1 });
    let next = 0;
    let completed = 0;
    let invalid = 0;
    let measuring = true;
    const batchesBefore = pool.stats().batches;
    const pooledBefore = pool.stats().pooled;
    const cpuBefore = process.cpuUsage();
    let cpuMicros = 0;
    const start = performance.now();
    let end = start;

    await new Promise<void>((resolve, reject) => {
      let outstanding = 0;
      const launch = (): void => {
        const s = samples[next++ % samples.length] as Sample;
        outstanding++;
        pool.verify(s.publicKey, s.message, s.signature).then(
          (valid) => {
            outstanding--;
            if (!measuring) {
              if (outstanding === 0) resolve();
              return;
            }
            completed++;
            if (!valid) invalid++;
            if (performance.now() - start >= durationMs) {
              measuring = false;
              end = performance.now();
              const cpu = process.cpuUsage(cpuBefore);
              cpuMicros = cpu.user + cpu.system;
              histogram.disable();
              if (outstanding === 0) resolve();
              return;
            }
            launch();
          },
          reject,
        );
      };
      histogram.enable();
      for (let i = 0; i < inFlight; i++) launch();
    });

    const stats = pool.stats();
    return {
      perSec: (completed * 1000) / (end - start),
      // Whole-process CPU (main + workers): robust to other load on a shared machine.
      perCpuSec: (completed * 1e6) / Math.max(1, cpuMicros),
      invalid,
      p99Ms: histogram.percentile(99) / 1e6,
      maxMs: histogram.max / 1e6,
      meanBatch: (stats.pooled - pooledBefore) / Math.max(1, stats.batches - batchesBefore),
    };
  } finally {
    await pool.close();
  }
}

export async function runVerifyBench(options: VerifyBenchOptions = {}): Promise<Record<string, unknown>> {
  const durationMs = options.durationMs ?? 2500;
  const keyCount = options.keys ?? 100;
  const inFlight = options.inFlight ?? 2000;
  const poolOptions: VerifyPoolOptions = { threads: 2, ...options.pool };
  const log = options.log ?? ((line: string) => console.log(line));

  const samples = makeWorkload(keyCount, 40);
  const machine = machineState();
  log(`workload: ${samples.length} signed messages from ${keyCount} keys, ${machine.cores} cores, node ${machine.node}, load average ${machine.loadAverage1m} (other load skews every figure)`);

  const cache = new NativeKeyCache();
  const native = measureMainThread(samples, durationMs, (s) => {
    const key = cache.get(s.publicKey);
    return key !== undefined && nativeVerify(key, s.message, s.signature);
  });
  log(`native node:crypto, main thread (cached KeyObjects): ${Math.round(native.perSec)} verify/s`);

  const nativeUncached = measureMainThread(samples, Math.min(durationMs, 1000), (s) => nativeVerify(s.publicKey, s.message, s.signature));
  log(`native node:crypto, main thread (key parsed per call): ${Math.round(nativeUncached.perSec)} verify/s`);

  const noble = measureMainThread(samples, durationMs, (s) => nobleVerify(s.publicKey, s.message, s.signature));
  log(`@noble/ed25519, main thread: ${Math.round(noble.perSec)} verify/s`);

  const pooled = await measurePool(samples, durationMs, inFlight, poolOptions);
  log(
    `pool (${poolOptions.threads} threads, maxBatch ${poolOptions.maxBatch ?? 64}), ${inFlight} in flight: ` +
      `${Math.round(pooled.perSec)} verify/s (${Math.round(pooled.perCpuSec)} per CPU-second of this process), mean batch ${pooled.meanBatch.toFixed(1)}, ` +
      `event-loop delay p99 ${pooled.p99Ms.toFixed(2)} ms (max ${pooled.maxMs.toFixed(2)} ms)`,
  );
  const invalid = native.invalid + nativeUncached.invalid + noble.invalid + pooled.invalid;
  if (invalid > 0) log(`WARNING: ${invalid} valid signatures verified as invalid`);
  log(
    `targets: pool >= ${TARGETS.verifyPerSecPool}/s ${pooled.perSec >= TARGETS.verifyPerSecPool ? 'MET' : 'MISSED'}, ` +
      `loop p99 < ${TARGETS.loopDelayP99Ms} ms ${pooled.p99Ms < TARGETS.loopDelayP99Ms ? 'MET' : 'MISSED'}`,
  );

  return {
    bench: 'verify',
    verifyPerSecNativeMain: Math.round(native.perSec),
    verifyPerSecNativeMainUncached: Math.round(nativeUncached.perSec),
    verifyPerSecNobleMain: Math.round(noble.perSec),
    verifyPerSecPool: Math.round(pooled.perSec),
    loopDelayP99Ms: Number(pooled.p99Ms.toFixed(3)),
    verifyPerCpuSecPool: Math.round(pooled.perCpuSec),
    poolMeanBatch: Number(pooled.meanBatch.toFixed(1)),
    cores: machine.cores,
    loadAverage1m: machine.loadAverage1m,
    invalid,
    targets: TARGETS,
  };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const result = await runVerifyBench();
  console.log(JSON.stringify(result));
}
