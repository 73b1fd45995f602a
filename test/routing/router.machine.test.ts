import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { sortByPosition, contactOf } from '../../src/actors/ring/contact.js';
import { PendingSends } from '../../src/actors/routing/pending-sends.js';
import { msgKey, type RouteMessage } from '../../src/actors/routing/route-messages.js';
import { routerConfig } from '../../src/actors/routing/router-config.js';
import { routerMachine, type RouterPorts } from '../../src/actors/routing/router.machine.js';
import type { InboundMessage } from '../../src/actors/transport/peer-channel.js';
import type { SealedEnvelope } from '../../src/crypto/sealed-envelope.js';
import type { PeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { silentLogger } from '../../src/ports/logger.js';

/** Ten ids in ring order from SELF: N[1] is just past us, N[9] just before. */
const N = sortByPosition(Array.from({ length: 10 }, (_, i) => contactOf(String(i).padStart(2, '0').repeat(32) as PeerId)));
const SELF = N[0]!.id;
const config = routerConfig({ ackTimeoutMs: 1_000, ttl: 8 });

function envelope(origin: PeerId, target: PeerId, ttl = 8, id = 1): SealedEnvelope {
  const msgId = new Uint8Array(16).fill(id);
  return { v: 1, origin, target, msgId, sentAt: 0, eph: new Uint8Array(32), ttl, ct: new Uint8Array(20), sig: new Uint8Array(64) };
}

/** `refusing`: links whose send() returns false (open when read, closing when sent to). */
function start(links: PeerId[], pending = new PendingSends(8), refusing: PeerId[] = []) {
  const clock = new SimulatedClock();
  const sent: { to: PeerId; message: RouteMessage }[] = [];
  const opened: { kind: string; env: SealedEnvelope }[] = [];
  const acksSealed: { origin: PeerId; msgId: Uint8Array }[] = [];
  const delivered: InboundMessage[] = [];
  const ports: RouterPorts = {
    logger: silentLogger,
    links: () => links,
    send: (to, message) => {
      if (!links.includes(to) || refusing.includes(to)) return false;
      sent.push({ to, message });
      return true;
    },
    endpoint: { open: (kind, env) => opened.push({ kind, env }), sealAck: (origin, msgId) => acksSealed.push({ origin, msgId }), ackSent: () => {} },
    deliver: (message) => delivered.push(message),
    pending,
  };
  const actor = createActor(routerMachine, { input: { self: SELF, config, ports }, clock }).start();
  return { actor, clock, sent, opened, acksSealed, delivered, pending };
}

/** A pending send as node-runtime files it; returns its outcomes as they happen. */
function file(pending: PendingSends, env: SealedEnvelope): (string | undefined)[] {
  const outcomes: (string | undefined)[] = [];
  pending.reserve();
  pending.add(msgKey(env.msgId), env.target, (error?: PeerSockError) => outcomes.push(error?.code ?? 'acked'));
  return outcomes;
}

describe('router machine: the origin', () => {
  it('rejects at once with UNREACHABLE when no link leads toward the target', () => {
    const { actor, pending, sent } = start([]);
    const env = envelope(SELF, N[5]!.id);
    const outcomes = file(pending, env);
    actor.send({ type: 'route.send', key: msgKey(env.msgId), env });
    expect(outcomes).toEqual(['UNREACHABLE']);
    expect(sent).toEqual([]);
  });

  it('sends to the link closest before the target, then times out without an ack', () => {
    const { actor, pending, sent, clock } = start([N[1]!.id, N[3]!.id, N[7]!.id]);
    const env = envelope(SELF, N[5]!.id);
    const outcomes = file(pending, env);
    actor.send({ type: 'route.send', key: msgKey(env.msgId), env });
    expect(sent).toEqual([{ to: N[3]!.id, message: { t: 'msg', env } }]);
    clock.increment(config.ackTimeoutMs - 1);
    expect(outcomes).toEqual([]);
    clock.increment(1);
    expect(outcomes).toEqual(['TIMEOUT']);
  });

  it('resolves on an ack from the target only, and its timer is cancelled', () => {
    const { actor, pending, clock } = start([N[3]!.id]);
    const env = envelope(SELF, N[5]!.id);
    const key = msgKey(env.msgId);
    const outcomes = file(pending, env);
    actor.send({ type: 'route.send', key, env });
    actor.send({ type: 'route.acked', from: N[4]!.id, key }); // signed, but by someone else
    expect(outcomes).toEqual([]);
    actor.send({ type: 'route.acked', from: N[5]!.id, key });
    clock.increment(config.ackTimeoutMs * 2);
    expect(outcomes).toEqual(['acked']);
  });

  it('rejects on a fail notice naming the send and its target; ignores one naming another target', () => {
    const { actor, pending, clock } = start([N[3]!.id]);
    const env = envelope(SELF, N[5]!.id);
    const key = msgKey(env.msgId);
    const outcomes = file(pending, env);
    actor.send({ type: 'route.send', key, env });
    const notice = { t: 'fail', to: N[6]!.id, origin: SELF, msgId: env.msgId, code: 'UNREACHABLE', ttl: 3 } as const;
    actor.send({ type: 'route.frame', from: N[3]!.id, message: notice });
    expect(outcomes).toEqual([]);
    actor.send({ type: 'route.frame', from: N[3]!.id, message: { ...notice, to: N[5]!.id, code: 'TTL_EXPIRED' } });
    clock.increment(config.ackTimeoutMs * 2);
    expect(outcomes).toEqual(['TTL_EXPIRED']);
  });

  it('sends nothing for a send rejected while it was being sealed', () => {
    const { actor, sent } = start([N[3]!.id]);
    const env = envelope(SELF, N[5]!.id);
    actor.send({ type: 'route.send', key: msgKey(env.msgId), env });
    expect(sent).toEqual([]);
  });

  it('a restarted router rejects the sends its predecessor left without a timer', () => {
    const pending = new PendingSends(8);
    const outcomes = file(pending, envelope(SELF, N[5]!.id));
    start([N[3]!.id], pending);
    expect(outcomes).toEqual(['TIMEOUT']);
  });
});

describe('router machine: a hop', () => {
  it('passes a message on greedily with one link less of ttl, never back where it came from', () => {
    const { actor, sent } = start([N[2]!.id, N[4]!.id, N[9]!.id]);
    const env = envelope(N[9]!.id, N[5]!.id, 4);
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env } });
    expect(sent).toEqual([{ to: N[4]!.id, message: { t: 'msg', env: { ...env, ttl: 3 } } }]);
  });

  it('goes straight to a linked target, whatever other links it has', () => {
    const { actor, sent } = start([N[2]!.id, N[3]!.id, N[4]!.id, N[5]!.id]);
    const env = envelope(N[9]!.id, N[5]!.id, 4);
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env } });
    expect(sent).toEqual([{ to: N[5]!.id, message: { t: 'msg', env: { ...env, ttl: 3 } } }]);
  });

  it('passes a message to the next best link when the best one refuses the frame (it began closing)', () => {
    const { actor, sent } = start([N[2]!.id, N[3]!.id, N[4]!.id], undefined, [N[4]!.id]);
    const env = envelope(N[9]!.id, N[5]!.id, 4);
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env } });
    expect(sent).toEqual([{ to: N[3]!.id, message: { t: 'msg', env: { ...env, ttl: 3 } } }]);
  });

  it('fails a message whose linked target refuses the frame, without trying it again', () => {
    const { actor, sent } = start([N[5]!.id, N[9]!.id], undefined, [N[5]!.id]);
    const env = envelope(N[9]!.id, N[5]!.id, 4);
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env } });
    expect(sent).toEqual([{ to: N[9]!.id, message: { t: 'fail', to: N[5]!.id, origin: N[9]!.id, msgId: env.msgId, code: 'UNREACHABLE', ttl: config.returnTtl } }]);
  });

  it('turns a message around as a fail notice when its ttl runs out or no link makes progress', () => {
    const { actor, sent } = start([N[9]!.id, N[8]!.id]);
    const expired = envelope(N[8]!.id, N[5]!.id, 1, 1);
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env: expired } });
    const stuck = envelope(N[8]!.id, N[5]!.id, 6, 2);
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env: stuck } });
    expect(sent).toEqual([
      { to: N[8]!.id, message: { t: 'fail', to: N[5]!.id, origin: N[8]!.id, msgId: expired.msgId, code: 'TTL_EXPIRED', ttl: config.returnTtl } },
      { to: N[8]!.id, message: { t: 'fail', to: N[5]!.id, origin: N[8]!.id, msgId: stuck.msgId, code: 'UNREACHABLE', ttl: config.returnTtl } },
    ]);
  });

  it('passes fail notices and acks on toward their destination, and drops them when stuck', () => {
    const { actor, sent } = start([N[3]!.id, N[6]!.id]);
    const notice = { t: 'fail', to: N[1]!.id, origin: N[7]!.id, msgId: new Uint8Array(16), code: 'UNREACHABLE', ttl: 2 } as const;
    actor.send({ type: 'route.frame', from: N[3]!.id, message: notice });
    actor.send({ type: 'route.frame', from: N[3]!.id, message: { ...notice, ttl: 1 } }); // used up: dropped
    const ack = envelope(N[2]!.id, N[8]!.id, 5);
    actor.send({ type: 'route.frame', from: N[3]!.id, message: { t: 'ack', env: ack } });
    // No way on clockwise (nothing linked in (us, N2)): it turns, toward N2 from behind, via N6.
    actor.send({ type: 'route.frame', from: N[3]!.id, message: { t: 'ack', env: { ...ack, target: N[2]!.id } } });
    // Already turned, and no link in (N7, us): no way on either way: dropped.
    actor.send({ type: 'route.frame', from: N[3]!.id, message: { t: 'ack', env: { ...ack, target: N[7]!.id }, ccw: true } });
    expect(sent).toEqual([
      { to: N[6]!.id, message: { ...notice, ttl: 1 } },
      { to: N[6]!.id, message: { t: 'ack', env: { ...ack, ttl: 4 } } },
      { to: N[6]!.id, message: { t: 'ack', env: { ...ack, target: N[2]!.id, ttl: 4 }, ccw: true } },
    ]);
  });

  it('a turned message stays turned: it never goes back to clockwise greedy', () => {
    // Clockwise, N4 would be the hop toward N5; counter-clockwise from us (N0) toward N5 it is N6.
    const { actor, sent } = start([N[4]!.id, N[6]!.id, N[9]!.id]);
    const env = envelope(N[9]!.id, N[5]!.id, 5);
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env, ccw: true } });
    actor.send({ type: 'route.frame', from: N[9]!.id, message: { t: 'msg', env: { ...env, msgId: new Uint8Array(16).fill(2) } } });
    expect(sent).toEqual([
      { to: N[6]!.id, message: { t: 'msg', env: { ...env, ttl: 4 }, ccw: true } },
      { to: N[4]!.id, message: { t: 'msg', env: { ...env, msgId: new Uint8Array(16).fill(2), ttl: 4 } } },
    ]);
  });
});

describe('router machine: the target', () => {
  it('hands envelopes for us to the endpoint, delivers what opens from its origin, and routes the ack back', () => {
    const { actor, sent, opened, acksSealed, delivered } = start([N[8]!.id, N[4]!.id]);
    const env = envelope(N[6]!.id, SELF);
    actor.send({ type: 'route.frame', from: N[8]!.id, message: { t: 'msg', env } });
    actor.send({ type: 'route.frame', from: N[8]!.id, message: { t: 'ack', env } });
    expect(opened).toEqual([
      { kind: 'msg', env },
      { kind: 'ack', env },
    ]);
    const data = new Uint8Array([7]);
    actor.send({ type: 'route.opened', origin: N[6]!.id, protocol: 'app/x', data, msgId: env.msgId });
    expect(delivered).toEqual([{ from: N[6]!.id, protocol: 'app/x', data }]);
    expect(acksSealed).toEqual([{ origin: N[6]!.id, msgId: env.msgId }]);
    const ack = envelope(SELF, N[6]!.id, 8, 9);
    actor.send({ type: 'route.ack.sealed', env: ack });
    // Greedy, clockwise toward the message's origin; the ack's own ttl, unspent at its origin.
    expect(sent).toEqual([{ to: N[4]!.id, message: { t: 'ack', env: ack } }]);
  });
});
