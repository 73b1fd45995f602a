import { afterEach, describe, expect, it } from 'vitest';
import { createMachine, type AnyActorRef, type AnyStateNode } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import { DEFAULT_CONNECTION_CONFIG, type ConnectionConfig } from '../../src/actors/transport/connection-config.js';
import { connectionManagerMachine } from '../../src/actors/transport/connection-manager.machine.js';
import { AUTH_PROTOCOL } from '../../src/actors/transport/handshake.js';
import { peerConnectionMachine } from '../../src/actors/transport/peer-connection.machine.js';
import type { LinkOptions, LinkTransport } from '../../src/ports/transport.js';
import { createSim, FAST_CONNECTION, filterOutgoing, phaseOf, protocolOf, type Sim, type StateRecord } from '../helpers/sim-ports.js';

/**
 * The peer-connection actor on the memory network and a SimulatedClock: every timing
 * below is virtual time, derived from the configured latencies and timeouts.
 */
const L = 10; // one-way link latency
const S = 25; // one-way signaling latency
const config: Partial<ConnectionConfig> = FAST_CONNECTION;
const T = config as Required<Pick<ConnectionConfig, keyof typeof config>>;
const OPEN_AFTER = 2 * S + 4 * L; // offer/answer round trip (with the nonces), link round trip, proof + done

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

/** A full collection, after the current job (WeakRef targets live at least until it ends). */
async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (vitest.config.ts passes it)');
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

function start(seed = 1): Sim {
  sim = createSim({ seed, latencyMs: L, signalingLatencyMs: S, config });
  return sim;
}

/** Phases in order of entry, consecutive repeats collapsed. */
function phases(records: StateRecord[]): string[] {
  const out: string[] = [];
  for (const record of records) {
    const phase = phaseOf(record.state);
    if (out[out.length - 1] !== phase) out.push(phase);
  }
  return out;
}

function firstAt(records: StateRecord[], phase: string): number {
  const found = records.find((record) => phaseOf(record.state) === phase);
  if (!found) throw new Error(`never entered ${phase}`);
  return found.at;
}

describe('peer connection lifecycle (memory network, virtual time)', () => {
  it('goes signaling → connecting → authenticating → open on both sides, at times set by the latencies', async () => {
    const sim = start();
    const a = sim.addNode('a');
    sim.addNode('b');
    a.connect('b');
    await sim.advance(1_000);

    const dialer = sim.statesOf('a', 'b');
    const listener = sim.statesOf('b', 'a');
    expect(phases(dialer)).toEqual(['signaling', 'connecting', 'authenticating', 'open']);
    expect(phases(listener)).toEqual(['signaling', 'connecting', 'authenticating', 'open']);
    // Offer out at 0, answer back at 2S (the nonces with them); the link handshake takes one
    // round trip; then proof and done cross once each.
    expect(firstAt(dialer, 'connecting')).toBe(2 * S);
    expect(firstAt(dialer, 'authenticating')).toBe(2 * S + 2 * L);
    expect(firstAt(dialer, 'open')).toBe(OPEN_AFTER);
    expect(firstAt(listener, 'signaling')).toBe(S);
    expect(firstAt(listener, 'connecting')).toBe(S);
    expect(firstAt(listener, 'open')).toBe(OPEN_AFTER);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    expect(sim.node('b').peerState('a')).toBe('attempt.open.alive');
    expect(sim.noticesOf('a', 'peer.open').map((n) => n.at)).toEqual([OPEN_AFTER]);
  });

  it('keeps no handshake material once open: nonces, the remote hello and proof, the offer are dropped', async () => {
    const sim = start();
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    a.connect('b');
    const contextOf = (node: typeof a, peer: string) => {
      const snapshot = node.actor.getSnapshot();
      const entry = snapshot.context.peers.get(sim.node(peer).peerId);
      return (snapshot.children[entry!.childId] as AnyActorRef).getSnapshot().context as Record<string, unknown>;
    };
    // Mid-handshake the listener holds the offer and its nonce.
    await sim.advance(S + L);
    const offer = ((held: { signal?: object } | undefined) => {
      expect(held?.signal).toBeDefined();
      return new WeakRef(held!.signal!);
    })(contextOf(b, 'a').offer as { signal?: object } | undefined);
    // The dialer starts authenticating at 2S + 2L (see the lifecycle test above): its nonce is out.
    await sim.advance(S + L + 1);
    expect(a.peerState('b')).toMatch(/^attempt\.authenticating/);
    // Held weakly only (a test variable holding it would keep it alive).
    const scratch = ((handshake: { localNonce?: unknown }) => {
      expect(handshake.localNonce).toBeInstanceOf(Uint8Array);
      return new WeakRef(handshake);
    })(contextOf(a, 'b').handshake as { localNonce?: unknown });
    await sim.advance(1_000);
    for (const [node, peer] of [[a, 'b'], [b, 'a']] as const) {
      expect(node.peerState(peer)).toBe('attempt.open.alive');
      const context = contextOf(node, peer);
      expect(context.wasOpen).toBe(true);
      for (const field of ['handshake', 'offer']) expect(context[field], field).toBeUndefined();
    }
    // Nor does anything else hold the scratch or the offer: the link's closures once kept the
    // attempt's first context, and with it the scratch, for the connection's life; the actor's
    // input, which XState keeps as long as the actor, held the listener's offer.
    await collectGarbage();
    expect(scratch.deref(), 'handshake scratch').toBeUndefined();
    expect(offer.deref(), 'offer').toBeUndefined();
  });

  it('fails with SIGNALING_TIMEOUT after maxDialAttempts unanswered offers, backing off with seeded jitter between them', async () => {
    const sim = start(3);
    sim.addNode('a');
    sim.addNode('b');
    const c = sim.addNode('c');
    const d = sim.addNode('d');
    sim.unregister('d'); // d never hears the offers
    c.connect('d');
    await sim.advance(10_000);

    const records = sim.statesOf('c', 'd');
    const attempts = records.filter((record) => record.state === 'attempt.signaling').map((record) => record.at);
    const retries = records.filter((record) => record.state === 'retrying').map((record) => record.at);
    expect(attempts).toHaveLength(T.maxDialAttempts);
    expect(retries).toHaveLength(T.maxDialAttempts - 1);
    const closed = sim.noticesOf('c', 'peer.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]!.notice).toMatchObject({ peer: d.peerId, wasOpen: false, failure: { code: 'SIGNALING_TIMEOUT' } });

    let minTotal = 0;
    let maxTotal = 0;
    for (let k = 0; k < T.maxDialAttempts; k += 1) {
      const end = k < retries.length ? retries[k]! : closed[0]!.at;
      expect(end - attempts[k]!).toBe(T.signalingTimeoutMs); // each attempt waits exactly the timeout
      minTotal += T.signalingTimeoutMs;
      maxTotal += T.signalingTimeoutMs;
      if (k < retries.length) {
        // retryBaseMs × 2^k, jittered to [50%, 150%) and rounded.
        const nominal = T.retryBaseMs * 2 ** k;
        const backoff = attempts[k + 1]! - retries[k]!;
        expect(backoff).toBeGreaterThanOrEqual(Math.round(nominal * 0.5));
        expect(backoff).toBeLessThanOrEqual(Math.round(nominal * 1.5));
        minTotal += Math.round(nominal * 0.5);
        maxTotal += Math.round(nominal * 1.5);
      }
    }
    expect(closed[0]!.at).toBeGreaterThanOrEqual(minTotal);
    expect(closed[0]!.at).toBeLessThanOrEqual(maxTotal);
    // One fresh offer per attempt, each under its own attempt id.
    const offers = sim.signals.filter((s) => s.from === 'c' && 'signal' in s.envelope && s.envelope.signal.type === 'offer');
    expect(offers.map((s) => s.at)).toEqual(attempts);
    expect(new Set(offers.map((s) => s.envelope.cid)).size).toBe(T.maxDialAttempts);
  });

  it('fails with CONNECT_TIMEOUT exactly connectTimeoutMs after the descriptions crossed when the link cannot open', async () => {
    const sim = start(4);
    const a = sim.addNode('a');
    const b = sim.addNode('b');
    sim.network.partition('a', 'b'); // signaling still works; the direct path does not
    a.connect('b');
    await sim.advance(2 * S + T.connectTimeoutMs + 1);

    const dialer = sim.statesOf('a', 'b');
    expect(firstAt(dialer, 'connecting')).toBe(2 * S);
    expect(dialer.find((r) => r.state === 'retrying')?.at).toBe(2 * S + T.connectTimeoutMs);
    expect(sim.noticesOf('b', 'peer.closed')).toEqual([
      { at: S + T.connectTimeoutMs, node: 'b', notice: expect.objectContaining({ peer: a.peerId, failure: expect.objectContaining({ code: 'CONNECT_TIMEOUT' }) }) },
    ]);
    expect(sim.noticesOf('a', 'peer.closed')).toEqual([]); // the dialer retries instead

    // Healed before the retry: the next attempt goes through.
    sim.network.heal('a', 'b');
    await sim.advance(T.retryBaseMs * 1.5 + OPEN_AFTER);
    expect(a.peerState('b')).toBe('attempt.open.alive');
    expect(b.peerState('a')).toBe('attempt.open.alive');
  });

  it('fails with AUTH_TIMEOUT exactly authTimeoutMs after the link opened when the listener never sends its proof', async () => {
    const sim = start();
    const a = sim.addNode('a');
    // b's handshake frames never leave b: it opens the link, then stays mute.
    sim.addNode('b', { wrapTransport: (t) => filterOutgoing(t, (bytes) => protocolOf(bytes) !== AUTH_PROTOCOL) });
    a.connect('b');
    await sim.advance(5_000);

    const openedAt = firstAt(sim.statesOf('a', 'b'), 'authenticating');
    const closed = sim.noticesOf('a', 'peer.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]!.notice).toMatchObject({ wasOpen: false, failure: { code: 'AUTH_TIMEOUT' } });
    expect(closed[0]!.at - openedAt).toBe(T.authTimeoutMs);
    // Not retried: the peer answered, so dialling again would not help.
    expect(sim.statesOf('a', 'b').filter((r) => r.state === 'attempt.signaling')).toHaveLength(1);
    // b, which got a's proof, waited for a done that never came and timed out too.
    const bOpenedAt = firstAt(sim.statesOf('b', 'a'), 'authenticating');
    expect(sim.noticesOf('b', 'peer.closed')[0]).toMatchObject({ at: bOpenedAt + T.authTimeoutMs, notice: { failure: { code: 'AUTH_TIMEOUT' } } });
    expect(a.delivered).toEqual([]);
  });

  describe('a crashed peer', () => {
    /** Connects a and b, lets heartbeats run, crashes b and returns when a's last frame from b arrived. */
    async function crashAfterIdle(sim: Sim, crashOffset: number) {
      let lastFrameAt = -1;
      const watch = (inner: LinkTransport): LinkTransport => ({
        createLink: (options: LinkOptions) =>
          inner.createLink({
            ...options,
            handlers: {
              ...options.handlers,
              onMessage: (data) => {
                lastFrameAt = sim.clock.now();
                options.handlers.onMessage(data);
              },
            },
          }),
        close: () => inner.close(),
      });
      const a = sim.addNode('a', { wrapTransport: watch });
      sim.addNode('b');
      a.connect('b');
      await sim.advance(4 * T.heartbeatTimeoutMs + crashOffset);
      // Idle but healthy: heartbeats alone kept it up well past the timeout.
      expect(a.peerState('b')).toMatch(/^attempt\.open/);
      const crashedAt = sim.clock.now();
      sim.crash('b');
      await sim.advance(3 * (T.heartbeatTimeoutMs + T.heartbeatIntervalMs));
      const closed = sim.noticesOf('a', 'peer.closed');
      expect(closed).toHaveLength(1);
      expect(closed[0]!.notice).toMatchObject({ wasOpen: true, failure: { code: 'HEARTBEAT_TIMEOUT' } });
      return { crashedAt, detectedAt: closed[0]!.at, lastFrameAt };
    }

    it('is detected with HEARTBEAT_TIMEOUT after heartbeatTimeoutMs of silence and at most one interval later, whatever the crash phase', async () => {
      for (const crashOffset of [0, 1, 117, 250, 480]) {
        await sim?.stop();
        const run = start(crashOffset + 1);
        const { crashedAt, detectedAt, lastFrameAt } = await crashAfterIdle(run, crashOffset);
        expect(lastFrameAt).toBeLessThanOrEqual(crashedAt);
        expect(detectedAt - lastFrameAt).toBeGreaterThan(T.heartbeatTimeoutMs);
        expect(detectedAt - lastFrameAt).toBeLessThanOrEqual(T.heartbeatTimeoutMs + T.heartbeatIntervalMs);
        expect(detectedAt - crashedAt).toBeGreaterThan(T.heartbeatTimeoutMs - T.heartbeatIntervalMs);
        expect(detectedAt - crashedAt).toBeLessThanOrEqual(T.heartbeatTimeoutMs + T.heartbeatIntervalMs);
      }
    });
  });

  it('closes gracefully: the other side ends closed without failure after one latency, no timeout involved', async () => {
    const sim = start();
    const a = sim.addNode('a');
    sim.addNode('b');
    a.connect('b');
    await sim.advance(1_000);
    const closedAt = sim.clock.now();
    a.disconnect('b');
    await sim.advance(5_000);

    const aClosed = sim.noticesOf('a', 'peer.closed');
    const bClosed = sim.noticesOf('b', 'peer.closed');
    expect(aClosed).toHaveLength(1);
    expect(bClosed).toHaveLength(1);
    expect(aClosed[0]!.notice).toEqual({ type: 'peer.closed', peer: sim.node('b').peerId, wasOpen: true });
    expect(bClosed[0]!.notice).toEqual({ type: 'peer.closed', peer: a.peerId, wasOpen: true });
    // b reads the goodbye one latency later; a sees b's link go one latency after that.
    expect(bClosed[0]!.at).toBe(closedAt + L);
    expect(aClosed[0]!.at).toBe(closedAt + 2 * L);
    expect(aClosed[0]!.at - closedAt).toBeLessThan(T.closeTimeoutMs);
    expect(phases(sim.statesOf('a', 'b')).slice(-2)).toEqual(['closing', 'closed']);
    expect(phases(sim.statesOf('b', 'a')).slice(-2)).toEqual(['open', 'closed']);
    expect(a.channels.size).toBe(0);
    expect(sim.node('b').channels.size).toBe(0);
  });
});

describe('a close in the middle of the handshake', () => {
  /** a dials b and disconnects at `at`; returns each side's peer.closed notice. */
  async function closeAt(at: number) {
    const sim = start();
    const a = sim.addNode('a');
    sim.addNode('b');
    a.connect('b');
    await sim.advance(at);
    expect(a.peerState('b')).toMatch(/^attempt\.authenticating/);
    a.disconnect('b');
    await sim.advance(2_000);
    return { a: sim.noticesOf('a', 'peer.closed'), b: sim.noticesOf('b', 'peer.closed'), sim };
  }

  it('says goodbye: a remote that already opened (it has our done) ends closed, without a failure', async () => {
    // a verified b's proof and sent its done at 2S + 3L; b's done reaches a at 2S + 4L.
    const { a, b, sim } = await closeAt(2 * S + 3 * L + 1);
    expect(sim.noticesOf('b', 'peer.open')).toHaveLength(1);
    expect(b.map((n) => n.notice)).toEqual([{ type: 'peer.closed', peer: sim.node('a').peerId, wasOpen: true }]);
    expect(a.map((n) => n.notice)).toEqual([{ type: 'peer.closed', peer: sim.node('b').peerId, wasOpen: false }]);
    // By the goodbye, one latency after the close, not by the link's end.
    expect(b[0]!.at).toBe(2 * S + 4 * L + 1);
  });

  it('a remote still authenticating ends with CONNECT_ABANDONED: the peer is alive, nothing failed', async () => {
    // a has not verified b's proof yet (it arrives at 2S + 3L).
    const { b, sim } = await closeAt(2 * S + 2 * L + 1);
    expect(sim.noticesOf('b', 'peer.open')).toEqual([]);
    expect(b.map((n) => n.notice)).toEqual([
      { type: 'peer.closed', peer: sim.node('a').peerId, wasOpen: false, failure: { code: 'CONNECT_ABANDONED', message: 'the remote closed the connection before it opened' } },
    ]);
  });
});

describe('every transient state has a timeout and a way out (DESIGN §2 rule 3)', () => {
  /**
   * A non-final atomic state passes if it, or a compound state around it, leaves on an
   * unguarded `after` to a state outside itself, or if it leaves at once through an
   * `always` list ending in an unguarded transition. Steady states are listed explicitly.
   */
  function unboundedStates(root: AnyStateNode, steady: readonly string[]): string[] {
    const hasTimeout = (node: AnyStateNode): boolean =>
      node.after.some((t) => !t.guard && (t.target ?? []).some((target) => !isWithin(target, node)));
    const leavesAtOnce = (node: AnyStateNode): boolean => {
      const always = node.always ?? [];
      const last = always[always.length - 1];
      return last !== undefined && !last.guard && (last.target ?? []).length > 0;
    };
    const bad: string[] = [];
    for (const node of getStateNodes(root)) {
      if (node.type !== 'atomic' || steady.includes(node.id)) continue;
      let covered = leavesAtOnce(node);
      for (let at: AnyStateNode | undefined = node; !covered && at && at !== root; at = at.parent) covered = hasTimeout(at);
      if (!covered) bad.push(node.id);
    }
    return bad;
  }

  function isWithin(node: AnyStateNode, ancestor: AnyStateNode): boolean {
    for (let at: AnyStateNode | undefined = node; at; at = at.parent) if (at === ancestor) return true;
    return false;
  }

  it('holds for the peer-connection machine, where only an open connection is steady', () => {
    // Its liveness bound is the manager's heartbeat (heartbeat.silent), tested in 'a crashed peer'.
    expect(unboundedStates(peerConnectionMachine.root, ['peer.attempt.open.alive'])).toEqual([]);
    expect(unboundedStates(peerConnectionMachine.root, [])).toEqual(['peer.attempt.open.alive']);
  });

  it('reports a state that only waits for an event, or whose `always` steps are all guarded', () => {
    const probe = createMachine({
      id: 'probe',
      initial: 'waiting',
      states: {
        waiting: { on: { go: 'polling' } },
        polling: { always: { guard: () => false, target: 'done' } },
        timed: { after: { 100: 'done' } },
        done: { type: 'final' },
      },
    });
    expect(unboundedStates(probe.root, [])).toEqual(['probe.waiting', 'probe.polling']);
  });

  it('holds for the connection manager, where only `running` (its heartbeat invoked) is steady', () => {
    expect(unboundedStates(connectionManagerMachine.root, ['transport.running'])).toEqual([]);
    expect(unboundedStates(connectionManagerMachine.root, [])).toEqual(['transport.running']);
  });

  it('resolves every named delay to a positive finite duration under the default config', () => {
    const delays = peerConnectionMachine.implementations.delays as Record<string, (args: { context: unknown }) => number>;
    const context = {
      config: DEFAULT_CONNECTION_CONFIG,
      attempt: 1,
      ports: { random: { float: () => 0.999 } },
    };
    const named = new Set<string>();
    for (const node of getStateNodes(peerConnectionMachine.root)) for (const t of node.after) named.add(String(t.delay));
    expect(named.size).toBeGreaterThan(0);
    for (const name of named) {
      const delay = delays[name];
      expect(delay, name).toBeTypeOf('function');
      const ms = delay!({ context });
      expect(Number.isFinite(ms) && ms > 0, `${name} = ${ms}`).toBe(true);
    }
  });
});
