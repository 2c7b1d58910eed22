/**
 * CUDA graphs for the cuda backend: {@linkcode captureStep} records one training step's launches
 * (kernels, cuBLAS and cuDNN calls, memsets, device copies) into a CUDA graph with
 * `cuStreamBeginCapture_v2` / `cuStreamEndCapture` / `cuGraphInstantiateWithFlags`, and
 * {@linkcode CapturedStep.replay} relaunches all of it with one `cuGraphLaunch`, without the host
 * cost of dispatch and about 5 µs per launch.
 *
 * What a captured step must respect (the context refuses the rest with a `GraphCaptureError`):
 *
 * - **Warm-up first.** The step runs eagerly `warmup` times (default 1) before the capture, so
 *   every NVRTC kernel is compiled, cuBLAS has its workspace and cuDNN's algorithm choices are
 *   cached. A compile needed during the capture is refused.
 * - **No readbacks, no synchronisation, no varying uploads inside the step.** `dataSync()`,
 *   `item()`, `toArray()`, moving a tensor to another device, `emptyCache()` or creating a tensor
 *   from host data are refused; uploads of constant data (`onesLike`, `zeros`, `full`, as
 *   `backward()` makes) become memset nodes. Read the loss from {@linkcode CapturedStep.result}
 *   after a replay.
 * - **Fixed addresses.** The graph replays on the buffers the capture used: every block live when
 *   the capture begins or allocated during it is pinned until {@linkcode CapturedStep.destroy}; a
 *   pinned block that is freed is parked, not reused. Feed new batches by writing into the same
 *   input tensors (for example `copyInto`, or `ctx.write` on their buffers) between replays, and
 *   keep the model's parameters (in-place optimizer updates keep them).
 * - **Host values are frozen.** Scalars the step passes to kernels are recorded as they were:
 *   a learning-rate schedule, Adam's step count, or any branch on tensor values do not change on
 *   replay. SGD (with or without momentum, after the warm-up's first step) is safe.
 * - **Synchronous.** `fn` must not return a promise.
 *
 * The capture itself does not execute the step: after `captureStep`, the step has run `warmup`
 * times; each `replay()` runs it once more.
 *
 * @example
 * ```ts ignore
 * import { nn, optim, randn, use } from "@denn/denn";
 * import { captureStep, cuda } from "@denn/denn/plugins/cuda";
 * use(cuda());
 * const model = new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 1));
 * model.to("cuda");
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
 * const x = randn([32, 8]).to("cuda"), y = randn([32, 1]).to("cuda");
 * const step = captureStep(() => {
 *   opt.zeroGrad();
 *   const loss = model.forward(x).sub(y).pow(2).mean();
 *   loss.backward();
 *   opt.step();
 *   return loss;
 * });
 * for (let i = 0; i < 100; i++) step.replay();
 * console.log(step.result.item());
 * step.destroy();
 * ```
 *
 * @module
 */

import { ValueError } from "../../core/mod.ts";
import { GraphCaptureError } from "./runtime/capture.ts";
import type { CapturePins } from "./runtime/capture.ts";
import { cudaContext } from "./mod.ts";

export { GraphCaptureError } from "./runtime/capture.ts";
export type { CapturePins } from "./runtime/capture.ts";

/** What {@linkcode captureStep} needs of a context; `CudaContext` implements it. */
export interface GraphHost {
  /** Whether a capture is in progress. */
  readonly capturing: boolean;
  /** Waits for the stream. */
  sync(): void;
  /** Starts capturing the stream and pinning memory. */
  beginCapture(): CapturePins;
  /** Ends the capture and returns the CUgraph. */
  endCapture(): bigint;
  /** An executable graph (CUgraphExec). */
  instantiateGraph(graph: bigint): bigint;
  /** Launches an executable graph on the stream. */
  launchGraph(exec: bigint): void;
  /** Destroys an executable graph (where not null) and its graph. */
  destroyGraph(graph: bigint, exec: bigint | null): void;
  /** Releases a graph's pinned memory. */
  unpin(pins: CapturePins): void;
}

/** Options of {@linkcode captureStep}. */
export interface CaptureOptions {
  /** Eager runs of the step before the capture (at least 1; default 1). */
  warmup?: number;
  /** The context to capture on (default: the registered cuda backend's). */
  context?: GraphHost;
}

/** A captured step: replay it, read what it returned, destroy it. */
export interface CapturedStep<T> {
  /** What the step returned when captured; each replay rewrites the buffers of its tensors. */
  readonly result: T;
  /** Replays so far. */
  readonly replays: number;
  /** Runs the captured step once more (asynchronous on the stream, like eager launches). */
  replay(): void;
  /** Destroys the graph and releases its pinned memory (idempotent). */
  destroy(): void;
  /** Same as {@linkcode CapturedStep.destroy}. */
  [Symbol.dispose](): void;
}

/**
 * Runs `fn` eagerly `warmup` times, then captures one more run into a CUDA graph and returns it
 * for replaying (see the module doc for the constraints). A step that does what a graph cannot
 * hold throws the `GraphCaptureError` naming it, after the capture is abandoned and its memory
 * released.
 *
 * @example
 * ```ts ignore
 * import { captureStep } from "@denn/denn/plugins/cuda";
 * declare const trainStep: () => void;
 * const step = captureStep(trainStep, { warmup: 2 });
 * for (let i = 0; i < 1000; i++) step.replay();
 * step.destroy();
 * ```
 */
export function captureStep<T>(fn: () => T, options: CaptureOptions = {}): CapturedStep<T> {
  if (typeof fn !== "function") {
    throw new ValueError(`captureStep: fn must be a function, got ${typeof fn}`);
  }
  const extra = Object.keys(options ?? {}).filter((k) => k !== "warmup" && k !== "context");
  if (extra.length) {
    throw new ValueError(
      `captureStep: unknown option(s) ${extra.join(", ")} (known: warmup, context)`,
    );
  }
  const warmup = options.warmup ?? 1;
  if (!Number.isInteger(warmup) || warmup < 1) {
    throw new ValueError(
      `captureStep: warmup must be an integer >= 1 (NVRTC compiles and cuDNN searches must ` +
        `happen before the capture), got ${warmup}`,
    );
  }
  const host = options.context ?? cudaContext();
  if (!host) {
    throw new GraphCaptureError(
      "captureStep: the cuda backend is not registered (use(cuda()) first, or pass a context)",
    );
  }
  if (host.capturing) {
    throw new GraphCaptureError(
      "captureStep: a capture is already in progress (captures do not nest)",
    );
  }
  for (let i = 0; i < warmup; i++) refuseAsync(fn(), "the warm-up run");
  host.sync();
  const pins = host.beginCapture();
  let result: T;
  try {
    result = fn();
    refuseAsync(result, "the captured run");
  } catch (e) {
    abandon(host, pins);
    throw e;
  }
  let graph = 0n;
  try {
    graph = host.endCapture();
    const exec = host.instantiateGraph(graph);
    return captured(host, pins, graph, exec, result);
  } catch (e) {
    try {
      if (graph !== 0n) host.destroyGraph(graph, null);
    } finally {
      host.unpin(pins);
    }
    throw e;
  }
}

function refuseAsync(v: unknown, what: string): void {
  if (v && typeof (v as Promise<unknown>).then === "function") {
    throw new GraphCaptureError(
      `captureStep: ${what} returned a promise; a captured step must be synchronous (no awaits ` +
        `inside it)`,
    );
  }
}

// Ends a failed capture (the driver's graph of it is discarded) and releases its pins.
function abandon(host: GraphHost, pins: CapturePins): void {
  try {
    const g = host.endCapture();
    if (g !== 0n) host.destroyGraph(g, null);
  } catch {
    // the capture was invalidated; the original error explains
  } finally {
    host.unpin(pins);
  }
}

function captured<T>(
  host: GraphHost,
  pins: CapturePins,
  graph: bigint,
  exec: bigint,
  result: T,
): CapturedStep<T> {
  let alive = true, replays = 0;
  const destroy = () => {
    if (!alive) return;
    alive = false;
    try {
      host.destroyGraph(graph, exec);
    } finally {
      host.unpin(pins);
    }
  };
  return {
    result,
    get replays() {
      return replays;
    },
    replay() {
      if (!alive) throw new GraphCaptureError("captureStep: replay of a destroyed step");
      host.launchGraph(exec);
      replays++;
    },
    destroy,
    [Symbol.dispose]: destroy,
  };
}
