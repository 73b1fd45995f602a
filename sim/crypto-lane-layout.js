// @ts-check
/**
 * The shared memory between the simulator and its crypto thread (crypto-lane.ts and
 * crypto-lane-worker.js both import this; plain JavaScript so the worker loads it without a loader).
 *
 * `control` is an Int32Array of CONTROL_LENGTH: jobs written and answered so far (each counts
 * up from 0), the close flag, and whether the thread sleeps (so it is woken only then).
 * Each job has a slot of the slots buffer: kind at byte 0, status at 1 (the thread's answer:
 * 1 signed / valid, 0 not), message length (u32 LE) at 4, the 32-byte key at KEY_OFFSET (the
 * secret key to sign, the public key to verify), the 64-byte signature at SIGNATURE_OFFSET (to
 * verify; the answer of a signing), the message from MESSAGE_OFFSET.
 */
export const WRITTEN = 0;
export const DONE = 1;
export const CLOSED = 2;
export const SLEEPING = 3;
export const CONTROL_LENGTH = 4;

export const KIND_SIGN = 1;
export const KIND_VERIFY = 2;
export const KEY_OFFSET = 8;
export const SIGNATURE_OFFSET = 40;
export const MESSAGE_OFFSET = 104;
