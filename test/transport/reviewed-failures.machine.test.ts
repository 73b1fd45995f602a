/**
 * Regressions for failure modes found in review: an untrusted relay touching an open
 * connection, data lost on graceful close, batches larger than the link carries.
 * Deterministic: simulated network and virtual time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Link, LinkTransport } from '../../src/ports/transport.js';
import { createSim, type Sim } from '../helpers/sim-ports.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function openPair(options: Parameters<typeof createSim>[0] = {}, wrapA?: (t: LinkTransport) => LinkTransport) {
  sim = createSim(options);
  const a = sim.addNode('a', wrapA ? { wrapTransport: wrapA } : {});
  const b = sim.addNode('b');
  a.connect('b');
  const open = await sim.runUntil(
    () => a.peerState('b')?.startsWith('attempt.open') === true && b.peerState('a')?.startsWith('attempt.open') === true,
    20_000,
  );
  expect(open).toBe(true);
  return { sim, a, b };
}

describe('an open connection is out of the relay’s reach', () => {
  it('ignores a forged refusal and a replayed answer carrying the connection’s cid', async () => {
    const { sim, a, b } = await openPair();
    const answer = sim.signals.find((s) => s.from === 'b' && 'signal' in s.envelope && s.envelope.signal.type === 'answer')!;
    sim.inject(b.peerId, a.peerId, { cid: answer.envelope.cid, reject: 'CONNECTION_REJECTED', reason: 'forged by the relay' });
    sim.inject(b.peerId, a.peerId, answer.envelope);
    await sim.advance(1_000);
    expect(a.peerState('b')).toMatch(/^attempt\.open/);
    expect(sim.noticesOf('a', 'peer.closed')).toEqual([]);
  });

  it('ignores a relay failure that arrives after the connection opened', async () => {
    const { sim, a, b } = await openPair();
    const snapshot = a.actor.getSnapshot();
    const child = snapshot.children[snapshot.context.peers.get(b.peerId)!.childId]!;
    const cid = (child.getSnapshot() as { context: { cid: string } }).context.cid;
    child.send({ type: 'signal.failed', cid, error: new Error('the signaling server went away') });
    await sim.advance(1_000);
    expect(a.peerState('b')).toMatch(/^attempt\.open/);
    expect(sim.noticesOf('a', 'peer.closed')).toEqual([]);
  });
});

describe('no silent loss', () => {
  it('on graceful close, every send either reaches the peer or is rejected', async () => {
    const { sim, a, b } = await openPair({ config: { sendBudgetBytes: 10_000 } });
    const channel = a.channels.get(b.peerId)!;
    const outcomes: Array<'ok' | string> = [];
    for (let i = 0; i < 20; i += 1) {
      channel.send('app', new Uint8Array(3_000).fill(i)).then(
        () => outcomes.push('ok'),
        (error: { code: string }) => outcomes.push(error.code),
      );
    }
    a.disconnect('b');
    await sim.advance(3_000);
    expect(outcomes).toHaveLength(20);
    const resolved = outcomes.filter((o) => o === 'ok').length;
    expect(resolved).toBeGreaterThan(0);
    expect(b.delivered.map((m) => m.data[0])).toEqual(Array.from({ length: resolved }, (_, i) => i));
    expect(outcomes.slice(resolved).every((o) => o === 'LINK_CLOSED')).toBe(true);
  });

  it('keeps batches within the link’s message size, so every resolved small send arrives', async () => {
    const LIMIT = 16_384;
    const limited = (inner: LinkTransport): LinkTransport => ({
      createLink(options): Link {
        const link = inner.createLink(options);
        return {
          applySignal: (signal) => link.applySignal(signal),
          bufferedAmount: () => link.bufferedAmount(),
          localFingerprint: () => link.localFingerprint(),
          remoteFingerprint: () => link.remoteFingerprint(),
          close: () => link.close(),
          maxMessageSize: () => LIMIT,
          send: (data) => {
            if (data.length > LIMIT) throw new Error(`message of ${data.length} bytes exceeds ${LIMIT}`);
            link.send(data);
          },
        };
      },
      close: () => inner.close(),
    });
    const { sim, a, b } = await openPair({}, limited);
    const channel = a.channels.get(b.peerId)!;
    let resolved = 0;
    let rejected = 0;
    for (let i = 0; i < 100; i += 1) channel.send('app', new Uint8Array(2_000)).then(() => resolved++, () => rejected++);
    await sim.advance(1_000);
    expect(resolved).toBe(100);
    expect(rejected).toBe(0);
    expect(b.delivered).toHaveLength(100);
    expect(a.peerState('b')).toMatch(/^attempt\.open/);
  });
});

describe('inbound attempts', () => {
  it('caps unauthenticated inbound attempts apart from established connections', async () => {
    sim = createSim();
    sim.addNode('target', { maxPendingInbound: 1 });
    const first = sim.addNode('first');
    const second = sim.addNode('second');
    first.connect('target');
    second.connect('target');
    await sim.advance(10_000);
    expect(first.peerState('target')).toMatch(/^attempt\.open/);
    const refused = sim.noticesOf('second', 'peer.closed');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.notice).toMatchObject({ failure: { code: 'CONNECTION_LIMIT' } });
    // Once the first is authenticated, the slot is free again.
    second.connect('target');
    await sim.advance(10_000);
    expect(second.peerState('target')).toMatch(/^attempt\.open/);
  });
});
