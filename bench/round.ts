/** `value` rounded to `digits` decimal places: how every benchmark prints its figures. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
