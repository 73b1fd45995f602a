import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `parseArgs` in strict mode, with its errors turned into short UsageErrors that name the
 * command: its own messages are long and suggest `--` tricks that do not apply here.
 */
type StrictConfig<O extends Options> = { args: string[]; options: O; strict: true; allowPositionals: false };

export function parseCommandArgs<O extends Options>(
  command: string,
  argv: readonly string[],
  options: O,
): ReturnType<typeof parseArgs<StrictConfig<O>>> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(describeParseError(error, options), command);
  }
}

function describeParseError(error: unknown, options: Options): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) return `unknown option ${quoted}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted !== undefined) return `unexpected argument ${JSON.stringify(quoted)}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([a-z-]+)/.exec(message)?.[1];
    if (name !== undefined && options[name]?.type === 'string') return `option --${name} needs a value`;
    if (name !== undefined) return `option --${name} takes no value`;
  }
  return message;
}

/** An integer option within [min, max]; `undefined` when the option was not given. */
export function integerOption(command: string, name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(text)}`, command);
  const value = Number(text.trim());
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`, command);
  return value;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type CliLogLevel = (typeof LOG_LEVELS)[number];

export function logLevelOption(command: string, text: string | undefined, fallback: CliLogLevel): CliLogLevel {
  if (text === undefined) return fallback;
  const level = LOG_LEVELS.find((candidate) => candidate === text);
  if (level === undefined) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(text)}`, command);
  return level;
}

/** A signaling URL: ws:// or wss:// with a host. */
export function signalingUrlOption(command: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--signal must be a ws:// or wss:// URL, got ${JSON.stringify(text)}`, command);
  }
  if ((url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.hostname === '') {
    throw new UsageError(`--signal must be a ws:// or wss:// URL, got ${JSON.stringify(text)}`, command);
  }
  return text;
}
