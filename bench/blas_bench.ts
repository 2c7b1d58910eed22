/**
 * Square sgemm GFLOP/s: denn cpu (plugins/cpu/gemm.ts), denn blas (the CBLAS behind
 * plugins/blas) and PyTorch CPU (bench/torch_sgemm.py, where python3 with torch is present).
 *
 * ```sh
 * deno run --allow-ffi --allow-env --allow-read --allow-run bench/blas_bench.ts [--sizes=256,512] [--cpu-budget=60]
 * ```
 *
 * Each cell is the fastest of repeated C = A·B runs on float32 [n, n] operands after a warm-up
 * (at least 3 runs and 0.5 s); PyTorch runs right after blas for each size, so both see the same
 * load on a shared machine. The cpu column stops when the next size would take longer than
 * `--cpu-budget` seconds. `DENN_BLAS` and `DENN_BLAS_THREADS` choose the library and its threads;
 * PyTorch is given the same thread count. Without `--allow-run` the PyTorch column is skipped.
 *
 * @module
 */

import { sgemm as cpuSgemm } from "../plugins/cpu/gemm.ts";
import { openBlas } from "../plugins/blas/mod.ts";

function flag(name: string, fallback: string): string {
  const a = Deno.args.find((s) => s.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
}

const sizes = flag("sizes", "256,512,1024,2048").split(",").map(Number);
const cpuBudget = Number(flag("cpu-budget", "60"));

function randomMatrix(n: number): Float32Array {
  const a = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

/** Seconds of the fastest run of `fn` (the least disturbed by other load), after a warm-up call. */
function time(fn: () => void, minSeconds = 0.5, minRuns = 3): number {
  fn();
  const runs: number[] = [];
  const start = performance.now();
  while (runs.length < minRuns || performance.now() - start < minSeconds * 1000) {
    const t0 = performance.now();
    fn();
    runs.push((performance.now() - t0) / 1000);
  }
  return Math.min(...runs);
}

const gflops = (n: number, s: number) => 2 * n ** 3 / s / 1e9;

const lib = openBlas();
if (typeof lib === "string") console.log(`blas column skipped: ${lib}`);
const threads = typeof lib === "string" ? null : lib.threads();

const torch: Record<number, number> = {};
let torchNote = "";
const canRun = Deno.permissions.querySync({ name: "run", command: "/usr/bin/python3" }).state;
if (canRun !== "granted") torchNote = "PyTorch skipped: run with --allow-run to include it";

/** PyTorch GFLOP/s for one size, run right after blas so both see the same machine load. */
function torchGflops(n: number): number | undefined {
  if (canRun !== "granted" || torchNote.startsWith("PyTorch skipped")) return undefined;
  try {
    const script = new URL("./torch_sgemm.py", import.meta.url).pathname;
    const args = [script, ...(threads ? ["--threads", String(threads)] : []), String(n)];
    const out = new Deno.Command("/usr/bin/python3", { args, stderr: "piped" }).outputSync();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
      torchNote = `PyTorch skipped: ${err}`;
      return undefined;
    }
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    torchNote = `PyTorch ${r.torch}, ${r.threads} thread(s)`;
    return r.gflops[String(n)];
  } catch (e) {
    torchNote = `PyTorch skipped: ${(e as Error).message}`;
    return undefined;
  }
}

const cpu: Record<number, string> = {};
const blas: Record<number, string> = {};
let lastCpu: [number, number] | null = null;
for (const n of sizes) {
  const a = randomMatrix(n), b = randomMatrix(n), c = new Float32Array(n * n);
  if (typeof lib !== "string") {
    blas[n] = gflops(n, time(() => lib.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)))
      .toFixed(1);
  }
  const t = torchGflops(n);
  if (t !== undefined) torch[n] = t;
  // One timed run (plus warm-up) costs about 2x the cubic extrapolation of the previous size.
  const estimate = lastCpu ? 2 * lastCpu[1] * (n / lastCpu[0]) ** 3 : 0;
  if (estimate > cpuBudget) {
    cpu[n] = `skipped (~${estimate.toFixed(0)} s)`;
    continue;
  }
  const s = time(() => cpuSgemm(false, false, n, n, n, 1, a, 0, n, b, 0, n, 0, c, 0, n), 0, 1);
  lastCpu = [n, s];
  cpu[n] = gflops(n, s).toFixed(1);
}

const cores = navigator.hardwareConcurrency;
console.log(
  `sgemm GFLOP/s, ${cores} cores; blas: ${
    typeof lib === "string" ? "unavailable" : `${lib.path}, ${threads ?? "?"} thread(s)`
  }; ${torchNote}`,
);
const rows = [["n", "denn cpu", "denn blas", "PyTorch CPU", "blas/PyTorch"]];
for (const n of sizes) {
  const t = torch[n];
  const ratio = t && blas[n] ? (Number(blas[n]) / t).toFixed(2) : "-";
  rows.push([String(n), cpu[n] ?? "-", blas[n] ?? "-", t ? t.toFixed(1) : "-", ratio]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const [i, r] of rows.entries()) {
  console.log(`| ${r.map((s, j) => s.padStart(widths[j])).join(" | ")} |`);
  if (i === 0) console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
}
