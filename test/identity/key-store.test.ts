import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { generateIdentity } from '../../src/identity/identity.js';
import { identityFilePath, loadIdentity, loadOrCreateIdentity, saveIdentity } from '../../src/identity/key-store.js';
import { isPeerSockError, type ErrorCode } from '../../src/errors.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peersock-keystore-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isPeerSockError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  return error as Error;
}

const posix = process.platform !== 'win32';

describe('key store', () => {
  it('creates an identity once and reloads the same one', async () => {
    const dataDir = path.join(await tempDir(), 'nested', 'data');
    expect(await loadIdentity(dataDir)).toBeUndefined();
    const created = await loadOrCreateIdentity(dataDir);
    const reloaded = await loadOrCreateIdentity(dataDir);
    expect(reloaded.peerId).toBe(created.peerId);
    expect(Buffer.from(reloaded.secretKey).equals(Buffer.from(created.secretKey))).toBe(true);
    expect((await loadIdentity(dataDir))?.peerId).toBe(created.peerId);

    const stored = JSON.parse(await fs.readFile(identityFilePath(dataDir), 'utf8'));
    expect(stored).toEqual({
      format: 'peersock-identity',
      version: 1,
      peerId: created.peerId,
      secretKey: Buffer.from(created.secretKey).toString('hex'),
    });
  });

  it.runIf(posix)('writes the file 0600 inside a 0700 data directory', async () => {
    const dataDir = path.join(await tempDir(), 'fresh');
    await loadOrCreateIdentity(dataDir);
    expect((await fs.stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(identityFilePath(dataDir))).mode & 0o777).toBe(0o600);
  });

  it.runIf(posix)('keeps 0600 even under a permissive umask', async () => {
    const dataDir = await tempDir();
    const previous = process.umask(0);
    try {
      await saveIdentity(dataDir, generateIdentity());
    } finally {
      process.umask(previous);
    }
    expect((await fs.stat(identityFilePath(dataDir))).mode & 0o777).toBe(0o600);
  });

  const foreign: Array<[string, string]> = [
    ['not JSON', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... user@host\n'],
    ['JSON without the marker', JSON.stringify({ secretKey: '00'.repeat(32) })],
    ['another format marker', JSON.stringify({ format: 'libp2p-key', version: 1 })],
    ['a JSON array', '[1,2,3]'],
    ['JSON null', 'null'],
    ['empty', ''],
  ];
  for (const [label, contents] of foreign) {
    it(`refuses a foreign file (${label}) with IDENTITY_FOREIGN and leaves it untouched`, async () => {
      const dataDir = await tempDir();
      const file = identityFilePath(dataDir);
      await fs.writeFile(file, contents);
      const error = await expectCode(loadOrCreateIdentity(dataDir), 'IDENTITY_FOREIGN');
      expect(error.message).toContain(file);
      expect(error.message).toContain('not a PeerSock identity file');
      expect(error.message).toContain('will not be overwritten');
      await expectCode(loadIdentity(dataDir), 'IDENTITY_FOREIGN');
      await expectCode(saveIdentity(dataDir, generateIdentity()), 'IDENTITY_EXISTS');
      expect(await fs.readFile(file, 'utf8')).toBe(contents);
      expect(await fs.readdir(dataDir)).toEqual(['identity.json']);
    });
  }

  it('refuses a directory where the file should be', async () => {
    const dataDir = await tempDir();
    await fs.mkdir(identityFilePath(dataDir));
    await expectCode(loadOrCreateIdentity(dataDir), 'IDENTITY_FOREIGN');
  });

  it('refuses an oversized file without reading it whole', async () => {
    const dataDir = await tempDir();
    await fs.writeFile(identityFilePath(dataDir), Buffer.alloc(1 << 20, 0x20));
    await expectCode(loadIdentity(dataDir), 'IDENTITY_FOREIGN');
  });

  const valid = generateIdentity();
  const validBody = { format: 'peersock-identity', version: 1, peerId: valid.peerId, secretKey: Buffer.from(valid.secretKey).toString('hex') };
  const corrupt: Array<[string, unknown]> = [
    ['secret key too short', { ...validBody, secretKey: validBody.secretKey.slice(2) }],
    ['secret key not hex', { ...validBody, secretKey: 'zz' + validBody.secretKey.slice(2) }],
    ['secret key missing', { ...validBody, secretKey: undefined }],
    ['peerId of another key', { ...validBody, peerId: generateIdentity().peerId }],
    ['peerId missing', { ...validBody, peerId: undefined }],
    ['unknown version', { ...validBody, version: 2 }],
  ];
  for (const [label, body] of corrupt) {
    it(`refuses a corrupt PeerSock file (${label}) with IDENTITY_CORRUPT and leaves it untouched`, async () => {
      const dataDir = await tempDir();
      const file = identityFilePath(dataDir);
      const contents = JSON.stringify(body);
      await fs.writeFile(file, contents);
      const error = await expectCode(loadOrCreateIdentity(dataDir), 'IDENTITY_CORRUPT');
      expect(error.message).toContain(file);
      await expectCode(loadIdentity(dataDir), 'IDENTITY_CORRUPT');
      expect(await fs.readFile(file, 'utf8')).toBe(contents);
    });
  }

  it('never overwrites an existing identity', async () => {
    const dataDir = await tempDir();
    const first = await loadOrCreateIdentity(dataDir);
    const before = await fs.readFile(identityFilePath(dataDir), 'utf8');
    await expectCode(saveIdentity(dataDir, generateIdentity()), 'IDENTITY_EXISTS');
    expect(await fs.readFile(identityFilePath(dataDir), 'utf8')).toBe(before);
    expect((await loadIdentity(dataDir))?.peerId).toBe(first.peerId);
    expect(await fs.readdir(dataDir)).toEqual(['identity.json']);
  });

  it('concurrent first runs agree on one identity and leave no temp files', async () => {
    const dataDir = path.join(await tempDir(), 'race');
    const identities = await Promise.all(Array.from({ length: 16 }, () => loadOrCreateIdentity(dataDir)));
    expect(new Set(identities.map((identity) => identity.peerId)).size).toBe(1);
    expect((await loadIdentity(dataDir))?.peerId).toBe(identities[0]?.peerId);
    expect(await fs.readdir(dataDir)).toEqual(['identity.json']);
  });

  it('readers racing a writer see no file or a whole file, never a partial one', async () => {
    const dataDir = await tempDir();
    const identity = generateIdentity();
    let done = false;
    const seen: string[] = [];
    const reader = (async () => {
      while (!done) {
        const result = await loadIdentity(dataDir);
        seen.push(result === undefined ? 'none' : result.peerId);
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    await saveIdentity(dataDir, identity);
    done = true;
    await reader;
    seen.push((await loadIdentity(dataDir))?.peerId ?? 'none');
    expect(seen.every((s) => s === 'none' || s === identity.peerId)).toBe(true);
    expect(seen.at(-1)).toBe(identity.peerId);
  });
});
