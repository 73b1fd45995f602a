/**
 * What the ring machine spends on the events a settled ring sends it most, among 1,000 ring
 * actors (the ring actors of a 1,000-node simulation), against the least XState spends on an
 * event for this machine: one no state takes, on the same actors in the same run.
 *
 * The simulator's wall time moves ±5% from run to run on this VM, more than most single
 * changes to a machine are worth; these figures move far less (the least of three rounds, no
 * network, no other actors) and show where a change to the ring's actions pays. Kinds:
 * - `notify`: from a peer that is not closer than our predecessor (nothing changes);
 * - `get`: a neighbour asks for our lists (one reply sent);
 * - `neighbours`: our successor pushes the list we hold already (nothing changes);
 * - `linkUp`: a link to a peer we know opens again (nothing to adopt);
 * - `unhandled` (the baseline): an event no state of the ring takes.
 *
 * Each event goes to an actor picked by a fixed LCG. Afterwards every actor must still hold
 * its list and predecessor, have sent exactly one message per `get`, and dialled nothing.
 */
import { pathToFileURL } from 'node:url';
import type { EventFromLogic } from 'xstate';
import type { ringMachine } from '../src/actors/ring/ring.machine.js';
import type { PeerId } from '../src/identity/peer-id.js';
import { pickSequence } from './actor-dispatch.js';
import { exitWithJson } from './bench-child.js';
import { leastMs } from './least-time.js';
import { settledRingActors, type SettledRingActor } from './ring-actors.js';
import { roundTo } from './round.js';

export type RingEventKind = 'notify' | 'get' | 'neighbours' | 'linkUp' | 'unhandled';
export const RING_EVENT_KINDS: readonly RingEventKind[] = ['unhandled', 'notify', 'get', 'neighbours', 'linkUp'];

export interface RingEventFigures {
  population: number;
  eventsPerRound: number;
  /** µs per event, the least of three rounds, by kind. */
  usPerEvent: Record<RingEventKind, number>;
  /** Each kind's µs over the unhandled event's. */
  overUnhandled: Record<Exclude<RingEventKind, 'unhandled'>, number>;
  /** Actors whose list, predecessor, sends and dials are as the events they were sent leave them: all. */
  actorsAsExpected: number;
}

/** The event of `kind` the benchmark sends `ring`. */
export function ringEvent(ring: SettledRingActor, kind: RingEventKind): EventFromLogic<typeof ringMachine> {
  const { self, predecessor, successors } = ring;
  switch (kind) {
    case 'notify':
      // The farthest successor lies after us, not between our predecessor and us: no change.
      return { type: 'ring.message', from: successors[successors.length - 1]!.id, message: { t: 'notify' } };
    case 'get':
      return { type: 'ring.message', from: predecessor.id, message: { t: 'get' } };
    case 'neighbours':
      return { type: 'ring.message', from: successors[0]!.id, message: { t: 'neighbours', predecessor: self.id, successors: successors.slice(1).map((c) => c.id) } };
    case 'linkUp':
      return { type: 'link.up', peer: successors[1]!.id };
    case 'unhandled':
      return { type: 'bench.nothing' } as never;
  }
}

/** Times every kind over `population` settled ring actors; `events` per round, three rounds each. */
export async function ringEventCosts(population: number, events: number): Promise<RingEventFigures> {
  if (!Number.isInteger(events) || events < 1) throw new RangeError(`events must be a positive integer, got ${events}`);
  const rings = await settledRingActors(population);
  const gets = new Uint32Array(population);
  const usPerEvent = {} as Record<RingEventKind, number>;
  for (const kind of RING_EVENT_KINDS) {
    const sequence = pickSequence(population);
    const batch = (n: number) => {
      for (let i = 0; i < n; i += 1) {
        const index = sequence();
        if (kind === 'get') gets[index] = gets[index]! + 1;
        rings[index]!.actor.send(ringEvent(rings[index]!, kind));
      }
    };
    batch(2 * population); // warm-up: most actors get an event before the timing
    usPerEvent[kind] = (leastMs(3, () => batch(events)) * 1_000) / events;
  }
  const actorsAsExpected = rings.filter((ring, i) => unchanged(ring) && ring.sent === gets[i] && ring.dials === 0).length;
  for (const ring of rings) ring.actor.stop();
  const overUnhandled = Object.fromEntries(
    RING_EVENT_KINDS.filter((kind) => kind !== 'unhandled').map((kind) => [kind, usPerEvent[kind] / usPerEvent.unhandled]),
  ) as RingEventFigures['overUnhandled'];
  return { population, eventsPerRound: events, usPerEvent, overUnhandled, actorsAsExpected };
}

function unchanged(ring: SettledRingActor): boolean {
  const { context } = ring.actor.getSnapshot();
  const ids = (list: readonly { id: PeerId }[]) => list.map((c) => c.id).join();
  return ring.actor.getSnapshot().matches('member') && ids(context.successors) === ids(ring.successors) && context.predecessor?.id === ring.predecessor.id;
}


async function main(): Promise<void> {
  const figures = await ringEventCosts(1_000, 100_000);
  for (const kind of RING_EVENT_KINDS) console.log(`${kind.padEnd(10)} ${figures.usPerEvent[kind].toFixed(2)} µs per event`);
  exitWithJson({
    bench: 'ring-events',
    ...figures,
    usPerEvent: Object.fromEntries(Object.entries(figures.usPerEvent).map(([k, v]) => [k, roundTo(v, 2)])),
    overUnhandled: Object.fromEntries(Object.entries(figures.overUnhandled).map(([k, v]) => [k, roundTo(v, 2)])),
    // No target of its own: a steadier reading of the per-event cost behind sim-scale's.
    targets: { sim10kWallSec: 300 },
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
