/**
 * The cpu backend's sgemm (plugins/cpu/gemm.ts) of this tree against another checkout of denn, on
 * the products of the LeNet-5, MLP and ResNet-18 training steps (transposes, m, n, k as the cpu
 * kernels issue them): both trees' calls interleaved in one process, 31 rounds after 10 warm-up
 * rounds, the medians of each and of the per-round ratios.
 *
 *     git worktree add /tmp/denn-base <commit>
 *     deno run -A bench/gemm_ab.ts /tmp/denn-base
 *
 * @module
 */

import { sgemm } from "../plugins/cpu/gemm.ts";

const dir = Deno.args[0];
if (!dir) {
  console.error("usage: deno run -A bench/gemm_ab.ts <other denn checkout>");
  Deno.exit(2);
}
const other: { sgemm: typeof sgemm } = await import(`${dir}/plugins/cpu/gemm.ts`);

// [transA, transB, m, n, k]
const SHAPES: number[][] = [
  [0, 1, 128, 512, 784],
  [0, 1, 128, 512, 512],
  [0, 0, 128, 512, 512],
  [1, 0, 512, 784, 128],
  [0, 1, 64, 120, 400],
  [0, 1, 64, 84, 120],
  [0, 0, 64, 400, 120],
  [0, 0, 64, 2048, 576],
];
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
console.log("| tA,tB,m,n,k | this ms | other ms | this / other (paired) |");
console.log("| --- | --- | --- | --- |");
for (const [ta, tb, m, n, k] of SHAPES) {
  const a = Float32Array.from({ length: m * k }, Math.random);
  const b = Float32Array.from({ length: k * n }, Math.random);
  const c = new Float32Array(m * n);
  const lda = ta ? m : k, ldb = tb ? k : n;
  const run = (f: typeof sgemm) => () =>
    f(ta === 1, tb === 1, m, n, k, 1, a, 0, lda, b, 0, ldb, 0, c, 0, n);
  const here = run(sgemm), there = run(other.sgemm);
  for (let i = 0; i < 10; i++) here(), there();
  const th: number[] = [], to: number[] = [], ratio: number[] = [];
  for (let i = 0; i < 31; i++) {
    const order = i % 2 ? [there, here] : [here, there];
    const t: number[] = [];
    for (const f of order) {
      const t0 = performance.now();
      f();
      t.push(performance.now() - t0);
    }
    const [x, y] = i % 2 ? [t[1], t[0]] : [t[0], t[1]];
    th.push(x), to.push(y), ratio.push(x / y);
  }
  console.log(
    `| ${[ta, tb, m, n, k].join(",")} | ${median(th).toFixed(3)} | ${median(to).toFixed(3)} | ` +
      `${median(ratio).toFixed(2)} |`,
  );
}
