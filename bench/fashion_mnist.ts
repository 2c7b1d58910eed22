/**
 * Fashion-MNIST benchmark: LeNet-5 trained on the 60,000 training images for a few epochs and
 * evaluated on the 10,000 test images (Debian package `dataset-fashion-mnist`, files in
 * /usr/share/datasets/fashion-mnist). Prints a markdown section; `--record` appends it to
 * docs/BENCHMARKS.md.
 *
 *     deno run --allow-read --allow-write --allow-env --allow-ffi bench/fashion_mnist.ts [--epochs 8] [--backend cpu]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { train } from "../examples/train.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "/usr/share/datasets/fashion-mnist" },
    epochs: { type: "string", default: "8" },
    "batch-size": { type: "string", default: "64" },
    lr: { type: "string", default: "0.05" },
    backend: { type: "string", default: "cpu" },
    out: { type: "string", default: "./denn-fashion-out" },
    record: { type: "boolean", default: false },
  },
});

const dir = values.dir!;
const args = [
  "--model",
  "lenet5",
  "--dataset",
  `idx:${dir}/train-images-idx3-ubyte.gz`,
  "--test",
  `idx:${dir}/t10k-images-idx3-ubyte.gz`,
  "--epochs",
  values.epochs!,
  "--batch-size",
  values["batch-size"]!,
  "--lr",
  values.lr!,
  "--backend",
  values.backend!,
  "--out",
  values.out!,
];
const r = await train(args);
const cmd =
  `deno run --allow-read --allow-write --allow-env --allow-ffi bench/fashion_mnist.ts --epochs ${values.epochs} --backend ${values.backend}`;
const section = `
## Fashion-MNIST, LeNet-5

LeNet-5 (ReLU + max pooling, 61,706 parameters) trained from scratch on the 60,000 Fashion-MNIST
training images and evaluated on the 10,000 test images (Debian \`dataset-fashion-mnist\`): SGD
momentum 0.9, lr ${values.lr} with cosine annealing, batch ${
  values["batch-size"]
}, normalised inputs, no
augmentation, seed 0, ${values.backend} backend. Command:

\`\`\`sh
${cmd}
\`\`\`

| epochs | test accuracy | test loss | wall time |
| ------ | ------------- | --------- | --------- |
| ${values.epochs} | ${(100 * r.accuracy).toFixed(2)}% | ${r.loss.toFixed(4)} | ${
  r.seconds.toFixed(0)
} s |

Machine: 2 vCPUs (AMD EPYC), Deno ${Deno.version.deno}, shared with other jobs (the wall time, which
includes loading and evaluation, is indicative only). The run writes per-epoch numbers and a plot
to \`${values.out}/\`.
`;
console.log(section);
if (values.record) {
  const path = new URL("../docs/BENCHMARKS.md", import.meta.url);
  const old = await Deno.readTextFile(path).catch(() => "# Benchmarks\n");
  await Deno.writeTextFile(path, old.trimEnd() + "\n" + section);
}
