import { randomBytes } from 'node:crypto';
import { firstValueFrom, filter, take, toArray, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPeerSockError } from '../../src/errors.js';
import type { InboundMessage } from '../../src/node/start-node.js';
import { startTestNetwork, waitForPeerCount, type TestNetwork } from '../helpers/network.js';

function collect(network: TestNetwork, index: number, count: number, protocol: string): Promise<InboundMessage[]> {
  return firstValueFrom(
    network.nodes[index]!.messages$.pipe(
      filter((message) => message.protocol === protocol),
      take(count),
      toArray(),
      timeout(20_000),
    ),
  );
}

describe('nodes on loopback through a real signaling server', () => {
  let network: TestNetwork;

  beforeAll(async () => {
    network = await startTestNetwork(3);
  });
  afterAll(async () => {
    await network.close();
  });

  it('connect pairwise, authenticate, and see each other as peers', async () => {
    const [a, b, c] = network.nodes as [typeof network.nodes[0], typeof network.nodes[0], typeof network.nodes[0]];
    await Promise.all([a.connect(b.id), b.connect(c.id), c.connect(a.id)]);
    // connect() resolves when the local side opens; the remote opens a moment later.
    await Promise.all(network.nodes.map((node) => waitForPeerCount(node, 2)));
    expect([...a.peers()].sort()).toEqual([b.id, c.id].sort());
    expect([...b.peers()].sort()).toEqual([a.id, c.id].sort());
    expect([...c.peers()].sort()).toEqual([a.id, b.id].sort());
    const state = [...a.states().entries()].find(([id]) => new RegExp(`^transport/peer:${b.id}$`).test(id));
    expect(state?.[1].state).toEqual({ attempt: { open: 'alive' } });
  });

  it('exchanges messages both ways with the authenticated sender id', async () => {
    const [a, b] = network.nodes as [typeof network.nodes[0], typeof network.nodes[0]];
    const atB = collect(network, 1, 1, 'greet');
    const atA = collect(network, 0, 1, 'greet');
    await a.send(b.id, 'greet', Buffer.from('hello b'));
    await b.send(a.id, 'greet', Buffer.from('hello a'));
    const [toB] = await atB;
    const [toA] = await atA;
    expect(toB).toMatchObject({ from: a.id, protocol: 'greet' });
    expect(Buffer.from(toB!.data).toString()).toBe('hello b');
    expect(toA).toMatchObject({ from: b.id, protocol: 'greet' });
    expect(Buffer.from(toA!.data).toString()).toBe('hello a');
  });

  it('delivers large messages complete and a burst in order', async () => {
    const [a, , c] = network.nodes as [typeof network.nodes[0], typeof network.nodes[0], typeof network.nodes[0]];
    const large = [randomBytes(1024 * 1024), randomBytes(700_000), randomBytes(1)];
    const largeArrived = collect(network, 2, large.length, 'blob');
    for (const payload of large) await a.send(c.id, 'blob', payload);
    const received = await largeArrived;
    expect(received.map((m) => Buffer.from(m.data).equals(large[received.indexOf(m)]!))).toEqual([true, true, true]);

    const burst = 5_000;
    const burstArrived = collect(network, 2, burst, 'seq');
    const sends: Promise<void>[] = [];
    for (let i = 0; i < burst; i += 1) {
      const payload = Buffer.alloc(200 + (i % 50));
      payload.writeUInt32BE(i, 0);
      sends.push(a.send(c.id, 'seq', payload));
    }
    await Promise.all(sends);
    const order = (await burstArrived).map((m) => Buffer.from(m.data).readUInt32BE(0));
    expect(order).toEqual(Array.from({ length: burst }, (_, i) => i));
  });

  it('rejects sends with clear codes: unknown peer, bad protocol tag, oversized payload', async () => {
    const [a, b, c] = network.nodes as [typeof network.nodes[0], typeof network.nodes[0], typeof network.nodes[0]];
    const stranger = 'ab'.repeat(32);
    await expect(a.send(stranger, 'chat', Buffer.from('x'))).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await expect(a.send(b.id, 'ps/auth', Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_PROTOCOL' });
    await expect(a.send(b.id, 'Bad Tag', Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_PROTOCOL' });
    await expect(a.send(b.id, 'chat', Buffer.alloc(2 * 1024 * 1024))).rejects.toSatisfy(
      (error) => isPeerSockError(error, 'FRAME_TOO_LARGE') || isPeerSockError(error, 'MESSAGE_TOO_LARGE'),
    );
    await expect(a.send('not-a-peer-id', 'chat', Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_PEER_ID' });
    await expect(a.connect(a.id)).rejects.toMatchObject({ code: 'SELF_CONNECT' });
    // The connection survives all of that.
    const arrived = collect(network, 2, 1, 'after');
    await a.send(c.id, 'after', Buffer.from('still fine'));
    expect(Buffer.from((await arrived)[0]!.data).toString()).toBe('still fine');
  });

  it('fails fast with SIGNAL_UNKNOWN_PEER for a peer nobody registered', async () => {
    const a = network.nodes[0]!;
    const started = performance.now();
    const error = await a.connect('cd'.repeat(32), { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(isPeerSockError(error, 'SIGNAL_UNKNOWN_PEER')).toBe(true);
    expect(String((error as Error).message)).toMatch(/no peer cdcd.* is registered/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('closes gracefully on disconnect: both sides see the peer leave without a timeout', async () => {
    const [a, b] = network.nodes as [typeof network.nodes[0], typeof network.nodes[0]];
    const seenByB = firstValueFrom(
      b.events$.pipe(
        filter((event) => event.type === 'peer.closed' && event.peer === a.id),
        timeout(5_000),
      ),
    );
    await a.disconnect(b.id);
    const event = await seenByB;
    expect(event).toMatchObject({ type: 'peer.closed', wasOpen: true });
    expect('failure' in event && event.failure).toBeFalsy();
    expect(a.peers()).not.toContain(b.id);
    expect(b.peers()).not.toContain(a.id);
  });
});
