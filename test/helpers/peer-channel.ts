import { PeerChannel, type ChannelControlEvent, type InboundMessage, type PeerChannelOptions } from '../../src/actors/transport/peer-channel.js';
import type { PeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { Link } from '../../src/ports/transport.js';
import { DEFAULT_WIRE_LIMITS } from '../../src/wire/index.js';
import { createSimulatedClock } from '../../sim/simulated-clock.js';

/** An open link that hands every sent message to `onSend`: PeerChannel only needs these calls. */
export function openTestLink(onSend: (bytes: Uint8Array) => void = () => undefined): Link {
  return {
    applySignal: () => undefined,
    send: onSend,
    bufferedAmount: () => 0,
    maxMessageSize: () => 256 * 1024,
    localFingerprint: () => 'sha-256 00',
    remoteFingerprint: () => 'sha-256 11',
    close: () => undefined,
  };
}

/**
 * A PeerChannel to `remote` attached to `link` (not yet authenticated), recording what it
 * delivers, the internal (`ps/ring`) frames it passes on, its violations and control events.
 */
export function testChannel(remote: PeerId, link: Link = openTestLink(), extra: Partial<PeerChannelOptions> = {}) {
  const delivered: InboundMessage[] = [];
  const internal: Array<{ protocol: string; body: unknown }> = [];
  const violations: PeerSockError[] = [];
  const control: ChannelControlEvent[] = [];
  const clock = createSimulatedClock();
  const ch = new PeerChannel({
    remote,
    limits: DEFAULT_WIRE_LIMITS,
    clock,
    sendBudgetBytes: 1 << 20,
    maxQueuedBytes: 1 << 20,
    sendTimeoutMs: 1_000,
    violationThreshold: 1_000,
    deliver: (message) => delivered.push(message),
    reportViolation: (_peer, error) => violations.push(error),
    internal: { protocols: new Set(['ps/ring']), deliver: (_from, protocol, body) => internal.push({ protocol, body }) },
    ...extra,
  });
  ch.attach(link, (event) => control.push(event));
  return { ch, delivered, internal, violations, control, clock };
}
