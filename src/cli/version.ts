import { readFileSync } from 'node:fs';

/** The package version: package.json is two levels up from src/cli, three from dist/src/cli. */
export function packageVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const text = readFileSync(new URL(relative, import.meta.url), 'utf8');
      const parsed = JSON.parse(text) as { name?: unknown; version?: unknown };
      if (parsed.name === 'peersock' && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}
