import { firstValueFrom, filter, timeout } from 'rxjs';
import { startNode, type PeerSockNode, type StartNodeOptions } from '../../src/node/start-node.js';
import type { NodeEvent } from '../../src/node/start-node.js';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../src/signaling/server.js';

/** A signaling server and nodes on loopback, all real; `close()` stops everything. */
export interface TestNetwork {
  server: SignalingServer;
  nodes: PeerSockNode[];
  add(options?: StartNodeOptions): Promise<PeerSockNode>;
  close(): Promise<void>;
}

export async function startTestNetwork(
  count: number,
  options: { node?: StartNodeOptions; server?: SignalingServerOptions } = {},
): Promise<TestNetwork> {
  const server = await startSignalingServer({ port: 0, ...options.server });
  const nodes: PeerSockNode[] = [];
  const add = async (extra: StartNodeOptions = {}) => {
    const node = await startNode({ signaling: [server.url], bindAddress: '127.0.0.1', verifyThreads: 1, ...options.node, ...extra });
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < count; i += 1) await add();
  return {
    server,
    nodes,
    add,
    async close() {
      await Promise.all(nodes.map((node) => node.stop()));
      await server.close();
    },
  };
}

export function nextEvent<T extends NodeEvent['type']>(
  node: PeerSockNode,
  type: T,
  ms = 10_000,
): Promise<Extract<NodeEvent, { type: T }>> {
  return firstValueFrom(
    node.events$.pipe(
      filter((event): event is Extract<NodeEvent, { type: T }> => event.type === type),
      timeout(ms),
    ),
  );
}

export function waitForPeerCount(node: PeerSockNode, count: number, ms = 10_000): Promise<unknown> {
  return firstValueFrom(node.peers$.pipe(filter((peers) => peers.length === count), timeout(ms)));
}
