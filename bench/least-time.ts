/**
 * The least wall time, in ms, of `rounds` runs of `batch`. A busy machine only ever makes work
 * look slower, so the least of a few rounds is the closest reading of its cost. `rounds` ≥ 1.
 */
export function leastMs(rounds: number, batch: () => void): number {
  let least = Infinity;
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    batch();
    least = Math.min(least, performance.now() - started);
  }
  return least;
}
