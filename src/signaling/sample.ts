/**
 * Up to `k` distinct members of `pool` other than `exclude`, uniformly at random.
 * `randomInt(n)` must return a uniform integer in [0, n). Runs in O(k) expected time when
 * k is small against the pool (the server's case: a few peers out of thousands), so a
 * sample request never costs a copy of the whole registry.
 */
export function pickRandom<T>(pool: readonly T[], k: number, exclude: T | undefined, randomInt: (maxExclusive: number) => number): T[] {
  const excluded = exclude !== undefined && pool.includes(exclude) ? 1 : 0;
  const available = pool.length - excluded;
  const want = Math.max(0, Math.min(Math.floor(k), available));
  if (want === 0) return [];
  if (want * 2 <= available) {
    const chosen = new Set<number>();
    const out: T[] = [];
    // Each draw hits a fresh, non-excluded index with probability ≥ 1/2, so the cap is
    // never reached in practice; it only guards against a broken randomInt.
    for (let tries = 0; out.length < want && tries < want * 64; tries++) {
      const i = randomInt(pool.length);
      const item = pool[i];
      if (item === undefined || item === exclude || chosen.has(i)) continue;
      chosen.add(i);
      out.push(item);
    }
    if (out.length === want) return out;
  }
  // Dense case: partial Fisher–Yates over a copy.
  const copy = pool.filter((item) => item !== exclude);
  for (let i = 0; i < want; i++) {
    const j = i + randomInt(copy.length - i);
    const a = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = a;
  }
  return copy.slice(0, want);
}

/**
 * A sample answer: `first` (the nearest members, in order), then `random` without the ids
 * already named, up to `k` in all. Drawing `k` random ones leaves enough after the removal.
 */
export function withRandomRest<T>(first: readonly T[], random: readonly T[], k: number): T[] {
  const out = first.slice(0, k);
  const named = new Set(out);
  for (const item of random) {
    if (out.length >= k) break;
    if (!named.has(item)) {
      named.add(item);
      out.push(item);
    }
  }
  return out;
}
