import { afterEach, describe, expect, it } from 'vitest';
import { startNode } from '../../src/node/start-node.js';
import { createWebRtcTransport } from '../../src/transport/webrtc-transport.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { tapTransport } from '../helpers/tap-transport.js';

describe('node lifecycle', () => {
  let network: TestNetwork | undefined;
  afterEach(async () => {
    await network?.close();
    network = undefined;
  });

  it('refuses a connection config that would stall, saying which setting and why', async () => {
    await expect(startNode({ connection: { sendBudgetBytes: 64 * 1024 } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/sendBudgetBytes .* twice limits.maxFrameBytes/),
    });
    await expect(startNode({ connection: { heartbeatIntervalMs: 5_000, heartbeatTimeoutMs: 5_000 } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('settles a pending connect() with NODE_STOPPED when the node stops, and refuses calls afterwards', async () => {
    network = await startTestNetwork(1);
    const tap = tapTransport(createWebRtcTransport({ bindAddress: '127.0.0.1' }));
    const silent = await network.add({ transport: tap });
    tap.freeze(); // it answers nothing: the dial would wait for its timeouts
    const dialer = network.nodes[0]!;
    const pending = dialer.connect(silent.id, { timeoutMs: 30_000 }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stoppedAt = performance.now();
    await dialer.stop();
    const error = await pending;
    expect(error).toMatchObject({ code: 'NODE_STOPPED' });
    expect(performance.now() - stoppedAt).toBeLessThan(5_000);
    await expect(dialer.connect(silent.id)).rejects.toMatchObject({ code: 'NODE_STOPPED' });
    await expect(dialer.send(silent.id, 'chat', new Uint8Array(1))).rejects.toMatchObject({ code: 'NODE_STOPPED' });
  });
});
