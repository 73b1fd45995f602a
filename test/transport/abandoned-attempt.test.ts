/**
 * A connection attempt closed by one side before it opened, and a connect() that comes while
 * a connection is closing.
 *
 * Seen on loopback (demo, CI 2026-12-05): in a glare the higher id yielded and answered the
 * lower id's offer with a listener, then closed that listener before it answered (its ring no
 * longer wanted the link). The lower id's dial waited its whole signaling timeout, and held the
 * higher id's next offer in reserve behind it: a joining node sat without its successor past
 * the demo's 20-s limit. Now the side that closes says so (CONNECT_ABANDONED), and the dialer
 * tries again at once. A connect() while this node closes the connection dials again once it
 * is gone; it used to be dropped, leaving the caller waiting for a link that never came.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectWouldDial } from '../../src/actors/transport/connection-manager.machine.js';
import { closedByFailure } from '../../src/node/node-runtime.js';
import { createSim, FAST_CONNECTION, type Sim } from '../helpers/sim-ports.js';

const config = FAST_CONNECTION;
const S = 25; // signaling latency (virtual ms)

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

const isOpen = (state: string | undefined) => state?.startsWith('attempt.open') === true;

describe('an attempt closed before it opened', () => {
  it('is refused to the dialer, which dials again at once instead of waiting out its signaling timeout', async () => {
    sim = createSim({ seed: 4, latencyMs: 10, signalingLatencyMs: S, config });
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    // b's answers are lost until b has closed its side: a's first attempt gets no answer.
    let dropAnswers = true;
    sim.setRelay((from, _to, envelope) => (dropAnswers && from === b.peerId && 'signal' in envelope && envelope.signal.type === 'answer' ? [] : undefined));

    a.connect('b');
    expect(await sim.runUntil(() => b.peerState('a') !== undefined, 10 * S)).toBe(true);
    const closedAt = sim.clock.now();
    b.disconnect('a');
    dropAnswers = false;

    expect(await sim.runUntil(() => isOpen(a.peerState('b')) && isOpen(b.peerState('a')), 2 * config.signalingTimeoutMs)).toBe(true);
    // Refusal (one signaling latency), retry delay (retryBaseMs x 0.5-1.5), offer, answer, link
    // and handshake; without the refusal a's retry began only at its signaling timeout (1,000 ms).
    expect(sim.clock.now() - closedAt).toBeLessThan(config.signalingTimeoutMs);
    const refusal = sim.signals.find((s) => s.from === 'b' && 'reject' in s.envelope);
    expect(refusal?.envelope).toMatchObject({ reject: 'CONNECT_ABANDONED' });
    // a retried: its connect() still stands, no closed connection is reported on its side.
    expect(sim.noticesOf('a', 'peer.closed')).toEqual([]);
    expect(sim.noticesOf('a', 'peer.open')).toHaveLength(1);
    // b's first listener closed by b itself: no failure.
    expect(sim.noticesOf('b', 'peer.closed').map((n) => n.notice)).toEqual([{ type: 'peer.closed', peer: a.peerId, wasOpen: false }]);
  });

  /** a dials b; b's answer never reaches a, so b's listener has answered and waits for the link. */
  async function listenerWaiting(seed: number) {
    const s = createSim({ seed, latencyMs: 10, signalingLatencyMs: S, config });
    sim = s;
    const a = s.addNode('a');
    const b = s.addNode('b');
    s.setRelay((from, _to, envelope) => (from === b.peerId && 'signal' in envelope && envelope.signal.type === 'answer' ? [] : undefined));
    a.connect('b');
    expect(await s.runUntil(() => b.peerState('a') === 'attempt.connecting', 10 * S)).toBe(true);
    const offer = s.signals.find((r) => r.from === 'a' && 'signal' in r.envelope && r.envelope.signal.type === 'offer');
    return { sim: s, a, b, cid: offer!.envelope.cid };
  }

  it('is refused by the dialer too when it closes first, so the listener does not wait out its connect timeout', async () => {
    const { sim, a, b, cid } = await listenerWaiting(6);
    a.disconnect('b');
    const refusal = sim.signals.find((s) => s.from === 'a' && 'reject' in s.envelope);
    expect(refusal?.envelope).toEqual({ cid, reject: 'CONNECT_ABANDONED', reason: 'closed by the remote before it opened' });
    // (The memory network also closes b's end of the link at once; a WebRTC peer connection
    // closed during ICE is noticed by the far end only at its own timeouts.)
    expect(await sim.runUntil(() => b.peerState('a') === undefined, 2 * S)).toBe(true);
  });

  it('is refused for good (CONNECTION_REJECTED, not retried) when the node closing it is stopping', async () => {
    const { sim, a, cid } = await listenerWaiting(9);
    a.actor.send({ type: 'shutdown' });
    const refusal = sim.signals.find((s) => s.from === 'a' && 'reject' in s.envelope);
    expect(refusal?.envelope).toEqual({ cid, reject: 'CONNECTION_REJECTED', reason: 'the node is stopping' });
  });

  it('a listener refused with CONNECT_ABANDONED fails at once, and that close does not blame the dialer', async () => {
    const { sim, a, b, cid } = await listenerWaiting(7);
    const refusedAt = sim.clock.now();
    sim.inject(a.peerId, b.peerId, { cid, reject: 'CONNECT_ABANDONED', reason: 'closed by the remote before it opened' });

    expect(await sim.runUntil(() => b.peerState('a') === undefined, config.connectTimeoutMs)).toBe(true);
    expect(sim.clock.now() - refusedAt).toBeLessThanOrEqual(2 * S);
    const [closed] = sim.noticesOf('b', 'peer.closed');
    expect(closed?.notice).toMatchObject({ wasOpen: false, failure: { code: 'CONNECT_ABANDONED' } });
    // The ring and the DHT are not told the dialer failed: it is alive, it only changed its mind.
    expect(closedByFailure(closed!.notice as Parameters<typeof closedByFailure>[0])).toBe(false);
    expect(closedByFailure({ type: 'peer.closed', peer: a.peerId, wasOpen: false, failure: { code: 'CONNECT_TIMEOUT', message: 'x' } })).toBe(true);
    expect(closedByFailure({ type: 'peer.closed', peer: a.peerId, wasOpen: true })).toBe(false);
  });
});

describe('glare: the side that yields abandons its own offer', () => {
  it('so the winner drops the offer it kept in reserve, even when the answer to its own is lost', async () => {
    sim = createSim({ seed: 5, latencyMs: 10, signalingLatencyMs: S, config });
    const x = sim.addNode('x');
    const y = sim.addNode('y');
    const [low, high] = x.peerId < y.peerId ? [x, y] : [y, x];
    // The higher id's answer to the lower id's offer is lost: only its refusal can clear the kept offer.
    sim.setRelay((from, _to, envelope) => (from === high.peerId && 'signal' in envelope && envelope.signal.type === 'answer' ? [] : undefined));
    low.connect(high.name);
    high.connect(low.name);
    await sim.advance(S + 1);
    expect([...low.actor.getSnapshot().context.waitingOffers.keys()]).toEqual([high.peerId]);
    await sim.advance(2 * S);
    const refusal = sim.signals.find((s) => s.from === high.name && 'reject' in s.envelope);
    expect(refusal?.envelope).toMatchObject({ reject: 'CONNECT_ABANDONED', reason: 'yielded to your offer (glare)' });
    expect(low.actor.getSnapshot().context.waitingOffers.size).toBe(0);
  });
});

describe('connect() while this node closes the connection', () => {
  async function openPair(seed: number) {
    sim = createSim({ seed, latencyMs: 10, signalingLatencyMs: S, config });
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    a.connect('b');
    expect(await sim.runUntil(() => isOpen(a.peerState('b')) && isOpen(b.peerState('a')), 10 * S + 1_000)).toBe(true);
    return { sim, a, b };
  }

  it('dials again once the closing connection is gone', async () => {
    const { sim: s, a, b } = await openPair(8);
    a.disconnect('b');
    expect(a.peerState('b')).toBe('attempt.closing');
    a.connect('b');
    expect(await s.runUntil(() => s.noticesOf('a', 'peer.open').length === 2, 2 * config.signalingTimeoutMs)).toBe(true);
    expect(isOpen(a.peerState('b'))).toBe(true);
    expect(await s.runUntil(() => isOpen(b.peerState('a')), 1_000)).toBe(true);
    // In order: the old one closed, then a fresh dial.
    const kinds = s.noticesOf('a').map((n) => n.notice.type);
    expect(kinds.slice(kinds.indexOf('peer.closed'))).toEqual(['peer.closed', 'peer.connecting', 'peer.open']);
  });

  it('does not dial again when disconnect() came after that connect()', async () => {
    const { sim: s, a } = await openPair(9);
    a.disconnect('b');
    a.connect('b');
    a.disconnect('b');
    await s.advance(2 * config.signalingTimeoutMs);
    expect(a.peerState('b')).toBeUndefined();
    expect(s.noticesOf('a', 'peer.connecting')).toHaveLength(1);
  });
});

describe('connectWouldDial (what the node runtime checks before asking the manager)', () => {
  const peer = 'p'.repeat(64) as never;
  const child = (status: string) => ({ getSnapshot: () => ({ status }) });
  const snapshot = (entry: object | undefined, status?: string) => ({
    context: { peers: new Map(entry ? [[peer, { childId: 'c', role: 'dialer' as const, ...entry }]] : []) },
    children: status ? { c: child(status) } : {},
  });

  it('is true with no connection, or one ending (closed by us, or its actor finished) without a redial asked', () => {
    expect(connectWouldDial(snapshot(undefined) as never, peer)).toBe(true);
    expect(connectWouldDial(snapshot({}, 'active') as never, peer)).toBe(false);
    // The manager reports a closed connection before its entry goes: the snapshot read meanwhile still has it.
    expect(connectWouldDial(snapshot({}, 'done') as never, peer)).toBe(true);
    expect(connectWouldDial(snapshot({ closing: true }, 'active') as never, peer)).toBe(true);
    expect(connectWouldDial(snapshot({ closing: true, redial: true }, 'active') as never, peer)).toBe(false);
  });
});
