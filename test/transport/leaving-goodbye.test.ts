/**
 * A node that stops says so in its goodbyes (`ps/bye` "leaving"): its peers report the closed
 * connection with `left`, and the node runtime hands that to the ring and the DHT as a peer
 * gone, not as a link pruned by a live peer. Before, the DHT took a leaver's goodbye for a sign
 * of life and kept naming it in answers (100 nodes, 5-min sessions: 7 of 19 failed lookups
 * named a peer that had left ~13 s before).
 *
 * A close of ours during which nothing at all comes from the peer (no answer to the goodbye, no
 * other frame: it crashed unnoticed) ends the connection with `byeUnanswered`, which the runtime
 * hands the DHT as a failure (node-runtime.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closedByFailure } from '../../src/node/node-runtime.js';
import { BYE_PROTOCOL } from '../../src/actors/transport/peer-channel.js';
import { createSim, FAST_CONNECTION, filterOutgoing, protocolOf, type Sim } from '../helpers/sim-ports.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function openPair(seed: number, options: { dropOwnGoodbyes?: boolean } = {}) {
  const s = createSim({ seed, latencyMs: 10, signalingLatencyMs: 25, config: FAST_CONNECTION });
  sim = s;
  const a = s.addNode('a', options.dropOwnGoodbyes ? { wrapTransport: (t) => filterOutgoing(t, (bytes) => protocolOf(bytes) !== BYE_PROTOCOL) } : {});
  const b = s.addNode('b');
  a.connect('b');
  const open = (state: string | undefined) => state?.startsWith('attempt.open') === true;
  expect(await s.runUntil(() => open(a.peerState('b')) && open(b.peerState('a')), 2_000)).toBe(true);
  return { s, a, b };
}

const closedAt = (s: Sim, node: string) => s.noticesOf(node, 'peer.closed').map((n) => n.notice);

describe('the goodbye of a node that stops', () => {
  it('makes its peer report the connection closed with `left`, which counts as the peer gone', async () => {
    const { s, a } = await openPair(3);
    a.actor.send({ type: 'shutdown' });
    expect(await s.runUntil(() => closedAt(s, 'b').length === 1, 2_000)).toBe(true);
    const [closed] = closedAt(s, 'b');
    expect(closed).toEqual({ type: 'peer.closed', peer: a.peerId, wasOpen: true, left: true });
    expect(closedByFailure(closed as Parameters<typeof closedByFailure>[0])).toBe(true);
  });

  it('is not sent when a node only closes one link: that close says the peer lives', async () => {
    const { s, a } = await openPair(4);
    a.disconnect('b');
    expect(await s.runUntil(() => closedAt(s, 'b').length === 1, 2_000)).toBe(true);
    const [closed] = closedAt(s, 'b');
    expect(closed).toEqual({ type: 'peer.closed', peer: a.peerId, wasOpen: true });
    expect(closedByFailure(closed as Parameters<typeof closedByFailure>[0])).toBe(false);
  });
});

describe('a goodbye nobody answers', () => {
  it('closes the connection after closeTimeoutMs with `byeUnanswered`: the peer may be gone', async () => {
    const { s, a } = await openPair(5);
    s.crash('b');
    const closingAt = s.clock.now();
    a.disconnect('b');
    expect(await s.runUntil(() => closedAt(s, 'a').length === 1, 2 * FAST_CONNECTION.closeTimeoutMs)).toBe(true);
    const [closed] = closedAt(s, 'a');
    expect(closed).toEqual({ type: 'peer.closed', peer: s.node('b').peerId, wasOpen: true, byeUnanswered: true });
    expect(s.clock.now() - closingAt).toBeGreaterThanOrEqual(FAST_CONNECTION.closeTimeoutMs);
  });

  it('is not reported when anything else comes from the peer meanwhile: it lives, though its answer never comes', async () => {
    // a's goodbye is lost on the way, so b never answers it; b's data after it still arrives.
    const { s, a, b } = await openPair(7, { dropOwnGoodbyes: true });
    a.disconnect('b');
    void b.channels.get(a.peerId)!.send('app/late', new Uint8Array([1]));
    expect(await s.runUntil(() => closedAt(s, 'a').length === 1, 2 * FAST_CONNECTION.closeTimeoutMs)).toBe(true);
    expect(closedAt(s, 'a')[0]).toEqual({ type: 'peer.closed', peer: b.peerId, wasOpen: true });
    expect(a.delivered.map((m) => m.protocol)).toContain('app/late');
  });

  it('is not reported when the peer answers the goodbye', async () => {
    const { s, a } = await openPair(6);
    a.disconnect('b');
    expect(await s.runUntil(() => closedAt(s, 'a').length === 1, 2 * FAST_CONNECTION.closeTimeoutMs)).toBe(true);
    expect(closedAt(s, 'a')[0]).toEqual({ type: 'peer.closed', peer: s.node('b').peerId, wasOpen: true });
  });
});
