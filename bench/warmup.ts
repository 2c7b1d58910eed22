/**
 * How many training steps denn needs before its step time settles (V8 tiers up its JavaScript and
 * WebAssembly while the first steps run): a LeNet-5 step (batch 64) 300 times, printing the median
 * of each window of 20 steps.
 *
 *     deno run -A bench/warmup.ts [--no-blas]
 *
 * @module
 */

import { F, optim, randint, randn, use } from "../mod.ts";
import { blas } from "../plugins/blas/mod.ts";
import { lenet5 } from "../plugins/models/mod.ts";

if (!Deno.args.includes("--no-blas")) use(blas());
const model = lenet5();
const x = randn([64, 1, 28, 28]), y = randint(0, 10, [64]);
const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const t: number[] = [];
for (let i = 0; i < 300; i++) {
  const t0 = performance.now();
  const loss = F.crossEntropy(model.forward(x), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  t.push(performance.now() - t0);
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1].toFixed(2);
for (let i = 0; i < 300; i += 20) {
  console.log(`steps ${i + 1}–${i + 20}: median ${median(t.slice(i, i + 20))} ms`);
}
Deno.exit(0);
