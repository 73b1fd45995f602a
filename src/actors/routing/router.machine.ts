import { enqueueActions, setup } from 'xstate';
import type { SealedEnvelope } from '../../crypto/sealed-envelope.js';
import { PeerSockError } from '../../errors.js';
import { shortId, type PeerId } from '../../identity/peer-id.js';
import type { Logger } from '../../ports/logger.js';
import { contactOf, type Contact } from '../ring/contact.js';
import type { InboundMessage } from '../transport/peer-channel.js';
import type { PendingSends } from './pending-sends.js';
import { decideForward } from './route-choice.js';
import type { EndpointEvent, RouteEndpoint } from './route-endpoint.js';
import { msgKey, type RouteFailCode, type RouteMessage } from './route-messages.js';
import { maxRetransmits, type RouterConfig } from './router-config.js';

/**
 * Routed messages for one node (DESIGN §3): sends to peers we have no link to travel hop by hop
 * over the ring, sealed end to end, and are acknowledged end to end.
 *
 *   origin:  route.send → first hop, arm `route.timeout` (a delayed event on the node's clock)
 *            → route.acked (settle: resolved) | fail notice (settle: UNREACHABLE / TTL_EXPIRED)
 *              | route.timeout (settle: TIMEOUT)
 *   hop:     route.frame → ttl − 1 → next hop; or a fail notice back toward the origin
 *   target:  route.frame → endpoint opens (signature, decryption, replay) → route.opened
 *            → deliver from the origin → endpoint seals the ack → route.ack.sealed → routed back
 *
 * The context holds no per-message state: the promise handles of pending sends sit in
 * `ports.pending` (outside the snapshot), their timers in XState's scheduler (one delayed event
 * per send, id = msgId), and forwarding keeps nothing at all. Crypto runs in `ports.endpoint`,
 * which reports back with events. Links are read from the ports when a message moves.
 *
 * Retransmission: until its ack comes, the origin sends the same sealed envelope again every
 * retransmitIntervalMs (`route.retransmit`, a second delayed event per send, id = msgId/resend),
 * over whatever links it has then. The target delivers one copy (replay window) and acks every
 * later one again from its cache of sealed acks (route-endpoint.ts). Without it, a message or
 * ack lost with a closing link was lost for good (seen: the demo's routed message after its
 * server stopped, while links were being replaced). A send that still gets no ack rejects
 * with TIMEOUT, "fate unknown": it may have been delivered and every ack lost.
 */
export interface RouterPorts {
  logger: Logger;
  /** Peers with an open, authenticated link now. */
  links(): readonly PeerId[];
  /** Sends a `ps/route` message over a direct link; false when there is none. */
  send(to: PeerId, message: RouteMessage): boolean;
  endpoint: Pick<RouteEndpoint, 'open' | 'sealAck' | 'ackSent'>;
  /** Hands a routed message to the application (the node's messages$). */
  deliver(message: InboundMessage): void;
  pending: PendingSends;
}

export interface RouterInput {
  self: PeerId;
  config: RouterConfig;
  ports: RouterPorts;
}

interface Context {
  self: Contact;
  config: RouterConfig;
  ports: RouterPorts;
}

export type RouterEvent =
  /** Our own message, sealed; `key` (its msgId in hex) is already in ports.pending. */
  | { type: 'route.send'; key: string; env: SealedEnvelope }
  /** A parsed `ps/route` frame from a neighbour. */
  | { type: 'route.frame'; from: PeerId; message: RouteMessage }
  | EndpointEvent
  | { type: 'route.timeout'; key: string }
  | { type: 'route.retransmit'; key: string };

/** The id of a send's retransmission timer (its timeout's id is the key itself). */
const resendId = (key: string) => `${key}/resend`;

function routeError(code: RouteFailCode | 'TIMEOUT', target: PeerId, detail: string): PeerSockError {
  return new PeerSockError(code, `routed message to ${shortId(target)}: ${detail}`);
}

function failCause(code: RouteFailCode, ttl: number): string {
  return code === 'TTL_EXPIRED' ? `its ttl of ${ttl} links ran out on the way` : 'a hop on the way had no link closer to the target';
}

/**
 * Passes on an envelope addressed to someone else. Returns the failure code when it cannot
 * (no progress possible, ttl used up, or the chosen link closed under us).
 */
function forwardEnvelope(context: Context, kind: 'msg' | 'ack', env: SealedEnvelope, previousHop: PeerId | undefined, ccw?: true): RouteFailCode | undefined {
  const sent = sendOn(context, kind, env, previousHop === undefined ? { originating: true } : { previousHop, ...(ccw ? { ccw } : {}) });
  return 'code' in sent ? sent.code : undefined;
}

/** forwardEnvelope's work, saying which link the envelope left by. */
function sendOn(
  context: Context,
  kind: 'msg' | 'ack',
  env: SealedEnvelope,
  how: { originating: true; avoid?: readonly PeerId[] } | { previousHop: PeerId; ccw?: true },
): { to: PeerId } | { code: RouteFailCode } {
  const { self, ports } = context;
  const links = ports.links();
  const refused: PeerId[] = [];
  // A link can refuse the frame (it began closing since `links` was read): the next best link
  // takes it. Reported as UNREACHABLE, a closing link made the origin give up on a target that
  // other links led to (1,000 nodes, no churn: 7 of 501 routed sends).
  for (;;) {
    const avoid = 'avoid' in how && how.avoid ? [...how.avoid, ...refused] : refused;
    const decision = decideForward({ self, target: env.target, ttl: env.ttl, links, origin: env.origin, ...how, ...(avoid.length > 0 ? { avoid } : {}) });
    if (decision.action === 'fail') return { code: refused.length > 0 ? 'UNREACHABLE' : decision.code };
    // A linked target is chosen whatever is avoided: once it refused, there is nothing better.
    if (refused.includes(decision.to)) return { code: 'UNREACHABLE' };
    const next = decision.ttl === env.ttl ? env : { ...env, ttl: decision.ttl };
    if (ports.send(decision.to, decision.ccw ? { t: kind, env: next, ccw: true } : { t: kind, env: next })) return { to: decision.to };
    refused.push(decision.to);
  }
}

/**
 * Our message, first copy or a later one. A later copy leaves by a link no earlier copy took
 * when one makes progress: a copy lost in a crashed hop that is not detected yet (up to the
 * heartbeat timeout, 15 s) would be lost there again by the same greedy choice.
 */
function sendCopy(context: Context, key: string, env: SealedEnvelope): RouteFailCode | undefined {
  const sent = sendAround(context, 'msg', env, context.ports.pending.hopsOf(key));
  if ('code' in sent) return sent.code;
  context.ports.pending.noteHop(key, sent.to);
  return undefined;
}

/** An envelope of ours by a link none of `tried` is, while one makes progress; else by the best. */
function sendAround(context: Context, kind: 'msg' | 'ack', env: SealedEnvelope, tried: readonly PeerId[]): ReturnType<typeof sendOn> {
  const sent = sendOn(context, kind, env, { originating: true, avoid: tried });
  return 'code' in sent && tried.length > 0 ? sendOn(context, kind, env, { originating: true }) : sent;
}

export const routerMachine = setup({
  types: {
    context: {} as Context,
    events: {} as RouterEvent,
    input: {} as RouterInput,
  },
  delays: {
    ackTimeout: ({ context }) => context.config.ackTimeoutMs,
    retransmitInterval: ({ context }) => context.config.retransmitIntervalMs,
  },
  actions: {
    /**
     * A restarted router inherits pending sends whose timers died with the old instance:
     * reject them rather than let them wait forever. (Empty on a first start.)
     */
    rejectOrphans: ({ context }) =>
      context.ports.pending.rejectAll(new PeerSockError('TIMEOUT', 'the router restarted while the message awaited its ack; it may or may not have been delivered')),

    originate: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'route.send') return;
      const { key, env } = event;
      const { pending } = context.ports;
      // Rejected while it was being sealed (node stopping, router restarted): nothing to send.
      if (!pending.has(key)) return;
      const code = sendCopy(context, key, env);
      if (code !== undefined) {
        pending.settle(key, routeError(code, env.target, code === 'UNREACHABLE' ? 'no link leads closer to it' : failCause(code, env.ttl)));
        return;
      }
      enqueue.raise({ type: 'route.timeout', key }, { id: key, delay: 'ackTimeout' });
      if (maxRetransmits(context.config) > 0) {
        pending.keep(key, env);
        enqueue.raise({ type: 'route.retransmit', key }, { id: resendId(key), delay: 'retransmitInterval' });
      }
    }),

    /** Sends a pending message again, by the best link now; a copy with no way on is skipped (the timeout decides). */
    retransmit: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'route.retransmit') return;
      const env = context.ports.pending.takeResend(event.key, maxRetransmits(context.config));
      if (env === undefined) return;
      const code = sendCopy(context, event.key, env);
      if (code !== undefined) context.ports.logger.debug('routed copy not sent', { target: shortId(env.target), code });
      enqueue.raise({ type: 'route.retransmit', key: event.key }, { id: resendId(event.key), delay: 'retransmitInterval' });
    }),

    onFrame: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'route.frame') return;
      const { self, ports, config } = context;
      const { from, message } = event;
      switch (message.t) {
        case 'msg': {
          const { env } = message;
          if (env.target === self.id) {
            ports.endpoint.open('msg', env);
            return;
          }
          const code = forwardEnvelope(context, 'msg', env, from, message.ccw);
          if (code === undefined) return;
          ports.logger.debug('routed message stuck', { origin: shortId(env.origin), target: shortId(env.target), code });
          const notice: Extract<RouteMessage, { t: 'fail' }> = { t: 'fail', to: env.target, origin: env.origin, msgId: env.msgId, code, ttl: config.returnTtl };
          if (env.origin === self.id) {
            // Our own message came back to us and stuck here.
            enqueue.raise({ type: 'route.frame', from: self.id, message: notice });
            return;
          }
          const back = decideForward({ self, target: env.origin, ttl: config.returnTtl, links: ports.links(), origin: self.id, originating: true });
          if (back.action === 'forward') ports.send(back.to, back.ccw ? { ...notice, ccw: true } : notice);
          return;
        }
        case 'ack': {
          const { env } = message;
          if (env.target === self.id) {
            ports.endpoint.open('ack', env);
            return;
          }
          // A stuck ack gets no notice: its origin (our message's target) has nothing to do about it; the sender times out.
          const code = forwardEnvelope(context, 'ack', env, from, message.ccw);
          if (code !== undefined) ports.logger.debug('routed ack dropped', { target: shortId(env.target), code });
          return;
        }
        case 'fail': {
          if (message.origin === self.id) {
            const key = msgKey(message.msgId);
            // Only a notice naming the send's real target counts (a stale or confused one does not).
            if (ports.pending.targetOf(key) !== message.to) return;
            // With copies out, a notice speaks for one copy's path only: another copy may have
            // arrived (its ack lost), so rejecting as undelivered would invite a duplicate. The
            // ack or the timeout (TIMEOUT: fate unknown) decides.
            if (ports.pending.resentOf(key) > 0) return;
            enqueue.cancel(key);
            enqueue.cancel(resendId(key));
            ports.pending.settle(key, routeError(message.code, message.to, failCause(message.code, config.ttl)));
            return;
          }
          const decision = decideForward({ self, target: message.origin, ttl: message.ttl, links: ports.links(), ...(message.ccw ? { ccw: true } : {}), previousHop: from, origin: self.id });
          if (decision.action === 'forward') ports.send(decision.to, decision.ccw ? { ...message, ttl: decision.ttl, ccw: true } : { ...message, ttl: decision.ttl });
          return;
        }
      }
    }),

    deliverAndAck: ({ context, event }) => {
      if (event.type !== 'route.opened') return;
      context.ports.deliver({ from: event.origin, protocol: event.protocol, data: event.data });
      context.ports.endpoint.sealAck(event.origin, event.msgId);
    },

    /** Our ack; sent again for a copy of the message, by a link no earlier ack took while one makes progress (as sendCopy). */
    sendAck: ({ context, event }) => {
      if (event.type !== 'route.ack.sealed') return;
      const sent = sendAround(context, 'ack', event.env, event.avoid ?? []);
      if ('code' in sent) context.ports.logger.debug('could not route an ack', { to: shortId(event.env.target), code: sent.code });
      else context.ports.endpoint.ackSent(event.env, sent.to);
    },

    settleAcked: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'route.acked') return;
      const { pending } = context.ports;
      // An ack is signed by its sender: it counts only from the peer the message went to.
      if (pending.targetOf(event.key) !== event.from) return;
      enqueue.cancel(event.key);
      enqueue.cancel(resendId(event.key));
      pending.settle(event.key);
    }),

    settleTimedOut: ({ context, event }) => {
      if (event.type !== 'route.timeout') return;
      const { pending } = context.ports;
      const target = pending.targetOf(event.key);
      if (target === undefined) return;
      pending.settle(
        event.key,
        routeError('TIMEOUT', target, `no ack within ${context.config.ackTimeoutMs} ms (it may or may not have been delivered)`),
      );
    },
  },
}).createMachine({
  id: 'router',
  context: ({ input }) => ({ self: contactOf(input.self), config: input.config, ports: input.ports }),
  initial: 'running',
  states: {
    running: {
      entry: 'rejectOrphans',
      on: {
        'route.send': { actions: 'originate' },
        'route.frame': { actions: 'onFrame' },
        'route.opened': { actions: 'deliverAndAck' },
        'route.ack.sealed': { actions: 'sendAck' },
        'route.acked': { actions: 'settleAcked' },
        'route.timeout': { actions: 'settleTimedOut' },
        'route.retransmit': { actions: 'retransmit' },
      },
    },
  },
});
