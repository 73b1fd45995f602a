import { afterEach, describe, expect, it } from 'vitest';
import { applyCandidateInPlace } from '../../src/actors/transport/connection-manager.machine.js';
import { createSim, FAST_CONNECTION, type Sim, type SimNode } from '../helpers/sim-ports.js';

/**
 * Remote ICE candidates reach an attempt still negotiating without an actor event
 * (applyCandidateInPlace, used by the node runtime and by the test harness): everything else
 * is left to the manager's `signal.in`, which these cases would otherwise take.
 */
const L = 10;
const S = 25;

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

function cidOf(node: SimNode, peer: SimNode): string {
  const entry = node.actor.getSnapshot().context.peers[peer.peerId]!;
  const child = node.actor.getSnapshot().children[entry.childId] as { getSnapshot(): { context: { cid: string } } };
  return child.getSnapshot().context.cid;
}

describe('remote candidates applied in place', () => {
  it('takes a candidate for the attempt still negotiating, and leaves everything else to signal.in', async () => {
    sim = createSim({ seed: 4, latencyMs: L, signalingLatencyMs: S, config: FAST_CONNECTION });
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    const c = sim.addNode('c');
    a.connect('b');
    // a's offer is out, b's answer not yet back: a's attempt is negotiating.
    await sim.advance(S);
    expect(a.peerState('b')).toBe('attempt.signaling');
    const cid = cidOf(a, b);
    const candidate = (over: Record<string, unknown> = {}) => ({ cid, signal: { type: 'candidate', candidate: 'memcand:v1:m999', mid: '0' }, ...over });
    const snapshot = () => a.actor.getSnapshot();

    const ignoredBefore = sim.network.counters.candidatesIgnored;
    // A candidate naming no link of b's: the link holds it until the answer names b's, then ignores it.
    expect(applyCandidateInPlace(snapshot(), b.peerId, candidate())).toBe(true);
    // Another attempt's, another peer's (no connection to c), a malformed one, a description, a refusal.
    expect(applyCandidateInPlace(snapshot(), b.peerId, candidate({ cid: 'ffffffffffffffff' }))).toBe(false);
    expect(applyCandidateInPlace(snapshot(), c.peerId, candidate())).toBe(false);
    expect(applyCandidateInPlace(snapshot(), b.peerId, { cid, signal: { type: 'candidate', candidate: 'memcand:v1:m999' } })).toBe(false);
    expect(applyCandidateInPlace(snapshot(), b.peerId, { cid, signal: { type: 'answer', sdp: 'memsdp:v1:x:y' } })).toBe(false);
    expect(applyCandidateInPlace(snapshot(), b.peerId, { cid, reject: 'CONNECTION_REJECTED', reason: 'no' })).toBe(false);
    expect(applyCandidateInPlace(snapshot(), a.peerId, candidate())).toBe(false);
    expect(applyCandidateInPlace(snapshot(), b.peerId, null)).toBe(false);

    // The connection opens with the real candidates taken in place; once open, the relay cannot touch it.
    await sim.advance(S + 5 * L + 50);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    expect(b.peerState('a')).toBe('attempt.open.alive');
    // The candidate applied in place reached a's link (held, then set aside once b's answer named its own link).
    expect(sim.network.counters.candidatesIgnored).toBe(ignoredBefore + 1);
    expect(applyCandidateInPlace(snapshot(), b.peerId, candidate())).toBe(false);
    // One attempt each: nothing above broke the negotiation.
    expect(sim.statesOf('a', 'b').filter((r) => r.state === 'attempt.signaling')).toHaveLength(1);
  });
});
