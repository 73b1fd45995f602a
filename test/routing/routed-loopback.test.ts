import { randomBytes } from 'node:crypto';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { PeerSockNode } from '../../src/node/node-api.js';
import { createWebRtcTransport } from '../../src/transport/webrtc-transport.js';
import { decodeFrame } from '../../src/wire/index.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { ringProblems, ringStrangers } from '../helpers/ring-check.js';
import { tapTransport } from '../helpers/tap-transport.js';

/** Every message a node's links send or receive, as the wire carries it (inside DTLS). */
interface Tapped {
  node: number;
  direction: 'out' | 'in';
  bytes: Uint8Array;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle)) >= 0;
}

// Merge probes out of the way: a probe links a node to the nearest member before it that it has
// no link to, the very kind of pair these tests route between.
const ring = { stabilizeIntervalMs: 250, requestTimeoutMs: 1_000, mergeIntervalMs: 600_000, successorListLength: 2 };
const connection = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 1_000 };

/** A node's successors it holds no open link to (routing forwards over open links only). */
function unlinkedSuccessors(nodes: readonly PeerSockNode[]): string[] {
  return nodes.flatMap((n) => (n.ring()?.successors ?? []).filter((s) => !n.peers().includes(s)).map((s) => `${n.id.slice(0, 8)}: no link to successor ${s.slice(0, 8)}`));
}

/** Polls until the nodes' views form a correct ring and each is linked to its successors (20 s at most); the problems left. */
async function ringSettled(nodes: readonly PeerSockNode[]): Promise<string[]> {
  const started = performance.now();
  let problems: string[] = ['not checked'];
  while (problems.length > 0 && performance.now() - started < 20_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    problems = ringProblems(nodes.map((n) => n.id), new Map(nodes.map((n) => [n.id, n.ring()])), ring.successorListLength);
    if (problems.length === 0) problems = unlinkedSuccessors(nodes);
  }
  return problems;
}

describe('routed messages over real WebRTC on loopback', () => {
  let network: TestNetwork | undefined;
  afterEach(async () => {
    await network?.close();
    network = undefined;
  });

  it('reach a peer without a direct link through other nodes, which carry the frames but never the payload in clear', async () => {
    const log: Tapped[] = [];
    network = await startTestNetwork(0, { node: { ring, connection } });
    for (let i = 0; i < 10; i += 1) await network.add({ transport: tapTransport(createWebRtcTransport({ bindAddress: '127.0.0.1' }), { record: (direction, bytes) => log.push({ node: i, direction, bytes }) }) });
    const nodes = network.nodes;
    expect(await ringSettled(nodes)).toEqual([]);

    // A pair the ring does not link (r = 2: each node links ~4 of the other 9).
    const pair = ringStrangers(nodes);
    expect(pair).toBeDefined();
    const [a, b] = pair!;
    const ai = nodes.indexOf(a);
    const bi = nodes.indexOf(b);

    const secret = randomBytes(48);
    const arrived = firstValueFrom(b.messages$.pipe(filter((m) => m.protocol === 'secret' && m.from === a.id), timeout(10_000)));
    const before = log.length;
    await a.send(b.id as PeerId, 'secret', secret);
    const message = await arrived;
    expect(Buffer.from(message.data).equals(secret)).toBe(true);

    const traffic = log.slice(before);
    // Nothing anywhere on the wire — origin, target or hop — carries the payload in clear.
    expect(traffic.filter((t) => contains(t.bytes, secret))).toEqual([]);
    // And the message really went through someone else: a node other than a and b relayed ps/route frames.
    const relayedBy = new Set(
      traffic
        .filter((t) => t.node !== ai && t.node !== bi && t.direction === 'out')
        .filter((t) => {
          try {
            return decodeFrame(t.bytes).protocol === 'ps/route';
          } catch {
            return false;
          }
        })
        .map((t) => t.node),
    );
    expect(relayedBy.size).toBeGreaterThan(0);

    // Control: the tap does see clear text where there is some — a direct send (inside DTLS,
    // which the tap sits above) carries its payload as is.
    const neighbour = nodes.find((n) => a.peers().includes(n.id))!;
    const plain = randomBytes(48);
    const direct = firstValueFrom(neighbour.messages$.pipe(filter((m) => m.protocol === 'plain'), timeout(10_000)));
    await a.send(neighbour.id, 'plain', plain);
    await direct;
    expect(log.some((t) => t.node === ai && t.direction === 'out' && contains(t.bytes, plain))).toBe(true);
  }, 60_000);

  it('a busy routed conversation gets its own link, and messages still arrive over it', async () => {
    network = await startTestNetwork(0, { node: { ring, connection, upgrade: { threshold: 8, windowMs: 10_000 } } });
    for (let i = 0; i < 8; i += 1) await network.add();
    const nodes = network.nodes;
    expect(await ringSettled(nodes)).toEqual([]);
    const pair = ringStrangers(nodes);
    expect(pair).toBeDefined();
    const [a, b] = pair!;
    const upgraded = firstValueFrom(a.events$.pipe(filter((e) => e.type === 'upgrade.opened' && e.peer === b.id), timeout(15_000)));
    for (let i = 0; i < 8; i += 1) await a.send(b.id, 'chat', new Uint8Array([i]));
    await upgraded;
    expect(a.peers()).toContain(b.id);
    const arrived = firstValueFrom(b.messages$.pipe(filter((m) => m.protocol === 'chat' && m.data[0] === 99), timeout(10_000)));
    await a.send(b.id, 'chat', new Uint8Array([99]));
    await arrived;
  }, 60_000);
});
