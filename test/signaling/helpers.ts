import { randomBytes } from 'node:crypto';
import { WebSocket, type ClientOptions } from 'ws';
import { nativePrivateKey, nativePublicKeyFromSecret, nativeSign } from '../../src/crypto/ed25519-native.js';
import { peerIdFromPublicKey, type PeerId } from '../../src/identity/peer-id.js';
import type { CryptoPort } from '../../src/ports/crypto.js';
import type { Logger } from '../../src/ports/logger.js';
import type { Random } from '../../src/ports/random.js';
import { registerMessageBytes } from '../../src/signaling/protocol.js';

export interface TestKey {
  peerId: PeerId;
  crypto: Pick<CryptoPort, 'publicKey' | 'sign'>;
  signSync(message: Uint8Array): Uint8Array;
}

export function makeKey(): TestKey {
  const secret = new Uint8Array(randomBytes(32));
  const publicKey = nativePublicKeyFromSecret(secret);
  const privateKey = nativePrivateKey(secret);
  const signSync = (message: Uint8Array) => nativeSign(privateKey, message);
  return {
    peerId: peerIdFromPublicKey(publicKey),
    crypto: { publicKey, sign: async (message) => signSync(message) },
    signSync,
  };
}

/** A Random whose float() always returns `value`: pins the order the client tries urls in. */
export function fixedRandom(value: number): Random {
  return { bytes: (n) => new Uint8Array(randomBytes(n)), float: () => value };
}

export type Json = Record<string, any>;

/**
 * A bare WebSocket speaking the protocol by hand, for tests that must send what the real
 * client never would.
 */
export class RawPeer {
  readonly messages: Json[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ match: (m: Json) => boolean; resolve: (m: Json) => void }> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('error', () => {});
    socket.on('message', (raw) => {
      let message: Json;
      try {
        message = JSON.parse(raw.toString());
      } catch {
        message = { t: '__unparseable__', raw: raw.toString() };
      }
      this.messages.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(message)) return true;
        w.resolve(message);
        return false;
      });
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, options?: ClientOptions): Promise<RawPeer> {
    const socket = new WebSocket(url, options);
    const peer = new RawPeer(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(peer));
      socket.once('error', reject);
    });
  }

  /** The first message, received or still to come, that matches; fails after `timeoutMs`. */
  next(match: (m: Json) => boolean = () => true, timeoutMs = 3_000): Promise<Json> {
    const found = this.messages.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 500)}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  nextOf(t: string, extra: (m: Json) => boolean = () => true, timeoutMs?: number): Promise<Json> {
    return this.next((m) => m.t === t && extra(m), timeoutMs);
  }

  send(message: Json | string | Buffer): void {
    this.socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  async register(key: TestKey): Promise<void> {
    const challenge = await this.nextOf('challenge');
    const sig = Buffer.from(key.signSync(registerMessageBytes(challenge.nonce))).toString('hex');
    this.send({ t: 'register', id: key.peerId, sig });
    const answer = await this.next((m) => m.t === 'registered' || m.t === 'error');
    if (answer.t !== 'registered') throw new Error(`registration refused: ${JSON.stringify(answer)}`);
  }

  static async registered(url: string, key: TestKey = makeKey()): Promise<RawPeer & { key: TestKey }> {
    const peer = await RawPeer.open(url);
    await peer.register(key);
    return Object.assign(peer, { key });
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
    return this.closed;
  }
}

export function isOpen(peer: RawPeer): boolean {
  return peer.socket.readyState === WebSocket.OPEN;
}

export function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

export interface LogEntry {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps what it is told, for tests that check what happened inside. */
export function recordingLogger(entries: LogEntry[] = [], bindings: Record<string, unknown> = {}): Logger & { entries: LogEntry[] } {
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, fields: { ...bindings, ...fields } });
  };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(entries, { ...bindings, ...more }),
  };
}
