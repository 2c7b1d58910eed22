/**
 * The cpu backend's sgemm (plugins/cpu/gemm.ts), single-threaded, on each implementation: the
 * WebAssembly SIMD kernel ("wasm", where the engine supports it) and the pure-TypeScript one
 * ("scalar"), forced through setGemmPath.
 *
 * ```sh
 * deno bench bench/gemm_bench.ts        # Deno.bench cases
 * deno run bench/gemm_bench.ts          # table: size  path  ms  GFLOP/s
 * ```
 *
 * The table reports the fastest of repeated runs after a warm-up: on a shared machine the minimum
 * is the time least disturbed by other load, and the warm-up lets V8 finish optimising first.
 *
 * @module
 */

import { type GemmPath, setGemmPath, sgemm } from "../plugins/cpu/gemm.ts";
import { wasmSimdAvailable } from "../plugins/cpu/wasm_gemm.ts";

/** Implementations benchmarked: the wasm kernel first when available, then the scalar one. */
export const PATHS: GemmPath[] = wasmSimdAvailable ? ["wasm", "scalar"] : ["scalar"];

/** One benchmarked problem: C[m, n] = opA(A)[m, k] * opB(B)[k, n]. */
export interface GemmCase {
  /** Name shown in the bench list and the table. */
  name: string;
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
  /** Depth. */
  k: number;
  /** A stored as [K, M]. */
  transA: boolean;
  /** B stored as [N, K]. */
  transB: boolean;
}

/** The benchmarked problems: square sizes without transposes and one transposed case. */
export const CASES: GemmCase[] = [
  { name: "256x256x256", m: 256, n: 256, k: 256, transA: false, transB: false },
  { name: "512x512x512", m: 512, n: 512, k: 512, transA: false, transB: false },
  { name: "1024x1024x1024", m: 1024, n: 1024, k: 1024, transA: false, transB: false },
  { name: "512x512x512 transA+transB", m: 512, n: 512, k: 512, transA: true, transB: true },
];

function randomArray(len: number): Float32Array {
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = Math.random() * 2 - 1;
  return x;
}

/** Returns a closure running the case once on fixed random operands. */
function prepare(c: GemmCase): () => void {
  const { m, n, k, transA, transB } = c;
  const a = randomArray(m * k), b = randomArray(k * n), out = new Float32Array(m * n);
  const lda = transA ? m : k, ldb = transB ? k : n;
  return () => sgemm(transA, transB, m, n, k, 1, a, 0, lda, b, 0, ldb, 0, out, 0, n);
}

/**
 * Fastest run in milliseconds on implementation `path`, after warm-up, over at least `minRuns`
 * runs and `minMs`.
 */
export function timeCase(c: GemmCase, path: GemmPath = "auto", minRuns = 5, minMs = 1500): number {
  const prev = setGemmPath(path);
  try {
    return timeRuns(prepare(c), minRuns, minMs);
  } finally {
    setGemmPath(prev);
  }
}

function timeRuns(run: () => void, minRuns: number, minMs: number): number {
  // Enough warm-up calls for V8 to tier the wasm kernel up from its baseline compiler.
  for (let i = 0; i < 10; i++) run();
  let best = Infinity;
  const start = performance.now();
  for (let i = 0; i < minRuns || performance.now() - start < minMs; i++) {
    const t0 = performance.now();
    run();
    const dt = performance.now() - t0;
    if (dt < best) best = dt;
  }
  return best;
}

/** Prints "size  path  ms  GFLOP/s" for every case and implementation. */
export function printTable(cases: GemmCase[] = CASES, paths: GemmPath[] = PATHS): void {
  const rows = [["size", "path", "ms", "GFLOP/s"]];
  for (const c of cases) {
    for (const path of paths) {
      const ms = timeCase(c, path);
      rows.push([c.name, path, ms.toFixed(2), (2 * c.m * c.n * c.k / ms / 1e6).toFixed(2)]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((s, j) => s.padEnd(widths[j])).join("  "));
}

for (const c of CASES) {
  let run: (() => void) | null = null;
  for (const path of PATHS) {
    Deno.bench({
      name: `sgemm ${c.name} ${path}`,
      group: c.name,
      baseline: path === "scalar",
      // Fixed, small iteration counts: one scalar 1024^3 run takes a few hundred milliseconds.
      n: c.m >= 1024 ? 5 : 20,
      warmup: c.m >= 1024 ? 2 : 10,
      // Operands are built (and V8 warmed up) lazily, so `deno run` pays nothing for the benches.
      fn: (b) => {
        run ??= prepare(c);
        const prev = setGemmPath(path);
        try {
          b.start();
          run();
          b.end();
        } finally {
          setGemmPath(prev);
        }
      },
    });
  }
}

if (import.meta.main) printTable();
