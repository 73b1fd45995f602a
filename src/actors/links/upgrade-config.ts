import { PeerSockError } from '../../errors.js';

/**
 * When a routed conversation becomes a direct link (issue 4: "a node may upgrade a busy routed
 * conversation to a direct link, signaled through the overlay"), and when that link goes again.
 */
export interface UpgradeConfig {
  /** Application messages routed to or from one peer within `windowMs` that make the conversation busy. */
  threshold: number;
  windowMs: number;
  /** Upgraded links held at once, on top of the ring's and the DHT's: each costs a connection. */
  maxLinks: number;
  /** An upgraded link that carried no application message for this long is closed (checked every idleMs / 2). */
  idleMs: number;
  /** Peers whose routed traffic is counted at once (least recently counted forgotten first). */
  maxTracked: number;
}

export const DEFAULT_UPGRADE_CONFIG: UpgradeConfig = Object.freeze({
  threshold: 32,
  windowMs: 10_000,
  maxLinks: 4,
  idleMs: 60_000,
  maxTracked: 256,
});

/** Defaults filled in and every field checked; throws INVALID_ARGUMENT naming the field. */
export function upgradeConfig(partial: Partial<UpgradeConfig> = {}): UpgradeConfig {
  const config: UpgradeConfig = { ...DEFAULT_UPGRADE_CONFIG, ...partial };
  for (const field of ['threshold', 'windowMs', 'maxLinks', 'idleMs', 'maxTracked'] as const) {
    const value = config[field];
    const min = field === 'maxLinks' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new PeerSockError('INVALID_ARGUMENT', `upgrade.${field} must be an integer ≥ ${min}, got ${String(value)}`);
    }
  }
  return config;
}
