/**
 * The transport learns at once when the ring's closely watched neighbours (predecessor, first
 * successor) change, and follows a ring actor that a supervisor restart replaced.
 */
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, type AnyActorRef } from 'xstate';
import { createRingNeighbourWatch } from '../../src/node/ring-neighbour-watch.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const id = (c: string) => c.repeat(64) as PeerId;
const [A, B, C, D] = ['a', 'b', 'c', 'd'].map(id) as [PeerId, PeerId, PeerId, PeerId];

interface Context {
  predecessor?: { id: PeerId };
  successors: { id: PeerId }[];
  other: number;
}

const fakeRing = setup({
  types: { context: {} as Context, events: {} as { type: 'set'; predecessor?: PeerId; successors?: PeerId[] } | { type: 'tick' } },
}).createMachine({
  context: { successors: [], other: 0 },
  on: {
    set: {
      actions: assign(({ event }) => ({
        predecessor: event.predecessor === undefined ? undefined : { id: event.predecessor },
        successors: (event.successors ?? []).map((peer) => ({ id: peer })),
      })),
    },
    tick: { actions: assign({ other: ({ context }) => context.other + 1 }) },
  },
});

describe('ring neighbour watch', () => {
  it('reports the old and new predecessor and first successor on each change, and nothing else', () => {
    let ring: AnyActorRef = createActor(fakeRing).start();
    const reports: PeerId[][] = [];
    const watch = createRingNeighbourWatch(() => ring, (peers) => reports.push([...peers].sort()));
    watch.follow();
    expect(reports).toEqual([]);
    ring.send({ type: 'set', predecessor: A, successors: [B, C] });
    expect(reports).toEqual([[A, B]]);
    expect([A, B, C].map((peer) => watch.isNeighbour(peer))).toEqual([true, true, false]);
    ring.send({ type: 'tick' });
    // A change further down the list concerns no watched link.
    ring.send({ type: 'set', predecessor: A, successors: [B, D] });
    expect(reports).toHaveLength(1);
    ring.send({ type: 'set', predecessor: C, successors: [B] });
    expect(reports[1]).toEqual([A, B, C]);
    expect([A, B, C].map((peer) => watch.isNeighbour(peer))).toEqual([false, true, true]);
    // A restarted ring starts empty: its old neighbours are reported once followed.
    ring.stop();
    ring = createActor(fakeRing).start();
    watch.follow();
    expect(reports[2]).toEqual([B, C]);
    ring.send({ type: 'set', predecessor: D, successors: [A] });
    expect(reports[3]).toEqual([A, D]);
    watch.stop();
    ring.send({ type: 'set', predecessor: B, successors: [C] });
    expect(reports).toHaveLength(4);
  });
});
