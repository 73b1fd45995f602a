import { advance } from '../../sim/drive.js';
import { createMemoryNetwork } from '../../sim/memory-network.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock } from '../../sim/simulated-clock.js';
import { createWebRtcTransport } from '../../src/transport/webrtc-transport.js';
import { runLinkTransportCompliance } from './compliance.js';

runLinkTransportCompliance('WebRTC (node-datachannel, loopback, wall time)', {
  async setup() {
    const a = createWebRtcTransport({ bindAddress: '127.0.0.1' });
    const b = createWebRtcTransport({ bindAddress: '127.0.0.1' });
    return {
      a,
      b,
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      defer: (fn) => void setImmediate(fn),
      close: async () => {
        await Promise.all([a.close(), b.close()]);
      },
    };
  },
});

runLinkTransportCompliance('memory network (virtual time)', {
  async setup() {
    const clock = createSimulatedClock();
    const network = createMemoryNetwork({ clock, random: createSeededRandom(7), latencyMs: (from, to) => (from < to ? 12 : 9) });
    const a = network.transport('a');
    const b = network.transport('b');
    return {
      a,
      b,
      wait: (ms) => advance(clock, ms),
      defer: (fn) => void clock.setTimeout(fn, 0),
      close: async () => {
        await Promise.all([a.close(), b.close()]);
      },
    };
  },
});
