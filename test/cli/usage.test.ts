import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/output.js';
import { ROOT, runCliProcess } from './cli-process.js';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

describe('peersock as a process: help and usage errors', () => {
  it('--help exits 0 and names every command', async () => {
    const result = await runCliProcess(['--help']);
    expect(result.code).toBe(0);
    for (const name of ['signal', 'node', 'id', 'demo']) expect(result.stdout).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    expect(result.stdout).toContain('Usage: peersock <command>');
  });

  it('an unknown command exits 2, says what was wrong and how to get help', async () => {
    const result = await runCliProcess(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toContain('peersock --help');
    expect(result.stdout).toBe('');
  });

  it('a bad option exits 2 and points to the command help', async () => {
    const result = await runCliProcess(['demo', '--nodez', '3']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown option --nodez');
    expect(result.stderr).toContain('peersock demo --help');
  });
});

describe('runCli: dispatch and argument checking', () => {
  it('prints the package version', async () => {
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-v']) {
      const io = capture();
      expect(await runCli([flag], io)).toBe(0);
      expect(io.stdout).toEqual([version]);
    }
  });

  it('every command has --help and -h with usage, options and examples', async () => {
    for (const command of COMMANDS) {
      for (const argv of [[command.name, '--help'], [command.name, '-h'], ['help', command.name]]) {
        const io = capture();
        expect(await runCli(argv, io)).toBe(0);
        const text = io.stdout.join('\n');
        expect(text).toContain(`Usage: peersock ${command.name}`);
        expect(text).toContain('Options:');
        expect(text).toContain('Examples:');
      }
    }
  });

  it('suggests the closest command for a typo', async () => {
    const io = capture();
    expect(await runCli(['demi'], io)).toBe(2);
    expect(io.stderr[0]).toContain('did you mean "demo"');
  });

  it('no command at all prints the help on stderr and exits 2', async () => {
    const io = capture();
    expect(await runCli([], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('Commands:');
  });

  it.each([
    [['demo', '--nodes', '1'], '--nodes must be between 3 and 32'],
    [['demo', '--nodes', 'five'], '--nodes must be a whole number'],
    [['demo', '--messages', '0'], 'unknown option --messages'],
    [['demo', 'extra'], 'unexpected argument "extra"'],
    [['signal', '--port', '70000'], '--port must be between 0 and 65535'],
    [['signal', '--port'], 'option --port needs a value'],
    [['signal', '--log-level', 'loud'], '--log-level must be one of'],
    [['node'], '--signal <url> is required'],
    [['node', '--signal', 'http://example.com'], '--signal must be a ws:// or wss:// URL'],
    [['node', '--signal', 'ws://127.0.0.1:7700', '--connect', 'abc'], '--connect needs a PeerId'],
    [['node', '--signal', 'ws://127.0.0.1:7700', '--bootstrap', '0'], '--bootstrap must be between 1 and 32'],
    [['id', '--data-dir'], 'option --data-dir needs a value'],
    [['id', '--help=yes'], 'option --help takes no value'],
  ])('%j exits 2: %s', async (argv, message) => {
    const io = capture();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.stderr[0]).toContain(message);
    expect(io.stderr[1]).toContain(`peersock ${argv[0]} --help`);
    expect(io.stdout).toEqual([]);
  });
});
