import type { Clock } from '../src/ports/clock.js';
import { createSeededRandom, deriveSeed, type SeededRandom } from './seeded-random.js';

/**
 * Where simulated peers are and how long a message takes between them. Each node gets a
 * point on a unit square, uniform and seeded; the one-way latency between two nodes is
 * `baseMs + distance × scale`, with the scale set so that opposite corners are `maxMs`
 * apart. A node's point depends only on the seed and its name, not on the order in which
 * nodes were first seen, so adding a node never moves another.
 *
 * Jitter adds up to `jitterMs` per message. It never reorders a link's messages: the
 * memory network delivers each message no earlier than the one sent before it on the
 * same link (a DataChannel is reliable and ordered), so jitter only bunches them up.
 *
 * `spike(factor, until)` multiplies every latency by `factor` until virtual time `until`
 * (overlapping spikes: the largest factor counts).
 */
export interface LatencyModelOptions {
  seed: number;
  /** Timeline of spikes; the simulator's virtual clock. */
  clock: Pick<Clock, 'now'>;
  /** Latency between two nodes at the same point (default 5 ms). */
  baseMs?: number;
  /** Latency between opposite corners of the plane (default 150 ms). */
  maxMs?: number;
  /** Up to this much extra delay per message, uniform (default 0). */
  jitterMs?: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface LatencyModel {
  /** One-way delay for one message from `from` to `to`, jitter and spikes included. */
  latency(from: string, to: string): number;
  /** The delay without jitter or spikes: what a node could measure on a quiet link. */
  baseLatency(from: string, to: string): number;
  /**
   * `latency(from, to)` as a function of time: the places looked up once, spikes and jitter
   * applied per call (the same numbers and draws as latency()). For a link's every message.
   */
  between(from: string, to: string): () => number;
  position(node: string): Point;
  spike(factor: number, until: number): void;
  /** The factor applied now (1 outside spikes). */
  spikeFactor(): number;
}

export const DEFAULT_BASE_LATENCY_MS = 5;
export const DEFAULT_MAX_LATENCY_MS = 150;
/** Bounds the placements remembered, so a long run with churn stays bounded. */
const MAX_REMEMBERED_POSITIONS = 65_536;

export function createLatencyModel(options: LatencyModelOptions): LatencyModel {
  const baseMs = options.baseMs ?? DEFAULT_BASE_LATENCY_MS;
  const maxMs = options.maxMs ?? DEFAULT_MAX_LATENCY_MS;
  const jitterMs = options.jitterMs ?? 0;
  for (const [name, value] of [
    ['baseMs', baseMs],
    ['maxMs', maxMs],
    ['jitterMs', jitterMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  }
  if (maxMs < baseMs) throw new RangeError(`maxMs (${maxMs}) must be at least baseMs (${baseMs})`);
  const scale = (maxMs - baseMs) / Math.SQRT2;
  const jitter: SeededRandom = createSeededRandom(deriveSeed(options.seed, 0x6a177e));
  const positions = new Map<string, Point>();
  const spikes: { factor: number; until: number }[] = [];

  const position = (node: string): Point => {
    let point = positions.get(node);
    if (point === undefined) {
      const random = createSeededRandom(deriveSeed(options.seed, hashName(node)));
      point = { x: random.float(), y: random.float() };
      if (positions.size >= MAX_REMEMBERED_POSITIONS) positions.delete(positions.keys().next().value!);
      positions.set(node, point);
    }
    return point;
  };

  const baseLatency = (from: string, to: string): number => {
    if (from === to) return baseMs;
    const a = position(from);
    const b = position(to);
    return baseMs + Math.hypot(a.x - b.x, a.y - b.y) * scale;
  };

  const spikeFactor = (): number => {
    if (spikes.length === 0) return 1;
    const now = options.clock.now();
    let factor = 1;
    for (let i = spikes.length - 1; i >= 0; i -= 1) {
      const spike = spikes[i]!;
      if (spike.until <= now) spikes.splice(i, 1);
      else factor = Math.max(factor, spike.factor);
    }
    return factor;
  };

  const adjusted = (base: number): number => base * spikeFactor() + (jitterMs > 0 ? jitter.float() * jitterMs : 0);

  return {
    latency: (from, to) => adjusted(baseLatency(from, to)),
    baseLatency,
    between(from, to) {
      const base = baseLatency(from, to);
      return () => adjusted(base);
    },
    position,
    spike(factor, until) {
      if (!Number.isFinite(factor) || factor < 1) throw new RangeError(`a latency spike multiplies by a factor >= 1, got ${factor}`);
      if (!Number.isFinite(until)) throw new RangeError(`a latency spike needs a finite end time, got ${until}`);
      if (until > options.clock.now()) spikes.push({ factor, until });
    },
    spikeFactor,
  };
}

/** FNV-1a over the name's UTF-16 code units: a 32-bit stream number per node. */
function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i += 1) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
