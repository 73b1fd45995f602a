/**
 * Heartbeats as keepalives: once per interval a side pings only if it sent nothing else since
 * the last interval, and nobody answers pings. Any frame is proof of life to the remote's
 * failure detector, so links that carry traffic carry no heartbeat frames at all.
 */
import { describe, expect, it } from 'vitest';
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

  it('does not answer a ping (each side keeps its own direction alive)', () => {
    const { ch, sent } = channel();
    ch.receive(encodeFrame('ps/ping', 7, DEFAULT_WIRE_LIMITS));
    ch.receive(encodeFrame('ps/pong', 7, DEFAULT_WIRE_LIMITS));
    expect(sent).toEqual([]);
  });
});
