/**
 * The denn demo: trains LeNet-5 on the 10,000 embedded MNIST digits with the cpu backend, holding
 * out 2,000 of them as a test set, then writes a checkpoint and a plot of the training history and
 * prints the held-out accuracy on its last line. Where a system BLAS loads (and `--allow-ffi
 * --allow-env` are given, as `deno task demo` does), `use(blas())` lets it run the cpu tensors'
 * matrix products; otherwise the first line says why not and everything runs on cpu.
 *
 *     deno run --allow-read --allow-write --allow-ffi --allow-env examples/demo.ts [--out DIR]
 *       [--epochs N] [--no-blas]
 *
 * @example
 * ```ts ignore
 * import { runDemo } from "./demo.ts";
 * const { accuracy } = await runDemo({ epochs: 1, limit: 1000, out: "/tmp/demo" });
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { explain, manualSeed, use } from "../mod.ts";
import { blas, blasLibrary } from "../plugins/blas/mod.ts";
import { CosineAnnealingLR, SGD } from "../optim/mod.ts";
import { DataLoader, loadDigits, normalize, trainValidationSplit } from "../plugins/data/mod.ts";
import type { Dataset } from "../plugins/data/mod.ts";
import { lenet5 } from "../plugins/models/mod.ts";
import { evaluate, fit } from "../plugins/train/mod.ts";
import type { ProgressSink } from "../plugins/train/mod.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** Output directory for the checkpoint and plot (default ./denn-demo-out). */
  out?: string;
  /** Epochs (default 12). */
  epochs?: number;
  /** Batch size (default 32). */
  batchSize?: number;
  /** Learning rate of SGD with momentum 0.9 and cosine annealing (default 0.03). */
  lr?: number;
  /** Held-out test digits (default 2,000). */
  test?: number;
  /** Use only the first `limit` digits after shuffling (for quick runs). */
  limit?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Progress output (default stderr); null silences it. */
  progress?: ProgressSink | null;
}

/** Result of {@linkcode runDemo}. */
export interface DemoResult {
  /** Held-out accuracy in [0, 1]. */
  accuracy: number;
  /** Held-out examples. */
  testSize: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** Output directory. */
  out: string;
}

/** MNIST's pixel mean and standard deviation. */
const MEAN = 0.1307, STD = 0.3081;

/** Trains and evaluates LeNet-5 on the embedded digits. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const out = options.out ?? "./denn-demo-out";
  const seed = options.seed ?? 0;
  manualSeed(seed);
  let digits: Dataset = await loadDigits();
  if (options.limit) {
    digits = trainValidationSplit(digits, options.limit, { seed: seed + 1 }).validation;
  }
  const testSize = options.limit ? Math.round(digits.length / 5) : options.test ?? 2000;
  const { train, validation: test } = trainValidationSplit(digits, testSize, { seed });
  const transforms = [normalize(MEAN, STD)];
  const trainLoader = new DataLoader(train, {
    batchSize: options.batchSize ?? 32,
    shuffle: true,
    seed,
    transforms,
  });
  const testLoader = new DataLoader(test, { batchSize: 500, transforms });
  const model = lenet5();
  const optimizer = new SGD(model.parameters(), { lr: options.lr ?? 0.03, momentum: 0.9 });
  await Deno.mkdir(out, { recursive: true });
  const epochs = options.epochs ?? 12;
  await fit(model, {
    optimizer,
    scheduler: new CosineAnnealingLR(optimizer, epochs),
    train: trainLoader,
    validation: testLoader,
    epochs,
    checkpointDir: out,
    plot: `${out}/history.svg`,
    progress: options.progress,
  });
  const { accuracy } = await evaluate(model, testLoader);
  return { accuracy, testSize: test.length, seconds: (performance.now() - t0) / 1000, out };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "./denn-demo-out" },
      epochs: { type: "string", default: "12" },
      "batch-size": { type: "string", default: "32" },
      lr: { type: "string", default: "0.03" },
      seed: { type: "string", default: "0" },
      "no-blas": { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno run --allow-read --allow-write --allow-ffi --allow-env examples/demo.ts " +
        "[--out DIR] [--epochs N] [--batch-size N] [--lr X] [--seed N] [--no-blas]",
    );
    Deno.exit(0);
  }
  if (!values["no-blas"]) {
    // A kernel provider for cpu tensors: matrix products run on BLAS where it loads.
    use(blas());
    const why = explain().unavailable["blas"];
    console.log(
      why === undefined
        ? `kernels: cpu, with matrix products on ${blasLibrary()!.path}`
        : `kernels: cpu (blas not used: ${why})`,
    );
  }
  const r = await runDemo({
    out: values.out,
    epochs: Number(values.epochs),
    batchSize: Number(values["batch-size"]),
    lr: Number(values.lr),
    seed: Number(values.seed),
  });
  console.log(
    `checkpoint: ${r.out}/latest.json  plot: ${r.out}/history.svg  time: ${r.seconds.toFixed(1)}s`,
  );
  console.log(`test accuracy: ${(100 * r.accuracy).toFixed(2)}% on ${r.testSize} held-out digits`);
}
