import { expect } from 'vitest';
import { describeViolations, type Violation } from '../../sim/invariants.js';
import { scenarioToJson, type Scenario } from '../../sim/scenario.js';

/**
 * Fails a property case whose checks found violations, with one message that ends in the
 * scenario as `peersock sim --replay` reads it (which runs it with the ring and connection
 * settings of `npm run fuzz`; settings beyond those, such as a DHT, go in `context`). Not `toEqual([])`: its diff of every violation object
 * came last and ran to hundreds of lines, so the tail of a CI log (all a failed run shows
 * here) held the diff but neither the scenario nor the violations' summary.
 */
export function expectNoViolations(violations: readonly Violation[], scenario: Scenario, context?: string): void {
  const message = [
    `${violations.length} invariant violations:`,
    describeViolations(violations),
    ...(context === undefined ? [] : [context]),
    'replay:',
    scenarioToJson(scenario),
  ].join('\n');
  expect(violations.length, message).toBe(0);
}
