import { describe, expect, it } from 'vitest';
import { createActor, setup, stopChild, type AnyActorRef } from 'xstate';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock } from '../../sim/simulated-clock.js';
import { DEFAULT_CONNECTION_CONFIG } from '../../src/actors/transport/connection-config.js';
import type { PeerChannel } from '../../src/actors/transport/peer-channel.js';
import { peerConnectionMachine, type PeerConnectionInput } from '../../src/actors/transport/peer-connection.machine.js';
import type { SignalEnvelope } from '../../src/actors/transport/signal-envelope.js';
import type { CryptoPort } from '../../src/ports/crypto.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Link, LinkHandlers, LinkOptions, LinkSignal } from '../../src/ports/transport.js';
import type { PeerId } from '../../src/identity/peer-id.js';

/**
 * The link of an attempt is plain code of the peer-connection actor (no invoked actor): it
 * must still be closed however the attempt ends, including when the actor is stopped from
 * outside or fails, since XState v5 runs no exit actions then.
 */
interface FakeLink {
  options: LinkOptions;
  applied: LinkSignal[];
  closed: number;
}

function harness(overrides: { maxDialAttempts?: number; sendControl?: () => void } = {}) {
  const clock = createSimulatedClock();
  const links: FakeLink[] = [];
  const relayed: SignalEnvelope[] = [];
  const channelLog: string[] = [];
  const transport = {
    createLink(options: LinkOptions): Link {
      const record: FakeLink = { options, applied: [], closed: 0 };
      links.push(record);
      return {
        applySignal: (signal) => void record.applied.push(signal),
        send: () => {},
        bufferedAmount: () => 0,
        maxMessageSize: () => 65_536,
        localFingerprint: () => undefined,
        remoteFingerprint: () => undefined,
        close: () => {
          record.closed += 1;
          // Like a real link: closing calls back; the attempt is over, nobody must listen.
          options.handlers.onClose('closed locally');
        },
      };
    },
    close: async () => {},
  };
  const channel = {
    attach: () => void channelLog.push('attach'),
    detach: () => void channelLog.push('detach'),
    receive: () => {},
    drain: () => {},
    sendControl: overrides.sendControl ?? (() => {}),
    beginClose: () => {},
    markAuthenticated: () => {},
    fingerprints: () => ({ local: undefined, remote: undefined }),
  } as unknown as PeerChannel;
  const input: PeerConnectionInput = {
    remote: 'remote-peer' as PeerId,
    role: 'dialer',
    channel,
    config: { ...DEFAULT_CONNECTION_CONFIG, maxDialAttempts: overrides.maxDialAttempts ?? 1 },
    ports: {
      transport,
      crypto: { publicKey: new Uint8Array(32) } as unknown as CryptoPort,
      random: createSeededRandom(1),
      clock,
      logger: silentLogger,
      sendSignal: async (_to, envelope) => void relayed.push(envelope),
    },
  };
  const handlers = (i: number): LinkHandlers => links[i]!.options.handlers;
  return { clock, links, relayed, channelLog, input, handlers };
}

/** A parent like the connection manager: it spawns the peer connection and may stop it. */
function parentOf(input: PeerConnectionInput, clock: ReturnType<typeof createSimulatedClock>) {
  const errors: unknown[] = [];
  const parent = setup({ actors: { peer: peerConnectionMachine } }).createMachine({
    invoke: { id: 'peer', src: 'peer', input },
    on: {
      stop: { actions: stopChild('peer') },
      'xstate.error.actor.peer': { actions: ({ event }) => void errors.push((event as unknown as { error: unknown }).error) },
    },
  });
  const actor = createActor(parent, { clock }).start();
  return { actor, errors, peer: () => actor.getSnapshot().children.peer as AnyActorRef | undefined };
}

describe('the link of an attempt', () => {
  it('is created once per attempt, relays local signals under that attempt’s cid and is closed when the attempt ends', async () => {
    const h = harness({ maxDialAttempts: 2 });
    const { actor: parent, peer } = parentOf(h.input, h.clock); // a failed dial tells its parent
    const actor = peer()!;
    const context = () => (actor.getSnapshot() as { context: { cid: string } }).context;
    expect(h.links).toHaveLength(1);
    expect(h.links[0]!.options).toMatchObject({ label: 'remote-peer', initiator: true, bufferedAmountLowThreshold: h.input.config.sendBudgetBytes / 2 });
    expect(h.channelLog).toEqual(['attach']);
    h.handlers(0).onSignal({ type: 'offer', sdp: 'o1' });
    const firstCid = context().cid;

    h.clock.advance(h.input.config.signalingTimeoutMs);
    expect(actor.getSnapshot().value).toBe('retrying');
    expect(h.links[0]!.closed).toBe(1);
    expect(h.channelLog).toEqual(['attach', 'detach']);
    // The old link's callbacks reach nobody any more.
    h.handlers(0).onSignal({ type: 'offer', sdp: 'late' });
    h.handlers(0).onOpen();
    expect(actor.getSnapshot().value).toBe('retrying');

    h.clock.advance(Math.ceil(h.input.config.retryBaseMs * 1.5)); // the longest first backoff
    expect(h.links).toHaveLength(2);
    expect(actor.getSnapshot().value).toEqual({ attempt: 'signaling' });
    h.handlers(1).onSignal({ type: 'offer', sdp: 'o2' });
    const secondCid = context().cid;
    await Promise.resolve();
    expect(secondCid).not.toBe(firstCid);
    expect(h.relayed.map((e) => [e.cid, 'signal' in e ? e.signal : undefined])).toEqual([
      [firstCid, { type: 'offer', sdp: 'o1' }],
      [secondCid, { type: 'offer', sdp: 'o2' }],
    ]);
    parent.stop();
    expect(h.links.map((link) => link.closed)).toEqual([1, 1]);
  });

  it('is closed when the actor is stopped from outside (root stop)', () => {
    const h = harness();
    const actor = createActor(peerConnectionMachine, { input: h.input, clock: h.clock }).start();
    actor.stop();
    expect(h.links[0]!.closed).toBe(1);
    expect(h.channelLog).toEqual(['attach', 'detach']);
  });

  it('is closed when its parent stops it, and once only', () => {
    const h = harness();
    const { actor, peer } = parentOf(h.input, h.clock);
    const child = peer()!;
    h.handlers(0).onOpen();
    expect((child.getSnapshot() as { value: unknown }).value).toEqual({ attempt: { authenticating: 'proving' } });
    actor.send({ type: 'stop' });
    expect(peer()).toBeUndefined();
    expect(child.getSnapshot().status).toBe('stopped');
    expect(h.links[0]!.closed).toBe(1);
    expect(h.channelLog).toEqual(['attach', 'detach']);
    actor.stop();
    expect(h.links[0]!.closed).toBe(1);
  });

  it('is closed when its parent is stopped', () => {
    const h = harness();
    const { actor } = parentOf(h.input, h.clock);
    actor.stop();
    expect(h.links[0]!.closed).toBe(1);
  });

  it('is closed when the actor fails (an action throws), and the parent hears of the failure', () => {
    const h = harness({
      sendControl: () => {
        throw new Error('boom');
      },
    });
    const { errors, peer } = parentOf(h.input, h.clock);
    h.handlers(0).onOpen();
    // The transcript is signed: sending the proof throws.
    peer()!.send({ type: 'auth.signed', attempt: 1, sig: new Uint8Array(64) });
    expect(peer()!.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    expect(h.links[0]!.closed).toBe(1);
    expect(h.channelLog).toEqual(['attach', 'detach']);
  });

  it('as a listener, applies the offer at creation and takes remote signals until the attempt ends', () => {
    const h = harness();
    const offer: LinkSignal = { type: 'offer', sdp: 'remote offer' };
    const input: PeerConnectionInput = { ...h.input, role: 'listener', offer: { cid: 'c1', signal: offer } };
    const actor = createActor(peerConnectionMachine, { input, clock: h.clock }).start();
    expect(h.links[0]!.options.initiator).toBe(false);
    expect(h.links[0]!.applied).toEqual([offer]);
    const candidate: LinkSignal = { type: 'candidate', candidate: 'c', mid: '0' };
    actor.send({ type: 'signal.in', envelope: { cid: 'c1', signal: candidate } });
    expect(h.links[0]!.applied).toEqual([offer, candidate]);
    h.handlers(0).onSignal({ type: 'answer', sdp: 'ours' });
    expect(actor.getSnapshot().value).toEqual({ attempt: 'connecting' });
    actor.send({ type: 'close' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(h.links[0]!.closed).toBe(1);
    actor.send({ type: 'signal.in', envelope: { cid: 'c1', signal: candidate } });
    expect(h.links[0]!.applied).toHaveLength(2);
  });
});
