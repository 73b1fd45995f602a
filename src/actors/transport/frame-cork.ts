import { encodeBatchFrame } from '../../wire/index.js';
import type { SendSink } from './send-queue.js';

/**
 * Corks small frames written in the same turn of the event loop into one batch frame
 * (see wire/batch-frame.ts), like TCP_CORK. Large frames go out at once, after
 * whatever is corked, so order is kept. The cork is flushed when it holds
 * `maxBatchBytes` or `maxBatchFrames`, when a send has to wait for the link, or on the
 * next turn (`defer`), so a lone message waits one turn at most.
 */
export interface CorkOptions {
  /** Frames up to this size are corked. */
  maxFrameBytes: number;
  maxBatchBytes: number;
  /** At most the wire's maxItems per container. */
  maxBatchFrames: number;
  /** The link's largest message (known once negotiated): a batch never exceeds it. */
  maxMessageBytes(): number;
  /** A deferred flush failed: the link is broken and the frames in the batch are lost. */
  onError(error: unknown): void;
  /** Runs a callback on the next turn (setImmediate in production, the virtual clock in the simulator). */
  defer(callback: () => void): void;
}

export interface LinkWriter {
  send(frame: Uint8Array): void;
  bufferedAmount(): number;
}

export class FrameCork implements SendSink {
  private frames: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(
    private readonly link: LinkWriter,
    private readonly options: CorkOptions,
  ) {}

  bufferedAmount(): number {
    return this.link.bufferedAmount() + this.bytes;
  }

  write(frame: Uint8Array): void {
    if (frame.length > this.options.maxFrameBytes) {
      this.flush();
      this.link.send(frame);
      return;
    }
    // Flush first if this frame would take the batch past what the link carries.
    if (this.frames.length > 0 && batchSize(this.frames.length + 1, this.bytes + frame.length) > this.capacity()) this.flush();
    this.frames.push(frame);
    this.bytes += frame.length;
    if (this.frames.length >= this.options.maxBatchFrames) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      this.options.defer(() => {
        this.scheduled = false;
        this.flushQuietly();
      });
    }
  }

  flush(): void {
    if (this.frames.length === 0) return;
    const frames = this.frames;
    const bytes = this.bytes;
    this.frames = [];
    this.bytes = 0;
    this.link.send(frames.length === 1 ? frames[0]! : encodeBatchFrame(frames, bytes));
  }

  private capacity(): number {
    return Math.min(this.options.maxBatchBytes, this.options.maxMessageBytes());
  }

  /** Nobody is waiting on a deferred flush, so its failure goes to onError, never into the void. */
  private flushQuietly(): void {
    try {
      this.flush();
    } catch (error) {
      this.options.onError(error);
    }
  }
}

/** Upper bound on a batch frame's size: envelope + array header + a byte-string header per frame. */
function batchSize(frames: number, frameBytes: number): number {
  return 16 + 5 * frames + frameBytes;
}
