import type { Contact } from './contact.js';
import { between } from './id-space.js';

/**
 * Chord's notify rule: the predecessor self keeps after `candidate` announced itself.
 * The candidate wins when there is no predecessor yet (or the recorded one is self, which only a
 * bug or a lone node produces) or when it lies strictly between the current predecessor and self.
 * A candidate that is self changes nothing.
 */
export function closerPredecessor(self: Contact, current: Contact | undefined, candidate: Contact): Contact | undefined {
  if (candidate.id === self.id || candidate.position === self.position) return current;
  if (current === undefined || current.id === self.id) return candidate;
  return between(candidate.position, current.position, self.position) ? candidate : current;
}
