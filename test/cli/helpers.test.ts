import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNodeInput, resolveTarget } from '../../src/cli/commands/node-input.js';
import { clockTime, describePayload, printable } from '../../src/cli/output.js';
import { failureLines } from '../../src/cli/report.js';
import { PeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';

describe('node stdin commands', () => {
  it('parses send keeping the text spacing, and the other commands', () => {
    expect(parseNodeInput('send all  hello   world ')).toEqual({ kind: 'send', target: 'all', text: 'hello   world' });
    expect(parseNodeInput('  SEND 1a2b x')).toEqual({ kind: 'send', target: '1a2b', text: 'x' });
    expect(parseNodeInput('send all')).toMatchObject({ kind: 'invalid' });
    expect(parseNodeInput('peers')).toEqual({ kind: 'peers' });
    expect(parseNodeInput('peers now')).toMatchObject({ kind: 'invalid' });
    expect(parseNodeInput('quit')).toEqual({ kind: 'quit' });
    expect(parseNodeInput('exit')).toEqual({ kind: 'quit' });
    expect(parseNodeInput('connect abc')).toEqual({ kind: 'connect', peer: 'abc' });
    expect(parseNodeInput('')).toEqual({ kind: 'empty' });
    expect(parseNodeInput('launch')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('unknown command "launch"') });
  });

  it('never throws on any line', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (line) => void parseNodeInput(line)));
  });

  const a = `ab12${'0'.repeat(60)}` as PeerId;
  const b = `ab34${'0'.repeat(60)}` as PeerId;
  it('resolves targets by unique prefix or all', () => {
    expect(resolveTarget('all', [a, b])).toEqual({ ok: true, peers: [a, b] });
    expect(resolveTarget('AB3', [a, b])).toEqual({ ok: true, peers: [b] });
    expect(resolveTarget('ab', [a, b])).toMatchObject({ ok: false, message: expect.stringContaining('ambiguous') });
    expect(resolveTarget('cd', [a, b])).toMatchObject({ ok: false, message: expect.stringContaining('no open peer') });
    expect(resolveTarget('all', [])).toEqual({ ok: false, message: 'no open peers' });
    expect(resolveTarget('zz', [a])).toMatchObject({ ok: false });
  });
});

describe('output', () => {
  it('printable never lets a control character through to the terminal', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(printable(text)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
      }),
    );
    expect(printable('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
  });

  it('describes UTF-8 as quoted text and anything else by size', () => {
    expect(describePayload(Buffer.from('héllo'))).toBe('"héllo"');
    expect(describePayload(new Uint8Array([0xff, 0xfe, 0x00]))).toBe('<3 bytes, not UTF-8>');
    expect(describePayload(Buffer.from('x'.repeat(500)))).toContain('… (500 chars)');
  });

  it('formats wall-clock time as hh:mm:ss.mmm', () => {
    expect(clockTime(new Date(2024, 0, 2, 3, 4, 5, 6))).toBe('03:04:05.006');
  });

  it('reports coded errors as "error: CODE: message" with a hint where one helps', () => {
    expect(failureLines(new PeerSockError('SIGNALING_UNAVAILABLE', 'nobody home'))).toEqual([
      'error: SIGNALING_UNAVAILABLE: nobody home',
      'hint: is a signaling server running? start one with: peersock signal --port 7700',
    ]);
    expect(failureLines(new PeerSockError('NODE_STOPPED', 'gone'))).toEqual(['error: NODE_STOPPED: gone']);
    expect(failureLines(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }))[0]).toBe('error: EADDRINUSE: listen EADDRINUSE');
    expect(failureLines(new Error('plain'))).toEqual(['error: plain']);
  });
});
