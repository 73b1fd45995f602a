/**
 * DHT lookup hops over links — a ROUTING-LEVEL MODEL, NOT the simulator benchmark.
 *
 * No actors, no network, no churn, no latency, no failures. N nodes with random 32-byte ids
 * (positions = SHA-256 of the id, as on the ring), each with a routing table, links chosen by the
 * real link planner (src/actors/dht/link-planner.ts) and a routing rule. A lookup for a random
 * target starts at a random node and is forwarded over links until the rule stops; it succeeds
 * when it stops at the node XOR-closest to the target (checked against the global view). DESIGN
 * §5 sets median ≤ 4, p99 ≤ 7 hops at N = 10,000 with ≤ 32 links per node, for the simulator
 * under churn (still to be built); this model answers the prior design question — can these
 * links reach it at all, and with which routing rule.
 *
 * Routing tables (the same for every model and rule): what a long-lived node's k-buckets hold
 * after being offered every node once, in random order, with k = 20 (DEFAULT_K): each bucket
 * keeps a uniform random 20 of its members (all when it has ≤ 20), in admission order (the planner
 * ranks them by failures and nearness, not age). Sampled directly rather than by 10⁸ `observe` calls; checked
 * against a real RoutingTable (same bucket sizes and members). Full knowledge (every member
 * kept) was tried at 4,000 nodes: mean hops moved by ≤ 0.04 and no median moved — the planner
 * takes 1–4 links per bucket, one per sub-range, and 20 random members cover those.
 *
 * Link models (budget 32 links per node, ring links included):
 *   - `twoWay` (the headline, un-suffixed figures): a link is a connection, counted by and
 *     usable from both ends. Ring: each node links its 8 successors, so it holds 16 ring links
 *     (its 8 successors, and the 8 predecessors that list it, the predecessor among them). DHT
 *     links are then added in rounds, nodes in random order, one link per node per round: the
 *     node's planner sees all its current links (ring, opened, accepted) as held — each counts
 *     in its bucket and against the budget — and opens its first choice among contacts that
 *     still have a free slot. Rounds go on until no node can add one; every node ends at ≤ 32.
 *   - `oneWay` (figures suffixed `_oneWay`): the brief's model, and that of the earlier
 *     measurement. Ring links = 8 successors + predecessor (9), the planner fills the other 23,
 *     a node routes over the links it chose only. Flattering: the far end of each planned link
 *     holds a connection too (~23 more per node), which this model neither counts nor uses.
 *
 * Routing rules:
 *   (a) `greedy`: XOR-greedy over the node's links (next-hop.ts).
 *   (b) `non`: neighbour-of-neighbour greedy (non-next-hop.ts; Manku, Naor & Wieder, "Know thy
 *       neighbor's neighbor", STOC 2004): each node knows its links' link sets and forwards to
 *       the link through which the XOR-nearest node within two hops lies. Every hop counts.
 *   (c) `la2`: two-level lookahead, the next step of the same idea: each node also knows, for
 *       every link, that link's whole two-hop set (its links' links, ~700–800 nodes per link,
 *       ~24,000 per node) and forwards to the link through which the nearest node within three
 *       hops lies (ties: the nearer two-hop aim, then the nearer link). Costly state; measured
 *       to show what more lookahead could still buy.
 *   `optimal` (reference, not a rule): breadth-first shortest path over the same links to the
 *   XOR-closest node — no rule, however informed, routes in fewer hops.
 * Messages per lookup: the forwards, i.e. the hops (no rule here sends probes). Answers and the
 * link-set exchange NoN needs (maintenance, not per lookup) are not counted.
 *
 * Run: `npx tsx bench/dht-hops.bench.ts` (~15 s for both sizes). Environment: PEERSOCK_BENCH_DHT_SIZES
 * (default "1000,10000"), PEERSOCK_BENCH_DHT_LOOKUPS (default 2000), PEERSOCK_BENCH_DHT_SEED
 * (default 1). Prints one row per size, link model and rule, then one JSON line.
 */
import { pathToFileURL } from 'node:url';
import { createSeededRandom, deriveSeed, type SeededRandom } from '../sim/seeded-random.js';
import { chooseDhtLinks, DEFAULT_LINK_BUDGET } from '../src/actors/dht/link-planner.js';
import { nextHop } from '../src/actors/dht/next-hop.js';
import { nonNextHop } from '../src/actors/dht/non-next-hop.js';
import { DEFAULT_K, type RoutingTable, type TableContact } from '../src/actors/dht/routing-table.js';
import { commonPrefixLength, compareDistance } from '../src/actors/dht/xor-distance.js';
import type { Contact } from '../src/actors/ring/contact.js';
import { positionHex, positionToBigint, RING_BITS, type Position } from '../src/actors/ring/id-space.js';
import { DEFAULT_RING_CONFIG } from '../src/actors/ring/ring-config.js';
import type { PeerId } from '../src/identity/peer-id.js';
import { roundTo } from './round.js';

const DEFAULT_SIZES = [1_000, 10_000];
const BUDGET = DEFAULT_LINK_BUDGET;
const SUCCESSORS = DEFAULT_RING_CONFIG.successorListLength;
/** A lookup longer than this is a routing loop (none is expected); it counts as failed. */
const HOP_LIMIT = 64;

/** A node: a contact plus its index in ascending position order. */
export interface Node extends Contact {
  readonly index: number;
}

export interface Network {
  /** Ascending position. */
  nodes: readonly Node[];
  /** Each node's k-buckets: member indices by bucket index, in admission order. */
  tables: readonly (readonly Int32Array[])[];
  byId: ReadonlyMap<PeerId, Node>;
}

export type LinkModel = 'twoWay' | 'oneWay';
type Links = readonly (readonly Node[])[];

/** What the rules may consult: the links, and for `la2` every node's two-hop set. */
interface Overlay {
  network: Network;
  links: Links;
  /** Lazily built: {v} ∪ links(v) ∪ their links, ascending index (= ascending position). */
  twoHop?: Int32Array[];
}

type Rule = (at: Node, target: Position, overlay: Overlay) => Node | undefined;

const RULES: Record<string, Rule> = {
  greedy: (at, target, { links }) => nextHop(at.position, target, links[at.index]!) as Node | undefined,
  non: (at, target, { links }) => nonNextHop(at.position, target, links[at.index]!, (link) => links[link.index]),
  la2: lookaheadTwo,
};

// ---------------------------------------------------------------- network and routing tables

export function buildNetwork(size: number, seed: number, k = DEFAULT_K): Network {
  const random = createSeededRandom(seed);
  const raw: Contact[] = [];
  for (let i = 0; i < size; i += 1) {
    const id = Buffer.from(random.bytes(32)).toString('hex') as PeerId;
    raw.push({ id, position: positionHex(id) });
  }
  raw.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  const nodes: Node[] = raw.map((c, index) => ({ id: c.id, position: c.position, index }));
  const big = nodes.map((n) => positionToBigint(n.position));
  const tableRandom = createSeededRandom(deriveSeed(seed, 1));
  const tables = nodes.map((node) => sampledBuckets(node, nodes, big, tableRandom, k));
  return { nodes, tables, byId: new Map(nodes.map((n) => [n.id, n])) };
}

/**
 * Bucket c of a node holds the nodes that share its first c bits and differ in bit c: one
 * contiguous run of the sorted positions. Offered in random order, a k-bucket keeps the first k
 * it sees, i.e. a uniform random k-subset admitted in random order — sampled directly here.
 */
function sampledBuckets(node: Node, nodes: readonly Node[], big: readonly bigint[], random: SeededRandom, k: number): Int32Array[] {
  const n = nodes.length;
  // Deeper than the longest prefix shared with a ring neighbour, every bucket is empty.
  const deepest = Math.max(
    commonPrefixLength(node.position, nodes[(node.index + 1) % n]!.position),
    commonPrefixLength(node.position, nodes[(node.index + n - 1) % n]!.position),
  );
  const self = big[node.index]!;
  const buckets: Int32Array[] = [];
  for (let c = 0; c <= Math.min(deepest, RING_BITS - 1); c += 1) {
    const shift = BigInt(RING_BITS - 1 - c);
    const lo = ((self >> shift) ^ 1n) << shift;
    const from = lowerBound(big, lo);
    const count = lowerBound(big, lo + (1n << shift)) - from;
    const kept = new Int32Array(Math.min(count, k));
    if (count <= k) {
      for (let i = 0; i < count; i += 1) kept[i] = from + i;
      shuffle(kept, random);
    } else {
      const seen = new Set<number>();
      for (let i = 0; i < k; ) {
        const pick = from + Math.floor(random.float() * count);
        if (seen.has(pick)) continue;
        seen.add(pick);
        kept[i] = pick;
        i += 1;
      }
    }
    buckets.push(kept);
  }
  return buckets;
}

function lowerBound(sorted: readonly bigint[], value: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function shuffle(values: Int32Array | number[], random: SeededRandom): void {
  for (let i = values.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random.float() * (i + 1));
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
}

/**
 * The slice of RoutingTable the planner reads, over one node's sampled buckets; `usable` hides
 * contacts that cannot take a link. addedAt is the admission rank within the bucket.
 */
export function tableView(network: Network, node: Node, usable: (index: number) => boolean = () => true): Pick<RoutingTable, 'self' | 'nonEmptyBuckets' | 'bucket' | 'get'> {
  const buckets = network.tables[node.index]!;
  const contactAt = (index: number, rank: number): TableContact => {
    const c = network.nodes[index]!;
    return { id: c.id, position: c.position, introducer: c.id, addedAt: rank, lastSeen: rank, failures: 0 };
  };
  return {
    self: node.position,
    nonEmptyBuckets: () => buckets.flatMap((members, index) => (members.some(usable) ? [index] : [])),
    bucket: (index) => {
      const out: TableContact[] = [];
      const members = buckets[index] ?? new Int32Array(0);
      for (let rank = 0; rank < members.length; rank += 1) if (usable(members[rank]!)) out.push(contactAt(members[rank]!, rank));
      return out;
    },
    get: (id) => {
      const other = network.byId.get(id);
      if (other === undefined) return undefined;
      const members = buckets[commonPrefixLength(node.position, other.position)];
      const rank = members === undefined ? -1 : members.indexOf(other.index);
      return rank < 0 ? undefined : contactAt(other.index, rank);
    },
  };
}

// ---------------------------------------------------------------- links

function ringSuccessors(network: Network, node: Node): Node[] {
  const n = network.nodes.length;
  const out: Node[] = [];
  for (let k = 1; k <= Math.min(SUCCESSORS, n - 1); k += 1) out.push(network.nodes[(node.index + k) % n]!);
  return out;
}

export function oneWayLinks(network: Network): Node[][] {
  const n = network.nodes.length;
  return network.nodes.map((node) => {
    const ring = [...new Set([...ringSuccessors(network, node), network.nodes[(node.index + n - 1) % n]!])];
    const dht = chooseDhtLinks({ table: tableView(network, node), ringNeighbours: ring.map((c) => c.id), budget: BUDGET });
    return [...ring, ...dht.map((id) => network.byId.get(id)!)];
  });
}

export function twoWayLinks(network: Network, seed: number): Node[][] {
  const { nodes } = network;
  const adjacency = nodes.map(() => new Set<number>());
  const connect = (a: number, b: number) => {
    adjacency[a]!.add(b);
    adjacency[b]!.add(a);
  };
  for (const node of nodes) for (const next of ringSuccessors(network, node)) connect(node.index, next.index);
  const order = nodes.map((n) => n.index);
  shuffle(order, createSeededRandom(seed));
  const hasRoom = (index: number) => adjacency[index]!.size < BUDGET;
  for (let added = 1; added > 0; ) {
    added = 0;
    for (const index of order) {
      if (!hasRoom(index)) continue;
      const held = adjacency[index]!;
      const usable = (other: number) => other !== index && hasRoom(other) && !held.has(other);
      const ringNeighbours = [...held].map((i) => nodes[i]!.id);
      const wanted = chooseDhtLinks({ table: tableView(network, nodes[index]!, usable), ringNeighbours, budget: BUDGET });
      if (wanted.length === 0) continue;
      connect(index, network.byId.get(wanted[0]!)!.index);
      added += 1;
    }
  }
  return adjacency.map((set) => [...set].map((i) => nodes[i]!));
}

// ---------------------------------------------------------------- rule (c) and the optimum

/** Rule (c): forward to the link through which the XOR-nearest node within three hops lies. */
function lookaheadTwo(at: Node, target: Position, overlay: Overlay): Node | undefined {
  const { network, links } = overlay;
  overlay.twoHop ??= links.map((_, v) => twoHopSet(links, v));
  let best: Node | undefined;
  let bestAim = at.position;
  let bestNear = at.position;
  for (const link of links[at.index]!) {
    let near = link.position;
    for (const next of links[link.index]!) if (compareDistance(target, next.position, near) < 0) near = next.position;
    const aim = network.nodes[xorClosestIn(network.nodes, overlay.twoHop[link.index]!, target)]!.position;
    const order = compareDistance(target, aim, bestAim);
    const better =
      order < 0 ||
      (order === 0 &&
        best !== undefined &&
        (compareDistance(target, near, bestNear) < 0 || (near === bestNear && compareDistance(target, link.position, best.position) < 0)));
    if (better) {
      best = link;
      bestAim = aim;
      bestNear = near;
    }
  }
  return best;
}

function twoHopSet(links: Links, v: number): Int32Array {
  const set = new Set<number>([v]);
  for (const a of links[v]!) {
    set.add(a.index);
    for (const b of links[a.index]!) set.add(b.index);
  }
  return Int32Array.from(set).sort();
}

/**
 * Index of the XOR-closest to `target` among `members` (node indices, ascending). The members
 * sharing the longest prefix with the target form one run next to its sorted place, and the
 * nearest member lies in that run.
 */
function xorClosestIn(nodes: readonly Node[], members: ArrayLike<number>, target: Position): number {
  let lo = 0;
  let hi = members.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (nodes[members[mid]!]!.position < target) lo = mid + 1;
    else hi = mid;
  }
  const sharedWith = (i: number) => commonPrefixLength(nodes[members[i]!]!.position, target);
  const shared = Math.max(lo > 0 ? sharedWith(lo - 1) : -1, lo < members.length ? sharedWith(lo) : -1);
  let best = members[lo > 0 ? lo - 1 : lo]!;
  const consider = (i: number) => {
    if (compareDistance(target, nodes[members[i]!]!.position, nodes[best]!.position) < 0) best = members[i]!;
  };
  for (let i = lo - 1; i >= 0 && sharedWith(i) >= shared; i -= 1) consider(i);
  for (let i = lo; i < members.length && sharedWith(i) >= shared; i += 1) consider(i);
  return best;
}

/** Fewest hops over the links from each lookup's source to its XOR-closest node (BFS backwards from the latter). */
function shortestPaths(links: Links, lookups: readonly Lookup[]): number[] {
  const n = links.length;
  const incoming: number[][] = links.map(() => []);
  links.forEach((out, from) => out.forEach((to) => incoming[to.index]!.push(from)));
  const seenAt = new Int32Array(n).fill(-1);
  const depth = new Int32Array(n);
  const queue = new Int32Array(n);
  return lookups.map(({ source, closest }, stamp) => {
    let head = 0;
    let tail = 0;
    queue[tail++] = closest.index;
    seenAt[closest.index] = stamp;
    depth[closest.index] = 0;
    while (head < tail && seenAt[source.index] !== stamp) {
      const u = queue[head++]!;
      for (const v of incoming[u]!) {
        if (seenAt[v] === stamp) continue;
        seenAt[v] = stamp;
        depth[v] = depth[u]! + 1;
        queue[tail++] = v;
      }
    }
    return seenAt[source.index] === stamp ? depth[source.index]! : Number.POSITIVE_INFINITY;
  });
}

// ---------------------------------------------------------------- lookups

export interface Lookup {
  source: Node;
  target: Position;
  closest: Node;
}

export function makeLookups(network: Network, count: number, seed: number): Lookup[] {
  const random = createSeededRandom(seed);
  const { nodes } = network;
  const everyone = Int32Array.from(nodes, (n) => n.index);
  const out: Lookup[] = [];
  for (let i = 0; i < count; i += 1) {
    const source = nodes[Math.floor(random.float() * nodes.length)]!;
    const target = Buffer.from(random.bytes(32)).toString('hex') as Position;
    out.push({ source, target, closest: nodes[xorClosestIn(nodes, everyone, target)]! });
  }
  return out;
}

interface Figures {
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  success: number;
  messages: number;
}

function runRule(rule: Rule, overlay: Overlay, lookups: readonly Lookup[]): Figures {
  const hops: number[] = [];
  let succeeded = 0;
  for (const { source, target, closest } of lookups) {
    let at = source;
    let count = 0;
    for (let next = rule(at, target, overlay); next !== undefined && count < HOP_LIMIT; next = rule(at, target, overlay)) {
      at = next;
      count += 1;
    }
    hops.push(count);
    if (at.index === closest.index && count < HOP_LIMIT) succeeded += 1;
  }
  return summarise(hops, succeeded / lookups.length);
}

function summarise(hops: number[], success: number): Figures {
  const sorted = [...hops].sort((a, b) => a - b);
  const mean = roundTo(sorted.reduce((s, h) => s + h, 0) / sorted.length, 2);
  return { median: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted.at(-1)!, mean, success: roundTo(success, 4), messages: mean };
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}


// ---------------------------------------------------------------- bench

export async function runDhtHopsBench(): Promise<Record<string, unknown>> {
  const sizes = (process.env.PEERSOCK_BENCH_DHT_SIZES ?? DEFAULT_SIZES.join(','))
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((s) => Number.isInteger(s) && s > SUCCESSORS + 1);
  const lookupCount = Number(process.env.PEERSOCK_BENCH_DHT_LOOKUPS ?? 2_000);
  const seed = Number(process.env.PEERSOCK_BENCH_DHT_SEED ?? 1);
  const started = performance.now();
  const out: Record<string, unknown> = {
    bench: 'dhtHops',
    dhtModel: 'routing-level: k-bucket tables (k=20), no churn, no latency; un-suffixed figures = twoWay links',
    dhtLinkBudget: BUDGET,
    dhtK: DEFAULT_K,
    dhtLookups: lookupCount,
    dhtSeed: seed,
  };
  console.log(`DHT lookup hops — routing-level model (no churn, no latency): budget ${BUDGET} links, k = ${DEFAULT_K}, ${lookupCount} lookups per size, seed ${seed}`);
  console.log('nodes   links   rule      median  p90  p99  max   mean  success   msgs   links/node (mean, max)');
  for (const size of sizes) {
    const network = buildNetwork(size, deriveSeed(seed, size));
    const lookups = makeLookups(network, lookupCount, deriveSeed(seed, size + 1));
    const models: [LinkModel, () => Links][] = [
      ['twoWay', () => twoWayLinks(network, deriveSeed(seed, size + 2))],
      ['oneWay', () => oneWayLinks(network)],
    ];
    for (const [model, build] of models) {
      const overlay: Overlay = { network, links: build() };
      const degrees = overlay.links.map((l) => l.length);
      const degree = `${roundTo(degrees.reduce((s, d) => s + d, 0) / degrees.length, 2)}, ${Math.max(...degrees)}`;
      const rows: [string, Figures][] = Object.entries(RULES).map(([name, rule]) => [name, runRule(rule, overlay, lookups)]);
      rows.push(['optimal', summarise(shortestPaths(overlay.links, lookups), 1)]);
      for (const [name, f] of rows) {
        console.log(
          `${String(size).padEnd(7)} ${model.padEnd(7)} ${name.padEnd(9)} ${pad(f.median, 6)} ${pad(f.p90, 4)} ${pad(f.p99, 4)} ${pad(f.max, 4)} ${pad(f.mean.toFixed(2), 6)} ${name === 'optimal' ? '       —       —' : `${pad((f.success * 100).toFixed(2), 7)}% ${pad(f.messages.toFixed(2), 6)}`}   ${degree}`,
        );
        const key = `${sizeKey(size)}_${name}${model === 'twoWay' ? '' : `_${model}`}`;
        Object.assign(out, {
          [`hopsMedian${key}`]: f.median,
          [`hopsP90_${key}`]: f.p90,
          [`hopsP99_${key}`]: f.p99,
          [`hopsMax_${key}`]: f.max,
          [`hopsMean${key}`]: f.mean,
          ...(name === 'optimal' ? {} : { [`success${key}`]: f.success, [`messagesMean${key}`]: f.messages }),
        });
      }
    }
    console.log(`  (${size} nodes done, wall ${((performance.now() - started) / 1_000).toFixed(1)} s)`);
  }
  out.dhtWallSec = roundTo((performance.now() - started) / 1_000, 2);
  out.targets = { hopsMedian10k: 4, hopsP99_10k: 7 };
  return out;
}

const pad = (value: number | string, width: number) => String(value).padStart(width);

/** 1000 → "1k", 10000 → "10k", others as they are. */
function sizeKey(size: number): string {
  return size % 1_000 === 0 ? `${size / 1_000}k` : String(size);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runDhtHopsBench()));
}
