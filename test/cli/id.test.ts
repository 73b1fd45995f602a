import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliProcess } from './cli-process.js';

const base = mkdtempSync(path.join(tmpdir(), 'peersock-cli-id-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('peersock id', () => {
  it('creates an identity once, then prints the same PeerId', async () => {
    const dir = path.join(base, 'fresh');
    const first = await runCliProcess(['id', '--data-dir', dir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(first.stderr).toContain(`created a new identity in ${path.join(dir, 'identity.json')}`);
    expect(statSync(path.join(dir, 'identity.json')).mode & 0o777).toBe(0o600);

    const second = await runCliProcess(['id', '--data-dir', dir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toBe('');
  });

  it('two data directories have different PeerIds', async () => {
    const [a, b] = await Promise.all([
      runCliProcess(['id', '--data-dir', path.join(base, 'a')]),
      runCliProcess(['id', '--data-dir', path.join(base, 'b')]),
    ]);
    expect(a.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(b.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(a.stdout).not.toBe(b.stdout);
  });

  it('refuses a foreign identity file with IDENTITY_FOREIGN, naming it, and leaves it alone', async () => {
    const dir = path.join(base, 'foreign');
    mkdirSync(dir);
    const file = path.join(dir, 'identity.json');
    writeFileSync(file, '{"some":"other tool"}\n');
    const result = await runCliProcess(['id', '--data-dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: IDENTITY_FOREIGN: /);
    expect(result.stderr).toContain(file);
    expect(statSync(file).size).toBe('{"some":"other tool"}\n'.length);
  });

  it('refuses a corrupt identity file with IDENTITY_CORRUPT', async () => {
    const dir = path.join(base, 'corrupt');
    mkdirSync(dir);
    const file = path.join(dir, 'identity.json');
    writeFileSync(file, JSON.stringify({ format: 'peersock-identity', version: 1, peerId: 'x', secretKey: 'zz' }));
    const result = await runCliProcess(['id', '--data-dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: IDENTITY_CORRUPT: /);
    expect(result.stderr).toContain(file);
  });
});
