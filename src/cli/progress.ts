import { formatDuration } from '../../sim/churn.js';
import type { Io } from './output.js';

/**
 * A progress bar for long runs, on stderr. On a terminal one line is redrawn in place with
 * `\r` (at most every 200 ms of wall time); otherwise (a pipe, a log file) a plain line is
 * written at every tenth of the way, so logs stay short and readable.
 */
export interface ProgressState {
  virtualMs: number;
  totalMs: number;
  events: number;
  alive: number;
  ringOk: boolean;
}

export interface ProgressBar {
  update(state: ProgressState): void;
  /** Ends the bar (a final newline on a terminal). */
  done(): void;
}

const WIDTH = 24;
const REDRAW_MS = 200;

export function progressLine(state: ProgressState, wallMs: number): string {
  const fraction = state.totalMs > 0 ? Math.min(1, state.virtualMs / state.totalMs) : 1;
  const filled = Math.round(fraction * WIDTH);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
  return (
    `[${bar}] ${formatDuration(state.virtualMs)}/${formatDuration(state.totalMs)} virtual  ` +
    `wall ${(wallMs / 1_000).toFixed(1)}s  events ${state.events.toLocaleString('en-US')}  ` +
    `alive ${state.alive}  ring ${state.ringOk ? 'correct' : 'healing'}`
  );
}

export function createProgressBar(io: Io, tty: { isTTY: boolean; write(text: string): void } | undefined, now: () => number = () => performance.now()): ProgressBar {
  const started = now();
  let lastDraw = -Infinity;
  let lastTenth = 0;
  let drawn = false;
  return {
    update(state) {
      const wall = now() - started;
      if (tty?.isTTY) {
        if (wall - lastDraw < REDRAW_MS && state.virtualMs < state.totalMs) return;
        lastDraw = wall;
        drawn = true;
        tty.write(`\r${progressLine(state, wall)}\u001b[K`);
        return;
      }
      const tenth = state.totalMs > 0 ? Math.floor((10 * state.virtualMs) / state.totalMs) : 10;
      if (tenth <= lastTenth) return;
      lastTenth = tenth;
      io.err(progressLine(state, wall));
    },
    done() {
      if (tty?.isTTY && drawn) tty.write('\n');
    },
  };
}
