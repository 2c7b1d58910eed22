/**
 * Where the cpu backend's threaded JavaScript kernels (plugins/cpu/shared_kernels.ts) start to pay:
 * batch norm forward + backward (training), threaded from the threshold on, and the momentum SGD
 * update and an elementwise add, which stay on one thread (memory-bound loops; the columns show
 * what the second core would have to beat), at sizes from 128K to 2M elements, on one thread and on two, in one process.
 * Prints the median of 41 calls after 20 warm-up calls, in microseconds. The kernels' threshold
 * (`MIN_PER_THREAD`) comes from this.
 *
 *     deno run -A bench/threads_crossover.ts
 *
 * @module
 */

import { manualSeed, nn, optim, randn } from "../mod.ts";
import { setNumThreads } from "../plugins/cpu/threads.ts";
import { SHARED_MIN_ELEMENTS } from "../plugins/cpu/shared_kernels.ts";

manualSeed(1);
const median = (f: () => void): number => {
  for (let i = 0; i < 20; i++) f();
  const t: number[] = [];
  for (let i = 0; i < 41; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[20] * 1000;
};
console.log(`threaded from ${SHARED_MIN_ELEMENTS} elements`);
console.log("| elements | add 1t / 2t µs | batch norm f+b 1t / 2t µs | SGD step 1t / 2t µs |");
console.log("| --- | --- | --- | --- |");
for (const hw of [8, 12, 16, 24, 32]) {
  const shape = [32, 64, hw, hw], n = 32 * 64 * hw * hw;
  const a = randn(shape, { requiresGrad: true }), b = randn(shape);
  const bn = new nn.BatchNorm2d(64);
  const w = randn([n]).requiresGrad_();
  const opt = new optim.SGD([w], { lr: 0.01, momentum: 0.9 });
  w.grad = randn([n]);
  const ops = [
    () => a.add(b).dispose(),
    () => {
      bn.forward(a).backward(b);
      a.grad = null;
    },
    () => opt.step(),
  ];
  // Each op on both thread counts once untimed, so that neither pays for the JIT or a start.
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    ops.forEach(median);
  }
  const cell: string[][] = ops.map(() => []);
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    ops.forEach((op, i) => cell[i].push(median(op).toFixed(0)));
  }
  console.log(`| ${n} | ${cell.map((c) => c.join(" / ")).join(" | ")} |`);
}
