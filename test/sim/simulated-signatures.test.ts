import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../sim/simulator.js';
import { SimulatedSignatures } from '../../sim/simulated-signatures.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { generateIdentity } from '../../src/identity/identity.js';
import { nativePrivateKey, nativeSign } from '../../src/crypto/ed25519-native.js';

const identity = (seed: number) => generateIdentity(createSeededRandom(seed));

describe('simulated signatures', () => {
  it('verify true exactly for the registered signer and the message it signed', async () => {
    const scheme = new SimulatedSignatures();
    const alice = identity(1);
    const bob = identity(2);
    const a = scheme.port(alice);
    const b = scheme.port(bob);
    const message = new Uint8Array([1, 2, 3]);
    const sig = await a.sign(message);
    expect(sig).toHaveLength(64);
    expect(await b.verify(alice.publicKey, message, sig)).toBe(true);
    expect(await b.verify(alice.publicKey, new Uint8Array([1, 2, 4]), sig)).toBe(false);
    expect(await b.verify(bob.publicKey, message, sig)).toBe(false);
    const tampered = Uint8Array.from(sig);
    tampered[10]! ^= 1;
    expect(await b.verify(alice.publicKey, message, tampered)).toBe(false);
    expect(await b.verify(alice.publicKey, message, sig.subarray(0, 63))).toBe(false);
    // A key nobody registered, and bad input: false, never a throw.
    expect(await b.verify(identity(3).publicKey, message, sig)).toBe(false);
    expect(await b.verify('x' as unknown as Uint8Array, message, sig)).toBe(false);
  });

  it('rejects a real ed25519 signature (the documented limit of the scheme)', async () => {
    const alice = identity(1);
    const port = new SimulatedSignatures().port(alice);
    const message = new Uint8Array([9]);
    expect(await port.verify(alice.publicKey, message, nativeSign(nativePrivateKey(alice.secretKey), message))).toBe(false);
  });

  it('a simulation gives the same trace with simulated signatures as with ed25519', async () => {
    const run = async (signatures: 'ed25519' | 'simulated') => {
      const sim = createSimulator({ seed: 5, nodes: 4, signatures });
      const [a, b, c] = sim.nodes();
      await sim.connect(a!, b!);
      await sim.connect(c!, a!);
      await sim.advance(2_000);
      const hash = sim.traceHash();
      const peers = a!.node.peers().length;
      await sim.close();
      return { hash, peers };
    };
    const real = await run('ed25519');
    expect(real.peers).toBe(2);
    expect(await run('simulated')).toEqual(real);
  });

  it('refuses an unknown scheme', () => {
    expect(() => createSimulator({ seed: 1, signatures: 'none' as 'simulated' })).toThrow(/signatures/);
  });
});
