import type { PeerId } from '../../identity/peer-id.js';
import type { Contact } from '../ring/contact.js';
import type { Position } from '../ring/id-space.js';
import { compareDistance } from './xor-distance.js';

/**
 * Greedy XOR routing over the links a node holds (ring neighbours, DHT links, shortcuts alike):
 * forward a lookup to the link nearest the target, but only if it is strictly nearer than self.
 * The distance to the target shrinks at every hop, so a lookup can neither loop nor visit a node
 * twice, and it ends at a local minimum: a node none of whose links is nearer the target.
 *
 * Returns undefined at that local minimum (self answers from its routing table). `avoid` skips
 * links already tried or known to be failing, without losing the no-loop guarantee.
 */
export function nextHop(
  self: Position,
  target: Position,
  links: readonly Contact[],
  avoid?: ReadonlySet<PeerId>,
): Contact | undefined {
  let best: Contact | undefined;
  let bestPosition = self;
  for (let i = 0; i < links.length; i += 1) {
    const link = links[i]!;
    if (avoid !== undefined && avoid.has(link.id)) continue;
    if (compareDistance(target, link.position, bestPosition) < 0) {
      best = link;
      bestPosition = link.position;
    }
  }
  return best;
}
