/**
 * The link budget in the simulator, DHT on: links others keep (ring links, application links)
 * that reach a node already full of DHT links must push DHT links out, not sit on top of them.
 * Application connections to full nodes are the sharpest case: they come last, and their
 * openers never yield them. Announced in the order links came up, such a link was the one
 * listed past the budget, no DHT opener saw itself in the excess, and the node stayed over
 * budget for as long as its DHT links lasted.
 *
 * The bound checked: once the network has settled, no node stays over its budget for more
 * than OVER_BUDGET_MAX_MS in a row. Being over at all cannot be ruled out: a DHT dial that
 * lands on a full node is over budget until the node's link set reaches the dialer and its
 * graceful close completes (a few round trips); a link whose opener keeps it is known as such
 * once the opener's link set arrives, and compensated when the node next announces its set —
 * at most once per plan interval, on a plan round (jittered ±50%) or a link change: within 2.5
 * plan intervals, then a message and a close. Nor the peak: dials landing together each count
 * until they yield. Seeds 3-7: at most 3 s over in a row, peak 35; before the announced order,
 * seeds 3-5 each had a node over budget for the whole window.
 */
import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { createSimulator } from '../../sim/simulator.js';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import { PROPERTY_CONNECTION, PROPERTY_RING_CONFIG } from '../../src/cli/sim-profile.js';
import { defaultJoinWindowMs } from '../../src/cli/sim-run.js';
import { closedAfterEach } from '../helpers/simulators.js';

const NODES = 80;
const BUDGET = 32;
const DHT: Partial<DhtConfig> = { planIntervalMs: 2_000, linkBudget: BUDGET };
// Partition-merge probes off: each opens a short-lived discovery link on both ends (the
// ring's, counted against the budget like any other); kept out so that what is checked is
// the DHT's share.
const RING = { ...PROPERTY_RING_CONFIG, mergeIntervalMs: 3_600_000 };
const SETTLED_AT = 30_000;
const APPLICATION_LINKS = 40;
const WINDOW_MS = 20_000;
/** 2.5 plan intervals (see above), with half a plan interval and 2 s to spare for the messages and the close. */
const OVER_BUDGET_MAX_MS = 3 * DHT.planIntervalMs! + 2_000;

const open = closedAfterEach();

describe('DHT link budget in the simulator', () => {
  it(`${NODES} nodes: application links to full nodes push DHT links out; no node stays over budget`, async () => {
    const sim = createSimulator({ seed: 3, connection: PROPERTY_CONNECTION, ring: RING, dht: DHT, signatures: 'simulated' });
    open.push(sim);
    const window = defaultJoinWindowMs(NODES);
    for (let i = 0; i < NODES; i += 1) {
      await sim.advanceTo(Math.round((i * window) / NODES));
      sim.addNode();
    }
    await sim.advanceTo(SETTLED_AT);
    const degree = (node: { node: { peers(): readonly unknown[] } }) => node.node.peers().length;

    // Applications connect to nodes whose budget is used up.
    const random = createSeededRandom(11);
    const nodes = sim.alive();
    const full = nodes.filter((node) => degree(node) >= BUDGET);
    // A precondition of the scenario, not the property: enough full nodes to aim at (how many
    // reach the budget moves with the ring's join rules: 5 of 80 since the eighth session, 6+ before).
    expect(full.length).toBeGreaterThanOrEqual(4);
    const pairs = new Set<string>();
    let opened = 0;
    while (pairs.size < APPLICATION_LINKS) {
      const to = full[Math.floor(random.float() * full.length)]!;
      const from = nodes[Math.floor(random.float() * nodes.length)]!;
      if (from === to || from.node.peers().includes(to.id) || pairs.has(`${from.id}${to.id}`) || pairs.has(`${to.id}${from.id}`)) continue;
      pairs.add(`${from.id}${to.id}`);
      from.node.connect(to.id).then(() => (opened += 1), () => undefined);
    }

    const overSince = new Map<string, number>();
    let longest = 0;
    let worst = '';
    let peak = 0;
    const end = sim.now() + WINDOW_MS;
    while (sim.now() < end) {
      await sim.advance(250);
      for (const node of sim.alive()) {
        const links = degree(node);
        peak = Math.max(peak, links);
        if (links <= BUDGET) {
          overSince.delete(node.id);
          continue;
        }
        const since = overSince.get(node.id) ?? sim.now();
        overSince.set(node.id, since);
        if (sim.now() - since > longest) {
          longest = sim.now() - since;
          worst = `${node.shortId} at ${links} links`;
        }
      }
    }
    console.log(`link-budget-sim: ${NODES} nodes, ${full.length} full, ${opened} application links; longest over budget ${longest} ms (${worst || 'none'}), peak ${peak}`);
    expect(opened).toBeGreaterThan(APPLICATION_LINKS / 2);
    expect(longest, worst).toBeLessThanOrEqual(OVER_BUDGET_MAX_MS);
  }, 120_000);
});
