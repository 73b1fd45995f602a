import { afterEach, describe, expect, it } from 'vitest';
import type { SignalEnvelope } from '../../src/actors/transport/signal-envelope.js';
import { createSim, phaseOf, type Sim } from '../helpers/sim-ports.js';

/**
 * The node's signal relay can deliver one signal twice: an overlay send that is not
 * acknowledged in time is retried through a server, and the first copy may have arrived after
 * all. Seen in the demo: the dialer applied the second copy of the answer, libdatachannel threw
 * "Unexpected remote answer description in signaling state stable" and the attempt died. The
 * memory network throws the same way, so these fail without the fix.
 */
const S = 25;
let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

function start(linkLatencyMs = 10): Sim {
  sim = createSim({ seed: 7, latencyMs: linkLatencyMs, signalingLatencyMs: S, config: { signalingTimeoutMs: 1_000, connectTimeoutMs: 1_500, authTimeoutMs: 800, maxDialAttempts: 3, retryBaseMs: 200 } });
  return sim;
}

const kindOf = (envelope: SignalEnvelope) => ('signal' in envelope ? envelope.signal.type : 'reject');

/** Each side's connection-actor phases, in order, consecutive repeats collapsed. */
function phases(sim: Sim, node: string, peer: string): string[] {
  const out: string[] = [];
  for (const record of sim.statesOf(node, peer)) {
    const phase = phaseOf(record.state);
    if (out[out.length - 1] !== phase) out.push(phase);
  }
  return out;
}

function expectOpenedOnce(sim: Sim): void {
  expect(sim.node('a').peerState('b')).toBe('attempt.open.alive');
  expect(sim.node('b').peerState('a')).toBe('attempt.open.alive');
  expect(sim.noticesOf('a', 'peer.closed')).toEqual([]);
  expect(sim.noticesOf('b', 'peer.closed')).toEqual([]);
  // One attempt each, straight through: no failure and retry hidden behind the final state.
  expect(phases(sim, 'a', 'b')).toEqual(['signaling', 'connecting', 'authenticating', 'open']);
  expect(phases(sim, 'b', 'a')).toEqual(['signaling', 'connecting', 'authenticating', 'open']);
}

describe('a signal the relay delivers twice', () => {
  it('the dialer applies only the first copy of the answer (copies arriving together)', async () => {
    const sim = start();
    const a = sim.addNode('a');
    sim.addNode('b');
    let doubled = 0;
    sim.setRelay((from, to, envelope) => {
      if (kindOf(envelope) !== 'answer') return undefined;
      doubled += 1;
      return [
        { from, to, data: envelope },
        { from, to, data: envelope },
      ];
    });
    a.connect('b');
    await sim.advance(1_000);
    expect(doubled).toBe(1);
    expectOpenedOnce(sim);
  });

  it('the dialer ignores a copy of the answer that arrives while it is connecting', async () => {
    // A slow link: the copy (one signaling latency later) lands while the link is still being set up.
    const sim = start(100);
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    let answer: SignalEnvelope | undefined;
    sim.setRelay((_from, _to, envelope) => {
      if (kindOf(envelope) === 'answer') answer = envelope;
      return undefined;
    });
    a.connect('b');
    await sim.runUntil(() => phaseOf(a.peerState('b') ?? '') === 'connecting', 1_000);
    expect(answer).toBeDefined();
    sim.inject(b.peerId, a.peerId, answer);
    await sim.advance(S);
    expect(phaseOf(a.peerState('b') ?? '')).toBe('connecting');
    await sim.advance(1_000);
    expectOpenedOnce(sim);
  });

  it('the listener applies its offer once even when the offer comes twice', async () => {
    const sim = start();
    const a = sim.addNode('a');
    sim.addNode('b');
    sim.setRelay((from, to, envelope) =>
      kindOf(envelope) === 'offer'
        ? [
            { from, to, data: envelope },
            { from, to, data: envelope },
          ]
        : undefined,
    );
    a.connect('b');
    await sim.advance(1_000);
    expectOpenedOnce(sim);
  });
});
