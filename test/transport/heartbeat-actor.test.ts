import { afterEach, describe, expect, it } from 'vitest';
import { createSim, FAST_CONNECTION, type Sim } from '../helpers/sim-ports.js';

/** The heartbeat as its own callback actor under the connection manager (src/actors/transport/heartbeat.ts). */
const L = 10;
const S = 25;

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('heartbeat actor', () => {
  it('a beat that throws fails the manager (its supervisor restarts it), instead of escaping into the clock', async () => {
    sim = createSim({ seed: 7, latencyMs: L, signalingLatencyMs: S, config: FAST_CONNECTION });
    let broken = false;
    const a = sim.addNode('a', {
      watched: () => {
        if (broken) throw new Error('host port broke');
        return true;
      },
    });
    const b = sim.addNode('b');
    a.connect('b');
    await sim.advance(S * 2 + 10 * L);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    // Here the manager is a root actor: its error is observed, as a supervisor would.
    const errors: unknown[] = [];
    a.actor.subscribe({ error: (error) => errors.push(error) });
    broken = true;
    await sim.advance(FAST_CONNECTION.heartbeatIntervalMs! + 1);
    expect(errors).toHaveLength(1);
    expect(a.actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toContain('host port broke');
    void b;
  });
});
