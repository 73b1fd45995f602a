import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { PeerSockNode } from '../../src/node/node-api.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { ringProblems } from '../helpers/ring-check.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ring = { stabilizeIntervalMs: 250, requestTimeoutMs: 1_000, mergeIntervalMs: 10_000, successorListLength: 4 };
const connection = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 1_000 };
const detectionMs = connection.heartbeatTimeoutMs + connection.heartbeatIntervalMs;
const roundMs = ring.stabilizeIntervalMs * 1.5; // the longest jittered stabilization round

/** Polls until the ring of `alive` is correct; returns how long that took, or fails with the problems. */
async function ringCorrectWithin(alive: () => { id: PeerId; view: () => ReturnType<PeerSockNode['ring']> }[], ms: number): Promise<number> {
  const started = performance.now();
  let problems: string[] = [];
  while (performance.now() - started < ms) {
    const nodes = alive();
    problems = ringProblems(nodes.map((n) => n.id), new Map(nodes.map((n) => [n.id, n.view()])), ring.successorListLength);
    if (problems.length === 0) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`ring not correct after ${ms} ms:\n${problems.join('\n')}`);
}

describe('the ring over real WebRTC on loopback', () => {
  let network: TestNetwork | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await network?.close();
    network = undefined;
  });

  it('forms a correct ring of 8, heals 3 nodes killed without warning, and heals a graceful leave without a timeout', async () => {
    network = await startTestNetwork(0, { node: { ring, connection } });
    for (let i = 0; i < 5; i += 1) await network.add();
    const victims: PeerId[] = [];
    for (let i = 0; i < 3; i += 1) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/ring-node.ts', network.server.url, JSON.stringify(ring), JSON.stringify(connection)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      victims.push(await new Promise<PeerId>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim() as PeerId))));
    }
    const local = () => network!.nodes.filter((n) => !stoppedIds.has(n.id)).map((n) => ({ id: n.id, view: () => n.ring() }));
    const stoppedIds = new Set<PeerId>();

    // All 8 (5 here, 3 in child processes) form one ring. Only local views can be read; they
    // are checked against the full membership, victims included.
    const localIds = () => local().map((n) => n.id);
    const withVictims = async (ms: number) => {
      const started = performance.now();
      let problems: string[] = [];
      while (performance.now() - started < ms) {
        const views = new Map(local().map((n) => [n.id, n.view()]));
        const all = [...localIds(), ...victims];
        problems = ringProblems(all, views, ring.successorListLength).filter((p) => !victims.some((v) => p.startsWith(v.slice(0, 8))));
        if (problems.length === 0) return performance.now() - started;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`ring of 8 not correct after ${ms} ms:\n${problems.join('\n')}`);
    };
    await withVictims(20_000);

    // Detection plus 5 rounds is 3.1 s; alone the ring heals in 1.2–3.1 s, and a clean-clone CI
    // run on a slow evening took over 5.1 s (a victim still listed: its failure not yet seen).
    // Wall time here is the machine's as much as the ring's, so the slack is generous; the
    // rounds after detection are measured in the simulator (bench/ring-heal.bench.ts).
    const healBudgetMs = detectionMs + 5 * roundMs + 5_000;
    for (const child of children) child.kill('SIGKILL');
    const healedIn = await ringCorrectWithin(local, healBudgetMs);
    console.log(`ring of 5 healed ${Math.round(healedIn)} ms after 3 of 8 were killed (detection ${detectionMs} ms, round ≤ ${roundMs} ms)`);
    expect(healedIn).toBeLessThanOrEqual(healBudgetMs);

    // A graceful leave: the leaver hands its neighbours over; no failure detector involved.
    // Judged by what happened, not by wall time (which a loaded CI machine stretches): nobody
    // may see the leaver's link fail, so the heal cannot have waited for a heartbeat timeout.
    const leaver = network.nodes[2]!;
    const failuresSeen: string[] = [];
    for (const node of network.nodes.filter((n) => n !== leaver && !stoppedIds.has(n.id))) {
      node.events$.subscribe((event) => {
        // An open link that failed (a heartbeat timeout). A redial of the departed peer that the
        // signaling server refuses (SIGNAL_UNKNOWN_PEER, never open) is no timeout and no heal step.
        if (event.type === 'peer.closed' && event.peer === leaver.id && event.wasOpen && event.failure) failuresSeen.push(event.failure.code);
      });
    }
    stoppedIds.add(leaver.id);
    await leaver.stop();
    await ringCorrectWithin(local, 10_000);
    expect(failuresSeen).toEqual([]);
  }, 60_000);
});
