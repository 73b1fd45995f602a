/**
 * Engine message throughput between two nodes vs raw node-datachannel, same process,
 * same loopback, same flow control (send while the channel buffers ≤ 4 MiB, then wait
 * for bufferedAmountLow), measured alternately in the same run.
 * Targets (DESIGN §5): ≥ 0.9× raw with 16 KiB messages, ≥ 0.7× raw with 100-byte messages.
 */
import nodeDataChannel from 'node-datachannel';
import { pathToFileURL } from 'node:url';
import { startNode } from '../src/node/start-node.js';
import { startSignalingServer } from '../src/signaling/server.js';
import { roundTo } from './round.js';

const BUDGET = 4 * 1024 * 1024;

interface Case {
  size: number;
  count: number;
}

/** Messages per second over one raw DataChannel pair. */
async function rawRun({ size, count }: Case): Promise<number> {
  const config = { iceServers: [], bindAddress: '127.0.0.1', maxMessageSize: 1024 * 1024 + 2048 };
  const offerer = new nodeDataChannel.PeerConnection('raw-a', config);
  const answerer = new nodeDataChannel.PeerConnection('raw-b', config);
  offerer.onLocalDescription((sdp, type) => answerer.setRemoteDescription(sdp, type));
  offerer.onLocalCandidate((candidate, mid) => answerer.addRemoteCandidate(candidate, mid));
  answerer.onLocalDescription((sdp, type) => offerer.setRemoteDescription(sdp, type));
  answerer.onLocalCandidate((candidate, mid) => offerer.addRemoteCandidate(candidate, mid));
  let received = 0;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const channels: unknown[] = [];
  answerer.onDataChannel((channel) => {
    channels.push(channel); // keep a reference: unreferenced channels are collected
    channel.onMessage(() => {
      received += 1;
      if (received === count) finished();
    });
  });
  const channel = offerer.createDataChannel('bench');
  await new Promise<void>((resolve) => channel.onOpen(resolve));
  channel.setBufferedAmountLowThreshold(BUDGET / 2);
  let drained: () => void = () => {};
  channel.onBufferedAmountLow(() => drained());
  const payload = Buffer.alloc(size, 7);
  const started = performance.now();
  for (let sent = 0; sent < count; sent += 1) {
    if (channel.bufferedAmount() + size > BUDGET) await new Promise<void>((resolve) => (drained = resolve));
    channel.sendMessageBinary(payload);
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  channel.close();
  offerer.close();
  answerer.close();
  return count / seconds;
}

/** Messages per second between two PeerSock nodes (authenticated, framed, validated). */
async function engineRun({ size, count }: Case, url: string): Promise<number> {
  const [sender, receiver] = await Promise.all([0, 1].map(() => startNode({ signaling: [url], bindAddress: '127.0.0.1' })));
  try {
    await sender!.connect(receiver!.id);
    let received = 0;
    let finished: () => void = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    const subscription = receiver!.messages$.subscribe(() => {
      received += 1;
      if (received === count) finished();
    });
    const payload = Buffer.alloc(size, 7);
    const started = performance.now();
    for (let sent = 0; sent < count; sent += 1) await sender!.send(receiver!.id, 'bench', payload);
    await done;
    const seconds = (performance.now() - started) / 1000;
    subscription.unsubscribe();
    return count / seconds;
  } finally {
    await Promise.all([sender!.stop(), receiver!.stop()]);
  }
}

export async function runThroughputBench(rounds = 3): Promise<Record<string, unknown>> {
  const server = await startSignalingServer({ port: 0 });
  const big: Case = { size: 16 * 1024, count: 12_000 };
  const small: Case = { size: 100, count: 300_000 };
  const best = { raw16k: 0, engine16k: 0, raw100b: 0, engine100b: 0 };
  try {
    for (let round = 1; round <= rounds; round += 1) {
      // Alternate so that drift (thermal, GC, other load) hits both sides alike.
      best.raw16k = Math.max(best.raw16k, await rawRun(big));
      best.engine16k = Math.max(best.engine16k, await engineRun(big, server.url));
      best.raw100b = Math.max(best.raw100b, await rawRun(small));
      best.engine100b = Math.max(best.engine100b, await engineRun(small, server.url));
      console.log(
        `round ${round}: 16 KiB raw ${mb(best.raw16k)} MB/s engine ${mb(best.engine16k)} MB/s | ` +
          `100 B raw ${Math.round(best.raw100b)} msg/s engine ${Math.round(best.engine100b)} msg/s (best so far)`,
      );
    }
  } finally {
    await server.close();
  }
  return {
    bench: 'throughput',
    raw16kMBps: Number(mb(best.raw16k)),
    engine16kMBps: Number(mb(best.engine16k)),
    ratio16k: roundTo(best.engine16k / best.raw16k, 3),
    raw100bMsgPerSec: Math.round(best.raw100b),
    engine100bMsgPerSec: Math.round(best.engine100b),
    ratio100b: roundTo(best.engine100b / best.raw100b, 3),
    targets: { ratio16k: 0.9, ratio100b: 0.7 },
  };
}

function mb(messagesPerSecond: number): string {
  return ((messagesPerSecond * 16 * 1024) / 1e6).toFixed(1);
}


if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runThroughputBench();
  console.log(JSON.stringify(result));
}
