/**
 * The optimizer step of a training loop with the SGD update on blas (the default with
 * `use(blas())`) against the cpu kernel (`route({ sgdUpdate: "cpu" })`), in one process: blocks
 * of steps alternate between the two, and each block prints the median time of `opt.step()`.
 *
 *     deno run -A bench/sgd_step_ab.ts [--model resnet18|mlp] [--blocks 8] [--steps 17]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { F, optim, randint, randn, route, use } from "../mod.ts";
import type { Module, Tensor } from "../mod.ts";
import { blas } from "../plugins/blas/mod.ts";
import { resnet } from "../plugins/models/mod.ts";
import { mlp784 } from "./_models.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "resnet18" },
    blocks: { type: "string", default: "8" },
    steps: { type: "string", default: "17" },
  },
});
use(blas());
let model: Module, x: Tensor;
if (values.model === "mlp") {
  model = mlp784(true);
  x = randn([128, 1, 28, 28]);
} else {
  model = resnet(18, { numClasses: 10 });
  x = randn([32, 3, 32, 32]);
}
const y = randint(0, 10, [x.shape[0]]);
const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const forwardBackward = () => {
  const loss = F.crossEntropy(model.forward(x), y);
  opt.zeroGrad();
  loss.backward();
};
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1].toFixed(2);
for (let i = 0; i < 20; i++) {
  forwardBackward();
  opt.step();
}
for (let b = 0; b < Number(values.blocks); b++) {
  const onCpu = b % 2 === 1;
  const t: number[] = [];
  for (let r = 0; r < Number(values.steps); r++) {
    forwardBackward();
    const t0 = performance.now();
    if (onCpu) route({ sgdUpdate: "cpu" }, () => opt.step());
    else opt.step();
    t.push(performance.now() - t0);
  }
  // The first two steps of a block are its warm-up (the other kernel's threads wind down).
  console.log(`${onCpu ? "cpu " : "blas"} opt.step() median ${median(t.slice(2))} ms`);
}
Deno.exit(0);
