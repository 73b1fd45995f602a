import { describe, expect, it } from 'vitest';
import { PendingSends } from '../../src/actors/routing/pending-sends.js';
import { PeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const A = 'a'.repeat(64) as PeerId;

describe('PendingSends', () => {
  it('counts reserved slots against the limit until they are used or released', () => {
    const pending = new PendingSends(2);
    expect(pending.reserve()).toBe(true);
    expect(pending.reserve()).toBe(true);
    expect(pending.reserve()).toBe(false);
    pending.release();
    expect(pending.size).toBe(1);
    pending.add('k1', A, () => undefined);
    expect(pending.size).toBe(1);
    expect(pending.reserve()).toBe(true);
    expect(pending.reserve()).toBe(false);
  });

  it('settles each send once, with the error given', () => {
    const pending = new PendingSends(4);
    const outcomes: (string | undefined)[] = [];
    pending.reserve();
    pending.add('k1', A, (error) => outcomes.push(error?.code));
    pending.reserve();
    pending.add('k2', A, (error) => outcomes.push(error?.code));
    expect(pending.targetOf('k1')).toBe(A);
    expect(pending.settle('k1')).toBe(true);
    expect(pending.settle('k1', new PeerSockError('TIMEOUT', 'late'))).toBe(false);
    pending.rejectAll(new PeerSockError('NODE_STOPPED', 'stopped'));
    expect(outcomes).toEqual([undefined, 'NODE_STOPPED']);
    expect(pending.size).toBe(0);
    expect(pending.targetOf('k1')).toBeUndefined();
  });

  it('never lets a second send take over a msgId in use', () => {
    const pending = new PendingSends(4);
    const outcomes: (string | undefined)[] = [];
    pending.add('k', A, (error) => outcomes.push(`first:${error?.code}`));
    pending.add('k', A, (error) => outcomes.push(`second:${error?.code}`));
    pending.settle('k');
    expect(outcomes).toEqual(['second:INVALID_ARGUMENT', 'first:undefined']);
  });
});
