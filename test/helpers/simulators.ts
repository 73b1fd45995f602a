import { afterEach } from 'vitest';
import type { Simulator } from '../../sim/simulator.js';

/**
 * The simulators a test file opens. Push each one here; the afterEach this registers closes
 * them all when the test ends, passed or failed, so a failed assertion never leaves a
 * simulation's timers and actors running into the next test.
 */
export function closedAfterEach(): Simulator[] {
  const open: Simulator[] = [];
  afterEach(async () => {
    for (const sim of open.splice(0)) await sim.close();
  });
  return open;
}
