/**
 * Issue 4 over real WebRTC on loopback: 13 nodes (10 here, 3 in child processes so they can be
 * killed without a word) with the ring and the DHT. Lookups find the XOR-closest peers; a routed
 * message reaches a peer without a link (that no hop reads it is shown in routed-loopback.test.ts);
 * then the signaling server is shut down, the 3 children are killed, the 10 survivors heal to a
 * correct ring with exact lookups, and two of them open a new connection with signals routed
 * through the overlay only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { positionHex, type Position } from '../../src/actors/ring/id-space.js';
import { closest } from '../../src/actors/dht/xor-distance.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { PeerSockNode } from '../../src/node/node-api.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { ringProblems } from '../helpers/ring-check.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Slower failure detection than the ring test's: 13 nodes and 3 child processes share two cores
// with the rest of the suite, and a 1-s heartbeat timeout there declared live peers dead.
const ring = { stabilizeIntervalMs: 250, requestTimeoutMs: 2_000, mergeIntervalMs: 10_000, successorListLength: 2 };
const connection = { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3_000 };
/** A small budget, so some pairs stay unlinked and the final connect() needs new signaling. */
const dht = { planIntervalMs: 1_000, lookupTimeoutMs: 3_000, linkBudget: 6 };
const detectionMs = connection.heartbeatTimeoutMs + connection.heartbeatIntervalMs;
/**
 * Healing without any server: crashes can leave a node's successor pointing past live nodes,
 * and repairing that takes a predecessor search (rounds 2, 4, 8 of a node without predecessor)
 * and a link signaled through the overlay. Measured under load (2 busy loops beside the test):
 * 3.2–3.6 s typical, 12 s the slowest of 12 runs.
 */
const HEAL_WITHOUT_SERVERS_MS = detectionMs + 30_000;
const COUNT = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns no problems; returns the last problems (empty on success). */
async function settle(check: () => string[], ms: number): Promise<string[]> {
  const started = performance.now();
  let problems = check();
  while (problems.length > 0 && performance.now() - started < ms) {
    await sleep(100);
    problems = check();
  }
  return problems;
}

/** Lookups from each of `from` for a few random points, compared with the truth over `members`. */
async function lookupMisses(from: readonly PeerSockNode[], members: readonly PeerId[]): Promise<string[]> {
  const misses: string[] = [];
  for (const node of from) {
    for (let i = 0; i < 3; i += 1) {
      const position = randomBytes(32).toString('hex');
      const truth = closest(position as Position, members, COUNT, positionHex);
      const found = await node.closestPeers({ position }, COUNT).catch((error: { code?: string }) => [`error ${error.code}`]);
      if (found.join() !== truth.join()) misses.push(`${node.id.slice(0, 8)} → ${position.slice(0, 8)}: ${found.map((p) => p.slice(0, 8)).join(',')} ≠ ${truth.map((p) => p.slice(0, 8)).join(',')}`);
    }
  }
  return misses;
}

function unlinkedPair(nodes: readonly PeerSockNode[]): [PeerSockNode, PeerSockNode] | undefined {
  for (const a of nodes) for (const b of nodes) if (a !== b && !a.peers().includes(b.id)) return [a, b];
  return undefined;
}

describe('discovery and signaling without servers, over real WebRTC on loopback', () => {
  let network: TestNetwork | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await network?.close().catch(() => undefined);
    network = undefined;
  });

  it('13 nodes: lookups, a routed message, then the server stops, 3 crash, and the rest heal and connect through the overlay', async () => {
    network = await startTestNetwork(0, { node: { ring, connection, dht } });
    for (let i = 0; i < 10; i += 1) await network.add();
    const victims: PeerId[] = [];
    for (let i = 0; i < 3; i += 1) {
      const args = ['--import', 'tsx', 'test/fixtures/ring-node.ts', network.server.url, JSON.stringify(ring), JSON.stringify(connection), JSON.stringify(dht)];
      const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      victims.push(await new Promise<PeerId>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim() as PeerId))));
    }
    const local = network.nodes;
    const everyone = [...local.map((n) => n.id), ...victims];
    const localViews = () => new Map(local.map((n) => [n.id, n.ring()]));
    // The children's views cannot be read here; the 10 local ones are checked against all 13.
    const formed = await settle(() => ringProblems(everyone, localViews(), ring.successorListLength).filter((p) => !victims.some((v) => p.startsWith(v.slice(0, 8)))), 30_000);
    expect(formed).toEqual([]);

    // Lookups over the links the nodes hold: exactly the XOR-closest peers of all 13 (polled:
    // the DHT's link sets settle a few plan rounds after the ring, later on a loaded machine).
    let misses = await lookupMisses(local.slice(0, 4), everyone);
    for (const started = performance.now(); misses.length > 0 && performance.now() - started < 15_000; ) {
      await sleep(dht.planIntervalMs);
      misses = await lookupMisses(local.slice(0, 4), everyone);
    }
    expect(misses).toEqual([]);

    // A routed message between two nodes without a link.
    const [from, to] = unlinkedPair(local) ?? [];
    expect(to).toBeDefined();
    const payload = randomBytes(32);
    const arrived = firstValueFrom(to!.messages$.pipe(filter((m) => m.protocol === 'test/routed' && m.from === from!.id), timeout(10_000)));
    await from!.send(to!.id, 'test/routed', payload);
    expect(Buffer.from((await arrived).data).equals(payload)).toBe(true);

    // Every signaling server gone, then 3 nodes killed without a word: the survivors' ring heals
    // (the repairs it needs are signaled through the overlay), and lookups over it are exact.
    await network.server.close();
    for (const child of children) child.kill('SIGKILL');
    const survivors = local.map((n) => n.id);
    const healed = await settle(() => ringProblems(survivors, localViews(), ring.successorListLength), HEAL_WITHOUT_SERVERS_MS);
    expect(healed).toEqual([]);
    misses = await lookupMisses(local.slice(0, 4), survivors);
    for (const started = performance.now(); misses.length > 0 && performance.now() - started < 15_000; ) {
      await sleep(dht.planIntervalMs);
      misses = await lookupMisses(local.slice(0, 4), survivors);
    }
    expect(misses).toEqual([]);

    // A connection no server can have signaled: offer, answer and candidates go hop by hop. Its
    // ends are an unlinked pair that routing connects right now (a routed probe is acked).
    // Nearby pairs first — a node and the successor of its last successor, two ring hops away
    // inside its own cycle — then any unlinked pair.
    const byId = new Map(local.map((n) => [n.id, n]));
    const nearby = local.flatMap((a) => {
      const last = a.ring()?.successors.at(-1);
      const beyond = last === undefined ? undefined : byId.get(last)?.ring()?.successors[0];
      const b = beyond === undefined ? undefined : byId.get(beyond);
      return b && b !== a ? [[a, b] as [PeerSockNode, PeerSockNode]] : [];
    });
    const anyPair = local.flatMap((a) => local.filter((b) => b !== a).map((b) => [a, b] as [PeerSockNode, PeerSockNode]));
    // The counts are taken as the pair is picked, unlinked: the DHT or the ring may link the two
    // on their own before connect() is called (seen once under the suite's load: connect() found
    // the link open and signaled nothing), and that connection too went through the overlay.
    // A connection still being set up counts as linked: its signals may all have crossed already
    // (seen: CI, overlaySent unchanged when it opened). Any connection actor, open or not, is
    // `transport/peer:<remote>` in states().
    const linking = (x: PeerSockNode, y: PeerSockNode) => x.peers().includes(y.id) || x.states().has(`transport/peer:${y.id}`);
    let pair: { a: PeerSockNode; b: PeerSockNode; before: ReturnType<PeerSockNode['signalPaths']>[] } | undefined;
    let tried = 0;
    for (const [a, b] of [...nearby, ...anyPair]) {
      if (pair || tried >= 10 || linking(a, b) || linking(b, a)) continue;
      tried += 1;
      const before = [a.signalPaths(), b.signalPaths()];
      if (await a.send(b.id, 'test/probe', new Uint8Array([1])).then(() => true, () => false)) pair = { a, b, before };
    }
    expect(pair).toBeDefined();
    const { a, b, before } = pair!;
    await a.connect(b.id, { timeoutMs: 30_000 });
    expect(a.peers()).toContain(b.id);
    const after = [a.signalPaths(), b.signalPaths()];
    for (const end of [0, 1]) {
      expect(after[end]!.overlaySent).toBeGreaterThan(before[end]!.overlaySent);
      expect(after[end]!.overlayReceived).toBeGreaterThan(before[end]!.overlayReceived);
      // Nothing can arrive from a stopped server. (serverSent may grow: a send tried on a server
      // that does not answer is retried through the overlay — signal-relay.ts rule 3.)
      expect(after[end]!.serverReceived).toBe(before[end]!.serverReceived);
    }
  }, 240_000);
});
