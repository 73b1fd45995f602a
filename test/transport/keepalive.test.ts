/**
 * Heartbeats as keepalives: once per interval a side pings only if it sent nothing else since
 * the last interval, and nobody answers pings. Any frame is proof of life to the remote's
 * failure detector, so links that carry traffic carry no heartbeat frames at all.
 */
import { describe, expect, it } from 'vitest';
import type { PeerChannel } from '../../src/actors/transport/peer-channel.js';
import { PeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { DEFAULT_WIRE_LIMITS, decodeFrame, encodeFrame } from '../../src/wire/index.js';
import { openTestLink, testChannel } from '../helpers/peer-channel.js';

const REMOTE = 'cd'.repeat(32) as PeerId;

function channel() {
  const sent: string[] = [];
  const { ch } = testChannel(REMOTE, openTestLink((bytes) => void sent.push(decodeFrame(bytes).protocol)));
  ch.markAuthenticated();
  return { ch, sent };
}

describe('keepalive heartbeat', () => {
  it('an idle link sends one ping per interval', () => {
    const { ch, sent } = channel();
    ch.keepAlive();
    ch.keepAlive();
    ch.keepAlive();
    expect(sent).toEqual(['ps/ping', 'ps/ping', 'ps/ping']);
  });

  it('a link that sent anything since the last interval sends no ping', () => {
    const { ch, sent } = channel();
    ch.sendControl('ps/ring', { t: 'get' });
    ch.keepAlive(); // traffic went out: no ping
    ch.keepAlive(); // idle since: ping
    expect(sent).toEqual(['ps/ring', 'ps/ping']);
  });

  it('application data counts as traffic too', async () => {
    const { ch, sent } = channel();
    await ch.send('app/chat', new Uint8Array([1, 2, 3]));
    ch.keepAlive();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.filter((p) => p === 'ps/ping')).toEqual([]);
  });

  it('sends one and the same ping frame every time; a ping of any body (older peers counted) is life, not a violation', () => {
    const frames: Uint8Array[] = [];
    const { ch } = testChannel(REMOTE, openTestLink((bytes) => void frames.push(Uint8Array.from(bytes))));
    ch.markAuthenticated();
    ch.keepAlive();
    ch.keepAlive();
    expect(frames).toHaveLength(2);
    expect(frames[1]).toEqual(frames[0]);
    expect(decodeFrame(frames[0]!)).toEqual({ protocol: 'ps/ping', body: 0 });

    const { ch: listener, violations, control, internal, clock } = testChannel(REMOTE);
    listener.markAuthenticated();
    clock.advance(1_000);
    expect(listener.silentFor(clock.now())).toBe(1_000);
    listener.receive(frames[0]!);
    expect(listener.silentFor(clock.now())).toBe(0);
    clock.advance(500);
    listener.receive(encodeFrame('ps/ping', 7, DEFAULT_WIRE_LIMITS));
    expect(listener.silentFor(clock.now())).toBe(0);
    expect(violations).toEqual([]);
    expect(control).toEqual([]);
    expect(internal).toEqual([]);
  });

  it('does not answer a ping (each side keeps its own direction alive)', () => {
    const { ch, sent } = channel();
    ch.receive(encodeFrame('ps/ping', 7, DEFAULT_WIRE_LIMITS));
    ch.receive(encodeFrame('ps/pong', 7, DEFAULT_WIRE_LIMITS));
    expect(sent).toEqual([]);
  });
});

/**
 * Watched links (ConnectionConfig.unwatchedHeartbeatFactor): a side tells the other which links
 * it needs watched closely (`ps/watch`); only those are kept alive every interval.
 */
describe('watched and unwatched links', () => {
  it('an idle link nobody watches pings once every `factor` intervals, every interval once watched', () => {
    const { ch, sent } = channel();
    for (let i = 0; i < 8; i += 1) ch.keepAlive(4);
    expect(sent).toEqual(['ps/ping', 'ps/ping']);
    ch.receive(encodeFrame('ps/watch', true, DEFAULT_WIRE_LIMITS));
    // Answered at once (see the next test); that ping is the interval's traffic.
    expect(sent.at(-1)).toBe('ps/ping');
    sent.length = 0;
    for (let i = 0; i < 3; i += 1) ch.keepAlive(4);
    expect(sent).toEqual(['ps/ping', 'ps/ping']);
    ch.receive(encodeFrame('ps/watch', false, DEFAULT_WIRE_LIMITS));
    sent.length = 0;
    for (let i = 0; i < 4; i += 1) ch.keepAlive(4);
    expect(sent).toEqual(['ps/ping']);
  });

  it('keeps an unwatched link alive as often as the remote said it needs in its handshake, if more often than our own factor', () => {
    const sent: string[] = [];
    const { ch } = testChannel(REMOTE, openTestLink((bytes) => void sent.push(decodeFrame(bytes).protocol)));
    // The remote finished its handshake with `done { every: 2 }`: it times out at factor 2.
    ch.receive(encodeFrame('ps/auth', { t: 'done', every: 2 }, DEFAULT_WIRE_LIMITS));
    ch.markAuthenticated();
    for (let i = 0; i < 8; i += 1) ch.keepAlive(4);
    expect(sent).toEqual(['ps/ping', 'ps/ping', 'ps/ping', 'ps/ping']);
    // A remote with a larger factor than ours does not slow us down: our own factor still bounds.
    const slower: string[] = [];
    const other = testChannel(REMOTE, openTestLink((bytes) => void slower.push(decodeFrame(bytes).protocol))).ch;
    other.receive(encodeFrame('ps/auth', { t: 'done', every: 8 }, DEFAULT_WIRE_LIMITS));
    other.markAuthenticated();
    for (let i = 0; i < 8; i += 1) other.keepAlive(4);
    expect(slower).toEqual(['ps/ping', 'ps/ping']);
  });

  it('tells the remote only when what it watches changes', () => {
    const { ch, sent } = channel();
    ch.setWatching(true);
    ch.setWatching(true);
    ch.setWatching(false);
    expect(sent).toEqual(['ps/watch', 'ps/watch']);
    expect(ch.watching).toBe(false);
  });

  it('answers a request to be watched at once, once per change, so the remote need not wait a whole timeout', () => {
    const { ch, sent } = channel();
    ch.receive(encodeFrame('ps/watch', true, DEFAULT_WIRE_LIMITS));
    ch.receive(encodeFrame('ps/watch', true, DEFAULT_WIRE_LIMITS));
    expect(sent).toEqual(['ps/ping']);
    ch.receive(encodeFrame('ps/watch', false, DEFAULT_WIRE_LIMITS));
    ch.receive(encodeFrame('ps/watch', true, DEFAULT_WIRE_LIMITS));
    expect(sent).toEqual(['ps/ping', 'ps/ping']);
  });

  it('a link watched again after a spell unwatched awaits the remote answer until a frame arrives; the first watch as it opens does not', () => {
    const { ch } = channel();
    ch.setWatching(true);
    expect(ch.awaitingWatchAnswer()).toBe(false);
    ch.setWatching(false);
    expect(ch.awaitingWatchAnswer()).toBe(false);
    ch.setWatching(true);
    expect(ch.awaitingWatchAnswer()).toBe(true);
    ch.receive(encodeFrame('ps/ping', 1, DEFAULT_WIRE_LIMITS));
    expect(ch.awaitingWatchAnswer()).toBe(false);
    // Opened unwatched (the first call changes nothing), watched later: awaits the answer too.
    const late = channel().ch;
    late.setWatching(false);
    late.setWatching(true);
    expect(late.awaitingWatchAnswer()).toBe(true);
  });

  it('a link watched anew fails as silent when nothing answers the watch within watchAnswerTimeoutMs', () => {
    const { ch, clock, control } = testChannel(REMOTE, openTestLink(), { watchAnswerTimeoutMs: 2_000 });
    ch.markAuthenticated();
    // The first watch, as the link opens, sets no deadline.
    ch.setWatching(true);
    clock.advance(10_000);
    expect(control).toEqual([]);
    ch.setWatching(false);
    ch.setWatching(true);
    clock.advance(1_999);
    expect(control).toEqual([]);
    clock.advance(1);
    expect(control).toHaveLength(1);
    expect(control[0]).toMatchObject({ type: 'channel.failed', error: { code: 'HEARTBEAT_TIMEOUT' } });
    expect(ch.awaitingWatchAnswer()).toBe(false);
  });

  it('an answer in time, unwatching, closing or losing the link settles a watch: no failure follows', () => {
    const settle = {
      answered: (ch: PeerChannel) => ch.receive(encodeFrame('ps/ping', 1, DEFAULT_WIRE_LIMITS)),
      unwatched: (ch: PeerChannel) => ch.setWatching(false),
      closing: (ch: PeerChannel) => ch.beginClose(),
      // A new attempt's link on the same channel must not inherit the old link's deadline.
      reattached: (ch: PeerChannel, control: unknown[]) => {
        ch.detach(() => new PeerSockError('LINK_CLOSED', 'gone'));
        ch.attach(openTestLink(), (event) => control.push(event));
        ch.markAuthenticated();
      },
    };
    for (const [how, act] of Object.entries(settle)) {
      const { ch, clock, control } = testChannel(REMOTE, openTestLink(), { watchAnswerTimeoutMs: 2_000 });
      ch.markAuthenticated();
      ch.setWatching(false);
      ch.setWatching(true);
      clock.advance(1_000);
      act(ch, control);
      clock.advance(5_000);
      expect(control, how).toEqual([]);
    }
  });

  it('a watch withdrawn before its answer leaves the silence counted from the last frame', () => {
    const { ch, clock } = testChannel(REMOTE, openTestLink(), { watchAnswerTimeoutMs: 2_000 });
    ch.markAuthenticated();
    ch.setWatching(false);
    ch.receive(encodeFrame('ps/ping', 1, DEFAULT_WIRE_LIMITS));
    clock.advance(20_000);
    ch.setWatching(true);
    clock.advance(500);
    ch.setWatching(false);
    expect(ch.silentFor(clock.now())).toBe(20_500);
    // Answered, a watch does count: the remote was alive then.
    ch.setWatching(true);
    ch.receive(encodeFrame('ps/ping', 1, DEFAULT_WIRE_LIMITS));
    clock.advance(100);
    ch.setWatching(false);
    expect(ch.silentFor(clock.now())).toBe(100);
  });

  it('silence counts from a change to watched, but not from a change to unwatched (the remote beat fast until then)', () => {
    const { ch, clock } = testChannel(REMOTE, openTestLink());
    ch.markAuthenticated();
    ch.setWatching(true);
    clock.advance(4_000);
    ch.receive(encodeFrame('ps/ping', 1, DEFAULT_WIRE_LIMITS));
    clock.advance(3_000);
    // Unwatched now: the 3 s of silence since the last frame still count (a crashed peer is
    // noticed at the unwatched timeout from its last frame, not from the change).
    ch.setWatching(false);
    clock.advance(2_000);
    expect(ch.silentFor(clock.now())).toBe(5_000);
    // Watched again: the remote may have been beating slowly, so silence counts from the change.
    ch.setWatching(true);
    clock.advance(1_000);
    expect(ch.silentFor(clock.now())).toBe(1_000);
  });

  it('a malformed watch frame is a violation and changes nothing', () => {
    const { ch, violations } = testChannel(REMOTE, openTestLink());
    ch.markAuthenticated();
    ch.receive(encodeFrame('ps/watch', 'yes', DEFAULT_WIRE_LIMITS));
    expect(violations.map((v) => v.code)).toEqual(['FRAME_SCHEMA']);
    expect(ch.watchedByRemote).toBe(false);
  });
});

/**
 * Probes (PeerChannelOptions.staleAfterMs): an unwatched link is judged only after the long
 * unwatched timeout, so before relying on one whose peer has been silent a while, a side asks
 * for a sign of life and fails the link if none comes within watchAnswerTimeoutMs.
 */
describe('probes before relying on a stale unwatched link', () => {
  function probing() {
    const sent: string[] = [];
    const channel = testChannel(
      REMOTE,
      openTestLink((bytes) => void sent.push(decodeFrame(bytes).protocol)),
      { watchAnswerTimeoutMs: 2_000, staleAfterMs: 15_000 },
    );
    channel.ch.markAuthenticated();
    channel.ch.setWatching(false);
    return { ...channel, sent };
  }

  it('a frame sent over a link silent past staleAfterMs goes with a probe; no answer in time fails the link', () => {
    const { ch, clock, control, sent } = probing();
    clock.advance(15_001);
    ch.sendControl('ps/ring', { t: 'find' });
    expect(sent).toEqual(['ps/probe', 'ps/ring']);
    expect(ch.awaitingWatchAnswer()).toBe(true);
    // One probe at a time: the next frame waits on the same answer.
    ch.sendControl('ps/ring', { t: 'find' });
    expect(sent.filter((p) => p === 'ps/probe')).toHaveLength(1);
    clock.advance(1_999);
    expect(control).toEqual([]);
    clock.advance(1);
    expect(control).toEqual([expect.objectContaining({ type: 'channel.failed', error: expect.objectContaining({ code: 'HEARTBEAT_TIMEOUT' }) })]);
  });

  it('any frame from the peer answers the probe, and application data probes too', async () => {
    const { ch, clock, control, sent } = probing();
    clock.advance(20_000);
    await ch.send('app/chat', new Uint8Array([1]));
    expect(sent).toContain('ps/probe');
    clock.advance(500);
    ch.receive(encodeFrame('ps/ping', 0, DEFAULT_WIRE_LIMITS));
    expect(ch.awaitingWatchAnswer()).toBe(false);
    clock.advance(10_000);
    expect(control).toEqual([]);
  });

  it('no probe over a link heard from lately, over a watched link, or without staleAfterMs', () => {
    const fresh = probing();
    fresh.clock.advance(14_000);
    fresh.ch.receive(encodeFrame('ps/ping', 0, DEFAULT_WIRE_LIMITS));
    fresh.clock.advance(14_000);
    fresh.ch.sendControl('ps/ring', { t: 'find' });
    expect(fresh.sent).not.toContain('ps/probe');

    const watched = probing();
    watched.ch.setWatching(true);
    watched.ch.receive(encodeFrame('ps/ping', 0, DEFAULT_WIRE_LIMITS));
    watched.clock.advance(20_000);
    watched.ch.sendControl('ps/ring', { t: 'find' });
    // Withdrawing the watch relies on nothing either.
    watched.clock.advance(20_000);
    watched.ch.setWatching(false);
    expect(watched.sent).not.toContain('ps/probe');
    expect(watched.ch.awaitingWatchAnswer()).toBe(false);

    const sent: string[] = [];
    const { ch, clock } = testChannel(REMOTE, openTestLink((bytes) => void sent.push(decodeFrame(bytes).protocol)), { watchAnswerTimeoutMs: 2_000 });
    ch.markAuthenticated();
    ch.setWatching(false);
    clock.advance(60_000);
    ch.sendControl('ps/ring', { t: 'find' });
    expect(sent).toEqual(['ps/ring']);
  });

  it('a keepalive is no reliance on the link: it never probes', () => {
    const { ch, clock, sent } = probing();
    clock.advance(60_000);
    ch.keepAlive();
    expect(sent).toEqual(['ps/ping']);
  });

  it('answers a probe with a ping at once, once authenticated', () => {
    const { ch, sent, violations } = probing();
    ch.receive(encodeFrame('ps/probe', 0, DEFAULT_WIRE_LIMITS));
    expect(sent).toEqual(['ps/ping']);
    expect(violations).toEqual([]);
  });
});
