/** One connection of the demo: `dialer` calls `connect(listener)`. */
export interface DialPair {
  dialer: number;
  listener: number;
}

/**
 * Node i dials i+1 … i+reach (mod n). A pair is dialed once only, by the first node to
 * reach it: two sides dialing each other at once would race two connections for one pair.
 */
export function ringDialPlan(n: number, reach = 2): DialPair[] {
  const seen = new Set<string>();
  const pairs: DialPair[] = [];
  for (let dialer = 0; dialer < n; dialer += 1) {
    for (let step = 1; step <= reach; step += 1) {
      const listener = (dialer + step) % n;
      if (listener === dialer) continue;
      const key = dialer < listener ? `${dialer}-${listener}` : `${listener}-${dialer}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push({ dialer, listener });
    }
  }
  return pairs;
}

/** One greeting: `from` sends `text` to `to`. */
export interface Greeting {
  from: number;
  to: number;
  text: string;
}

/** Each node greets each of its peers `perPeer` times; texts are distinct so every one can be accounted for. */
export function greetings(pairs: readonly DialPair[], perPeer: number): Greeting[] {
  const out: Greeting[] = [];
  for (const { dialer, listener } of pairs) {
    for (const [from, to] of [
      [dialer, listener],
      [listener, dialer],
    ] as const) {
      for (let k = 1; k <= perPeer; k += 1) {
        out.push({ from, to, text: `hello n${to}, this is n${from}${perPeer > 1 ? ` (#${k})` : ''}` });
      }
    }
  }
  return out;
}

export function greetingKey(from: number, to: number, text: string): string {
  return `${from}>${to}:${text}`;
}
