import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createWebRtcTransport } from '../../src/transport/webrtc-transport.js';
import { startTestNetwork, waitForPeerCount, type TestNetwork } from '../helpers/network.js';
import { tapTransport } from '../helpers/tap-transport.js';

const heartbeat = { heartbeatIntervalMs: 150, heartbeatTimeoutMs: 600 };

describe('heartbeat', () => {
  let network: TestNetwork;
  afterAll(async () => {
    await network?.close();
  });

  it('detects a peer that vanished without closing within the configured time', async () => {
    network = await startTestNetwork(0, { node: { connection: heartbeat } });
    const watcher = await network.add();
    const tap = tapTransport(createWebRtcTransport({ bindAddress: '127.0.0.1' }));
    const ghost = await network.add({ transport: tap });
    await ghost.connect(watcher.id);
    await waitForPeerCount(watcher, 1);

    // Healthy but idle: heartbeats alone keep the connection up well past the timeout.
    await new Promise((resolve) => setTimeout(resolve, heartbeat.heartbeatTimeoutMs * 3));
    expect(watcher.peers()).toEqual([ghost.id]);

    const detected = firstValueFrom(
      watcher.events$.pipe(
        filter((event) => event.type === 'peer.closed' && event.peer === ghost.id),
        timeout(5_000),
      ),
    );
    tap.freeze(); // the link stays up; the ghost just never speaks again
    const frozenAt = performance.now();
    const event = await detected;
    const elapsed = performance.now() - frozenAt;
    expect(event).toMatchObject({ failure: { code: 'HEARTBEAT_TIMEOUT' }, wasOpen: true });
    // Silence counts from the ghost's last frame, which came up to one interval before the
    // freeze; it is noticed at most one interval (plus scheduling slack) after the timeout.
    expect(elapsed).toBeGreaterThanOrEqual(heartbeat.heartbeatTimeoutMs - heartbeat.heartbeatIntervalMs - 50);
    expect(elapsed).toBeLessThan(heartbeat.heartbeatTimeoutMs + heartbeat.heartbeatIntervalMs + 400);
    expect(watcher.peers()).toEqual([]);
  });
});
