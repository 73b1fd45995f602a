/**
 * Token bucket: `burst` tokens, refilled at `perSecond`. Time comes from the caller so
 * the bucket is a plain value, testable without timers.
 */
export interface TokenBucket {
  tokens: number;
  updatedAt: number;
}

export interface RateLimit {
  perSecond: number;
  burst: number;
}

export function createBucket(limit: RateLimit, now: number): TokenBucket {
  return { tokens: limit.burst, updatedAt: now };
}

/** Takes one token if there is one; returns whether it did. */
export function take(bucket: TokenBucket, limit: RateLimit, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.updatedAt);
  bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsed * limit.perSecond) / 1000);
  bucket.updatedAt = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/**
 * Misbehaviour score that leaks away at one strike per `decayMs`: a flood reaches the
 * limit at once, while a long-lived client's occasional mistake is forgotten.
 */
export interface Strikes {
  count: number;
  updatedAt: number;
}

export function addStrike(strikes: Strikes, decayMs: number, now: number): number {
  // Whole strikes only, so "close at N" means exactly N strikes in a burst.
  const leaked = Math.floor(Math.max(0, now - strikes.updatedAt) / decayMs);
  if (leaked > 0 || strikes.count === 0) {
    strikes.updatedAt = strikes.count <= leaked ? now : strikes.updatedAt + leaked * decayMs;
    strikes.count = Math.max(0, strikes.count - leaked);
  }
  strikes.count += 1;
  return strikes.count;
}
