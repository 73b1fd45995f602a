import { PeerSockError } from '../../src/errors.js';

/** The PeerSockError code `run` throws, or undefined if it returns; anything else is rethrown. */
export function thrownCode(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof PeerSockError)) throw error;
    return error.code;
  }
}

/** 'resolved', or the PeerSockError code `promise` rejects with; anything else is rethrown. */
export async function settledCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    if (!(error instanceof PeerSockError)) throw error;
    return error.code;
  }
}
