import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { PeerSockError, isPeerSockError } from '../errors.js';
import { generateIdentity, identityFromSecretKey, type Identity } from './identity.js';

/**
 * The identity file: `<dataDir>/identity.json`, mode 0600, in a 0700 directory.
 * It is the node's whole identity, so it is written atomically (never half a key on
 * disk) and never overwritten (losing it means losing the PeerId for good).
 */
export const IDENTITY_FILE = 'identity.json';
const FORMAT = 'peersock-identity';
const VERSION = 1;
// A real file is ~200 bytes; refusing big ones keeps a wrong path from reading gigabytes.
const MAX_FILE_BYTES = 64 * 1024;
const SECRET_HEX = /^[0-9a-f]{64}$/;

interface IdentityFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  peerId: string;
  secretKey: string;
}

export function identityFilePath(dataDir: string): string {
  return path.join(dataDir, IDENTITY_FILE);
}

/** The stored identity, or undefined if there is no identity file yet. */
export async function loadIdentity(dataDir: string): Promise<Identity | undefined> {
  const file = identityFilePath(dataDir);
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) throw foreign(file, 'not a small regular file');
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  return parseIdentityFile(file, text);
}

/**
 * Writes a new identity file. Throws IDENTITY_EXISTS if one is already there: a key
 * is never replaced behind the user's back.
 */
export async function saveIdentity(dataDir: string, identity: Identity): Promise<void> {
  await ensureDataDir(dataDir);
  const file = identityFilePath(dataDir);
  const body: IdentityFile = {
    format: FORMAT,
    version: VERSION,
    peerId: identity.peerId,
    secretKey: Buffer.from(identity.secretKey).toString('hex'),
  };
  // Reject an inconsistent identity now rather than write a file we would refuse to load.
  parseIdentityFile(file, JSON.stringify(body));
  await writeNewFileAtomically(file, `${JSON.stringify(body, null, 2)}\n`);
}

/**
 * Loads the node's identity, creating and storing a fresh one on first run (made by `create`,
 * e.g. one that solves the network's position puzzle; default generateIdentity).
 */
export async function loadOrCreateIdentity(dataDir: string, create: () => Identity = generateIdentity): Promise<Identity> {
  const existing = await loadIdentity(dataDir);
  if (existing !== undefined) return existing;
  const created = create();
  try {
    await saveIdentity(dataDir, created);
    return created;
  } catch (error) {
    // Another process (or call) created it between our read and our write: theirs wins.
    if (isPeerSockError(error, 'IDENTITY_EXISTS')) {
      const winner = await loadIdentity(dataDir);
      if (winner !== undefined) return winner;
    }
    throw error;
  }
}

function parseIdentityFile(file: string, text: string): Identity {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw foreign(file, 'not JSON');
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== FORMAT) {
    throw foreign(file, `no "format": "${FORMAT}" marker`);
  }
  const record = value as Partial<Record<keyof IdentityFile, unknown>>;
  if (record.version !== VERSION) {
    throw corrupt(file, `unsupported version ${JSON.stringify(record.version)} (this build reads version ${VERSION})`);
  }
  if (typeof record.secretKey !== 'string' || !SECRET_HEX.test(record.secretKey)) {
    throw corrupt(file, 'the secret key is not 64 lowercase hex characters');
  }
  const identity = identityFromSecretKey(new Uint8Array(Buffer.from(record.secretKey, 'hex')));
  if (record.peerId !== identity.peerId) {
    throw corrupt(file, 'the stored peerId does not match the secret key');
  }
  return identity;
}

async function ensureDataDir(dataDir: string): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
}

/**
 * Temp file (0600) in the same directory, fsync, then hard-link it into place: link
 * is atomic and, unlike rename, fails with EEXIST instead of replacing a file that
 * appeared meanwhile. Readers never see a partial file; the temp file is always removed.
 */
async function writeNewFileAtomically(file: string, contents: string): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    try {
      await handle.chmod(0o600); // the umask could only remove bits, but be explicit
      await handle.writeFile(contents, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await linkNoClobber(temp, file);
    await syncDir(dir);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function linkNoClobber(from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) throw exists(to);
    // Filesystems without hard links: check-then-rename, which leaves only a tiny race.
    if (isErrno(error, 'EPERM') || isErrno(error, 'ENOTSUP') || isErrno(error, 'EOPNOTSUPP') || isErrno(error, 'ENOSYS')) {
      if (await pathExists(to)) throw exists(to);
      await fs.rename(from, to);
      return;
    }
    throw error;
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the new directory entry durable; not possible on every platform, hence best effort.
  try {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

async function pathExists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

function foreign(file: string, why: string): PeerSockError {
  return new PeerSockError('IDENTITY_FOREIGN', `${file} is not a PeerSock identity file (${why}); it will not be overwritten — move it away or choose another data directory`);
}

function corrupt(file: string, why: string): PeerSockError {
  return new PeerSockError('IDENTITY_CORRUPT', `${file} is a corrupt PeerSock identity file: ${why}; it will not be overwritten — restore it from a backup or move it away to create a new identity`);
}

function exists(file: string): PeerSockError {
  return new PeerSockError('IDENTITY_EXISTS', `${file} already exists; an identity file is never overwritten`);
}
