import { afterEach, describe, expect, it } from 'vitest';
import type { PeerConnectionOutput } from '../../src/actors/transport/peer-connection.machine.js';
import { createSim, FAST_CONNECTION, type Sim } from '../helpers/sim-ports.js';

/**
 * Every connection to one peer is the connection manager's child `peer:<peerId>`, told apart by
 * its serial: XState keeps, for the process's life, a memo entry per event type a state node
 * has seen, and a child id per connection (`peer:<id>#<n>`) made a new done-event type, and so
 * a new entry, for every connection ever closed (see spawnPeer).
 */
let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

function start(): Sim {
  sim = createSim({ seed: 3, latencyMs: 10, signalingLatencyMs: 25, config: FAST_CONNECTION });
  return sim;
}

describe('connection actor ids', () => {
  it('gives every connection to one peer the same child id, and a new serial', async () => {
    const sim = start();
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    const entryOf = () => a.actor.getSnapshot().context.peers.get(b.peerId);
    const childIds = new Set<string>();
    const serials: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      a.connect('b');
      expect(await sim.runUntil(() => a.peerState('b') === 'attempt.open.alive', 5_000)).toBe(true);
      const entry = entryOf()!;
      childIds.add(entry.childId);
      serials.push(entry.serial);
      expect(Object.keys(a.actor.getSnapshot().children).filter((id) => id.startsWith('peer:'))).toEqual([`peer:${b.peerId}`]);
      a.disconnect('b');
      expect(await sim.runUntil(() => entryOf() === undefined, 5_000)).toBe(true);
      expect(Object.keys(a.actor.getSnapshot().children).filter((id) => id.startsWith('peer:'))).toEqual([]);
    }
    expect([...childIds]).toEqual([`peer:${b.peerId}`]);
    expect(new Set(serials).size).toBe(3);
    // Each of the three closed once, and was reported once.
    expect(sim.noticesOf('a', 'peer.closed')).toHaveLength(3);
    expect(new Set(sim.statesOf('a', 'b').map((record) => record.actor)).size).toBe(3);
  });

  it('ignores the late output of an actor its successor replaced under the same id', async () => {
    const sim = start();
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    a.connect('b');
    expect(await sim.runUntil(() => a.peerState('b') === 'attempt.open.alive', 5_000)).toBe(true);
    const entry = a.actor.getSnapshot().context.peers.get(b.peerId)!;
    const late: PeerConnectionOutput = { remote: b.peerId, serial: entry.serial - 1, outcome: 'failed', wasOpen: false };
    a.actor.send({ type: `xstate.done.actor.${entry.childId}`, output: late } as never);
    await sim.advance(100);
    // The current connection is untouched: still tracked, still open, never reported closed.
    expect(a.actor.getSnapshot().context.peers.get(b.peerId)).toEqual(entry);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    expect(sim.noticesOf('a', 'peer.closed')).toEqual([]);
    // Its own output, when it ends, is taken.
    a.disconnect('b');
    expect(await sim.runUntil(() => a.actor.getSnapshot().context.peers.get(b.peerId) === undefined, 5_000)).toBe(true);
    expect(sim.noticesOf('a', 'peer.closed')).toHaveLength(1);
    expect(a.actor.getSnapshot().children[entry.childId]).toBeUndefined();
  });
});
