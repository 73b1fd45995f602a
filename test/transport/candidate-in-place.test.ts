import { afterEach, describe, expect, it } from 'vitest';
import { deliverSignalInPlace } from '../../src/actors/transport/connection-manager.machine.js';
import { parseSignalEnvelope } from '../../src/actors/transport/signal-envelope.js';
import { createSim, FAST_CONNECTION, type Sim, type SimNode } from '../helpers/sim-ports.js';

/**
 * Remote signals for a connection's current attempt reach it without the manager's `signal.in`
 * (deliverSignalInPlace, used by the node runtime and by the test harness): an ICE candidate for
 * an attempt still negotiating goes to its link with no actor event at all, an answer to the
 * connection actor as its own event; everything else is left to the manager's `signal.in`.
 */
const L = 10;
/** A well-formed handshake nonce: descriptions without one are malformed (parseSignalEnvelope). */
const NONCE = 'ab'.repeat(32);
const S = 25;

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

function cidOf(node: SimNode, peer: SimNode): string {
  const entry = node.actor.getSnapshot().context.peers.get(peer.peerId)!;
  const child = node.actor.getSnapshot().children[entry.childId] as { getSnapshot(): { context: { cid: string } } };
  return child.getSnapshot().context.cid;
}

/** a dialled b one signaling latency ago: a's offer reached b, b's answer is on its way back. */
async function dialling(seed: number, extra: string[] = []): Promise<{ sim: Sim; a: SimNode; b: SimNode; others: SimNode[] }> {
  sim = createSim({ seed, latencyMs: L, signalingLatencyMs: S, config: FAST_CONNECTION });
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  const others = extra.map((name) => sim!.addNode(name));
  a.connect('b');
  await sim.advance(S);
  return { sim, a, b, others };
}

/** The `signal.in` events `node`'s manager takes from now on (their envelopes' signal types, or `reject`). */
function signalEventsOf(node: SimNode): () => string[] {
  const seen: string[] = [];
  node.actor.system.inspect({
    next: (event) => {
      if (event.type !== '@xstate.event' || event.actorRef !== node.actor || event.event.type !== 'signal.in') return;
      const data = (event.event as { data?: { signal?: { type?: string } } }).data;
      seen.push(data?.signal?.type ?? 'reject');
    },
  });
  return () => [...seen];
}

describe('remote signals delivered in place', () => {
  it('takes a candidate for the attempt still negotiating, and leaves other attempts, peers and malformed signals to signal.in', async () => {
    const { sim, a, b, others } = await dialling(4, ['c']);
    const c = others[0]!;
    // b's answer not yet back: a's attempt is negotiating.
    expect(a.peerState('b')).toBe('attempt.signaling');
    const cid = cidOf(a, b);
    const candidate = (over: Record<string, unknown> = {}) => ({ cid, signal: { type: 'candidate', candidate: 'memcand:v1:m999', mid: '0' }, ...over });
    const snapshot = () => a.actor.getSnapshot();

    const ignoredBefore = sim.network.stats().candidatesIgnored;
    // A candidate naming no link of b's: the link holds it until the answer names b's, then ignores it.
    expect(deliverSignalInPlace(snapshot(), b.peerId, candidate())).toBe(true);
    // Another attempt's (an answer or refusal of it too), another peer's (no connection to c), a malformed one, an offer from a stranger, our own.
    expect(deliverSignalInPlace(snapshot(), b.peerId, candidate({ cid: 'ffffffffffffffff' }))).toBe(false);
    expect(deliverSignalInPlace(snapshot(), b.peerId, { cid: 'ffffffffffffffff', signal: { type: 'answer', sdp: 'memsdp:v1:x:y' }, nonce: NONCE })).toBe(false);
    expect(deliverSignalInPlace(snapshot(), b.peerId, { cid: 'ffffffffffffffff', reject: 'CONNECTION_REJECTED', reason: 'no' })).toBe(false);
    expect(deliverSignalInPlace(snapshot(), c.peerId, candidate())).toBe(false);
    expect(deliverSignalInPlace(snapshot(), b.peerId, { cid, signal: { type: 'candidate', candidate: 'memcand:v1:m999' } })).toBe(false);
    expect(deliverSignalInPlace(snapshot(), c.peerId, { cid: 'eeeeeeeeeeeeeeee', signal: { type: 'offer', sdp: 'memsdp:v1:x:y' }, nonce: NONCE })).toBe(false);
    expect(deliverSignalInPlace(snapshot(), a.peerId, candidate())).toBe(false);
    expect(deliverSignalInPlace(snapshot(), b.peerId, null)).toBe(false);

    // The connection opens with the real candidates taken in place; once open, the relay cannot touch it.
    await sim.advance(S + 5 * L + 50);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    expect(b.peerState('a')).toBe('attempt.open.alive');
    // The candidate applied in place reached a's link (held, then set aside once b's answer named its own link).
    expect(sim.network.stats().candidatesIgnored).toBe(ignoredBefore + 1);
    // Once open, a candidate (or a replayed answer) naming the attempt goes to the connection
    // actor, not its link, and the actor ignores it: the relay cannot touch an open connection.
    expect(deliverSignalInPlace(snapshot(), b.peerId, candidate())).toBe(true);
    const answer = sim.signals.find((r) => r.from === 'b' && 'signal' in r.envelope && r.envelope.signal.type === 'answer')!.envelope;
    expect(deliverSignalInPlace(snapshot(), b.peerId, answer)).toBe(true);
    await sim.advance(1);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    expect(sim.network.stats().candidatesIgnored).toBe(ignoredBefore + 1);
    // One attempt each: nothing above broke the negotiation.
    expect(sim.statesOf('a', 'b').filter((r) => r.state === 'attempt.signaling')).toHaveLength(1);
  });

  it("hands the dialer's answer to its connection actor: no signal reaches the manager as an event", async () => {
    sim = createSim({ seed: 7, latencyMs: L, signalingLatencyMs: S, config: FAST_CONNECTION });
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    const managerSignals = signalEventsOf(a);
    a.connect('b');
    await sim.advance(2 * S + 5 * L + 50);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    expect(b.peerState('a')).toBe('attempt.open.alive');
    // b's answer and candidates all went to a's attempt directly.
    expect(sim.signals.filter((s) => s.from === 'b' && 'signal' in s.envelope).map((s) => ('signal' in s.envelope ? s.envelope.signal.type : ''))).toContain('answer');
    expect(managerSignals()).toEqual([]);
  });

  it("leaves an answer to the manager while it holds that peer's offer from a glare: the answer voids it", async () => {
    sim = createSim({ seed: 8, latencyMs: L, signalingLatencyMs: S, config: FAST_CONNECTION });
    const x = sim.addNode('x');
    const y = sim.addNode('y');
    // Both dial at once: the lower PeerId keeps its offer and holds the other's in reserve.
    const [lower, higher] = x.peerId < y.peerId ? [x, y] : [y, x];
    lower.connect(sim.nameOf(higher.peerId));
    higher.connect(sim.nameOf(lower.peerId));
    await sim.advance(S + 1);
    expect(lower.actor.getSnapshot().context.waitingOffers.has(higher.peerId)).toBe(true);
    // A well-formed answer for the lower one's current attempt: in place it would skip the
    // manager, which must drop the offer it holds, so it is left to signal.in.
    const answer = { cid: cidOf(lower, higher), signal: { type: 'answer', sdp: 'memsdp:v1:x:y' }, nonce: NONCE };
    expect(parseSignalEnvelope(answer)).toBeDefined();
    expect(deliverSignalInPlace(lower.actor.getSnapshot(), higher.peerId, answer)).toBe(false);
    // The glare resolves as before: one connection, and no offer left held.
    await sim.advance(S + 5 * L + 50);
    expect(lower.peerState(sim.nameOf(higher.peerId))).toBe('attempt.open.alive');
    expect(lower.actor.getSnapshot().context.waitingOffers.size).toBe(0);
  });

  it('takes one for a listener that answered (connecting); an unusable one fails the attempt, which retries', async () => {
    const { sim, a, b } = await dialling(5);
    // b answered the offer at once: b's attempt waits for the link (connecting).
    expect(b.peerState('a')).toBe('attempt.connecting');
    const cid = cidOf(b, a);
    expect(deliverSignalInPlace(b.actor.getSnapshot(), a.peerId, { cid, signal: { type: 'candidate', candidate: 'memcand:v1:m999', mid: '0' } })).toBe(true);
    // A well-formed envelope whose candidate the link cannot use: the attempt fails as a bad signal would.
    const cidA = cidOf(a, b);
    expect(deliverSignalInPlace(a.actor.getSnapshot(), b.peerId, { cid: cidA, signal: { type: 'candidate', candidate: 'garbage', mid: '0' } })).toBe(true);
    await sim.advance(1);
    expect(a.peerState('b')).toBe('retrying');
    // The dialer retries, and the connection opens on the next attempt.
    await sim.advance(3_000);
    expect(a.peerState('b')).toBe('attempt.open.alive');
  });

  // (No child is left to take a candidate once the manager is done; its `running` check guards
  // the short draining window, where closeAll has already sent every child to `closed`.)
  it('a stopped manager takes no candidate, and leaves no heartbeat timer on the clock', async () => {
    sim = createSim({ seed: 6, latencyMs: L, signalingLatencyMs: S, config: FAST_CONNECTION });
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    const baseline = sim.clock.pendingTimers();
    a.connect('b');
    await sim.advance(S);
    const cid = cidOf(a, b);
    a.actor.send({ type: 'shutdown' });
    await sim.advance(10_000);
    expect(a.actor.getSnapshot().status).toBe('done');
    expect(deliverSignalInPlace(a.actor.getSnapshot(), b.peerId, { cid, signal: { type: 'candidate', candidate: 'memcand:v1:m999', mid: '0' } })).toBe(false);
    b.actor.send({ type: 'shutdown' });
    await sim.advance(10_000);
    // Both heartbeats stopped with their managers: nothing of theirs is left on the clock.
    expect(sim.clock.pendingTimers()).toBeLessThanOrEqual(baseline - 2);
  });
});
