/**
 * Two nodes with different unwatchedHeartbeatFactor on a link neither watches: each keeps its
 * direction alive at least as often as the other said it needs in the handshake (`done.every`),
 * so the one with the smaller factor (the shorter unwatched timeout) does not time out a live peer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSim, FAST_CONNECTION, type Sim } from '../helpers/sim-ports.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('keepalive across different factors', () => {
  it('a node at factor 8 keeps an unwatched link alive for a node at factor 2', async () => {
    sim = createSim({ config: FAST_CONNECTION });
    const slow = sim.addNode('slow', { config: { unwatchedHeartbeatFactor: 8 }, watched: () => false });
    sim.addNode('fast', { config: { unwatchedHeartbeatFactor: 2 }, watched: () => false });
    slow.connect('fast');
    await sim.advance(3_000);
    expect(slow.peerState('fast')).toMatch(/open/);
    // 40 heartbeat intervals with nothing but keepalives: factor 8 alone would send a frame every
    // 9 intervals (4.5 s), past the factor-2 side's unwatched timeout (1.5 s + 1 interval).
    await sim.advance(40 * FAST_CONNECTION.heartbeatIntervalMs);
    const failures = sim.notices.filter((record) => record.notice.type === 'peer.closed');
    expect(failures.map((record) => `${record.node}: ${JSON.stringify(record.notice)}`)).toEqual([]);
    expect(slow.peerState('fast')).toMatch(/open/);
  });
});
