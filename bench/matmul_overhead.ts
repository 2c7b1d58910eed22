/**
 * What denn adds to a BLAS product: `a.matmul(b).dispose()` on cpu tensors after `use(blas())`
 * against the same library's sgemm called directly (`blasLibrary().sgemm`) on arrays of the same
 * size, alternating call by call in one process (every other round in the reverse order), square
 * sizes. The sgemm rows of bench/cpu_compare.ts divide this call by PyTorch's `torch.mm`, which
 * calls the same OpenBLAS routine, so their ratio is this overhead plus the host's variation
 * between processes.
 *
 * ```sh
 * deno run -A bench/matmul_overhead.ts [--rounds 61] [sizes...]   # default 64 256 512 1024
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { randn, use } from "../mod.ts";
import { blas, blasLibrary } from "../plugins/blas/mod.ts";

const { values, positionals } = parseArgs({
  options: { rounds: { type: "string", default: "61" } },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
const sizes = positionals.length ? positionals.map(Number) : [64, 256, 512, 1024];
if (!Number.isInteger(rounds) || rounds < 15 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error("usage: deno run -A bench/matmul_overhead.ts [--rounds N ≥ 15] [sizes...]");
  Deno.exit(2);
}

use(blas());
const lib = blasLibrary();
if (!lib) {
  console.error("blas is unavailable: no CBLAS library loaded");
  Deno.exit(1);
}

const median = (t: number[]): number => {
  const s = [...t].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f = (ms: number) => ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(3)} ms`;

console.log(`${lib.path}; ${rounds} alternating calls per side after 20 warm-up each`);
console.log("| n | denn a.matmul(b).dispose() | library sgemm | difference | ratio |");
console.log("|---|---|---|---|---|");
for (const n of sizes) {
  const a = randn([n, n]), b = randn([n, n]);
  const ra = await a.data() as Float32Array, rb = await b.data() as Float32Array;
  const rc = new Float32Array(n * n);
  const sides = {
    denn: () => a.matmul(b).dispose(),
    raw: () => lib.sgemm(false, false, n, n, n, 1, ra, n, rb, n, 0, rc, n),
  };
  for (let i = 0; i < 20; i++) {
    sides.denn();
    sides.raw();
  }
  const times = { denn: [] as number[], raw: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? ["denn", "raw"] as const : ["raw", "denn"] as const) {
      const t0 = performance.now();
      sides[k]();
      times[k].push(performance.now() - t0);
    }
  }
  const d = median(times.denn), w = median(times.raw);
  console.log(`| ${n} | ${f(d)} | ${f(w)} | ${f(d - w)} | ${(d / w).toFixed(3)} |`);
  a.dispose();
  b.dispose();
}
