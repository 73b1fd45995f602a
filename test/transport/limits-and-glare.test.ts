import { afterEach, describe, expect, it } from 'vitest';
import type { Link, LinkTransport } from '../../src/ports/transport.js';
import { createWebRtcTransport } from '../../src/transport/webrtc-transport.js';
import { startTestNetwork, waitForPeerCount, type TestNetwork } from '../helpers/network.js';

describe('connection limits, simultaneous dials and failing links', () => {
  let network: TestNetwork | undefined;
  afterEach(async () => {
    await network?.close();
    network = undefined;
  });

  it('refuses connections past maxConnections on both the dialing and the listening side', async () => {
    network = await startTestNetwork(0);
    const full = await network.add({ maxConnections: 1 });
    const [first, second, third] = [await network.add(), await network.add(), await network.add()];
    await first.connect(full.id);
    await waitForPeerCount(full, 1);

    await expect(second.connect(full.id, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'CONNECTION_LIMIT' });
    await expect(full.connect(third.id)).rejects.toMatchObject({ code: 'CONNECTION_LIMIT' });
    expect(full.peers()).toEqual([first.id]);
    expect(second.peers()).toEqual([]);
  });

  it('resolves glare: both sides dialling at once end with exactly one authenticated connection', async () => {
    network = await startTestNetwork(2);
    const [a, b] = network.nodes as [typeof network.nodes[0], typeof network.nodes[0]];
    await Promise.all([a.connect(b.id), b.connect(a.id)]);
    await Promise.all([waitForPeerCount(a, 1), waitForPeerCount(b, 1)]);
    // One actor per peer, open (an actor replaced in the glare reuses the id, and is gone).
    const liveConnectionActors = (node: typeof a) =>
      [...node.states().values()].filter((view) => /^transport\/peer:[0-9a-f]{64}$/.test(view.actor)).map((view) => view.state);
    expect(liveConnectionActors(a)).toEqual([{ attempt: { open: 'alive' } }]);
    expect(liveConnectionActors(b)).toEqual([{ attempt: { open: 'alive' } }]);
    const got = new Promise<string>((resolve) => b.messages$.subscribe((m) => resolve(Buffer.from(m.data).toString())));
    await a.send(b.id, 'chat', Buffer.from('after glare'));
    expect(await got).toBe('after glare');
  });

  it('reports a link that cannot even be created as a failed connection and keeps working', async () => {
    network = await startTestNetwork(1);
    const real = createWebRtcTransport({ bindAddress: '127.0.0.1' });
    let failNext = true;
    const flaky: LinkTransport = {
      createLink(options): Link {
        if (failNext) {
          failNext = false;
          throw new Error('no more sockets');
        }
        return real.createLink(options);
      },
      close: () => real.close(),
    };
    const node = await network.add({ transport: flaky });
    const error = await node.connect(network.nodes[0]!.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LINK_FAILED' });
    expect(String((error as Error).message)).toMatch(/no more sockets/);
    await node.connect(network.nodes[0]!.id);
    expect(node.peers()).toEqual([network.nodes[0]!.id]);
  });
});
