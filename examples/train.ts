/**
 * Train any denn model on the embedded digits, an IDX (MNIST / Fashion-MNIST) file or CIFAR-10,
 * on the cpu, blas or webgpu backend, from the command line.
 *
 *     deno run --allow-read --allow-write --allow-env --allow-ffi examples/train.ts \
 *       --model lenet5 --dataset idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
 *       --test idx:/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --epochs 5
 *
 * Run with `--help` for every flag.
 *
 * @example
 * ```ts ignore
 * import { train } from "./train.ts";
 * const result = await train(["--dataset", "embedded", "--epochs", "1", "--limit", "1000"]);
 * console.log(result.accuracy);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { manualSeed, use } from "../mod.ts";
import type { Module, Optimizer } from "../mod.ts";
import { Adam, CosineAnnealingLR, SGD } from "../optim/mod.ts";
import {
  DataLoader,
  loadCifar10,
  loadDigits,
  loadIdx,
  normalize,
  randomCrop,
  randomHorizontalFlip,
  trainValidationSplit,
} from "../plugins/data/mod.ts";
import type { Dataset, Transform } from "../plugins/data/mod.ts";
import { createModel, MODEL_NAMES } from "../plugins/models/mod.ts";
import { evaluate, fit } from "../plugins/train/mod.ts";

const HELP =
  `usage: deno run --allow-read --allow-write [--allow-env --allow-ffi] examples/train.ts [flags]

  --model NAME        ${MODEL_NAMES.join(", ")} (default lenet5)
  --dataset SPEC      embedded (the 10,000 built-in digits, default), idx:IMAGES_PATH
                      (MNIST-format images; labels found by name or --labels), or
                      cifar10:PATH (a batch .bin file or the cifar-10-batches-bin directory)
  --labels PATH       labels file for an idx: dataset
  --test SPEC         test set (same forms; cifar10:DIR uses test_batch.bin); default: hold out
                      --holdout examples of the training data
  --test-labels PATH  labels file for an idx: test set
  --holdout N         examples held out when there is no --test (default 2000)
  --limit N           use only N training examples (quick runs)
  --backend NAME      cpu (default), blas (needs --allow-ffi --allow-env) or webgpu
  --epochs N          default 5
  --batch-size N      default 64
  --lr X              learning rate (default 0.05 for sgd, 0.001 for adam)
  --optimizer NAME    sgd (momentum 0.9, default) or adam
  --weight-decay X    default 0
  --augment           random crop (padding 4 for 32x32, 2 for 28x28) and horizontal flip (CIFAR)
  --out DIR           checkpoint and plot directory (default ./denn-train-out)
  --resume            continue from the checkpoint in --out
  --seed N            default 0
  -h, --help          this text`;

/** Result of {@linkcode train}. */
export interface TrainResult {
  /** Test accuracy in [0, 1]. */
  accuracy: number;
  /** Test loss. */
  loss: number;
  /** Test examples. */
  testSize: number;
  /** Wall-clock seconds of training and evaluation. */
  seconds: number;
}

async function loadSpec(
  spec: string,
  labels: string | undefined,
  split: "train" | "test",
): Promise<Dataset> {
  if (spec === "embedded") return await loadDigits();
  const colon = spec.indexOf(":");
  const kind = spec.slice(0, colon), path = spec.slice(colon + 1);
  if (kind === "idx") return await loadIdx(path, { labels });
  if (kind === "cifar10") return await loadCifar10(path, { split });
  throw new RangeError(
    `train: unknown dataset "${spec}" (expected embedded, idx:PATH or cifar10:PATH)`,
  );
}

/** Per-dataset normalisation constants (mean, std per channel). */
function stats(ds: Dataset): [number[], number[]] {
  if (ds.shape[0] === 3) return [[0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]];
  return [[0.1307], [0.3081]];
}

async function selectBackend(name: string): Promise<string> {
  if (name === "cpu") return "cpu";
  if (name === "blas") {
    const { blas } = await import("../plugins/blas/mod.ts");
    use(blas());
    return "blas";
  }
  if (name === "webgpu") {
    const { webgpu } = await import("../plugins/webgpu/mod.ts");
    use(await webgpu());
    return "webgpu";
  }
  throw new RangeError(`train: unknown backend "${name}" (expected cpu, blas or webgpu)`);
}

/** Parses command-line flags and trains; returns the test metrics. */
export async function train(args: string[]): Promise<TrainResult> {
  const { values: v } = parseArgs({
    args,
    options: {
      model: { type: "string", default: "lenet5" },
      dataset: { type: "string", default: "embedded" },
      labels: { type: "string" },
      test: { type: "string" },
      "test-labels": { type: "string" },
      holdout: { type: "string", default: "2000" },
      limit: { type: "string" },
      backend: { type: "string", default: "cpu" },
      epochs: { type: "string", default: "5" },
      "batch-size": { type: "string", default: "64" },
      lr: { type: "string" },
      optimizer: { type: "string", default: "sgd" },
      "weight-decay": { type: "string", default: "0" },
      augment: { type: "boolean", default: false },
      out: { type: "string", default: "./denn-train-out" },
      resume: { type: "boolean", default: false },
      seed: { type: "string", default: "0" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(HELP);
    return { accuracy: NaN, loss: NaN, testSize: 0, seconds: 0 };
  }
  const t0 = performance.now();
  const seed = Number(v.seed);
  manualSeed(seed);
  const backend = await selectBackend(v.backend!);
  let trainSet: Dataset = await loadSpec(v.dataset!, v.labels, "train");
  let testSet: Dataset;
  if (v.test) testSet = await loadSpec(v.test, v["test-labels"], "test");
  else {
    const split = trainValidationSplit(trainSet, Number(v.holdout), { seed });
    trainSet = split.train;
    testSet = split.validation;
  }
  if (v.limit) trainSet = trainValidationSplit(trainSet, Number(v.limit), { seed }).validation;
  const [mean, std] = stats(trainSet);
  const [c, h] = trainSet.shape;
  const augment: Transform[] = v.augment
    ? [randomCrop(h, { padding: h >= 32 ? 4 : 2 }), randomHorizontalFlip()]
    : [];
  const bs = Number(v["batch-size"]);
  // blas provides kernels for cpu tensors: batches stay on cpu and matmul/conv run on blas.
  const device = backend === "webgpu" ? "webgpu" : "cpu";
  const trainLoader = new DataLoader(trainSet, {
    batchSize: bs,
    shuffle: true,
    seed,
    transforms: [...augment, normalize(mean, std)],
    device,
  });
  const testLoader = new DataLoader(testSet, {
    batchSize: 256,
    transforms: [normalize(mean, std)],
    device,
  });
  const model: Module = createModel(v.model!, {
    numClasses: trainSet.numClasses ?? 10,
    inChannels: c,
    inputSize: h,
  });
  if (device !== "cpu") model.to(device);
  const epochs = Number(v.epochs);
  const wd = Number(v["weight-decay"]);
  const optimizer: Optimizer<object> = v.optimizer === "adam"
    ? new Adam(model.parameters(), { lr: Number(v.lr ?? 0.001), weightDecay: wd })
    : new SGD(model.parameters(), { lr: Number(v.lr ?? 0.05), momentum: 0.9, weightDecay: wd });
  const run = async () => {
    await fit(model, {
      optimizer,
      scheduler: new CosineAnnealingLR(optimizer as SGD, Math.max(1, epochs)),
      train: trainLoader,
      validation: testLoader,
      epochs,
      checkpointDir: v.out,
      resume: v.resume,
      plot: `${v.out}/history.svg`,
    });
    return await evaluate(model, testLoader);
  };
  const result = await run();
  return {
    accuracy: result.accuracy,
    loss: result.loss,
    testSize: result.count,
    seconds: (performance.now() - t0) / 1000,
  };
}

if (import.meta.main) {
  const r = await train(Deno.args);
  if (r.testSize) {
    console.log(
      `test accuracy: ${(100 * r.accuracy).toFixed(2)}% (loss ${
        r.loss.toFixed(4)
      }, ${r.testSize} examples, ${r.seconds.toFixed(1)}s)`,
    );
  }
}
