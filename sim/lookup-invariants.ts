import { closest } from '../src/actors/dht/xor-distance.js';
import { positionHex, type Position } from '../src/actors/ring/id-space.js';
import type { Violation } from './invariants.js';
import { createSeededRandom } from './seeded-random.js';
import type { Simulator } from './simulator.js';

/**
 * "A lookup for an ID returns the truly closest alive peers" (issue 4, item 6): from `askers`
 * random alive nodes, look up `targets` random points each, with virtual time running, and
 * compare every answer with the truth computed from the simulator's own list of alive nodes.
 * Meant for after a scenario's quiet period, when the network has had time to heal; a lookup
 * that fails (TIMEOUT, NOT_CONNECTED) is a violation too.
 */
export interface LookupCheckOptions {
  askers: number;
  targets: number;
  count: number;
  /** Virtual ms each lookup may take. */
  maxMs: number;
  seed: number;
}

export async function checkLookups(sim: Simulator, options: LookupCheckOptions): Promise<Violation[]> {
  const random = createSeededRandom(options.seed);
  const violations: Violation[] = [];
  const alive = sim.alive();
  if (alive.length === 0) return violations;
  for (let a = 0; a < options.askers; a += 1) {
    const asker = alive[Math.floor(random.float() * alive.length)]!;
    for (let t = 0; t < options.targets; t += 1) {
      const target = Buffer.from(random.bytes(32)).toString('hex') as Position;
      const where = `lookup from ${asker.shortId} for ${target.slice(0, 10)}`;
      let found: readonly string[];
      try {
        found = await sim.until(asker.node.closestPeers({ position: target }, options.count), options.maxMs);
      } catch (error) {
        // A node alone knows no peer: NOT_CONNECTED is the documented answer, not a fault.
        if ((error as { code?: string }).code === 'NOT_CONNECTED' && sim.alive().length === 1) continue;
        violations.push({ kind: 'lookup-failed', node: asker.shortId, message: `${where} failed: ${(error as { code?: string }).code ?? String(error)}` });
        continue;
      }
      // The truth at the moment of the answer (nothing crashes while the check runs).
      const truth = closest(target, sim.alive(), options.count, (node) => positionHex(node.id)).map((node) => node.id);
      if (found.join() !== truth.join()) {
        violations.push({
          kind: 'lookup-wrong',
          node: asker.shortId,
          message: `${where} answered [${found.map((id) => id.slice(0, 10)).join(', ')}], the closest alive are [${truth.map((id) => id.slice(0, 10)).join(', ')}]`,
          expected: truth,
          actual: found,
        });
      }
    }
  }
  return violations;
}
