/**
 * Training-step times in one run on one machine: LeNet-5 at batch 64 (SGD momentum, cross-entropy)
 * on denn's cpu and blas backends, PyTorch CPU and TensorFlow.js's cpu backend; ResNet-18 at 32×32,
 * batch 32, on denn blas and PyTorch CPU.
 *
 *     deno run -A bench/train_step_compare.ts [--steps 10] [--skip-tfjs] [--skip-resnet]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { F, optim, randint, randn, route, use } from "../mod.ts";
import type { Module } from "../mod.ts";
import { lenet5, resnet } from "../plugins/models/mod.ts";
import { blas } from "../plugins/blas/mod.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "10" },
    "skip-tfjs": { type: "boolean", default: false },
    "skip-resnet": { type: "boolean", default: false },
  },
});
const steps = Number(values.steps);

function timeSteps(step: () => void, n: number): number {
  for (let i = 0; i < 3; i++) step();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) step();
    best = Math.min(best, (performance.now() - t0) / n);
  }
  return best;
}

function denStep(model: Module, batch: number, channels: number, size: number): () => void {
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([batch, channels, size, size]);
  const y = randint(0, 10, [batch]);
  return () => {
    const loss = F.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
}

async function torchStep(model: string, batch: number, size: number, n: number): Promise<string> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [
        new URL("./torch_train_step.py", import.meta.url).pathname,
        model,
        `${batch}`,
        `${size}`,
        `${n}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) return "n/a";
    return new TextDecoder().decode(out.stdout).trim().split(" ")[0];
  } catch {
    return "n/a";
  }
}

async function tfjsLenetStep(n: number): Promise<string> {
  try {
    // Loaded by a computed specifier so type-checking the repository does not fetch TF.js.
    const tf = await import(["npm:@tensorflow", "tfjs@4.22.0"].join("/"));
    await tf.setBackend("cpu");
    const v = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.1));
    const w = [
      v([5, 5, 1, 6]),
      v([6]),
      v([5, 5, 6, 16]),
      v([16]),
      v([400, 120]),
      v([120]),
      v([120, 84]),
      v([84]),
      v([84, 10]),
      v([10]),
    ];
    const x = tf.randomNormal([64, 28, 28, 1]);
    const y = tf.oneHot(tf.randomUniform([64], 0, 10, "int32"), 10);
    const opt = tf.train.momentum(0.01, 0.9);
    const step = () =>
      tf.tidy(() =>
        opt.minimize(
          () => {
            let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, w[0], 1, "same"), w[1])), 2, 2, "valid");
            h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, w[2], 1, "valid"), w[3])), 2, 2, "valid");
            h = tf.reshape(h, [64, 400]);
            h = tf.relu(tf.add(tf.matMul(h, w[4]), w[5]));
            h = tf.relu(tf.add(tf.matMul(h, w[6]), w[7]));
            return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, w[8]), w[9]));
          },
          false,
          w,
        )
      );
    return timeSteps(step, Math.max(1, Math.floor(n / 5))).toFixed(1);
  } catch (e) {
    return `n/a (${(e as Error).message.slice(0, 40)})`;
  }
}

const rows: [string, string, string][] = [];
const cpuLenet = timeSteps(denStep(lenet5(), 64, 1, 28), steps);
use(blas());
const blasRoute = { matmul: "blas", conv2d: "blas" };
const blasLenet = route(blasRoute, () => timeSteps(denStep(lenet5(), 64, 1, 28), steps));
const torchLenet = await torchStep("lenet", 64, 28, steps);
const tfjs = values["skip-tfjs"] ? "skipped" : await tfjsLenetStep(steps);
rows.push(["LeNet-5, batch 64", "denn cpu (TypeScript)", cpuLenet.toFixed(1)]);
rows.push(["LeNet-5, batch 64", "denn blas (OpenBLAS FFI)", blasLenet.toFixed(1)]);
rows.push(["LeNet-5, batch 64", "PyTorch CPU", torchLenet]);
rows.push(["LeNet-5, batch 64", "TF.js cpu backend", tfjs]);
if (!values["skip-resnet"]) {
  const rsteps = Math.max(1, Math.floor(steps / 5));
  const blasRes = route(
    blasRoute,
    () => timeSteps(denStep(resnet(18, { numClasses: 10 }), 32, 3, 32), rsteps),
  );
  rows.push(["ResNet-18 32×32, batch 32", "denn blas (OpenBLAS FFI)", blasRes.toFixed(1)]);
  rows.push([
    "ResNet-18 32×32, batch 32",
    "PyTorch CPU",
    await torchStep("resnet18", 32, 32, rsteps),
  ]);
}
console.log("| workload | implementation | ms / step |");
console.log("| --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
