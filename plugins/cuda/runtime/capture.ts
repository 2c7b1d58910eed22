/**
 * What CUDA graph capture shares between the cuda context (context.ts) and `captureStep`
 * (graphs.ts): {@linkcode GraphCaptureError}, the refusal of work a graph cannot hold;
 * {@linkcode CapturePins}, the blocks one captured graph pins; and {@linkcode uniformPattern}, the
 * 32-bit pattern that lets the context record an upload of constant data as a memset node.
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";

/**
 * What a CUDA graph cannot capture, asked for while a step is being captured: a readback, an upload
 * of varying host data, a synchronisation, an NVRTC compile or closing the context. The capture is
 * abandoned; run such work before `captureStep` or between replays.
 */
export class GraphCaptureError extends DeviceError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "GraphCaptureError";
  }
}

/** The blocks one captured graph pins (see {@linkcode CudaContext.beginCapture}). */
export interface CapturePins {
  /** Device pointers pinned for the graph's lifetime. */
  readonly ptrs: ReadonlySet<bigint>;
}

/**
 * The 32-bit pattern that repeats through `bytes` when every element (`size` bytes: 1, 2 or 4) is
 * the same, else null.
 */
export function uniformPattern(bytes: Uint8Array, size: number): number | null {
  if (bytes.length === 0 || 4 % size !== 0 || bytes.length % size !== 0) return null;
  for (let i = size; i < bytes.length; i++) if (bytes[i] !== bytes[i - size]) return null;
  let p = 0;
  for (let i = 0; i < 4; i++) p |= bytes[i % size] << (8 * i);
  return p >>> 0;
}
