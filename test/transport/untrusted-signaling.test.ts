import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundMessage, PeerSockNode } from '../../src/node/start-node.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { ManInTheMiddle } from '../helpers/mitm.js';

/** Nothing a signaling server says counts as proof of identity. */
describe('a lying signaling server', () => {
  let network: TestNetwork | undefined;
  let mitm: ManInTheMiddle | undefined;

  afterEach(async () => {
    await mitm?.close();
    await network?.close();
    mitm = undefined;
    network = undefined;
  });

  function received(node: PeerSockNode): InboundMessage[] {
    const messages: InboundMessage[] = [];
    node.messages$.subscribe((message) => messages.push(message));
    return messages;
  }

  it('cannot sit in the middle: swapped DTLS fingerprints fail the identity proof and no data is delivered', async () => {
    let a: PeerSockNode | undefined;
    let b: PeerSockNode | undefined;
    mitm = new ManInTheMiddle(() => a!.id, () => b!.id);
    network = await startTestNetwork(0, { server: { relayFilter: (from, to, data) => mitm!.relayFilter(from, to, data) } });
    await mitm.start(network.server.url);
    // A generous auth timeout: on a loaded machine (the whole suite on 2 cores) the handshake
    // through the middle's two DTLS sessions took longer than the default 5 s, and the attempt
    // ended with AUTH_TIMEOUT before the forged proof could fail with AUTH_FAILED.
    const connection = { authTimeoutMs: 14_000 };
    a = await network.add({ connection });
    b = await network.add({ connection });
    const atA = received(a);
    const atB = received(b);
    const bRefused = firstValueFrom(
      b.events$.pipe(
        filter((event) => event.type === 'peer.closed' && event.peer === a!.id),
        timeout(15_000),
      ),
    );

    const error = await a.connect(b.id, { timeoutMs: 15_000 }).catch((e: unknown) => e);

    // A signal the middle failed to pass on stalls the attack (an auth timeout) rather than defeats it.
    expect(error, `signals the middle failed to send: ${mitm.signalFailures.join('; ') || 'none'}`).toMatchObject({ code: 'AUTH_FAILED' });
    expect(String((error as Error).message)).toMatch(/man in the middle/);
    expect(await bRefused).toMatchObject({ wasOpen: false, failure: { code: expect.stringMatching(/AUTH_FAILED|LINK_CLOSED/) } });
    // The attack really got as far as two open, encrypted channels relaying the handshake.
    expect(mitm.relayedMessages).toBeGreaterThanOrEqual(2);
    // The forged application frames the middle injected were refused, not delivered.
    expect(atA).toEqual([]);
    expect(atB).toEqual([]);
    expect(a.peers()).toEqual([]);
    expect(b.peers()).toEqual([]);
  });

  it('cannot pass peer Y off as peer X: the dialer refuses with PEER_ID_MISMATCH', async () => {
    let x: PeerId | undefined;
    let y: PeerId | undefined;
    let dialer: PeerId | undefined;
    network = await startTestNetwork(0, {
      server: {
        relayFilter: (from, to, data) => {
          if (to === x) return { to: y!, data };
          if (from === y && to === dialer) return { to, from: x!, data };
          return { to, data };
        },
      },
    });
    const a = await network.add();
    const nodeX = await network.add();
    const nodeY = await network.add();
    [dialer, x, y] = [a.id, nodeX.id, nodeY.id];
    const atY = received(nodeY);

    const error = await a.connect(nodeX.id, { timeoutMs: 15_000 }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'PEER_ID_MISMATCH' });
    expect(a.peers()).toEqual([]);
    expect(atY).toEqual([]);
  });
});
