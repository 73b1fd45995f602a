/**
 * A static ring in plain arrays, driven only by the pure ring functions: the protocol's logic
 * without actors, messages or time. Each "round" every node runs one Chord stabilization:
 * adopt the successor's predecessor if it is closer, reconcile with the successor's list, notify
 * the successor. Optionally also a lookup of its own position through a non-neighbour link (the
 * ring actor's partition-merge / loop-breaking step).
 */
import { createSeededRandom } from '../../sim/seeded-random.js';
import type { SeededRandom } from '../../sim/seeded-random.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { expectedPredecessor, expectedSuccessors } from '../../src/actors/ring/expected-neighbours.js';
import { contactOf, sortByPosition } from '../../src/actors/ring/contact.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import { closerPredecessor } from '../../src/actors/ring/predecessor.js';
import { adoptSuccessorsPredecessor, mergeCandidates, promoteNextSuccessor, reconcileSuccessors } from '../../src/actors/ring/successor-list.js';
import { nextHop } from '../../src/actors/ring/routing.js';

export interface ModelNode {
  readonly self: Contact;
  successors: Contact[];
  predecessor: Contact | undefined;
  /** Links outside the successor list (what the DHT or bootstrap handed the node). */
  readonly extra: Contact[];
}

export interface ModelRing {
  readonly nodes: ModelNode[];
  /** Which separate network each node started in (see buildRing's `groups`). */
  readonly groupOf: readonly number[];
  readonly byId: Map<PeerId, ModelNode>;
  readonly sorted: Contact[];
  readonly r: number;
  readonly random: SeededRandom;
  /** Nodes not in here have crashed: they run nothing, and everyone's failure detector knows. */
  readonly alive: Set<PeerId>;
  readonly isAlive: (id: PeerId) => boolean;
}

export function randomContact(random: SeededRandom): Contact {
  return contactOf(Buffer.from(random.bytes(32)).toString('hex') as PeerId);
}

export function randomContacts(random: SeededRandom, n: number): Contact[] {
  const seen = new Set<string>();
  const out: Contact[] = [];
  while (out.length < n) {
    const c = randomContact(random);
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    out.push(c);
  }
  return out;
}

export function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[Math.floor(random.float() * items.length)]!;
}

export function shuffle<T>(random: SeededRandom, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random.float() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * n nodes, each starting with only a few other nodes as candidates: its first successor list is
 * the closest r of those, it has no predecessor, and it keeps those contacts as its extra links.
 * Every node but the first of its group knows one node of its group created before it (its
 * bootstrap peer), so what a group knows together is connected — without that no protocol could
 * form one ring — plus `extraKnown` uniformly random others of its group. With `groups` > 1 the
 * groups know nothing of each other: separate networks, until `bridge` adds cross links.
 */
export function buildRing(seed: number, n: number, r: number, extraKnown: number, groups = 1): ModelRing {
  const random = createSeededRandom(seed);
  const contacts = randomContacts(random, n);
  // Positions are random, so dealing nodes out in turn makes random, never empty, groups.
  const groupOf = contacts.map((_, i) => i % groups);
  const nodes: ModelNode[] = contacts.map((self, index) => {
    const group = contacts.filter((_, j) => groupOf[j] === groupOf[index]);
    const earlier = group.slice(0, group.indexOf(self));
    const others: Contact[] = [];
    if (earlier.length > 0) others.push(pick(random, earlier));
    const wanted = Math.min(others.length + extraKnown, group.length - 1);
    while (others.length < wanted) {
      const c = pick(random, group);
      if (c.id !== self.id && !others.includes(c)) others.push(c);
    }
    return { self, successors: mergeCandidates(self, [others], r), predecessor: undefined, extra: others };
  });
  const alive = new Set(contacts.map((c) => c.id));
  return {
    nodes,
    groupOf,
    byId: new Map(nodes.map((node) => [node.self.id, node])),
    sorted: sortByPosition(contacts),
    r,
    random,
    alive,
    isAlive: (id) => alive.has(id),
  };
}

/**
 * The separate networks meet again: node k of each group gets a link into the next group, so
 * the groups are connected, then `count` random nodes get a link to a random node of another group.
 */
export function bridge(ring: ModelRing, count: number): void {
  const groups = new Map<number, ModelNode[]>();
  ring.nodes.forEach((node, i) => {
    const g = ring.groupOf[i]!;
    groups.set(g, [...(groups.get(g) ?? []), node]);
  });
  const members = [...groups.values()];
  if (members.length < 2) return;
  for (let g = 1; g < members.length; g += 1) {
    pick(ring.random, members[g - 1]!).extra.push(pick(ring.random, members[g]!).self);
  }
  for (let i = 0; i < count; i += 1) {
    const index = Math.floor(ring.random.float() * ring.nodes.length);
    const others = ring.nodes.filter((_, j) => ring.groupOf[j] !== ring.groupOf[index]);
    ring.nodes[index]!.extra.push(pick(ring.random, others).self);
  }
}

/**
 * One stabilization by `node`; returns the messages it took (request/answer pairs count once).
 */
export function stabilize(ring: ModelRing, node: ModelNode): number {
  // What a heartbeat timeout does: suspects leave the list, the next successor moves up.
  for (const c of node.successors) if (!ring.isAlive(c.id)) node.successors = [...promoteNextSuccessor(node.successors, c.id)];
  if (node.predecessor !== undefined && !ring.isAlive(node.predecessor.id)) node.predecessor = undefined;
  const first = node.successors[0];
  // A node with no successor is its own: it asks itself, i.e. looks at its own predecessor.
  const asked = first === undefined ? node : ring.byId.get(first.id)!;
  node.successors = [...adoptSuccessorsPredecessor(node.self, node.successors, asked.predecessor, ring.r, ring.isAlive)];
  if (node.successors.length === 0) return 0;
  const successor = ring.byId.get(node.successors[0]!.id)!;
  node.successors = reconcileSuccessors(
    node.self,
    node.successors,
    { from: successor.self, list: successor.successors },
    ring.r,
    ring.isAlive,
  );
  const notified = ring.byId.get(node.successors[0]!.id)!;
  notified.predecessor = closerPredecessor(notified.self, notified.predecessor, node.self);
  return 2;
}

/** The links a node can route over: its successor list, predecessor and extra links. */
export function linksOf(ring: ModelRing, node: ModelNode): Contact[] {
  const links = [...node.successors, ...node.extra];
  if (node.predecessor !== undefined) links.push(node.predecessor);
  return links.filter((c) => ring.isAlive(c.id));
}

/**
 * Looks up node's own position starting from one of its other links, greedily over each hop's
 * links. The node where the walk stops precedes `node` as far as it knows; it and `node` then
 * exchange what they know: the merge step that joins separate rings and unwinds loops.
 */
export function selfLookup(ring: ModelRing, node: ModelNode): number {
  // Start outside the successor list (that is what can find another ring or a lost stretch);
  // a node with no such link starts at its successor, which still unwinds loops.
  let starts = [...node.extra, ...(node.predecessor === undefined ? [] : [node.predecessor])].filter((c) => ring.isAlive(c.id));
  if (starts.length === 0) starts = node.successors;
  if (starts.length === 0) return 0;
  let current = ring.byId.get(pick(ring.random, starts).id)!;
  let hops = 1;
  for (;;) {
    if (current.self.id === node.self.id) return hops;
    const hop = nextHop(current.self.position, node.self.position, linksOf(ring, current));
    if (hop === undefined) break;
    current = ring.byId.get(hop.id)!;
    hops += 1;
  }
  // Only current's successors: current itself lies just before us, so in a short list (after a
  // crash) it would sit far past the real successors and break the list's contiguity.
  node.successors = mergeCandidates(node.self, [node.successors, current.successors], ring.r, ring.isAlive);
  node.predecessor = closerPredecessor(node.self, node.predecessor, current.self);
  current.successors = mergeCandidates(current.self, [current.successors, [node.self]], ring.r, ring.isAlive);
  return hops + 1;
}

export interface RoundOptions {
  /** Every node stabilizes in a fresh random order (asynchronous-looking) instead of index order. */
  readonly shuffled: boolean;
  readonly selfLookup: boolean;
}

export function runRound(ring: ModelRing, options: RoundOptions): void {
  const order = options.shuffled ? shuffle(ring.random, ring.nodes) : ring.nodes;
  for (const node of order) {
    if (!ring.isAlive(node.self.id)) continue;
    stabilize(ring, node);
    if (options.selfLookup) selfLookup(ring, node);
  }
}

/** The alive nodes in position order: what `expectedSuccessors` compares against. */
export function aliveSorted(ring: ModelRing): Contact[] {
  return ring.sorted.filter((c) => ring.isAlive(c.id));
}

/**
 * Why the alive nodes do not yet form the correct ring (undefined when they do).
 * 'ring': each successor and predecessor is right and every list is a correct prefix (what the
 * ring invariants need); 'full': additionally every list holds all r successors it should.
 */
export function ringProblem(ring: ModelRing, level: 'ring' | 'full'): string | undefined {
  const sorted = aliveSorted(ring);
  const short = (list: readonly Contact[]): string => list.map((c) => c.id.slice(0, 8)).join(',');
  for (const node of ring.nodes) {
    if (!ring.isAlive(node.self.id)) continue;
    const expected = expectedSuccessors(sorted, node.self, ring.r);
    const actual = node.successors;
    const wrong =
      (level === 'full' ? actual.length !== expected.length : actual.length === 0 && expected.length > 0) ||
      actual.length > expected.length ||
      actual.some((c, i) => c.id !== expected[i]!.id);
    if (wrong) return `${node.self.id.slice(0, 8)} has [${short(actual)}], expected [${short(expected)}]`;
    if (expectedPredecessor(sorted, node.self)?.id !== node.predecessor?.id) {
      return `${node.self.id.slice(0, 8)} has predecessor ${node.predecessor?.id.slice(0, 8)}`;
    }
  }
  return undefined;
}
