import { PeerSockError } from '../errors.js';

/*
 * Guards for bodies decoded from the network. A decoded body is `unknown` until one of these
 * says otherwise; `expectShape` turns a failed check into FRAME_SCHEMA naming the field, so a
 * protocol handler can validate a whole message in one call and get a typed value back.
 */

/** A type guard; composable because every helper below takes and returns these. */
export type Guard<T> = (value: unknown) => value is T;

/** The type a guard admits. */
export type Guarded<G> = G extends Guard<infer T> ? T : never;

/** A map body as decoded from CBOR: a plain object, never an array or byte string. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A byte string, optionally of exactly `length` bytes. */
export function isBytes(value: unknown, length?: number): value is Uint8Array {
  return value instanceof Uint8Array && (length === undefined || value.length === length);
}

/** A non-negative safe integer no greater than `max`. A BigInt (CBOR 64-bit integer) is not one. */
export function isUint(value: unknown, max: number = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

/** A string of at most `maxLength` UTF-16 code units. */
export function isText(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length <= maxLength;
}

export function isBool(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

/** Guard factories, for building shapes. */
export const is = {
  bytes:
    (length?: number): Guard<Uint8Array> =>
    (value): value is Uint8Array =>
      isBytes(value, length),
  uint:
    (max?: number): Guard<number> =>
    (value): value is number =>
      isUint(value, max),
  text:
    (maxLength: number): Guard<string> =>
    (value): value is string =>
      isText(value, maxLength),
  bool: isBool as Guard<boolean>,
  literal:
    <const T extends string | number | boolean | null>(expected: T): Guard<T> =>
    (value): value is T =>
      value === expected,
  optional:
    <T>(guard: Guard<T>): Guard<T | undefined> =>
    (value): value is T | undefined =>
      value === undefined || guard(value),
  /** An array of at most `maxLength` elements, each admitted by `guard`. */
  arrayOf:
    <T>(guard: Guard<T>, maxLength: number): Guard<T[]> =>
    (value): value is T[] =>
      Array.isArray(value) && value.length <= maxLength && value.every((item) => guard(item)),
  /** A nested map; a failure names the outer field only. */
  shape:
    <S extends Shape>(shape: S): Guard<ShapeOf<S>> =>
    (value): value is ShapeOf<S> =>
      isRecord(value) && firstBadField(value, shape) === undefined,
} as const;

/** Field name to guard. Fields not listed are ignored, so later versions may add fields. */
export type Shape = Readonly<Record<string, Guard<unknown>>>;

export type ShapeOf<S extends Shape> = { [K in keyof S]: Guarded<S[K]> };

/**
 * Returns `value` typed as the shape, or throws PeerSockError('FRAME_SCHEMA') naming the first
 * field that failed (as `what.field`). Only own properties count: a missing field is undefined,
 * never something inherited from Object.prototype.
 */
export function expectShape<S extends Shape>(value: unknown, shape: S, what = 'body'): ShapeOf<S> {
  if (!isRecord(value)) throw new PeerSockError('FRAME_SCHEMA', `${what} must be a map`);
  const bad = firstBadField(value, shape);
  if (bad !== undefined) {
    const present = Object.hasOwn(value, bad);
    throw new PeerSockError('FRAME_SCHEMA', `${what}.${bad} is ${present ? 'invalid' : 'missing'}`);
  }
  return value as ShapeOf<S>;
}

/** Returns `value` if `guard` admits it, else throws PeerSockError('FRAME_SCHEMA') naming `what`. */
export function expectValue<T>(value: unknown, guard: Guard<T>, what: string): T {
  if (!guard(value)) throw new PeerSockError('FRAME_SCHEMA', `${what} is invalid`);
  return value;
}

function firstBadField(record: Record<string, unknown>, shape: Shape): string | undefined {
  for (const key of Object.keys(shape)) {
    const guard = shape[key]!;
    const field = Object.hasOwn(record, key) ? record[key] : undefined;
    if (!guard(field)) return key;
  }
  return undefined;
}
