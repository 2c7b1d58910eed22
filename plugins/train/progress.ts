/**
 * Training progress on stderr: on a terminal a live line (bar, loss, accuracy, throughput, ETA)
 * redrawn at most ten times a second; otherwise one plain line per epoch, so logs stay readable.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress({ epochs: 1, batches: 10 });
 * p.epochEnd({ epoch: 1, loss: 0.3, accuracy: 0.9, seconds: 1, imagesPerSecond: 640 });
 * ```
 *
 * @module
 */

import type { EpochStats } from "./checkpoint.ts";

/** Where progress goes (Deno.stderr by default). */
export interface ProgressSink {
  /** Writes bytes. */
  writeSync(p: Uint8Array): number;
  /** Whether it is a terminal (live bar) or not (a line per epoch). */
  isTerminal(): boolean;
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return "--:--";
  const m = Math.floor(s / 60), sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, "0")}`;
}

/** Formats an epoch's statistics as one line. */
export function formatEpoch(s: EpochStats, epochs: number): string {
  let line = `epoch ${s.epoch}/${epochs}  loss ${s.loss.toFixed(4)}  acc ${
    (100 * s.accuracy).toFixed(2)
  }%`;
  if (s.valLoss !== undefined) {
    line += `  val_loss ${s.valLoss.toFixed(4)}  val_acc ${
      (100 * (s.valAccuracy ?? 0)).toFixed(2)
    }%`;
  }
  if (s.lr !== undefined) line += `  lr ${s.lr.toPrecision(3)}`;
  return line + `  ${s.imagesPerSecond.toFixed(0)} img/s  ${s.seconds.toFixed(1)}s`;
}

/** A progress reporter for `fit`. */
export class Progress {
  readonly #sink: ProgressSink | null;
  readonly #tty: boolean;
  readonly #epochs: number;
  readonly #batches: number;
  #last = 0;
  readonly #enc = new TextEncoder();

  /** Creates a reporter; `sink: null` silences it. */
  constructor(opts: { epochs: number; batches: number; sink?: ProgressSink | null }) {
    this.#sink = opts.sink === undefined ? Deno.stderr : opts.sink;
    this.#tty = this.#sink?.isTerminal() ?? false;
    this.#epochs = opts.epochs;
    this.#batches = opts.batches;
  }

  #write(s: string): void {
    this.#sink?.writeSync(this.#enc.encode(s));
  }

  /** Redraws the live line after a batch (terminal only, throttled). */
  batch(
    epoch: number,
    done: number,
    stats: { loss: number; accuracy: number; seen: number; seconds: number },
  ): void {
    if (!this.#tty) return;
    const now = performance.now();
    if (done < this.#batches && now - this.#last < 100) return;
    this.#last = now;
    const width = 24, frac = done / this.#batches;
    const fill = Math.round(frac * width);
    const rate = stats.seen / Math.max(stats.seconds, 1e-9);
    const eta = (this.#batches - done) * (stats.seconds / Math.max(done, 1));
    this.#write(
      `\r\x1b[2Kepoch ${epoch}/${this.#epochs} [${"#".repeat(fill)}${
        ".".repeat(width - fill)
      }] ${done}/${this.#batches}  loss ${stats.loss.toFixed(4)}  acc ${
        (100 * stats.accuracy).toFixed(2)
      }%  ${rate.toFixed(0)} img/s  ETA ${duration(eta)}`,
    );
  }

  /** Prints the epoch's summary line. */
  epochEnd(s: EpochStats): void {
    this.#write(`${this.#tty ? "\r\x1b[2K" : ""}${formatEpoch(s, this.#epochs)}\n`);
  }

  /** Prints a message on its own line. */
  note(msg: string): void {
    this.#write(`${msg}\n`);
  }
}
