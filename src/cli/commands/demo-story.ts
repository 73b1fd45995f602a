import { randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { filter, firstValueFrom } from 'rxjs';
import type { Position } from '../../actors/ring/id-space.js';
import { PeerSockError } from '../../errors.js';
import type { Identity } from '../../identity/identity.js';
import type { PeerId } from '../../identity/peer-id.js';
import { DEMO_PUZZLE_BITS, generateIdentityMeetingPuzzle } from '../../identity/position-puzzle.js';
import type { SignalRelayStats } from '../../node/signal-relay.js';
import { startNode } from '../../node/start-node.js';
import { startSignalingServer } from '../../signaling/server.js';
import { CHAT_PROTOCOL } from '../defaults.js';
import { describePayload, formatMs } from '../output.js';
import { closestTruth, ringOrder, ringProblems, unlinkedPair } from './demo-checks.js';
import type { DemoStage } from './demo-stage.js';

/**
 * The demo's phases, in the order they run. Each one prints what happened and returns the
 * facts the summary line reports; a check against the truth that fails is recorded in
 * `failures` (the story goes on, so the output shows everything, and the demo exits 1).
 */

/** Fast maintenance so the story fits in seconds; the engine's defaults are tuned for real networks. */
const RING = { stabilizeIntervalMs: 250, requestTimeoutMs: 1_000, mergeIntervalMs: 5_000, successorListLength: 2 };
/** A small link budget keeps some pairs unlinked, so routing and overlay signaling have work to do. */
const DHT = { planIntervalMs: 1_000, lookupTimeoutMs: 3_000, linkBudget: 5 };
const CONNECTION = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 1_000 };
const LOOKUP_COUNT = 3;
const POLL_MS = 50;
const PROGRESS_EVERY_MS = 2_000;
const DHT_SETTLE_ROUNDS = 3;

export interface StoryFacts {
  failures: string[];
}

export async function startServer(stage: DemoStage): Promise<string> {
  const server = await stage.wait(startSignalingServer({ port: 0, host: '127.0.0.1' }), 'starting the signaling server');
  stage.server = server;
  stage.say('server', `signaling server listening on ${server.url}`);
  return server.url;
}

/**
 * Each node gets a fresh identity ground to solve the position puzzle, then starts with the
 * ring and the DHT and joins by itself: no dials here. Identities are ground first so each
 * node's start time is its own, not its neighbours' grinding (which blocks the event loop).
 */
export async function startNodes(stage: DemoStage, count: number, url: string, starting: Promise<void>[]): Promise<void> {
  const work = (async () => {
    const identities: { identity: Identity; groundMs: number }[] = [];
    for (let i = 0; i < count; i += 1) {
      // Grinding is synchronous: yield so a timeout or Ctrl-C can be noticed between identities.
      await nextTurn();
      if (stage.phase === 'stopping') return;
      const begun = performance.now();
      const identity = generateIdentityMeetingPuzzle(DEMO_PUZZLE_BITS);
      identities.push({ identity, groundMs: performance.now() - begun });
    }
    const grinding = identities.reduce((sum, { groundMs }) => sum + groundMs, 0);
    stage.say('identities', `${count} fresh identities, each ground to solve the ${DEMO_PUZZLE_BITS}-bit position puzzle: ${formatMs(grinding)} in all, ${formatMs(grinding / count)} each on average`);
    // One after another, as peers arrive in a real network: startNode resolves once the node
    // is registered at the server, so the next one's bootstrap sample can name it. The joins
    // themselves run on their own and overlap.
    for (const [i, { identity, groundMs }] of identities.entries()) {
      if (stage.phase === 'stopping') return;
      const started = startOne(stage, i, identity, groundMs, url);
      starting.push(started);
      await started;
    }
  })();
  await stage.wait(work, `starting ${count} nodes`);
}

async function startOne(stage: DemoStage, i: number, identity: Identity, groundMs: number, url: string): Promise<void> {
  const begun = performance.now();
  const node = await startNode({
    identity,
    puzzleBits: DEMO_PUZZLE_BITS,
    signaling: [url],
    bindAddress: '127.0.0.1',
    verifyThreads: 1,
    ring: RING,
    dht: DHT,
    connection: CONNECTION,
  });
  // A node that finished starting after a failure must still be stopped, or the process cannot exit.
  if (stage.phase === 'stopping') {
    await node.stop();
    return;
  }
  stage.nodes[i] = node;
  stage.watch(i, node);
  stage.say('node started', `${stage.name(i)}  puzzle ${formatMs(groundMs)}, up in ${formatMs(performance.now() - begun)}`);
}

/**
 * Waits until every alive node has the right predecessor and successors; returns how long it
 * took. While it waits it says, now and then, what is still wrong: a newcomer watching a
 * pause should see the ring converging, not a hang.
 */
export async function ringCorrect(stage: DemoStage, what: string): Promise<number> {
  const started = performance.now();
  let told = started;
  for (;;) {
    const members = stage.alive().map((i) => stage.nodes[i]!);
    const problems = ringProblems(
      members.map((n) => n.id),
      new Map(members.map((n) => [n.id, n.ring()])),
      RING.successorListLength,
      stage.labelOf,
    );
    if (problems.length === 0) return performance.now() - started;
    const now = performance.now();
    if (now - started > stage.timeoutMs) {
      throw new PeerSockError('TIMEOUT', `${what} did not finish within ${stage.timeoutMs} ms: ${plural(problems.length, 'ring view')} still wrong, e.g. ${problems[0]}`);
    }
    if (now - told >= PROGRESS_EVERY_MS) {
      told = now;
      stage.say('ring settling', `${plural(problems.length, 'view')} still wrong, e.g. ${problems[0]}`);
    }
    await Promise.race([sleep(POLL_MS), stage.aborted]);
  }
}

/** Phase 2: the ring the nodes built by themselves, in position order, and who links to whom. */
export async function formRing(stage: DemoStage): Promise<number> {
  const ms = await ringCorrect(stage, 'forming the ring');
  const { opened, closed } = stage.linkChanges();
  stage.phase = 'story';
  stage.say('ring correct', `every node has the right predecessor and ${RING.successorListLength} successors, ${formatMs(ms)} after all started (${opened} links opened, ${closed} closed on the way)`);
  sayRingOrder(stage);
  stage.say('links per node', stage.alive().map((i) => `n${i} ${stage.nodes[i]!.peers().length}`).join(', '));
  return ms;
}

/**
 * Phase 3: a lookup through the DHT, compared with the XOR-closest of all node ids. The DHT
 * learns its contacts from the link sets nodes announce once per planning round; asked soon
 * after the ring is right, a lookup can miss a node not announced yet (seen here: 3 of 8
 * lookups wrong 0.6 s after forming, and a wrong one after 1.5 s). It waits three rounds
 * first, as the engine's own loopback test does.
 */
export async function lookup(stage: DemoStage, facts: StoryFacts): Promise<void> {
  const settle = DHT_SETTLE_ROUNDS * DHT.planIntervalMs;
  stage.say('dht', `waiting ${DHT_SETTLE_ROUNDS} link-planning rounds (${formatMs(settle)}) so every node has announced its links`);
  // A fixed pause, not a wait on the network: only a failure or Ctrl-C cuts it short.
  await Promise.race([sleep(settle), stage.aborted]);
  const asker = stage.alive()[0]!;
  const node = stage.nodes[asker]!;
  const position = randomBytes(32).toString('hex') as Position;
  // The node reports how many links the answer crossed as it resolves the lookup.
  let crossed: number | undefined;
  const hops = node.events$.subscribe((e) => {
    if (e.type === 'dht.lookup' && e.target === position) crossed = e.hops;
  });
  const begun = performance.now();
  let found: PeerId[];
  try {
    found = await stage.wait(node.closestPeers({ position }, LOOKUP_COUNT), `n${asker}'s lookup`);
  } finally {
    hops.unsubscribe();
  }
  const took = performance.now() - begun;
  const truth = closestTruth(position, stage.alive().map((i) => stage.nodes[i]!.id), LOOKUP_COUNT);
  const exact = found.join() === truth.join();
  const names = (ids: readonly PeerId[]) => ids.map((id) => stage.nameOf(id).replace(/\s+/, ' ')).join(', ');
  stage.say('lookup', `${stage.name(asker)} asks for the ${LOOKUP_COUNT} peers closest to ${position.slice(0, 8)}…`);
  stage.say(
    'lookup answer',
    `${names(found)}  in ${formatMs(took)}${crossed === undefined ? '' : `, ${crossed} ${crossed === 1 ? 'hop' : 'hops'}`}; ${exact ? 'exact: the XOR-closest of all nodes' : `WRONG: the XOR-closest are ${names(truth)}`}`,
  );
  if (!exact) facts.failures.push(`the lookup for ${position.slice(0, 8)}… answered ${names(found)}, the closest are ${names(truth)}`);
}

/**
 * A message between two nodes without a direct link: routed hop by hop, sealed for the target;
 * send() resolves on the target's signed ack. False when every pair is linked (a small network).
 */
export async function routedMessage(stage: DemoStage, facts: StoryFacts, when: string): Promise<boolean> {
  const alive = stage.alive();
  const pair = unlinkedPair(alive, stage.linkedOrConnecting, (i) => stage.nodes[i]!.id);
  if (!pair) {
    stage.say('routed', `skipped ${when}: every node has a direct link to every other`);
    return false;
  }
  const [from, to] = pair;
  const sender = stage.nodes[from]!;
  const receiver = stage.nodes[to]!;
  const text = `hello n${to}, this is n${from} ${when}, routed through the ring`;
  const arrived = firstValueFrom(receiver.messages$.pipe(filter((m) => m.from === sender.id && m.protocol === CHAT_PROTOCOL)));
  // Awaited below unless the send fails first; then nobody may be left holding a rejection.
  arrived.catch(() => undefined);
  stage.say('routing', `${stage.name(from)} → ${stage.name(to)}  (no direct link)`);
  const begun = performance.now();
  await stage.wait(sender.send(receiver.id, CHAT_PROTOCOL, Buffer.from(text, 'utf8')), `routing a message n${from} → n${to}`);
  const acked = performance.now() - begun;
  const message = await stage.wait(arrived, `n${to} receiving the routed message`);
  stage.say('message', `${stage.name(from)} → ${stage.name(to)}  ${describePayload(message.data)}`);
  stage.say('acked', `${stage.name(from)} → ${stage.name(to)}  end-to-end ack after ${formatMs(acked)} (sealed for n${to}, signed by n${from})`);
  if (Buffer.from(message.data).toString('utf8') !== text) facts.failures.push(`the routed message n${from} → n${to} arrived changed`);
  return true;
}

/** Phase 5a: every signaling server gone, then one node leaves gracefully; the rest heal on their own. */
export async function serversGoneAndLeave(stage: DemoStage): Promise<number> {
  await stage.wait(stage.server!.close(), 'stopping the signaling server');
  stage.serverClosed = true;
  stage.say('server closed', 'no signaling server from now on: the network is on its own');
  const alive = stage.alive();
  const leaver = alive[alive.length - 1]!;
  stage.say('leaving', `${stage.name(leaver)}  stops gracefully`);
  const begun = performance.now();
  await stage.wait(stage.nodes[leaver]!.stop(), `n${leaver} leaving`);
  stage.left.add(leaver);
  stage.say('left', `${stage.name(leaver)}  in ${formatMs(performance.now() - begun)}`);
  await ringCorrect(stage, 'healing the ring');
  stage.say('ring healed', `every remaining node has the right neighbours again, ${formatMs(performance.now() - begun)} after the leave`);
  sayRingOrder(stage);
  return performance.now() - begun;
}

/**
 * Phase 5b: connect() between two nodes without a link, with no server left: the signals must
 * travel through the overlay. signalPaths() before and after shows which way they went (the
 * counters are per node, so they include any other connection either end signals meanwhile).
 * False when every remaining pair is linked already (a small network).
 */
export async function overlayConnect(stage: DemoStage, facts: StoryFacts): Promise<boolean> {
  const alive = stage.alive();
  const pair = unlinkedPair(alive, stage.linkedOrConnecting, (i) => stage.nodes[i]!.id);
  if (!pair) {
    stage.say('connect', 'skipped: every remaining node has a direct link to every other');
    return false;
  }
  const [a, b] = pair;
  const dialer = stage.nodes[a]!;
  const listener = stage.nodes[b]!;
  const before = [dialer.signalPaths(), listener.signalPaths()] as const;
  stage.say('connecting', `${stage.name(a)} → ${stage.name(b)}  (no server: offer, answer and candidates must go through the overlay)`);
  const begun = performance.now();
  await stage.wait(dialer.connect(listener.id, { timeoutMs: stage.timeoutMs }), `connecting n${a} → n${b}`);
  const took = performance.now() - begun;
  const after = [dialer.signalPaths(), listener.signalPaths()] as const;
  const delta = (k: 0 | 1): SignalRelayStats => {
    const d = { ...after[k] };
    for (const key of Object.keys(d) as (keyof SignalRelayStats)[]) d[key] -= before[k][key];
    return d;
  };
  stage.say('connected', `${stage.name(a)} ⇄ ${stage.name(b)}  in ${formatMs(took)}; each end's signals meanwhile:`);
  for (const [k, i] of [a, b].entries()) {
    const d = delta(k as 0 | 1);
    const fellBack = d.fellBack > 0 ? `; ${d.fellBack} overlay ${d.fellBack === 1 ? 'send' : 'sends'} failed and went to the (stopped) server` : '';
    stage.say('signal paths', `n${i}  overlay: ${d.overlaySent} sent, ${d.overlayReceived} received; server: ${d.serverSent} sent, ${d.serverReceived} received${fellBack}`);
  }
  const [da, db] = [delta(0), delta(1)];
  // With no server running, only the overlay can have carried what arrived; what counts is
  // that both ends received their signals that way and none through a server.
  const overlayOnly = da.overlayReceived > 0 && db.overlayReceived > 0 && da.serverReceived === 0 && db.serverReceived === 0;
  if (!overlayOnly) {
    facts.failures.push(`the connection n${a} → n${b} was not signaled through the overlay alone (received through the overlay ${da.overlayReceived} + ${db.overlayReceived}, through a server ${da.serverReceived} + ${db.serverReceived})`);
  }
  return true;
}

/** `n3 → n0 → n5 → … → n3`: the alive nodes clockwise, back to the first. */
function sayRingOrder(stage: DemoStage): void {
  const order = ringOrder(stage.alive().map((i) => stage.nodes[i]!.id)).map(stage.labelOf);
  stage.say('ring order', [...order, order[0]].join(' → '));
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

