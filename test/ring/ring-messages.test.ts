import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_LIST, MAX_PATH, MAX_SKIP, RING_PROTOCOL, parseRingMessage, ringMessageToWire, type RingMessage } from '../../src/actors/ring/ring-messages.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { decodeFrame, encodeFrame } from '../../src/wire/index.js';
import { positionArb } from './arbitraries.js';

const idArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex') as PeerId);
const ids = (max: number, min = 0) => fc.array(idArb, { minLength: min, maxLength: max });

const messageArb: fc.Arbitrary<RingMessage> = fc.oneof(
  fc.record(
    { t: fc.constant('find' as const), rid: fc.nat(), target: positionArb, path: ids(MAX_PATH, 1), skip: ids(MAX_SKIP, 1), join: fc.constant(true as const) },
    { requiredKeys: ['t', 'rid', 'target', 'path'] },
  ),
  fc.record({ t: fc.constant('hint' as const), peers: ids(MAX_LIST) }),
  fc.record({ t: fc.constant('found' as const), rid: fc.nat(), target: positionArb, node: idArb, path: ids(MAX_PATH, 1), by: idArb, more: fc.constant(true as const) }, { requiredKeys: ['t', 'rid', 'target', 'node', 'path'] }),
  fc.constant({ t: 'get' as const }),
  fc.constant({ t: 'notify' as const }),
  fc.record({ t: fc.constantFrom('neighbours' as const, 'leave' as const), predecessor: idArb, successors: ids(MAX_LIST) }, { requiredKeys: ['t', 'successors'] }),
  fc.record({ t: fc.constant('neighbours' as const), predecessor: idArb, successors: ids(MAX_LIST), closest: idArb }, { requiredKeys: ['t', 'successors'] }),
);

/** Through a real frame, as a peer would receive it. */
function overTheWire(message: RingMessage): unknown {
  return decodeFrame(encodeFrame(RING_PROTOCOL, ringMessageToWire(message))).body;
}

describe('ring messages on the wire', () => {
  it('round-trips every message through a CBOR frame', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        expect(parseRingMessage(overTheWire(message))).toEqual(message);
      }),
    );
  });

  it('carries ids as 32 raw bytes: a full neighbour list fits in about 300 bytes', () => {
    const successors = Array.from({ length: 8 }, (_, i) => String(i).repeat(64) as PeerId);
    const frame = encodeFrame(RING_PROTOCOL, ringMessageToWire({ t: 'neighbours', predecessor: 'f'.repeat(64) as PeerId, successors }));
    // 9 ids × (32 + 2 bytes of header) plus the frame and the map keys (354 in all): hex strings made it 642.
    expect(frame.length).toBeLessThan(9 * 34 + 60);
  });

  it('refuses hex strings, short ids, long lists and unknown types with FRAME_SCHEMA', () => {
    const id = new Uint8Array(32);
    const bad: unknown[] = [
      { t: 'neighbours', successors: ['ab'.repeat(32)] },
      { t: 'neighbours', successors: [new Uint8Array(31)] },
      { t: 'neighbours', successors: Array.from({ length: MAX_LIST + 1 }, () => id) },
      { t: 'find', rid: 1, target: 'ab'.repeat(32), path: [id] },
      { t: 'find', rid: 1, target: id, path: [] },
      { t: 'found', rid: -1, target: id, node: id, path: [id] },
      { t: 'found', rid: 1, target: id, node: new Uint8Array(33), path: [id] },
      { t: 'found', rid: 1, target: id, node: id, path: [id], by: new Uint8Array(31) },
      { t: 'found', rid: 1, target: id, node: id, path: [id], more: false },
      { t: 'find', rid: 1, target: id, path: [id], skip: Array.from({ length: MAX_SKIP + 1 }, () => id) },
      { t: 'find', rid: 1, target: id, path: [id], skip: id },
      { t: 'find', rid: 1, target: id, path: [id], join: false },
      { t: 'hint', peers: [new Uint8Array(31)] },
      { t: 'hint' },
      { t: 'neighbours', successors: [], closest: new Uint8Array(31) },
      { t: 'gossip' },
      [1, 2],
      null,
    ];
    for (const body of bad) expect(() => parseRingMessage(body), JSON.stringify(body)).toThrow(expect.objectContaining({ code: 'FRAME_SCHEMA' }));
  });
});
