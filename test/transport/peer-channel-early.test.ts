import { describe, expect, it } from 'vitest';
import { PeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { DEFAULT_WIRE_LIMITS, encodeBatchFrame, encodeDataFrame, encodeFrame } from '../../src/wire/index.js';
import { openTestLink, testChannel } from '../helpers/peer-channel.js';

/**
 * The remote opens as soon as it has checked our proof and may send at once, while our own
 * check of its proof is still running: its first frames overtake our `open`. They must be
 * held and delivered once we are authenticated — not reported as violations and dropped
 * (seen in the simulator: a ring `get` sent on link.up vanished, and the asker suspected a
 * live successor).
 */
const REMOTE = 'ab'.repeat(32) as PeerId;

const channel = () => testChannel(REMOTE);

describe('peer channel: frames that arrive before our side of the handshake completes', () => {
  it('holds application, internal and batched frames and delivers them in order once authenticated', () => {
    const { ch, delivered, internal, violations } = channel();
    ch.receive(encodeFrame('ps/ring', { t: 'get' }));
    ch.receive(encodeDataFrame('chat', new Uint8Array([1])));
    const inner = [encodeDataFrame('chat', new Uint8Array([2])), encodeDataFrame('chat', new Uint8Array([3]))];
    ch.receive(encodeBatchFrame(inner, inner.reduce((n, f) => n + f.length, 0)));
    expect(delivered).toEqual([]);
    expect(internal).toEqual([]);

    ch.markAuthenticated();
    expect(internal).toEqual([{ protocol: 'ps/ring', body: { t: 'get' } }]);
    expect(delivered.map((m) => [...m.data])).toEqual([[1], [2], [3]]);
    expect(violations).toEqual([]);
  });

  it('still passes handshake frames through at once', () => {
    const { ch, control } = channel();
    ch.receive(encodeFrame('ps/auth', { t: 'done' }));
    expect(control.map((e) => e.type)).toEqual(['auth.message']);
  });

  it('drops held frames with the link: a link that never authenticates delivers nothing', () => {
    const { ch, delivered } = channel();
    ch.receive(encodeDataFrame('chat', new Uint8Array([1])));
    ch.attach(openTestLink(), () => undefined); // a new attempt on the same channel
    ch.markAuthenticated();
    expect(delivered).toEqual([]);
  });

  it('bounds what it holds: past the cap each frame is a violation, and the held ones still arrive', () => {
    const { ch, delivered, violations } = channel();
    for (let i = 0; i < 70; i += 1) ch.receive(encodeDataFrame('chat', new Uint8Array([i])));
    expect(violations.length).toBe(70 - 64);
    expect(violations.every((v) => v.code === 'AUTH_FAILED')).toBe(true);
    ch.markAuthenticated();
    expect(delivered.map((m) => m.data[0])).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('half-closes: once closing it sends nothing more but still delivers what the remote sent before our goodbye', async () => {
    const { ch, delivered, internal, violations } = channel();
    ch.markAuthenticated();
    ch.beginClose();
    await expect(ch.send('chat', new Uint8Array([1]))).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    ch.receive(encodeDataFrame('chat', new Uint8Array([9])));
    ch.receive(encodeFrame('ps/ring', { t: 'notify' }));
    expect(delivered.map((m) => [...m.data])).toEqual([[9]]);
    expect(internal).toEqual([{ protocol: 'ps/ring', body: { t: 'notify' } }]);
    expect(violations).toEqual([]);
    // Detached (the link is gone): nothing is delivered any more.
    ch.detach(() => new PeerSockError('LINK_CLOSED', 'gone'));
    ch.receive(encodeDataFrame('chat', new Uint8Array([10])));
    expect(delivered).toHaveLength(1);
  });
});
