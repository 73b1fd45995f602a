import type { PeerId } from '../../identity/peer-id.js';
import type { ProviderRecord } from './provider-record.js';

/**
 * Combining the answers of several holders into one result. Holders may return different
 * versions of one provider's record (one missed the latest round): the one issued last wins,
 * as in the store. Records must have been verified before they get here.
 */
export function mergeRecords(into: Map<PeerId, ProviderRecord>, records: readonly ProviderRecord[], now: number): void {
  for (const record of records) {
    if (record.expiresAt <= now) continue;
    const held = into.get(record.provider);
    if (held === undefined || held.issuedAt < record.issuedAt) into.set(record.provider, record);
  }
}

/** Latest expiry first (the freshest announcement), then by provider so equal times order the same everywhere. */
export function sortRecords(records: readonly ProviderRecord[]): ProviderRecord[] {
  return [...records].sort((a, b) => b.expiresAt - a.expiresAt || (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
}
