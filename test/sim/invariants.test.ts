import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkConnected,
  checkNoActorErrors,
  checkNoStuckTransients,
  checkRing,
  connectionTransientTimeouts,
  stateEntryTimes,
} from '../../sim/invariants.js';
import { createTraceRecorder, type SimTraceEntry } from '../../sim/trace.js';
import { positionHex } from '../../src/actors/ring/id-space.js';
import type { RingView } from '../../src/actors/ring/ring-view.js';
import { DEFAULT_CONNECTION_CONFIG } from '../../src/actors/transport/connection-config.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const R = 3;

/** n ids in ring order (ascending position). */
function ringIds(n: number, salt = 0): PeerId[] {
  const ids = Array.from({ length: n }, (_, i) => (i + 1 + salt * 1000).toString(16).padStart(64, 'a') as PeerId);
  return ids.sort((a, b) => (positionHex(a) < positionHex(b) ? -1 : 1));
}

/** The views of a correct ring over `ids` (already in ring order). */
function correctViews(ids: readonly PeerId[], r = R): RingView[] {
  const n = ids.length;
  return ids.map((self, i) => ({
    self,
    state: 'member.stable',
    predecessor: n > 1 ? ids[(i - 1 + n) % n] : undefined,
    successors: Array.from({ length: Math.min(r, n - 1) }, (_, k) => ids[(i + 1 + k) % n]!),
  }));
}

const kinds = (violations: { kind: string }[]) => [...new Set(violations.map((v) => v.kind))].sort();

describe('checkRing', () => {
  it('a correct ring passes, at every size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 8 }), fc.nat(50), (n, r, salt) => {
        const ids = ringIds(n, salt);
        expect(checkRing(correctViews(ids, r), { successorListLength: r })).toEqual([]);
      }),
    );
  });

  it('a lone node may name itself or nobody', () => {
    const [self] = ringIds(1) as [PeerId];
    expect(checkRing([{ self, state: 's', predecessor: self, successors: [self] }], { successorListLength: R })).toEqual([]);
    expect(checkRing([{ self, state: 's', predecessor: undefined, successors: [] }], { successorListLength: R })).toEqual([]);
  });

  it('a broken successor is reported at the node, with the expected one', () => {
    const ids = ringIds(6);
    const views = correctViews(ids);
    // Node 2 skips node 3: its successor and list are wrong, and 3 falls off the cycle.
    views[2] = { ...views[2]!, successors: [ids[4]!, ids[5]!, ids[0]!] };
    const violations = checkRing(views, { successorListLength: R });
    expect(kinds(violations)).toEqual(['cycle', 'successor', 'successor-list']);
    const successor = violations.find((v) => v.kind === 'successor')!;
    expect(successor).toMatchObject({ node: ids[2]!.slice(0, 10), expected: ids[3], actual: ids[4] });
    expect(successor.message).toContain(ids[3]!.slice(0, 10));
    expect(violations.find((v) => v.kind === 'cycle')!.message).toMatch(/5 of 6 alive nodes/);
  });

  it('two separate cycles (a ring that did not merge) are one cycle violation, besides the wrong pointers', () => {
    const ids = ringIds(8);
    // Even positions form one ring, odd ones another: each node's view is correct for its half.
    const even = ids.filter((_, i) => i % 2 === 0);
    const odd = ids.filter((_, i) => i % 2 === 1);
    const views = [...correctViews(even), ...correctViews(odd)];
    const violations = checkRing(views, { successorListLength: R });
    const cycle = violations.filter((v) => v.kind === 'cycle');
    expect(cycle).toHaveLength(1);
    expect(cycle[0]).toMatchObject({ expected: 1, actual: 2 });
    expect(cycle[0]!.message).toMatch(/2 separate cycles \(sizes 4, 4\)/);
    expect(violations.filter((v) => v.kind === 'successor')).toHaveLength(8);
  });

  it('a stale predecessor (a crashed node) is reported as such', () => {
    const ids = ringIds(6);
    const crashed = ids[3]!;
    const alive = ids.filter((id) => id !== crashed);
    const views = correctViews(alive);
    // The node after the crashed one still names it.
    const after = alive.indexOf(ids[4]!);
    views[after] = { ...views[after]!, predecessor: crashed };
    const violations = checkRing(views, { successorListLength: R });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ kind: 'predecessor', node: ids[4]!.slice(0, 10), expected: ids[2], actual: crashed });
    expect(violations[0]!.message).toMatch(/stale/);
  });

  it('a successor pointing at a dead node breaks the chain', () => {
    const ids = ringIds(5);
    const dead = ringIds(1, 7)[0]!;
    const views = correctViews(ids);
    views[1] = { ...views[1]!, successors: [dead, ...views[1]!.successors.slice(0, R - 1)] };
    const violations = checkRing(views, { successorListLength: R });
    const chain = violations.find((v) => v.kind === 'cycle')!;
    expect(chain.message).toMatch(/leaves the alive nodes/);
    expect(violations.find((v) => v.kind === 'successor')!.message).toMatch(/not alive/);
  });

  it('an alive node without a view, and a too-short successor list, are violations', () => {
    const ids = ringIds(5);
    const views = correctViews(ids);
    views[0] = { ...views[0]!, successors: views[0]!.successors.slice(0, 1) };
    const violations = checkRing(views.slice(0, 4), { successorListLength: R, alive: ids });
    expect(violations.filter((v) => v.kind === 'missing-view').map((v) => v.node)).toEqual([ids[4]!.slice(0, 10)]);
    expect(violations.some((v) => v.kind === 'successor-list' && v.node === ids[0]!.slice(0, 10))).toBe(true);
  });
});

describe('checkConnected', () => {
  const ids = ringIds(6);
  it('passes for a connected overlay, counting links in either direction', () => {
    const adjacency = new Map<PeerId, PeerId[]>(ids.map((id, i) => [id, i + 1 < ids.length ? [ids[i + 1]!] : []]));
    expect(checkConnected(adjacency)).toEqual([]);
  });

  it('reports the components of a split overlay', () => {
    const adjacency = new Map<PeerId, PeerId[]>([
      [ids[0]!, [ids[1]!]],
      [ids[1]!, [ids[0]!, ids[2]!]],
      [ids[2]!, []],
      [ids[3]!, [ids[4]!]],
      [ids[4]!, []],
      // A link to a node that is not alive does not connect anything.
      [ids[5]!, [ringIds(1, 9)[0]!]],
    ]);
    const violations = checkConnected(adjacency);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ kind: 'disconnected', actual: 3 });
    expect(violations[0]!.message).toMatch(/3 components \(sizes 3, 2, 1\)/);
  });
});

describe('transient states and actor errors from the trace', () => {
  const peerActor = `transport/peer:${'ab'.repeat(32)}`;
  const entry = (at: number, state: string | undefined, extra: Partial<SimTraceEntry> = {}): SimTraceEntry => ({
    at,
    node: 'n1',
    actor: peerActor,
    kind: 'snapshot',
    ...(state === undefined ? {} : { state }),
    ...extra,
  });

  it('takes each actor state entry time from the trace and flags one sitting too long', () => {
    const trace = [
      entry(0, 'attempt.signaling'),
      entry(100, 'attempt.connecting'),
      entry(200, 'attempt.connecting'), // same state again: entry time stays 100
      { at: 300, node: 'n1', actor: 'transport', kind: 'snapshot', state: 'running' } as SimTraceEntry,
    ];
    const states = stateEntryTimes(trace);
    expect(states).toContainEqual({ node: 'n1', actor: peerActor, state: 'attempt.connecting', since: 100 });
    const timeouts = connectionTransientTimeouts(DEFAULT_CONNECTION_CONFIG, 1_000);
    const limit = DEFAULT_CONNECTION_CONFIG.connectTimeoutMs + 1_000;
    expect(checkNoStuckTransients(states, 100 + limit, timeouts)).toEqual([]);
    const stuck = checkNoStuckTransients(states, 101 + limit, timeouts);
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toMatchObject({ kind: 'stuck-transient', node: 'n1', expected: limit });
    expect(stuck[0]!.message).toContain('attempt.connecting');
  });

  it('keeps the successor of a replaced actor: a superseded final snapshot ends nothing', () => {
    const trace = [
      entry(0, 'attempt.signaling'),
      entry(100, 'attempt.connecting'),
      // The predecessor under the same id, reported done after its successor started.
      entry(150, 'closed', { status: 'done', superseded: true }),
    ];
    const expected = { node: 'n1', actor: peerActor, state: 'attempt.connecting', since: 100 };
    expect(stateEntryTimes(trace)).toEqual([expected]);
    const recorder = createTraceRecorder();
    for (const traced of trace) recorder.record(traced);
    expect(recorder.actorStates()).toEqual([expected]);
    expect(stateEntryTimes([...trace, entry(200, 'closed', { status: 'done' })])).toEqual([]);
  });

  it('open connections and stopped or crashed actors are not transient', () => {
    const timeouts = connectionTransientTimeouts(DEFAULT_CONNECTION_CONFIG);
    const open = stateEntryTimes([entry(0, 'attempt.open.alive')]);
    expect(checkNoStuckTransients(open, 1e9, timeouts)).toEqual([]);
    const stopped = stateEntryTimes([entry(0, 'attempt.connecting'), entry(10, undefined, { status: 'stopped' })]);
    expect(stopped).toEqual([]);
    const crashed = stateEntryTimes([entry(0, 'attempt.connecting'), { at: 5, node: 'n1', actor: 'sim', kind: 'sim', type: 'crash' }]);
    expect(crashed).toEqual([]);
  });

  it('checkNoActorErrors reports error snapshots and child error events', () => {
    expect(checkNoActorErrors([entry(0, 'attempt.signaling'), entry(5, 'attempt.connecting')])).toEqual([]);
    const violations = checkNoActorErrors([
      entry(0, 'attempt.signaling'),
      entry(7, undefined, { status: 'error' }),
      { at: 8, node: 'n1', actor: 'root', kind: 'event', type: 'xstate.error.actor.transport' },
    ]);
    expect(violations.map((v) => v.kind)).toEqual(['actor-error', 'actor-error']);
    expect(violations[1]!.message).toContain('xstate.error.actor.transport');
  });
});
