import type { PeerId } from '../src/identity/peer-id.js';
import { createSeededRandom } from './seeded-random.js';
import type { Violation } from './invariants.js';
import type { Simulator } from './simulator.js';

/**
 * Routed messages as background traffic in a simulation: every `everyMs` virtual ms one alive
 * node sends a small routed message to another alive node it has no direct link to, and the
 * outcome is recorded. What the invariant checks (DESIGN §3: no silent loss): every send
 * settles explicitly — acked, or rejected with a coded reason — and none is delivered twice.
 */
export const ROUTED_TRAFFIC_PROTOCOL = 'sim/routed';

/** Routed reasons for a send to end without an ack; anything else (or no settling) is a violation. */
const EXPLICIT_FAILURES: ReadonlySet<string> = new Set([
  'UNREACHABLE',
  'TTL_EXPIRED',
  'TIMEOUT',
  'BACKPRESSURE',
  'NODE_STOPPED',
  // The origin crashed or left while its message was in flight: the node reports it so.
  'SUPERVISOR_ESCALATED',
]);

export interface RoutedRecord {
  id: number;
  origin: PeerId;
  target: PeerId;
  sentAt: number;
  /** 'pending' until the promise settles; then 'acked' or the rejection's code. */
  outcome: string;
  settledAt?: number;
  /** Times the target's application received it. */
  deliveries: number;
}

export interface RoutedTraffic {
  readonly records: readonly RoutedRecord[];
  /** No more sends after this (those in flight still settle). */
  stop(): void;
}

export function startRoutedTraffic(simulator: Simulator, options: { everyMs: number; seed: number }): RoutedTraffic {
  const random = createSeededRandom(options.seed);
  const records: RoutedRecord[] = [];
  const subscribed = new Set<PeerId>();
  let stopped = false;

  const listen = (node: ReturnType<Simulator['alive']>[number]) => {
    if (subscribed.has(node.id)) return;
    subscribed.add(node.id);
    node.node.messages$.subscribe((message) => {
      if (message.protocol !== ROUTED_TRAFFIC_PROTOCOL) return;
      const record = records[new DataView(message.data.buffer, message.data.byteOffset, message.data.byteLength).getUint32(0)];
      if (record && record.target === node.id && record.origin === message.from) record.deliveries += 1;
    });
  };

  const tick = () => {
    if (stopped) return;
    simulator.clock.setTimeout(tick, options.everyMs);
    const alive = simulator.alive();
    for (const node of alive) listen(node);
    if (alive.length < 2) return;
    const origin = alive[Math.floor(random.float() * alive.length)]!;
    const others = alive.filter((node) => node !== origin && !origin.node.peers().includes(node.id));
    if (others.length === 0) return;
    const target = others[Math.floor(random.float() * others.length)]!;
    const record: RoutedRecord = { id: records.length, origin: origin.id, target: target.id, sentAt: simulator.now(), outcome: 'pending', deliveries: 0 };
    records.push(record);
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(0, record.id);
    origin.node.send(target.id, ROUTED_TRAFFIC_PROTOCOL, payload).then(
      () => settle(record, 'acked'),
      (error: { code?: string }) => settle(record, error?.code ?? `uncoded: ${String(error)}`),
    );
  };
  const settle = (record: RoutedRecord, outcome: string) => {
    record.outcome = outcome;
    record.settledAt = simulator.now();
  };

  simulator.clock.setTimeout(tick, options.everyMs);
  return {
    records,
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * Every routed send settled explicitly and none was delivered twice. Sends whose origin
 * crashed are exempt from settling (a crashed node's promises die with it, as a process's would).
 */
export function checkRoutedSettled(records: readonly RoutedRecord[], crashed: ReadonlySet<PeerId>): Violation[] {
  const violations: Violation[] = [];
  for (const record of records) {
    const where = `routed #${record.id} ${record.origin.slice(0, 10)} → ${record.target.slice(0, 10)} sent at ${Math.round(record.sentAt)} ms`;
    if (record.deliveries > 1) violations.push({ kind: 'routed-duplicate', node: record.target.slice(0, 10), message: `${where} was delivered ${record.deliveries} times` });
    if (record.outcome === 'acked' && record.deliveries === 0) {
      violations.push({ kind: 'routed-unsettled', node: record.origin.slice(0, 10), message: `${where} was acked but never delivered` });
    }
    if (crashed.has(record.origin)) continue;
    if (record.outcome === 'pending') violations.push({ kind: 'routed-unsettled', node: record.origin.slice(0, 10), message: `${where} never settled` });
    else if (record.outcome !== 'acked' && !EXPLICIT_FAILURES.has(record.outcome)) {
      violations.push({ kind: 'routed-unsettled', node: record.origin.slice(0, 10), message: `${where} failed without an explicit reason: ${record.outcome}` });
    }
  }
  return violations;
}

/** Counts by outcome, for reports. */
export function routedSummary(records: readonly RoutedRecord[]): Record<string, number> {
  const summary: Record<string, number> = {};
  for (const record of records) summary[record.outcome] = (summary[record.outcome] ?? 0) + 1;
  return summary;
}
