/**
 * Ring formation with the settings of `peersock demo` (fast rounds, short request timeout, r = 2),
 * in the simulator. Regression for the demo's formation stall: a node asked a just-adopted
 * successor before the link to it was open, the request was dropped, and the silence made it
 * suspect the successor and ignore it for the failed-peer memory (see test/ring/successor-link.test.ts).
 * Before the fix, none of these seeds formed a correct ring within 30 virtual seconds; after it,
 * the slowest took 1.4 s (one after another) and 4.2 s (all at once).
 */
import { describe, expect, it } from 'vitest';
import { checkNetwork } from '../../sim/check-network.js';
import { describeViolations } from '../../sim/invariants.js';
import { createSimulator, type Simulator } from '../../sim/simulator.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../../src/actors/ring/ring-config.js';
import { closedAfterEach } from '../helpers/simulators.js';

/** src/cli/commands/demo-story.ts: RING and CONNECTION. */
const RING: RingConfig = { ...DEFAULT_RING_CONFIG, stabilizeIntervalMs: 250, requestTimeoutMs: 1_000, mergeIntervalMs: 5_000, successorListLength: 2 };
const CONNECTION = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 1_000 };
/** 20 of the demo's rounds: far below the failed-peer memory (10 s) a wrong suspicion costs. */
const FORM_WITHIN_MS = 5_000;

const open = closedAfterEach();

function simulator(seed: number, nodes = 0): Simulator {
  const sim = createSimulator({ seed, nodes, connection: CONNECTION, ring: RING });
  open.push(sim);
  return sim;
}

const ringCorrect = (sim: Simulator) => checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false }).length === 0;

async function expectFormedWithin(sim: Simulator, ms: number): Promise<void> {
  const formed = await sim.runUntil(() => ringCorrect(sim), ms);
  expect(formed, describeViolations(checkNetwork(sim, { ring: { successorListLength: RING.successorListLength }, connected: false }))).toBe(true);
}

describe('ring formation with the demo settings (simulator)', () => {
  for (const seed of [1, 2, 3]) {
    it(`16 nodes joining one after another (each a member before the next starts) form the ring within ${FORM_WITHIN_MS} ms, seed ${seed}`, async () => {
      const sim = simulator(seed);
      for (let i = 0; i < 16; i += 1) {
        const node = sim.addNode();
        expect(await sim.runUntil(() => node.ring()?.state.startsWith('member') ?? false, 10_000)).toBe(true);
      }
      await expectFormedWithin(sim, FORM_WITHIN_MS);
    });
  }

  it('8 nodes starting at once form the ring within 2 × that', async () => {
    await expectFormedWithin(simulator(4, 8), 2 * FORM_WITHIN_MS);
  });
});
