/** Where a command writes its lines; tests and main() supply it. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: Io = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

/** Local wall-clock time as hh:mm:ss.mmm, the prefix of every event line. */
export function clockTime(date: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** `[hh:mm:ss.mmm] label  rest`, label padded so the rest lines up. */
export function eventLine(label: string, rest: string, date?: Date): string {
  return `[${clockTime(date)}] ${label.padEnd(LABEL_WIDTH)} ${rest}`.trimEnd();
}
export const LABEL_WIDTH = 14;

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

const MAX_SHOWN_CHARS = 200;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text received from a peer, made safe for a terminal: control characters (which could
 * move the cursor or recolour the screen) are shown as escapes, long text is cut.
 */
export function printable(text: string, max = MAX_SHOWN_CHARS): string {
  const cut = [...text];
  const shown = cut.length > max ? `${cut.slice(0, max).join('')}… (${cut.length} chars)` : text;
  return shown.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A payload as quoted, printable text if it is UTF-8, otherwise its size. */
export function describePayload(data: Uint8Array): string {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return `<${data.byteLength} bytes, not UTF-8>`;
  }
  return `"${printable(text)}"`;
}
