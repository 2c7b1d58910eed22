/**
 * A LeNet-5 training step at batch 64 (SGD with momentum, cross-entropy) on the cpu backend, and on
 * blas where OpenBLAS loads.
 *
 *     deno bench --allow-ffi --allow-env --allow-read bench/lenet_bench.ts
 *
 * @module
 */

import { F, hasBackend, optim, randint, randn, route, use } from "../mod.ts";
import { lenet5 } from "../plugins/models/mod.ts";
import { blas } from "../plugins/blas/mod.ts";

function makeStep(): () => void {
  const model = lenet5();
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([64, 1, 28, 28]);
  const y = randint(0, 10, [64]);
  return () => {
    const loss = F.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
}

const cpuStep = makeStep();
Deno.bench("LeNet-5 train step, batch 64, cpu", { n: 20, warmup: 3 }, () => cpuStep());

use(blas());
const ok = hasBackend("blas");
const blasStep = makeStep();
Deno.bench(
  "LeNet-5 train step, batch 64, blas (matmul + conv2d routed)",
  { n: 20, warmup: 3, ignore: !ok },
  () => route({ matmul: "blas", conv2d: "blas" }, blasStep),
);
