/**
 * Gradient accumulation: train with an effective batch of k·m examples while only m are in
 * memory at once. Each optimizer step runs k micro-batches through forward and backward —
 * `backward()` adds into `.grad`, as in PyTorch — with each micro-batch's mean loss weighted by
 * its share of the big batch, so the summed gradient is exactly the big batch's mean-loss
 * gradient; then it clips the total gradient norm (`nn.utils.clipGradNorm_`) and steps. An MLP on
 * the embedded MNIST digits, held-out accuracy at the end.
 *
 *     deno run examples/grad_accumulation.ts [--steps N] [--accumulate K] [--micro-batch M]
 *       [--lr X] [--max-norm X] [--device cpu|webgpu]
 *
 * (`--device webgpu` needs `--allow-read --allow-env --allow-ffi` on some systems.) The
 * equivalence holds for models whose forward treats examples independently: BatchNorm's batch
 * statistics differ between a micro-batch and the big batch, so with BatchNorm (in training mode)
 * accumulation approximates the big batch instead.
 *
 * @example
 * ```ts ignore
 * import { trainWithAccumulation } from "./grad_accumulation.ts";
 * const r = await trainWithAccumulation({ steps: 20, accumulate: 4, microBatch: 16 });
 * console.log(r.losses.length, r.accuracy);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { F, hasBackend, manualSeed, nn, optim, use } from "../mod.ts";
import type { Module, Tensor } from "../mod.ts";
import { DataLoader, loadDigits, normalize, trainValidationSplit } from "../plugins/data/mod.ts";
import type { Batch } from "../plugins/data/mod.ts";
import { evaluate } from "../plugins/train/mod.ts";

/** MNIST's pixel mean and standard deviation. */
const MEAN = 0.1307, STD = 0.3081;

/**
 * The example's model: a two-layer perceptron on the 28 × 28 pixels, without BatchNorm or dropout.
 */
export function mlp(hidden = 64): nn.Sequential {
  return new nn.Sequential(
    new nn.Flatten(),
    new nn.Linear(28 * 28, hidden),
    new nn.ReLU(),
    new nn.Linear(hidden, 10),
  );
}

/**
 * Runs forward and backward on each micro-batch, adding its gradients into the parameters'
 * `.grad` (call `opt.zeroGrad()` first): each micro-batch's mean cross-entropy is weighted by its
 * size over the total, so the gradients summed over the micro-batches are those of the mean loss
 * over all their examples — the big batch's, even when the last micro-batch is smaller. Returns
 * that mean loss as a 0-d tensor on the model's device (not read back).
 */
export function accumulateGradients(model: Module, microBatches: readonly Batch[]): Tensor {
  if (microBatches.length === 0) throw new RangeError("accumulateGradients: no micro-batches");
  const total = microBatches.reduce((n, b) => n + b.x.shape[0], 0);
  let sum: Tensor | null = null;
  for (const { x, y } of microBatches) {
    const loss = F.crossEntropy(model.forward(x), y).mul(x.shape[0] / total);
    loss.backward();
    const l = loss.detach();
    sum = sum ? sum.add(l) : l;
  }
  return sum!;
}

/** Options of {@linkcode trainWithAccumulation}. */
export interface AccumulationOptions {
  /** Optimizer steps (default 300). */
  steps?: number;
  /** Micro-batches per optimizer step, k (default 4). */
  accumulate?: number;
  /** Examples per micro-batch, m (default 16): the effective batch is k·m. */
  microBatch?: number;
  /** SGD learning rate, with momentum 0.9 (default 0.05). */
  lr?: number;
  /** Clip the accumulated gradient's total 2-norm to this (default 5; Infinity: no clipping). */
  maxNorm?: number;
  /** Device of the model and batches (default "cpu"; "webgpu" registers the webgpu backend). */
  device?: string;
  /** Held-out digits (default 2,000). */
  test?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Progress lines (default console.log); null silences them. */
  log?: ((line: string) => void) | null;
}

/** Result of {@linkcode trainWithAccumulation}. */
export interface AccumulationResult {
  /** The big-batch mean loss of every optimizer step. */
  losses: number[];
  /** The gradient norm before clipping, every step. */
  gradNorms: number[];
  /** Held-out accuracy in [0, 1]. */
  accuracy: number;
  /** Examples per optimizer step (k·m). */
  effectiveBatch: number;
}

/** Trains {@linkcode mlp} on the embedded digits with gradient accumulation. */
export async function trainWithAccumulation(
  options: AccumulationOptions = {},
): Promise<AccumulationResult> {
  const steps = options.steps ?? 300, k = options.accumulate ?? 4, m = options.microBatch ?? 16;
  for (const [name, v] of [["steps", steps], ["accumulate", k], ["microBatch", m]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(`trainWithAccumulation: ${name} must be a positive integer, got ${v}`);
    }
  }
  const device = options.device ?? "cpu";
  if (device === "webgpu" && !hasBackend("webgpu")) {
    const { webgpu } = await import("../plugins/webgpu/mod.ts");
    const plugin = await webgpu();
    if (plugin.unavailableReason !== null) {
      throw new Error(`webgpu is unavailable: ${plugin.unavailableReason}`);
    }
    use(plugin);
  }
  const log = options.log === undefined ? console.log : options.log;
  const seed = options.seed ?? 0;
  manualSeed(seed);
  const { train, validation } = trainValidationSplit(await loadDigits(), options.test ?? 2000, {
    seed,
  });
  const transforms = [normalize(MEAN, STD)];
  const loader = new DataLoader(train, { batchSize: m, shuffle: true, seed, transforms, device });
  const model = mlp().to(device);
  const opt = new optim.SGD(model.parameters(), { lr: options.lr ?? 0.05, momentum: 0.9 });
  const maxNorm = options.maxNorm ?? 5;
  const losses: number[] = [], gradNorms: number[] = [];
  let batches = loader[Symbol.iterator]();
  const next = (): Batch => {
    let r = batches.next();
    if (r.done) {
      batches = loader[Symbol.iterator](); // a new epoch, reshuffled
      r = batches.next();
    }
    return r.value;
  };
  for (let step = 1; step <= steps; step++) {
    const micro = Array.from({ length: k }, next);
    opt.zeroGrad();
    const loss = accumulateGradients(model, micro);
    const norm = nn.utils.clipGradNorm_(model.parameters(), maxNorm);
    opt.step();
    losses.push(await loss.item());
    gradNorms.push(await norm.item());
    if (log && (step % 50 === 0 || step === steps)) {
      const recent = losses.slice(-50);
      log(
        `step ${step}/${steps}: loss ${
          (recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4)
        } (mean of the last ${recent.length}), grad norm ${gradNorms[step - 1].toFixed(3)}`,
      );
    }
  }
  const testLoader = new DataLoader(validation, { batchSize: 500, transforms, device });
  const { accuracy } = await evaluate(model, testLoader);
  return { losses, gradNorms, accuracy, effectiveBatch: k * m };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      steps: { type: "string", default: "300" },
      accumulate: { type: "string", default: "4" },
      "micro-batch": { type: "string", default: "16" },
      lr: { type: "string", default: "0.05" },
      "max-norm": { type: "string", default: "5" },
      device: { type: "string", default: "cpu" },
      seed: { type: "string", default: "0" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno run examples/grad_accumulation.ts [--steps N] [--accumulate K] " +
        "[--micro-batch M] [--lr X] [--max-norm X] [--device cpu|webgpu] [--seed N]",
    );
    Deno.exit(0);
  }
  const r = await trainWithAccumulation({
    steps: Number(values.steps),
    accumulate: Number(values.accumulate),
    microBatch: Number(values["micro-batch"]),
    lr: Number(values.lr),
    maxNorm: Number(values["max-norm"]),
    device: values.device,
    seed: Number(values.seed),
  });
  console.log(
    `effective batch ${r.effectiveBatch}: held-out accuracy ${(100 * r.accuracy).toFixed(2)}%`,
  );
}
