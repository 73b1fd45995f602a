/**
 * An XState state value as one string, for views, traces and logs:
 * `{ attempt: { open: 'alive' } }` → `attempt.open.alive`; several keys are parallel
 * regions: `member.(maintenance.waiting|merging.idle)`.
 */
export function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  const keys = Object.keys(value);
  const part = (key: string): string => {
    const child = (value as Record<string, unknown>)[key];
    const isLeaf = child === undefined || (typeof child === 'object' && child !== null && Object.keys(child).length === 0);
    return isLeaf ? key : `${key}.${stateText(child)}`;
  };
  if (keys.length === 1) return part(keys[0]!);
  return `(${keys.map(part).join('|')})`;
}
