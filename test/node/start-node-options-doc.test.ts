import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DHT_CONFIG } from '../../src/actors/dht/dht-config.js';
import { DEFAULT_UPGRADE_CONFIG } from '../../src/actors/links/upgrade-config.js';
import { DEFAULT_ROUTER_CONFIG } from '../../src/actors/routing/router-config.js';

const source = readFileSync(new URL('../../src/node/start-node.ts', import.meta.url), 'utf8');

/** The doc comment right before `<option>?:` in StartNodeOptions. */
function docOf(option: string): string {
  const match = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${option}\\?:`).exec(source);
  if (!match) throw new Error(`no doc comment for ${option}`);
  return match[1]!;
}

/** The fields of a config that its option's doc comment does not name. */
const undocumented = (option: string, defaults: object) =>
  Object.keys(defaults).filter((field) => !new RegExp(`\\b${field}\\b`).test(docOf(option)));

describe('startNode options: the doc comment names every field of the partial configs it takes', () => {
  it('dht: every DhtConfig field', () => expect(undocumented('dht', DEFAULT_DHT_CONFIG)).toEqual([]));
  it('routing: every RouterConfig field', () => expect(undocumented('routing', DEFAULT_ROUTER_CONFIG)).toEqual([]));
  it('upgrade: every UpgradeConfig field', () => expect(undocumented('upgrade', DEFAULT_UPGRADE_CONFIG)).toEqual([]));
});
