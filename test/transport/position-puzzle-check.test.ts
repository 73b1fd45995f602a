/**
 * The position puzzle checked on every contact (issue 4, item 5): a node of a network with
 * difficulty d neither dials nor answers a peer whose key does not solve it, and says why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../src/identity/identity.js';
import { generateIdentityMeetingPuzzle, puzzleBits } from '../../src/identity/position-puzzle.js';
import { publicKeyOf } from '../../src/identity/peer-id.js';
import { startNode } from '../../src/node/start-node.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSim, type Sim } from '../helpers/sim-ports.js';
import { checkNetwork } from '../../sim/check-network.js';
import { createSimulator } from '../../sim/simulator.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';

const BITS = 6;
const random = createSeededRandom(7);
const strong = (): Identity => generateIdentityMeetingPuzzle(BITS, { random });
/** A key that does not solve the puzzle (each fresh key does with probability 2^-BITS). */
function weak(): Identity {
  for (;;) {
    const identity = generateIdentity(random);
    if (puzzleBits(publicKeyOf(identity.peerId)) < BITS) return identity;
  }
}

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('position puzzle on every contact', () => {
  it('connects two peers whose keys solve it (control)', async () => {
    sim = createSim({ seed: 1, latencyMs: 10, signalingLatencyMs: 25 });
    const a = sim.addNode('a', { identity: strong(), puzzleBits: BITS });
    sim.addNode('b', { identity: strong(), puzzleBits: BITS });
    a.connect('b');
    await sim.advance(2_000);
    expect(a.peerState('b')).toMatch(/^attempt\.open/);
  });

  it('refuses to dial a peer whose key does not solve it, at once and without a connection attempt', async () => {
    sim = createSim({ seed: 2, latencyMs: 10, signalingLatencyMs: 25 });
    const a = sim.addNode('a', { identity: strong(), puzzleBits: BITS });
    sim.addNode('w', { identity: weak() });
    a.connect('w');
    await sim.advance(2_000);
    const refused = sim.noticesOf('a', 'connect.refused');
    expect(refused.map((n) => n.notice)).toMatchObject([{ type: 'connect.refused', code: 'PUZZLE_UNSOLVED' }]);
    expect((refused[0]!.notice as { message: string }).message).toMatch(/leading zero bits/);
    expect(sim.noticesOf('a', 'peer.connecting')).toEqual([]);
    expect(sim.signals.filter((s) => s.from === 'a')).toEqual([]);
  });

  it('refuses an offer from a peer whose key does not solve it; the dialer learns why', async () => {
    sim = createSim({ seed: 3, latencyMs: 10, signalingLatencyMs: 25 });
    sim.addNode('a', { identity: strong(), puzzleBits: BITS });
    const w = sim.addNode('w', { identity: weak() });
    w.connect('a');
    await sim.advance(3_000);
    expect(sim.noticesOf('a', 'peer.connecting')).toEqual([]);
    expect(sim.noticesOf('a', 'signal.dropped').length).toBeGreaterThan(0);
    const closed = sim.noticesOf('w', 'peer.closed');
    expect(closed.map((n) => n.notice)).toMatchObject([{ wasOpen: false, failure: { code: 'PUZZLE_UNSOLVED' } }]);
  });

  it('startNode refuses its own identity when it does not solve the network\'s puzzle, before opening anything', async () => {
    await expect(startNode({ identity: weak(), puzzleBits: BITS })).rejects.toMatchObject({ code: 'PUZZLE_UNSOLVED', message: expect.stringMatching(/this node's identity/) });
  });

  it('startNode grinds a fresh identity that solves it', async () => {
    const node = await startNode({ puzzleBits: BITS, verifyThreads: 1 });
    try {
      expect(puzzleBits(publicKeyOf(node.id))).toBeGreaterThanOrEqual(BITS);
    } finally {
      await node.stop();
    }
  });

  it('a simulated network with the puzzle on forms its ring from ground identities', async () => {
    const simulator = createSimulator({ seed: 5, nodes: 8, connection: PROPERTY_CONNECTION, ring: PROPERTY_RING_CONFIG, puzzleBits: BITS });
    try {
      const ring = { successorListLength: PROPERTY_RING_CONFIG.successorListLength };
      expect(await simulator.runUntil(() => checkNetwork(simulator, { ring, connected: false }).length === 0, 30_000)).toBe(true);
      expect(simulator.alive().every((node) => puzzleBits(publicKeyOf(node.id)) >= BITS)).toBe(true);
    } finally {
      await simulator.close();
    }
  });
});
