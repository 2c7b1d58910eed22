/**
 * OpenBLAS's sgemm (the blas backend's library) against oneDNN's `dnnl_sgemm` (libdnnl, the
 * library behind PyTorch's CPU convolutions; Debian's `libdnnl2`) on the products of a LeNet-5,
 * ResNet-18 and MLP training step (as the blas backend issues them: transposes, m, n, k) and on
 * square ones. Each product is timed on each library in blocks of 15 calls, twice, alternating;
 * the better block median of each is printed with their ratio. oneDNN runs with its OpenMP
 * runtime's defaults unless `GOMP_SPINCOUNT`/`OMP_WAIT_POLICY` are set.
 *
 *     deno run -A bench/dnnl_gemm.ts [--only resnet,square]
 *
 * This measures the libraries alone. In training steps, where other kernels and OpenBLAS's own
 * threads run between products, oneDNN's OpenMP threads competed with them for the two cores
 * (docs/BENCHMARKS.md, 2026-12-07), which is why the blas backend does not use it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { use } from "../mod.ts";
import { blas, blasLibrary } from "../plugins/blas/mod.ts";

const { values } = parseArgs({ options: { only: { type: "string", default: "" } } });

// "transA,transB,m,n,k" and how often the product occurs per step.
const SETS: Record<string, [string, number][]> = {
  lenet: [
    ["0,1,64,120,400", 1],
    ["0,1,64,84,120", 1],
    ["0,0,64,120,84", 1],
    ["1,0,84,120,64", 1],
    ["0,0,64,400,120", 1],
    ["1,0,120,400,64", 1],
  ],
  resnet: [
    ["0,0,64,7168,147", 1],
    ["0,0,64,2048,576", 4],
    ["0,0,128,512,1152", 3],
    ["0,0,256,128,2304", 3],
    ["0,0,512,32,2304", 1],
    ["1,0,576,2048,64", 4],
    ["1,0,1152,512,128", 3],
    ["1,0,2304,128,256", 3],
    ["0,1,64,576,2048", 4],
    ["0,1,128,1152,512", 3],
    ["0,1,256,2304,128", 3],
    ["0,1,32,512,512", 3],
    ["0,1,64,147,8192", 1],
  ],
  mlp: [
    ["0,1,128,512,784", 1],
    ["0,1,128,512,512", 1],
    ["0,0,128,512,512", 1],
    ["1,0,512,512,128", 1],
    ["1,0,512,784,128", 1],
  ],
  square: [
    ["0,0,512,512,512", 1],
    ["0,1,512,512,512", 1],
    ["0,0,1024,1024,1024", 1],
    ["0,0,2048,2048,2048", 1],
  ],
};

use(blas());
const ob = blasLibrary();
let dnnl: Deno.DynamicLibrary<typeof symbols> | null = null;
const symbols = {
  dnnl_sgemm: {
    parameters: [
      "u8",
      "u8",
      "i64",
      "i64",
      "i64",
      "f32",
      "buffer",
      "i64",
      "buffer",
      "i64",
      "f32",
      "buffer",
      "i64",
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;
for (const name of ["libdnnl.so.3", "libdnnl.so.2"]) {
  try {
    dnnl = Deno.dlopen(name, symbols);
    break;
  } catch {
    // next name
  }
}
if (!ob || !dnnl) {
  console.log(`nothing to compare: ${!ob ? "no CBLAS" : "no libdnnl"} loaded`);
  Deno.exit(0);
}
const dnnlSgemm = dnnl.symbols.dnnl_sgemm;
const median = (f: () => void) => {
  const t: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[7];
};
const only = values.only ? values.only.split(",") : Object.keys(SETS);
console.log(`${ob.path} (${ob.config}) against oneDNN's dnnl_sgemm`);
console.log("| set | tA,tB,m,n,k | per step | OpenBLAS ms | oneDNN ms | oneDNN / OpenBLAS |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const set of only) {
  let sumO = 0, sumD = 0;
  for (const [key, count] of SETS[set] ?? []) {
    const [ta, tb, m, n, k] = key.split(",").map(Number);
    const a = Float32Array.from({ length: m * k }, Math.random);
    const b = Float32Array.from({ length: k * n }, Math.random);
    const c = new Float32Array(m * n);
    const lda = ta ? m : k, ldb = tb ? k : n;
    const runO = () => ob.sgemm(!!ta, !!tb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
    const big = (x: number) => BigInt(x);
    const runD = () => {
      const s = dnnlSgemm(
        ta ? 84 : 78,
        tb ? 84 : 78,
        big(m),
        big(n),
        big(k),
        1,
        a,
        big(lda),
        b,
        big(ldb),
        0,
        c,
        big(n),
      );
      if (s !== 0) throw new Error(`dnnl_sgemm status ${s} on ${key}`);
    };
    for (let i = 0; i < 5; i++) runO(), runD();
    const o1 = median(runO), d1 = median(runD), o2 = median(runO), d2 = median(runD);
    const o = Math.min(o1, o2), d = Math.min(d1, d2);
    sumO += o * count;
    sumD += d * count;
    console.log(
      `| ${set} | ${key} | ${count} | ${o.toFixed(3)} | ${d.toFixed(3)} | ${(d / o).toFixed(2)} |`,
    );
  }
  console.log(
    `| ${set} | (weighted sum) | | ${sumO.toFixed(2)} | ${sumD.toFixed(2)} | ${
      (sumD / sumO).toFixed(2)
    } |`,
  );
}
