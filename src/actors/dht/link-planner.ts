import { PeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import { positionHex, type Position } from '../ring/id-space.js';
import type { RoutingTable, TableContact } from './routing-table.js';
import { BUCKET_COUNT, commonPrefixLength, compareDistance } from './xor-distance.js';

/**
 * Which routing-table contacts deserve one of the node's few links (~32, ring neighbours
 * included). Lookups route greedily over links only (`nextHop`), so the links decide the hop
 * count: a hop from a node that shares c bits with the target lands in its bucket c, and gains
 * more bits the better that bucket's links cover the bits that follow.
 *
 * So, Pastry-like:
 *   - links go round-robin over the non-empty buckets, lowest index first (bucket 0 covers half
 *     the ID space, bucket 1 a quarter…; when slots run out mid-round the wider buckets win);
 *     a ring neighbour counts as a link in its bucket, so the deep buckets the successor list
 *     already covers get no more;
 *   - within a bucket each new link is the contact that diverges earliest from the bucket's
 *     links so far (smallest longest common prefix with them): two links cover both values of
 *     the next bit, four both of the next two, and so on;
 *   - ties go to fewer failures, then to the links held now, then to the contact XOR-nearest
 *     to the node itself, then to the smaller id, so the plan is deterministic.
 *
 * Nearness to the node's own position, not age, so that the nodes' choices spread over the
 * network as Chord's fingers do: each node's nearest contact in a bucket is a different peer.
 * Ranked by age (Kademlia's "peers that have stayed long tend to stay"), every node chose the
 * same oldest peers in the wide buckets; they sat at the budget turning dials away while the
 * youngest nodes sat below their dial ceiling dialing them (simulator, 300 nodes at rest, two
 * minutes after forming: 42 nodes at the budget and 184 below the ceiling; ranked by nearness
 * 29 and 48). Under the simulator's churn sessions are memoryless, so age said nothing there
 * anyway.
 *
 * Links held now win over equally divergent contacts (after failures, before nearness), so a
 * plan changes only when a contact covers bits the bucket's links do not yet cover, a link
 * fails, or the budget moves: a newcomer that is merely nearer displaces nothing. Without that,
 * every contact heard of that was nearer than a link replaced it (300 nodes at rest: 65 of the
 * node's own closes in 30 s, each a new connection and a link-set announcement to ~28 links).
 *
 * Dials stop short of the budget (`dialBudget`, dialCeiling): a node dials only while it holds
 * fewer links than that, and keeps the links it holds up to the budget. Every link takes a slot
 * at both ends, so when every node dials up to the budget itself the network sits at the budget
 * everywhere and each new link pushes its far end over: that node sheds one of its own, the
 * far end of that one has a slot free and dials again, and so on for ever. Measured in the
 * simulator (300 nodes at rest, budget 32): every node opened a link every ~3.5 s, 90
 * connections/s in all against 4.4/s for the ring alone. The headroom ends each chain of
 * displacements at the first node it reaches with a free slot. Applying a plan and planning
 * again gives no change (idempotent).
 */

export const DEFAULT_LINK_BUDGET = 32;

/**
 * The links a node dials up to with `budget`: the budget less an eighth (32 → 28), so that the
 * nodes' own dials leave room for others' (see the module comment); small budgets dial to the
 * full budget.
 */
export function dialCeiling(budget: number): number {
  return budget - Math.floor(budget / 8);
}

export interface LinkPlanInput {
  table: Pick<RoutingTable, 'self' | 'nonEmptyBuckets' | 'bucket' | 'get'>;
  /** Links this planner opened earlier (the only ones it may close). */
  links: readonly PeerId[];
  /** Maintained by the ring: counted against the budget, never opened or closed here. */
  ringNeighbours: readonly PeerId[];
  /** Total links for the node, ring neighbours included. */
  budget?: number;
  /**
   * The node dials only while its links (ring neighbours, reserved and kept `links` counted)
   * number fewer than this, and only up to it; links beyond it, up to the budget, are kept but
   * never dialed. Default: `budget` (DHT nodes pass dialCeiling(budget)).
   */
  dialBudget?: number;
  /** Links other subsystems hold (shortcuts, applications), also counted against the budget. */
  reserved?: number;
}

export interface LinkPlan {
  open: PeerId[];
  close: PeerId[];
}

/**
 * The DHT links the node should hold: see the module comment. `links` (optional): the planner's
 * links now, preferred over equally divergent contacts so that a plan does not change for
 * nearness alone.
 */
export function chooseDhtLinks(input: Omit<LinkPlanInput, 'links'> & { links?: readonly PeerId[] }): PeerId[] {
  const { table } = input;
  const budget = input.budget ?? DEFAULT_LINK_BUDGET;
  const reserved = input.reserved ?? 0;
  for (const [name, value] of [['budget', budget], ['reserved', reserved]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new PeerSockError('INVALID_ARGUMENT', `link ${name} must be a non-negative integer, got ${value}`);
  }
  const ring = new Set(input.ringNeighbours);
  let slots = budget - reserved - ring.size;
  if (slots <= 0) return [];
  const current = new Set(input.links ?? []);

  // Positions of the links each bucket holds so far, ring neighbours first.
  const held = new Map<number, Position[]>();
  const holdIn = (index: number, position: Position) => {
    const list = held.get(index);
    if (list === undefined) held.set(index, [position]);
    else list.push(position);
  };
  for (const id of ring) {
    const position = table.get(id)?.position ?? positionHex(id);
    const index = commonPrefixLength(table.self, position);
    if (index < BUCKET_COUNT) holdIn(index, position);
  }

  const candidates = new Map<number, TableContact[]>();
  for (const index of table.nonEmptyBuckets()) {
    const list = table.bucket(index).filter((c) => !ring.has(c.id));
    if (list.length > 0) candidates.set(index, list.sort(byQualityFrom(table.self, current)));
  }

  const chosen: PeerId[] = [];
  for (let round = 0; slots > 0 && candidates.size > 0; round += 1) {
    for (const [index, list] of candidates) {
      if (slots === 0) break;
      const links = held.get(index) ?? [];
      if (links.length > round) continue;
      const pick = mostDivergent(list, links);
      const contact = list.splice(pick, 1)[0]!;
      if (list.length === 0) candidates.delete(index);
      holdIn(index, contact.position);
      chosen.push(contact.id);
      slots -= 1;
    }
  }
  return chosen;
}

/**
 * What to close so the DHT holds only links `chooseDhtLinks` wants (ring neighbours are never
 * closed), and what to open: the best-ranked wanted contacts not linked yet, as many as keep
 * the node's links within `dialBudget`.
 */
export function planLinks(input: LinkPlanInput): LinkPlan {
  const wanted = chooseDhtLinks(input);
  const wantedSet = new Set(wanted);
  const current = new Set(input.links);
  const ring = new Set(input.ringNeighbours);
  const close = [...current].filter((id) => !wantedSet.has(id) && !ring.has(id));
  const kept = wanted.filter((id) => current.has(id)).length;
  const dialBudget = input.dialBudget ?? input.budget ?? DEFAULT_LINK_BUDGET;
  const room = dialBudget - (input.reserved ?? 0) - ring.size - kept;
  return { open: room > 0 ? wanted.filter((id) => !current.has(id)).slice(0, room) : [], close };
}

/**
 * Index in `list` (sorted by quality) of the contact whose longest common prefix with any held
 * link is shortest; the first such, so quality breaks ties.
 */
function mostDivergent(list: readonly TableContact[], links: readonly Position[]): number {
  if (links.length === 0) return 0;
  let best = 0;
  let bestShared = Number.POSITIVE_INFINITY;
  for (let i = 0; i < list.length; i += 1) {
    let shared = 0;
    for (const link of links) shared = Math.max(shared, commonPrefixLength(list[i]!.position, link));
    if (shared < bestShared) {
      best = i;
      bestShared = shared;
    }
  }
  return best;
}

/** Fewer failures first, then links held now, then XOR-nearer to `self` (see the module comment), then the smaller id. */
function byQualityFrom(self: Position, current: ReadonlySet<PeerId>): (a: TableContact, b: TableContact) => number {
  const held = (c: TableContact) => (current.has(c.id) ? 0 : 1);
  return (a, b) => a.failures - b.failures || held(a) - held(b) || compareDistance(self, a.position, b.position) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
