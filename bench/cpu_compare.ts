/**
 * denn against PyTorch CPU, in one process tree on one machine: training steps of LeNet-5 (batch
 * 64), ResNet-18 (32 × 32, batch 32, 10 classes) and an MLP 784-512-512-10 (ReLU, batch 128), each
 * with SGD (lr 0.01, momentum 0.9) and cross-entropy on fixed random data, and square sgemm at 512,
 * 1024 and 2048 (C = A·B, float32, output allocated each call). Optionally TF.js's cpu backend on
 * the LeNet step, and with `--only` the lecture's other models: GoogLeNet (64 × 64, batch 16, no
 * auxiliary classifiers), ResNet-50 (32 × 32, batch 16), AlexNet (64 × 64, batch 16) and VGG-11
 * with batch norm (32 × 32, batch 16), 10 classes each, torchvision's models on PyTorch's side.
 *
 * ```sh
 * deno run -A bench/cpu_compare.ts [--steps 15] [--warmup 50] [--rounds 3] [--quick]
 *   [--only lenet,sgemm] [--tfjs] [--torch-threads N] [--json results.json]
 * ```
 *
 * Each process times `--steps` steps one by one (at least 15 unless `--quick`) after `--warmup`
 * untimed steps; a cell is the median of its processes' steps, with the min–max range. Neither side is restricted to fewer threads than
 * all cores: denn's cpu backend as it is, its blas library with OpenBLAS's own count
 * (`DENN_BLAS_THREADS` changes it), PyTorch with `torch.set_num_threads(cores)` (its own default
 * can be fewer; `--torch-threads` overrides it). denn variants: `cpu`, the
 * default backend, then `cpu + use(blas())` (see {@linkcode blasVariant}).
 *
 * Every cell runs in processes of its own, one at a time, per workload in `--rounds` rounds (3
 * unless `--quick`) of denn cpu, denn cpu + blas, PyTorch (/usr/bin/python3 and
 * bench/torch_cpu_compare.py), every other round in the reverse order. A cell's median and range
 * are over the timed steps of all its rounds, so a slow stretch of the host that lasts one process
 * moves both sides' medians alike instead of one; the ratio of each round's blas and PyTorch
 * medians is printed too. While one process runs no other process of the benchmark holds threads
 * or a large heap (a parent Deno process that had just run denn could still be collecting garbage
 * on its background threads). TF.js runs in a subprocess with
 * `--no-lock --no-config` (bench/peers/), so it never enters deno.lock.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { explain, F, hasBackend, manualSeed, optim, randint, randn, use } from "../mod.ts";
import type { Module, Tensor } from "../mod.ts";
import { blas, blasLibrary } from "../plugins/blas/mod.ts";
import { alexnet, googlenet, lenet5, resnet, vgg } from "../plugins/models/mod.ts";
import { mlp784 } from "./_models.ts";

// Untimed steps before each cell's timed ones, the same number on both sides. denn reaches its
// steady step time only after V8 has tiered up the hot JavaScript and WebAssembly (its baseline
// wasm compiler runs first) and the heap has grown to the loop's size: a LeNet-5 step (batch 64,
// blas) measured 6.2–9.8 ms over steps 4–18, 5.3–6.2 ms over steps 20–50 and 4.2–4.4 ms over
// steps 100–200 (two runs, 2026-12-07). PyTorch is at its steady time after one or two steps.
const DEFAULT_WARMUP = 50;

const USAGE = `usage: deno run -A bench/cpu_compare.ts [options]
  --steps N          timed steps per cell (default 15; at least 15 unless --quick, which defaults to 3)
  --warmup N         untimed steps first, both sides (default 50; 1 with --quick)
  --rounds N         processes per cell, alternating denn and PyTorch (default 3; 1 with --quick)
  --quick            a short check that everything runs; its timings are not measurements
  --only LIST        workloads, comma-separated: lenet, resnet18, mlp, sgemm512, sgemm1024,
                     sgemm2048, or sgemm for all three sizes (default: these), and googlenet,
                     resnet50, alexnet, vgg11bn (only when named)
  --tfjs             also time TF.js's cpu backend on the LeNet step (fetches TF.js from npm once)
  --torch-threads N  torch.set_num_threads(N) (default: the core count)
  --json PATH        also write the results as JSON to PATH
  --cell ID:VARIANT  one denn cell in this process (variant cpu or blas), printed as a JSON line:
                     how the run starts each denn cell`;

/** One benchmarked workload; `build` returns the step that is timed. */
interface Workload {
  id: string;
  label: string;
  /** Floating-point operations per step, where GFLOP/s is reported (sgemm). */
  flops?: number;
  /** Run only when `--only` names it. */
  extra?: boolean;
  build(): () => void;
}

/** A way of running denn: the default cpu backend or cpu with blas. */
interface Variant {
  name: string;
  /** Runs `fn` (the whole timing loop) under this variant's settings. */
  run<T>(fn: () => T): T;
}

/** Median and range of per-step milliseconds. */
interface Stats {
  median: number;
  min: number;
  max: number;
  times: number[];
}

/** A measured cell, or why there is none. */
type Cell = Stats | { error: string };

/** A denn cell, with the number of ops each backend ran in one traced step. */
type DennCell = (Stats & { ran: Record<string, number> }) | { error: string };

function trainStep(model: Module, x: Tensor): () => void {
  const y = randint(0, 10, [x.shape[0]]);
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  model.train();
  return () => {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
  };
}

function sgemmStep(n: number): () => void {
  const a = randn([n, n]), b = randn([n, n]);
  return () => a.matmul(b).dispose();
}

const WORKLOADS: Workload[] = [
  {
    id: "lenet",
    label: "LeNet-5, batch 64",
    build: () => trainStep(lenet5(), randn([64, 1, 28, 28])),
  },
  {
    id: "resnet18",
    label: "ResNet-18 32×32, batch 32",
    build: () => trainStep(resnet(18, { numClasses: 10 }), randn([32, 3, 32, 32])),
  },
  {
    id: "mlp",
    label: "MLP 784-512-512-10, batch 128",
    build: () => trainStep(mlp784(), randn([128, 784])),
  },
  ...[512, 1024, 2048].map((n): Workload => ({
    id: `sgemm${n}`,
    label: `sgemm ${n}³`,
    flops: 2 * n ** 3,
    build: () => sgemmStep(n),
  })),
  {
    id: "googlenet",
    label: "GoogLeNet 64×64, batch 16",
    extra: true,
    build: () => trainStep(googlenet({ numClasses: 10 }), randn([16, 3, 64, 64])),
  },
  {
    id: "resnet50",
    label: "ResNet-50 32×32, batch 16",
    extra: true,
    build: () => trainStep(resnet(50, { numClasses: 10 }), randn([16, 3, 32, 32])),
  },
  {
    id: "alexnet",
    label: "AlexNet 64×64, batch 16",
    extra: true,
    build: () => trainStep(alexnet({ numClasses: 10 }), randn([16, 3, 64, 64])),
  },
  {
    id: "vgg11bn",
    label: "VGG-11 (batch norm) 32×32, batch 16",
    extra: true,
    build: () => trainStep(vgg(11, { numClasses: 10, batchNorm: true }), randn([16, 3, 32, 32])),
  },
];

/**
 * The `cpu + use(blas())` variant, or why blas is unavailable. blas is a kernel provider for cpu
 * tensors: with no route, matmul and the convs large enough for BLAS (with their backward ops) run
 * on it, and everything else on cpu, exactly as a user's script after `use(blas())`.
 */
function blasVariant(): Variant | string {
  use(blas());
  const why = explain().unavailable["blas"];
  if (why !== undefined) return why;
  if (!hasBackend("blas")) return "the blas plugin registered no backend named blas";
  return { name: BLAS_VARIANT, run: (fn) => fn() };
}

const cpuVariant: Variant = { name: "cpu", run: (fn) => fn() };
const BLAS_VARIANT = "cpu + use(blas())";
const BLAS_UNAVAILABLE = "blas unavailable (reason above)";

function stats(times: number[]): Stats {
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], times };
}

/**
 * One cell from its rounds: the statistics of all their timed steps together (with the first
 * round's `ran`), or the first round's error.
 */
function pooled<C extends Cell>(rounds: C[]): C | { error: string } {
  const failed = rounds.find((c) => "error" in c);
  if (failed || !rounds.length) return failed ?? { error: "no rounds" };
  const all = rounds.flatMap((c) => (c as Stats).times);
  return { ...rounds[0], ...stats(all) };
}

function timeSteps(step: () => void, warmup: number, steps: number): number[] {
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  return times;
}

/** Ops per backend in one step traced by explain() (views and decompositions left out). */
function ranOn(step: () => void): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of explain(step).trace) {
    if (e.via === "view" || e.backend === "decomposition") continue;
    counts[e.backend] = (counts[e.backend] ?? 0) + 1;
  }
  return counts;
}

/**
 * Runs one denn cell (`--cell workload:cpu` or `:blas`) in a process of its own and returns it,
 * with the blas library's description for the blas variant.
 */
async function dennCell(
  id: string,
  variant: "cpu" | "blas",
  o: { steps: number; warmup: number; quick: boolean },
): Promise<{ cell: DennCell; blas?: string }> {
  const r = await runPeer(Deno.execPath(), [
    "run",
    "-A",
    "--config",
    here("../deno.json"),
    here("./cpu_compare.ts"),
    "--cell",
    `${id}:${variant}`,
    "--steps",
    String(o.steps),
    "--warmup",
    String(o.warmup),
    ...(o.quick ? ["--quick"] : []),
  ]);
  if (!r.ok) return { cell: { error: r.error } };
  const out = r.out as {
    times_ms: number[];
    ran: Record<string, number>;
    blas?: string;
    unavailable?: string;
    error?: string;
  };
  if (out.unavailable !== undefined) {
    return { cell: { error: BLAS_UNAVAILABLE }, blas: `blas unavailable: ${out.unavailable}` };
  }
  if (out.error !== undefined) return { cell: { error: out.error } };
  return { cell: { ...stats(out.times_ms), ran: out.ran }, blas: out.blas };
}

/** The `--cell` mode: one measurement in this process, printed as one JSON line. */
function runCell(spec: string, o: { steps: number; warmup: number }): number {
  const [id, variant] = spec.split(":");
  const w = WORKLOADS.find((x) => x.id === id);
  if (!w || (variant !== "cpu" && variant !== "blas")) {
    console.error(`--cell: expected <workload>:cpu or <workload>:blas, got ${spec}`);
    return 2;
  }
  let v: Variant = cpuVariant, blasInfo: string | undefined;
  if (variant === "blas") {
    const b = blasVariant();
    if (typeof b === "string") {
      console.log(JSON.stringify({ times_ms: [], unavailable: b }));
      return 0;
    }
    v = b;
    const lib = blasLibrary();
    blasInfo = `blas: ${lib?.path ?? "?"}`;
  }
  const c = measureDenn(w, v, o.warmup, o.steps);
  if ("error" in c) {
    console.log(JSON.stringify({ times_ms: [], error: c.error }));
    return 0;
  }
  console.log(JSON.stringify({ times_ms: c.times, ran: c.ran, blas: blasInfo }));
  return 0;
}

/** Times one workload under one variant; one more, untimed step records where its ops ran. */
function measureDenn(w: Workload, v: Variant, warmup: number, steps: number): DennCell {
  try {
    manualSeed(0);
    return v.run(() => {
      const step = w.build();
      const times = timeSteps(step, warmup, steps);
      return { ...stats(times), ran: ranOn(step) };
    });
  } catch (e) {
    console.error(`denn ${v.name}, ${w.label}:`, e);
    return { error: (e as Error).message };
  }
}

const decoder = new TextDecoder();

/** Runs a peer that prints one JSON line with `times_ms`; returns that object or the failure. */
async function runPeer(
  cmd: string,
  args: string[],
): Promise<{ ok: true; out: Record<string, unknown> } | { ok: false; error: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    if (!r.success) {
      const tail = decoder.decode(r.stderr).trim().split("\n").slice(-3).join(" / ");
      return { ok: false, error: `exit ${r.code}: ${tail.slice(0, 300)}` };
    }
    const line = decoder.decode(r.stdout).trim().split("\n").pop() ?? "";
    const out = JSON.parse(line);
    if (!Array.isArray(out.times_ms)) return { ok: false, error: `no times_ms in ${line}` };
    return { ok: true, out };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

const here = (path: string) => new URL(path, import.meta.url).pathname;

async function firstLine(cmd: string, args: string[]): Promise<string | null> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return r.success ? decoder.decode(r.stdout).trim() : null;
  } catch {
    return null;
  }
}

async function machineInfo(): Promise<Record<string, string | number>> {
  let cpu = "unknown";
  try {
    const m = (await Deno.readTextFile("/proc/cpuinfo")).match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch (e) {
    cpu = `unknown (${(e as Error).message})`;
  }
  const repo = here("..");
  const commit = await firstLine("git", ["-C", repo, "rev-parse", "--short", "HEAD"]);
  const dirty = await firstLine("git", ["-C", repo, "status", "--porcelain", "-uno"]);
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    dennCommit: commit === null ? "unknown" : commit + (dirty ? " (uncommitted changes)" : ""),
    loadStart: await loadAverage(),
  };
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${flag} must be an integer of at least ${min}, got ${value}`);
  }
  return n;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      steps: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      tfjs: { type: "boolean", default: false },
      "torch-threads": { type: "string" },
      json: { type: "string" },
      cell: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const quick = values.quick;
  const steps = count(
    values.steps ?? (quick ? "3" : "15"),
    quick ? "steps" : "steps (fewer only with --quick)",
    quick ? 1 : 15,
  );
  const warmup = count(values.warmup ?? (quick ? "1" : String(DEFAULT_WARMUP)), "warmup", 0);
  const rounds = count(values.rounds ?? (quick ? "1" : "3"), "rounds", 1);
  // All cores for both sides: PyTorch's own default can be fewer (1 on a 2-vCPU machine).
  const torchThreads = count(
    values["torch-threads"] ?? String(navigator.hardwareConcurrency),
    "torch-threads",
    1,
  );
  let workloads = WORKLOADS.filter((w) => !w.extra);
  if (values.only !== undefined) {
    const ids = values.only.split(",").map((s) => s.trim()).flatMap((s) =>
      s === "sgemm" ? ["sgemm512", "sgemm1024", "sgemm2048"] : [s]
    );
    const unknown = ids.filter((id) => !WORKLOADS.some((w) => w.id === id));
    if (unknown.length || !ids.length) {
      throw new RangeError(
        `--only: unknown workload ${unknown.join(", ") || "(none given)"}; expected ${
          WORKLOADS.map((w) => w.id).join(", ")
        } or sgemm`,
      );
    }
    workloads = WORKLOADS.filter((w) => ids.includes(w.id));
  }
  return { ...values, quick, steps, warmup, rounds, torchThreads, workloads };
}

function fmt(c: Cell | null, flops?: number): string {
  if (c === null) return "n/a";
  if ("error" in c) {
    return c.error === BLAS_UNAVAILABLE ? c.error : `error: ${c.error.slice(0, 60)}`;
  }
  const f = (x: number) => x.toFixed(x < 10 ? 2 : 1);
  const g = flops ? ` · ${(flops / c.median / 1e6).toFixed(1)} GFLOP/s` : "";
  return `${f(c.median)} [${f(c.min)}–${f(c.max)}]${g}`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((s, j) => s.padEnd(widths[j])).join(" | ")} |`);
    if (i === 0) console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  }
}

async function main(): Promise<number> {
  let o: ReturnType<typeof parseOptions>;
  try {
    o = parseOptions();
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (o.cell !== undefined) return runCell(o.cell, o);
  const machine = await machineInfo();
  console.log(
    `${machine.cpu}, ${machine.cores} cores; Deno ${machine.deno}; denn ${machine.dennCommit}; ` +
      `load average ${machine.loadStart}`,
  );
  console.log(
    `${o.rounds} round(s) per cell, each a process timing ${o.steps} steps after ${o.warmup} ` +
      `warm-up${o.quick ? " (--quick)" : ""}`,
  );
  if (o.quick) console.log("--quick: a functional check; its timings are not measurements");

  const torchArgs = (id: string) => [
    here("./torch_cpu_compare.py"),
    id,
    "--steps",
    String(o.steps),
    "--warmup",
    String(o.warmup),
    ...(o.torchThreads ? ["--threads", String(o.torchThreads)] : []),
  ];
  const dennCpu = new Map<string, DennCell>();
  const dennBlas = new Map<string, DennCell>();
  const torch = new Map<string, Cell>();
  // Per workload, each round's blas/PyTorch ratio of medians.
  const roundRatios = new Map<string, number[]>();
  let torchInfo = "", blasInfo = "";
  for (const w of o.workloads) {
    const cells: { cpu: DennCell[]; blas: DennCell[]; torch: Cell[] } = {
      cpu: [],
      blas: [],
      torch: [],
    };
    for (let round = 0; round < o.rounds; round++) {
      const order = ["cpu", "blas", "torch"] as const;
      for (const which of round % 2 ? [...order].reverse() : order) {
        const tag = `${w.label}, round ${round + 1}/${o.rounds}`;
        if (which === "torch") {
          console.error(`PyTorch: ${tag}`);
          const r = await runPeer("/usr/bin/python3", torchArgs(w.id));
          if (r.ok) {
            cells.torch.push(stats(r.out.times_ms as number[]));
            torchInfo = `PyTorch ${r.out.torch}, ${r.out.threads} thread(s)`;
          } else {
            cells.torch.push({ error: r.error });
            console.error(`PyTorch, ${tag}: ${r.error}`);
          }
          continue;
        }
        const name = which === "cpu" ? cpuVariant.name : BLAS_VARIANT;
        console.error(`denn ${name}: ${tag}`);
        const c = await dennCell(w.id, which, o);
        cells[which].push(c.cell);
        if (which === "blas") blasInfo = c.blas ?? blasInfo;
        if ("error" in c.cell && c.cell.error !== BLAS_UNAVAILABLE) {
          console.error(`denn ${name}, ${tag}: ${c.cell.error}`);
        }
      }
      const [b, t] = [cells.blas[round], cells.torch[round]];
      if (b && t && !("error" in b) && !("error" in t)) {
        roundRatios.set(w.id, [...roundRatios.get(w.id) ?? [], b.median / t.median]);
      }
    }
    dennCpu.set(w.id, pooled(cells.cpu) as DennCell);
    dennBlas.set(w.id, pooled(cells.blas) as DennCell);
    torch.set(w.id, pooled(cells.torch));
  }

  let tfjs: Cell | null = null;
  let tfjsInfo = "";
  if (o.tfjs) {
    console.error("TF.js cpu: LeNet-5 (a subprocess without the project's config and lockfile)");
    const r = await runPeer(Deno.execPath(), [
      "run",
      "--no-lock",
      "--no-config",
      "--no-prompt",
      here("./peers/tfjs_lenet.ts"),
      "--steps",
      String(o.steps),
      "--warmup",
      String(o.warmup),
    ]);
    tfjs = r.ok ? stats(r.out.times_ms as number[]) : { error: r.error };
    tfjsInfo = r.ok ? `TF.js ${r.out.tfjs} (${r.out.backend} backend)` : "";
    if (!r.ok) console.error(`TF.js: ${r.error}`);
  }

  const loadEnd = await loadAverage();
  console.log(
    `${torchInfo || "PyTorch unavailable"}; ${blasInfo}${tfjsInfo ? `; ${tfjsInfo}` : ""}`,
  );
  const torchThreads = Number(torchInfo.match(/, (\d+) thread/)?.[1] ?? NaN);
  if (torchThreads < navigator.hardwareConcurrency) {
    console.log(
      `note: PyTorch runs ${torchThreads} thread(s) on ${navigator.hardwareConcurrency} cores`,
    );
  }
  console.log(`load average at the end: ${loadEnd}\n`);

  const ratio = (d: Cell | null, t: Cell | undefined) =>
    d && t && !("error" in d) && !("error" in t) ? (d.median / t.median).toFixed(2) : "-";
  const rows = [[
    "workload",
    "denn variant",
    "denn ms median [min–max]",
    "PyTorch ms median [min–max]",
    "denn/PyTorch",
  ]];
  const results = [];
  for (const w of o.workloads) {
    const t = torch.get(w.id);
    const variants: [string, Cell | null][] = [
      [cpuVariant.name, dennCpu.get(w.id) ?? null],
      [BLAS_VARIANT, dennBlas.get(w.id) ?? null],
    ];
    if (w.id === "lenet" && o.tfjs) variants.push(["TF.js cpu (not denn)", tfjs]);
    for (const [name, d] of variants) {
      rows.push([w.label, name, fmt(d, w.flops), fmt(t ?? null, w.flops), ratio(d, t)]);
      results.push({
        workload: w.id,
        label: w.label,
        variant: name,
        flops: w.flops,
        ms: d,
        pytorchMs: t,
      });
    }
  }
  printTable(rows);
  if (o.rounds > 1) {
    console.log(`\n${BLAS_VARIANT} / PyTorch, the ratio of medians in each round:`);
    for (const w of o.workloads) {
      const r = roundRatios.get(w.id) ?? [];
      console.log(`  ${w.label}: ${r.map((x) => x.toFixed(2)).join(", ") || "-"}`);
    }
  }
  console.log("\ndenn ops per backend in one traced step (explain()):");
  for (const w of o.workloads) {
    const where = [dennCpu, dennBlas].map((m) => {
      const c = m.get(w.id);
      return !c || "error" in c
        ? "-"
        : Object.entries(c.ran).map(([b, n]) => `${b} ${n}`).join(", ");
    });
    console.log(`  ${w.label}: cpu variant: ${where[0]}; blas variant: ${where[1]}`);
  }

  if (o.json !== undefined) {
    const settings = {
      steps: o.steps,
      warmup: o.warmup,
      rounds: o.rounds,
      quick: o.quick,
      torchThreads: o.torchThreads,
    };
    const info = { ...machine, loadEnd, pytorch: torchInfo, blas: blasInfo, tfjs: tfjsInfo };
    await Deno.writeTextFile(o.json, JSON.stringify({ machine: info, settings, results }, null, 2));
    console.log(`\nwrote ${o.json}`);
  }
  const dennFailed = [...dennCpu.values(), ...dennBlas.values()].some((c) =>
    "error" in c && c.error !== BLAS_UNAVAILABLE
  );
  return dennFailed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
