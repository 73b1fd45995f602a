import fc from 'fast-check';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeEvent, PeerSockNode } from '../../src/node/start-node.js';
import { createWebRtcTransport } from '../../src/transport/webrtc-transport.js';
import { encodeBatchFrame, encodeDataFrame, encodeFrame } from '../../src/wire/index.js';
import { startTestNetwork, waitForPeerCount, type TestNetwork } from '../helpers/network.js';
import { tapTransport, type TappedTransport } from '../helpers/tap-transport.js';

/** ~40 KB of nested definite-length array headers, each claiming 2^32 items. */
function nestedArrayHeaderBomb(): Uint8Array {
  const header = [0x9a, 0xff, 0xff, 0xff, 0xff];
  const bytes = new Uint8Array(40_000);
  for (let i = 0; i + header.length <= bytes.length; i += header.length) bytes.set(header, i);
  return bytes;
}

function deeplyNested(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth + 1).fill(0x81);
  bytes[depth] = 0x00;
  return bytes;
}

function violationsFrom(node: PeerSockNode, peer: string) {
  return node.events$.pipe(
    filter((event): event is Extract<NodeEvent, { type: 'peer.violation' }> => event.type === 'peer.violation' && event.peer === peer),
  );
}

describe('hostile frames from an authenticated peer', () => {
  let network: TestNetwork;
  let victim: PeerSockNode;
  let attacker: PeerSockNode;
  let bystander: PeerSockNode;
  let tap: TappedTransport;

  beforeAll(async () => {
    // The victim tolerates many violations so one connection can carry the whole fuzz run.
    network = await startTestNetwork(0);
    victim = await network.add({ connection: { violationThreshold: 1_000_000 } });
    tap = tapTransport(createWebRtcTransport({ bindAddress: '127.0.0.1' }));
    attacker = await network.add({ transport: tap });
    bystander = await network.add();
    await attacker.connect(victim.id);
    await bystander.connect(victim.id);
    await waitForPeerCount(victim, 2);
  });
  afterAll(async () => {
    await network.close();
  });

  it('turns every malformed, truncated, oversized or nested frame into a typed violation and keeps serving', async () => {
    const valid = encodeFrame('chat', new Uint8Array([1, 2, 3]));
    const hostile = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 512 }),
      fc.nat({ max: valid.length - 1 }).map((cut) => valid.slice(0, cut)),
      fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const mutated = valid.slice();
        mutated[at] = byte;
        return mutated;
      }),
      fc.integer({ min: 9, max: 200 }).map(deeplyNested),
      fc.constant(nestedArrayHeaderBomb()),
      fc.constant(new Uint8Array(1024 * 1024 + 1500)),
    );
    const samples = fc.sample(hostile, { numRuns: 300, seed: 20261124 });
    const outcomes = firstValueFrom(
      violationsFrom(victim, attacker.id).pipe(
        take(samples.length),
        toArray(),
        timeout(20_000),
      ),
    ).catch(() => undefined);
    const delivered: Uint8Array[] = [];
    const subscription = victim.messages$.pipe(filter((m) => m.from === attacker.id && m.protocol !== 'marker')).subscribe((m) => delivered.push(m.data));

    for (const bytes of samples) tap.sendRaw(victim.id, bytes);
    // A marker after the fuzz: ordered delivery means every sample was processed before it.
    const marker = firstValueFrom(victim.messages$.pipe(filter((m) => m.protocol === 'marker'), timeout(20_000)));
    await attacker.send(victim.id, 'marker', new Uint8Array([7]));
    await marker;
    subscription.unsubscribe();

    const violations = (await outcomes) ?? [];
    // Nothing is lost silently: each hostile frame is either reported or (if it happens to be
    // a well-formed frame) delivered.
    expect(violations.length + delivered.length).toBe(samples.length);
    for (const violation of violations) expect(violation.code).toMatch(/^(FRAME_|AUTH_FAILED$)/);
    expect(violations.map((v) => v.code)).toEqual(expect.arrayContaining(['FRAME_TOO_LARGE', 'FRAME_TOO_DEEP', 'FRAME_MALFORMED']));

    // The bystander was never affected.
    const echo = firstValueFrom(victim.messages$.pipe(filter((m) => m.from === bystander.id), timeout(5_000)));
    await bystander.send(victim.id, 'chat', new Uint8Array([42]));
    expect([...(await echo).data]).toEqual([42]);
    expect(victim.peers()).toContain(attacker.id);
  });

  it('unpacks batches, refusing nested batches and non-frame items while delivering the good frames', async () => {
    const good = [encodeDataFrame('chat', new Uint8Array([1])), encodeDataFrame('chat', new Uint8Array([2]))];
    const nested = encodeBatchFrame(good, good[0]!.length + good[1]!.length);
    const batch = encodeBatchFrame([good[0]!, nested, new Uint8Array([0xff]), good[1]!], good[0]!.length * 2 + nested.length + 1);
    const refused = firstValueFrom(violationsFrom(victim, attacker.id).pipe(take(2), toArray(), timeout(5_000)));
    const delivered = firstValueFrom(
      victim.messages$.pipe(
        filter((m) => m.from === attacker.id),
        take(2),
        toArray(),
        timeout(5_000),
      ),
    );
    tap.sendRaw(victim.id, batch);
    expect((await delivered).map((m) => m.data[0])).toEqual([1, 2]);
    expect((await refused).map((v) => v.code).sort()).toEqual(['FRAME_MALFORMED', 'FRAME_SCHEMA']);
  });

  it('keeps memory flat under a flood of nested-header bombs', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
    gc!();
    const before = process.memoryUsage().heapUsed;
    const bomb = nestedArrayHeaderBomb();
    const count = 2_000;
    const reported = firstValueFrom(violationsFrom(victim, attacker.id).pipe(take(count), toArray(), timeout(30_000)));
    for (let i = 0; i < count; i += 1) tap.sendRaw(victim.id, bomb);
    const violations = await reported;
    gc!();
    const growth = process.memoryUsage().heapUsed - before;
    expect(violations.every((v) => v.code.startsWith('FRAME_'))).toBe(true);
    // 2,000 bombs × 40 KB = 80 MB on the wire; an unprotected decoder would retain gigabytes.
    expect(growth).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('a peer over the violation threshold', () => {
  let network: TestNetwork;

  afterAll(async () => {
    await network?.close();
  });

  it('is disconnected with PROTOCOL_VIOLATIONS while others keep being served', async () => {
    network = await startTestNetwork(0);
    const victim = await network.add({ connection: { violationThreshold: 5 } });
    const tap = tapTransport(createWebRtcTransport({ bindAddress: '127.0.0.1' }));
    const attacker = await network.add({ transport: tap });
    const bystander = await network.add();
    await attacker.connect(victim.id);
    await bystander.connect(victim.id);
    await waitForPeerCount(victim, 2);

    const dropped = firstValueFrom(
      victim.events$.pipe(
        filter((event) => event.type === 'peer.closed' && event.peer === attacker.id),
        timeout(10_000),
      ),
    );
    for (let i = 0; i < 5; i += 1) tap.sendRaw(victim.id, new Uint8Array([0xff, 0x00, i]));
    const event = await dropped;
    expect(event).toMatchObject({ type: 'peer.closed', failure: { code: 'PROTOCOL_VIOLATIONS' } });
    expect(victim.peers()).toEqual([bystander.id]);

    const arrived = firstValueFrom(victim.messages$.pipe(filter((m) => m.from === bystander.id), timeout(5_000)));
    await bystander.send(victim.id, 'chat', new Uint8Array([1]));
    expect((await arrived).protocol).toBe('chat');
  });
});
