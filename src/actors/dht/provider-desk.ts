import { PeerSockError, isPeerSockError, type ErrorCode } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import type { CryptoPort } from '../../ports/crypto.js';
import type { Logger } from '../../ports/logger.js';
import type { Position } from '../ring/id-space.js';
import {
  DEFAULT_PROVIDER_POLICY,
  createProviderRecord,
  serviceKey,
  verifyProviderRecord,
  type ProviderPolicy,
  type ProviderRecord,
} from './provider-record.js';

/**
 * The cryptographic side of provider records: signing ours and verifying everyone else's.
 * Both are asynchronous (the CryptoPort may use worker threads), so they run beside the DHT
 * actor, not inside it, and report outcomes to it as events, the way the route endpoint
 * reports to the router. The actor never holds or hands on a record this desk has not passed.
 *
 * A record that fails is dropped and reported as a violation of the link that handed it over,
 * except one that merely expired: records expire while in flight or in a slow queue, and an
 * honest holder cannot prevent that. A forged signature, a lifetime beyond the policy or an
 * issue date beyond the clock-skew allowance is something an honest holder would have refused.
 *
 * Bounded: at most `maxVerifying` records are being verified at once; a batch arriving beyond
 * that is dropped (reported as verified with no record, so a waiting query still moves on).
 */
export type ProviderDeskEvent =
  | { type: 'provider.signed'; service: string; epoch: number; record: ProviderRecord }
  | { type: 'provider.sign.failed'; service: string; epoch: number; code: ErrorCode; message: string }
  /** The records of one batch that passed every check (possibly none), for the `tag` it was asked with. */
  | { type: 'records.verified'; tag: VerifyTag; from: PeerId; records: ProviderRecord[] };

/** What a verified batch is for: records offered for our store, or an answer to our query `rid` (wire rid). */
export type VerifyTag = { kind: 'store' } | { kind: 'answer'; rid: number };

export interface ProviderDesk {
  /** Signs a record for `service` issued now, living `ttlMs`; `provider.signed` or `provider.sign.failed` follows. */
  sign(service: string, ttlMs: number, epoch: number): void;
  /** Verifies records `from` handed us, all for `key`; `records.verified` follows with the ones that pass. */
  verify(from: PeerId, key: Position, records: readonly ProviderRecord[], tag: VerifyTag): void;
}

export interface ProviderDeskOptions {
  crypto: Pick<CryptoPort, 'publicKey' | 'sign' | 'verify'>;
  /** Wall clock, ms since the Unix epoch: record times are compared across nodes. */
  wallClock: () => number;
  policy?: ProviderPolicy;
  /** Records under verification at once (default 256). */
  maxVerifying?: number;
  logger: Logger;
  report(event: ProviderDeskEvent): void;
  reportViolation(peer: PeerId, error: PeerSockError): void;
}

const DEFAULT_MAX_VERIFYING = 256;

export function createProviderDesk(options: ProviderDeskOptions): ProviderDesk {
  const { crypto, logger, report } = options;
  const policy = options.policy ?? DEFAULT_PROVIDER_POLICY;
  const maxVerifying = options.maxVerifying ?? DEFAULT_MAX_VERIFYING;
  // Record times are whole milliseconds on the wire; virtual time may be fractional.
  const now = () => Math.floor(options.wallClock());
  let verifying = 0;

  async function verifyOne(from: PeerId, key: Position, record: ProviderRecord): Promise<boolean> {
    let error: PeerSockError | undefined;
    if (serviceKey(record.service) !== key) {
      error = new PeerSockError('FRAME_SCHEMA', `provider record for ${JSON.stringify(record.service)} offered under another key`);
    } else {
      const at = now();
      const verdict = await verifyProviderRecord(crypto, record, at, policy);
      if (verdict.ok) return true;
      if (record.expiresAt <= at) {
        logger.debug('expired provider record dropped', { from, service: record.service });
        return false;
      }
      error = verdict.error;
    }
    options.reportViolation(from, error);
    return false;
  }

  return {
    sign(service, ttlMs, epoch) {
      createProviderRecord(crypto, { service, issuedAt: now(), ttlMs }).then(
        (record) => report({ type: 'provider.signed', service, epoch, record }),
        (error: unknown) =>
          report({
            type: 'provider.sign.failed',
            service,
            epoch,
            code: isPeerSockError(error) ? error.code : 'INVALID_ARGUMENT',
            message: String((error as Error)?.message ?? error),
          }),
      );
    },
    verify(from, key, records, tag) {
      if (verifying + records.length > maxVerifying) {
        logger.debug('provider records dropped: too many under verification', { from, count: records.length });
        queueMicrotask(() => report({ type: 'records.verified', tag, from, records: [] }));
        return;
      }
      verifying += records.length;
      void Promise.all(records.map((record) => verifyOne(from, key, record).catch(() => false))).then((verdicts) => {
        verifying -= records.length;
        report({ type: 'records.verified', tag, from, records: records.filter((_, i) => verdicts[i]) });
      });
    },
  };
}
