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
 * deno run -A bench/cpu_compare.ts [--steps 30] [--blocks 10] [--warmup 50] [--lead 300]
 *   [--quick] [--only lenet,sgemm] [--tfjs] [--torch-threads N] [--json results.json]
 * ```
 *
 * Each cell (denn cpu, denn cpu + blas, PyTorch) is a process of its own, started per workload:
 * it builds the workload, runs `--warmup` untimed steps alone on the machine and waits. The cells
 * then take turns in `--blocks` blocks (every other block in the reverse order), one after the
 * other with no gap, each block untimed steps for `--lead` ms (at least one) and then its share
 * of `--steps` timed steps (at least 15 unless `--quick`). A cell is the median of all its timed
 * steps, with the min–max range, and the blas/PyTorch ratio of each block's medians is printed
 * too: a slow or fast stretch of the host (on this project's VM, single steps vary by up to 2×
 * within a minute) falls on every side alike instead of on whichever process ran then.
 *
 * The lead-in keeps the timed steps in the state a training loop is in, running for a while on
 * a busy machine: the previous process's threads spin down in it (OpenBLAS's workers spin for
 * about 0.1 s after a product), caches and branch predictors are this process's again, and no
 * idle gap comes before the timed steps (on this VM a 250 ms sleep made denn's next LeNet-5 steps
 * 1.4–2× slower; a 250 ms busy wait in the process made PyTorch's 3× slower, its OpenMP and
 * OpenBLAS threads out of step; neither changed the other's). The CPU time the waiting processes
 * used during another's timed steps is printed per workload (from /proc), a check that they were
 * idle. Neither side is restricted to fewer threads than all cores: denn's cpu backend
 * as it is, its blas library with OpenBLAS's own count (`DENN_BLAS_THREADS` changes it), PyTorch
 * (/usr/bin/python3 and bench/torch_cpu_compare.py) with `torch.set_num_threads(cores)` (its own
 * default can be fewer; `--torch-threads` overrides it). denn variants: `cpu`, the default
 * backend, then `cpu + use(blas())` (see {@linkcode blasVariant}). TF.js runs in a subprocess
 * with `--no-lock --no-config` (bench/peers/), so it never enters deno.lock, after the others.
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
  --steps N          timed steps per cell (default 30; at least 15 unless --quick, which defaults to 3)
  --blocks N         turns per cell, the cells alternating (default 10; 1 with --quick); each block
                     is the lead-in and then ceil(steps / blocks) timed steps
  --lead MS          untimed steps for this long at the start of each block (default 300; 0 with
                     --quick, which still runs one)
  --warmup N         untimed steps first, each cell alone (default 50; 1 with --quick)
  --quick            a short check that everything runs; its timings are not measurements
  --only LIST        workloads, comma-separated: lenet, resnet18, mlp, sgemm512, sgemm1024,
                     sgemm2048, or sgemm for all three sizes (default: these), and googlenet,
                     resnet50, alexnet, vgg11bn (only when named)
  --calibrate        also a second PyTorch process taking its turns, compared with the first: the
                     ratio this method reports for two identical sides (the noise floor)
  --tfjs             also time TF.js's cpu backend on the LeNet step (fetches TF.js from npm once)
  --torch-threads N  torch.set_num_threads(N) (default: the core count)
  --json PATH        also write the results as JSON to PATH
  --serve ID:VARIANT one denn cell in this process (variant cpu or blas), taking its blocks from
                     stdin: how the run starts each denn cell`;

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
 * A cell's process, waiting for blocks: `ask(k, lead, timing)` has it run untimed steps for
 * `lead` ms (at least one), call `timing` when the timed steps begin, run k timed steps and
 * return their times. Its first line (after the warm-up) is `ready`'s value.
 */
class Server {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: ReadableStreamDefaultReader<string>;
  #buffer = "";
  readonly #stderr: Promise<string>;
  /** The first line: `{ ready: true, ... }`, `{ unavailable }` or `{ error }`, or a failure. */
  readonly ready: Promise<Record<string, unknown>>;

  constructor(cmd: string, args: string[]) {
    this.#child = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderr = new Response(this.#child.stderr).text().catch(() => "");
    this.ready = this.#line();
  }

  get pid(): number {
    return this.#child.pid;
  }

  async #line(): Promise<Record<string, unknown>> {
    while (!this.#buffer.includes("\n")) {
      const r = await this.#lines.read();
      if (r.done) {
        const status = await this.#child.status;
        const tail = (await this.#stderr).trim().split("\n").slice(-3).join(" / ");
        return { error: `exit ${status.code}: ${tail.slice(0, 300)}` };
      }
      this.#buffer += r.value;
    }
    const i = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, i);
    this.#buffer = this.#buffer.slice(i + 1);
    try {
      return JSON.parse(line);
    } catch {
      return { error: `not JSON: ${line.slice(0, 200)}` };
    }
  }

  /** k timed steps after `lead` ms of untimed ones: their times, or the error. */
  async ask(k: number, lead: number, timing: () => void): Promise<number[] | string> {
    try {
      await this.#writer.write(new TextEncoder().encode(`${k} ${lead}\n`));
    } catch (e) {
      return `the process has gone: ${(e as Error).message}`;
    }
    let out = await this.#line();
    if (out.timing === true) {
      timing();
      out = await this.#line();
    }
    if (!Array.isArray(out.times_ms)) return String(out.error ?? "no times_ms");
    return out.times_ms as number[];
  }

  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch { /* the process has gone */ }
    await this.#lines.cancel().catch(() => {});
    await this.#child.status;
    await this.#stderr;
  }
}

/** User plus system CPU time of a process and its threads so far, in ms (Linux), or null. */
function cpuMs(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // After the command name (in parentheses, which may hold spaces) come the state and then the
    // 4th..; utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

/** The `--serve` mode: one denn cell in this process, taking its blocks from stdin. */
async function serveCell(spec: string, o: { warmup: number }): Promise<number> {
  const encoder = new TextEncoder();
  const say = (x: unknown) => Deno.stdout.writeSync(encoder.encode(JSON.stringify(x) + "\n"));
  const [id, variant] = spec.split(":");
  const w = WORKLOADS.find((x) => x.id === id);
  if (!w || (variant !== "cpu" && variant !== "blas")) {
    console.error(`--serve: expected <workload>:cpu or <workload>:blas, got ${spec}`);
    return 2;
  }
  let v: Variant = cpuVariant, blasInfo: string | undefined;
  if (variant === "blas") {
    const b = blasVariant();
    if (typeof b === "string") {
      say({ unavailable: b });
      return 0;
    }
    v = b;
    blasInfo = `blas: ${blasLibrary()?.path ?? "?"}`;
  }
  let step: () => void, ran: Record<string, number>;
  try {
    manualSeed(0);
    step = w.build();
    // Traced first, so that nothing comes between the warm-up and the timed steps.
    ran = v.run(() => ranOn(step));
    v.run(() => timeSteps(step, o.warmup, 0));
  } catch (e) {
    console.error(`denn ${v.name}, ${w.label}:`, e);
    say({ error: (e as Error).message });
    return 0;
  }
  say({ ready: true, ran, blas: blasInfo });
  let buffer = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      const [k, lead] = buffer.slice(0, i).split(" ").map(Number);
      buffer = buffer.slice(i + 1);
      try {
        v.run(() => {
          const end = performance.now() + lead;
          do step(); while (performance.now() < end);
        });
        say({ timing: true });
        say({ times_ms: v.run(() => timeSteps(step, 0, k)) });
      } catch (e) {
        console.error(`denn ${v.name}, ${w.label}:`, e);
        say({ error: (e as Error).message });
      }
    }
  }
  return 0;
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

/** Timed steps per block: `--steps` spread over `--blocks`. */
function perBlock(o: { steps: number; blocks: number }): number {
  return Math.ceil(o.steps / o.blocks);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      steps: { type: "string" },
      warmup: { type: "string" },
      blocks: { type: "string" },
      lead: { type: "string" },
      quick: { type: "boolean", default: false },
      calibrate: { type: "boolean", default: false },
      only: { type: "string" },
      tfjs: { type: "boolean", default: false },
      "torch-threads": { type: "string" },
      json: { type: "string" },
      serve: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const quick = values.quick;
  const steps = count(
    values.steps ?? (quick ? "3" : "30"),
    quick ? "steps" : "steps (fewer only with --quick)",
    quick ? 1 : 15,
  );
  const warmup = count(values.warmup ?? (quick ? "1" : String(DEFAULT_WARMUP)), "warmup", 0);
  const blocks = count(values.blocks ?? (quick ? "1" : "10"), "blocks", 1);
  const lead = count(values.lead ?? (quick ? "0" : "300"), "lead", 0);
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
  return { ...values, quick, steps, warmup, blocks, lead, torchThreads, workloads };
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
  if (o.serve !== undefined) return await serveCell(o.serve, o);
  const machine = await machineInfo();
  console.log(
    `${machine.cpu}, ${machine.cores} cores; Deno ${machine.deno}; denn ${machine.dennCommit}; ` +
      `load average ${machine.loadStart}`,
  );
  console.log(
    `each cell a process: ${o.warmup} warm-up steps alone, then ${o.blocks} block(s) taking ` +
      `turns with the others, each ${o.lead} ms of untimed steps and ${perBlock(o)} timed` +
      (o.quick ? " (--quick)" : ""),
  );
  if (o.quick) console.log("--quick: a functional check; its timings are not measurements");

  const dennCpu = new Map<string, DennCell>();
  const dennBlas = new Map<string, DennCell>();
  const torch = new Map<string, Cell>();
  // Per workload, each block's blas/PyTorch ratio of medians, and the waiting processes' CPU time.
  const blockRatios = new Map<string, number[]>();
  const idle = new Map<string, { taken: number; wall: number }>();
  let torchInfo = "", blasInfo = "";
  // With --calibrate, a second PyTorch process against the first: the ratio the method gives
  // two identical sides.
  const calibration = new Map<string, { ratio: number; blocks: number[] }>();
  type Side = "cpu" | "blas" | "torch" | "torch2";
  for (const w of o.workloads) {
    const sides: Side[] = ["cpu", "blas", "torch", ...(o.calibrate ? ["torch2" as const] : [])];
    const names = {
      cpu: `denn ${cpuVariant.name}`,
      blas: `denn ${BLAS_VARIANT}`,
      torch: "PyTorch",
      torch2: "PyTorch (second process, --calibrate)",
    };
    const servers: Partial<Record<Side, Server>> = {};
    const errors: Partial<Record<Side, string>> = {};
    const times: Record<Side, number[]> = { cpu: [], blas: [], torch: [], torch2: [] };
    const ran: Partial<Record<"cpu" | "blas", Record<string, number>>> = {};
    // Started one at a time: each warms up alone while the ones before it wait.
    for (const side of sides) {
      console.error(`${names[side]}: ${w.label}, warm-up`);
      const [cmd, args] = side === "torch" || side === "torch2"
        ? ["/usr/bin/python3", [
          here("./torch_cpu_compare.py"),
          w.id,
          "--serve",
          "--warmup",
          String(o.warmup),
          ...(o.torchThreads ? ["--threads", String(o.torchThreads)] : []),
        ]]
        : [Deno.execPath(), [
          "run",
          "-A",
          "--config",
          here("../deno.json"),
          here("./cpu_compare.ts"),
          "--serve",
          `${w.id}:${side}`,
          "--warmup",
          String(o.warmup),
        ]];
      let server: Server;
      try {
        server = new Server(cmd, args);
      } catch (e) {
        // Spawning throws where the program is missing (no /usr/bin/python3, say).
        errors[side] = `${cmd} did not start: ${(e as Error).message}`;
        console.error(`${names[side]}, ${w.label}: ${errors[side]}`);
        continue;
      }
      const first = await server.ready;
      if (first.ready !== true) {
        await server.close();
        if (first.unavailable !== undefined) {
          errors[side] = BLAS_UNAVAILABLE;
          blasInfo = `blas unavailable: ${first.unavailable}`;
        } else {
          errors[side] = String(first.error);
          console.error(`${names[side]}, ${w.label}: ${errors[side]}`);
        }
        continue;
      }
      servers[side] = server;
      if (side === "torch") torchInfo = `PyTorch ${first.torch}, ${first.threads} thread(s)`;
      else if (side !== "torch2") ran[side] = first.ran as Record<string, number>;
      if (side === "blas") blasInfo = String(first.blas ?? blasInfo);
    }
    // The CPU time the waiting processes used while another one's timed steps ran: it should be
    // none (any is taken from the timed process; their threads spin down during the lead-in).
    let taken = 0;
    const phase0 = performance.now();
    for (let block = 0; block < o.blocks; block++) {
      const got: Partial<Record<Side, number[]>> = {};
      for (const side of block % 2 ? [...sides].reverse() : sides) {
        const server = servers[side];
        if (!server) continue;
        const others = (Object.values(servers) as Server[]).filter((s) => s !== server);
        let before: number[] = [];
        const r = await server.ask(perBlock(o), o.lead, () => {
          before = others.map((s) => cpuMs(s.pid) ?? NaN);
        });
        // (No timed steps ran when the block failed before them.)
        for (const [i, s] of before.length ? others.entries() : []) {
          taken += (cpuMs(s.pid) ?? NaN) - before[i];
        }
        if (typeof r === "string") {
          errors[side] = r;
          console.error(`${names[side]}, ${w.label}, block ${block + 1}: ${r}`);
          delete servers[side];
          await server.close();
          continue;
        }
        got[side] = r;
        times[side].push(...r);
      }
      if (got.blas && got.torch) {
        const ratios = blockRatios.get(w.id) ?? [];
        blockRatios.set(w.id, [...ratios, stats(got.blas).median / stats(got.torch).median]);
      }
      if (got.torch2 && got.torch) {
        const c = calibration.get(w.id) ?? { ratio: NaN, blocks: [] };
        c.blocks.push(stats(got.torch2).median / stats(got.torch).median);
        calibration.set(w.id, c);
      }
    }
    idle.set(w.id, { taken, wall: performance.now() - phase0 });
    for (const s of Object.values(servers)) await s!.close();
    const c = calibration.get(w.id);
    if (c && times.torch2.length && times.torch.length) {
      c.ratio = stats(times.torch2).median / stats(times.torch).median;
    }
    const cell = (side: Side): Cell =>
      errors[side] !== undefined ? { error: errors[side]! } : stats(times[side]);
    for (const side of ["cpu", "blas"] as const) {
      const c = cell(side);
      (side === "cpu" ? dennCpu : dennBlas).set(
        w.id,
        "error" in c ? c : { ...c, ran: ran[side] ?? {} },
      );
    }
    torch.set(w.id, cell("torch"));
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
  if (o.blocks > 1) {
    console.log(`\n${BLAS_VARIANT} / PyTorch, the ratio of medians in each block:`);
    for (const w of o.workloads) {
      const r = blockRatios.get(w.id) ?? [];
      const m = r.length ? ` (median ${stats(r).median.toFixed(2)})` : "";
      console.log(`  ${w.label}: ${r.map((x) => x.toFixed(2)).join(", ") || "-"}${m}`);
    }
  }
  if (o.calibrate) {
    console.log("\n--calibrate: a second PyTorch process / the first, the same method:");
    for (const w of o.workloads) {
      const c = calibration.get(w.id);
      const each = c?.blocks.map((x) => x.toFixed(2)).join(", ");
      console.log(`  ${w.label}: ${c ? `${c.ratio.toFixed(2)}; in each block ${each}` : "-"}`);
    }
  }
  console.log("\nCPU time the waiting processes used during another's timed steps (should be 0):");
  for (const w of o.workloads) {
    const x = idle.get(w.id);
    if (!x) continue;
    const ms = Number.isNaN(x.taken) ? "unknown (no /proc)" : `${x.taken.toFixed(0)} ms`;
    console.log(`  ${w.label}: ${ms} (blocks ${(x.wall / 1000).toFixed(1)} s in all)`);
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
      blocks: o.blocks,
      lead: o.lead,
      quick: o.quick,
      torchThreads: o.torchThreads,
    };
    const info = { ...machine, loadEnd, pytorch: torchInfo, blas: blasInfo, tfjs: tfjsInfo };
    const calibrate = o.calibrate ? Object.fromEntries(calibration) : undefined;
    await Deno.writeTextFile(
      o.json,
      JSON.stringify({ machine: info, settings, results, calibration: calibrate }, null, 2),
    );
    console.log(`\nwrote ${o.json}`);
  }
  const dennFailed = [...dennCpu.values(), ...dennBlas.values()].some((c) =>
    "error" in c && c.error !== BLAS_UNAVAILABLE
  );
  return dennFailed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
