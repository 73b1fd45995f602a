import { expect } from 'vitest';
import { describeViolations, type Violation } from '../../sim/invariants.js';
import { replayFileText, type ReplaySettings } from '../../sim/replay-file.js';
import type { Scenario } from '../../sim/scenario.js';

/**
 * Fails a property case whose checks found violations, with one message that ends in the
 * replay file, settings included (save it and run `peersock sim --replay <file>`). Not
 * `toEqual([])`: its diff of every violation object came last and ran to hundreds of lines,
 * so the tail of a CI log (all a failed run shows here) held the diff but neither the
 * scenario nor the violations' summary.
 */
export function expectNoViolations(violations: readonly Violation[], scenario: Scenario, settings: ReplaySettings, context?: string): void {
  const message = [
    `${violations.length} invariant violations:`,
    describeViolations(violations),
    ...(context === undefined ? [] : [context]),
    'replay file:',
    replayFileText(scenario, settings),
  ].join('\n');
  expect(violations.length, message).toBe(0);
}
