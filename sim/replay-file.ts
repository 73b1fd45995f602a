import type { DhtConfig } from '../src/actors/dht/dht-config.js';
import type { RingConfig } from '../src/actors/ring/ring-config.js';
import type { ConnectionConfig } from '../src/actors/transport/connection-config.js';
import { scenarioToJson, type Scenario } from './scenario.js';

/**
 * The simulator settings a replay file carries beside its scenario (`sim` in the file):
 * `peersock sim --replay` runs the scenario with them. `dht` turns the DHT on, and the replay
 * then checks lookups as the DHT churn property does.
 */
export interface ReplaySettings {
  ring?: Partial<RingConfig>;
  connection?: Partial<ConnectionConfig>;
  dht?: Partial<DhtConfig>;
}

/** A replay file: the scenario and the settings it ran under. */
export function replayFileText(scenario: Scenario, settings: ReplaySettings): string {
  const json = JSON.parse(scenarioToJson(scenario)) as Record<string, unknown>;
  return `${JSON.stringify({ ...json, sim: settings }, null, 2)}\n`;
}
