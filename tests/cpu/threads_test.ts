/**
 * The threaded wasm kernels (plugins/cpu/threads.ts): matmul and conv2d with its two backward ops
 * give bit-identical results on one, two and three threads, at sizes above the threading threshold
 * and at odd sizes; the thread-count setting and DENN_THREADS are honoured or refused by name; and
 * a `deno run` script exits on its own after a threaded matmul.
 *
 * Most comparisons run with the calling thread leaving every work item to the workers
 * (setCallerWorks(false)), so that the workers' path and their scratch slots are exercised however
 * the OS schedules threads on this shared machine; one case keeps the normal sharing.
 */

import assert from "node:assert/strict";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
} from "../../plugins/cpu/conv.ts";
import { sgemm } from "../../plugins/cpu/gemm.ts";
import {
  Plan,
  setCallerWorks,
  shutdownThreads,
  threadsUnavailable,
  workerCount,
  workerItems,
} from "../../plugins/cpu/threads.ts";
import { getNumThreads, MAX_THREADS, setNumThreads } from "../../plugins/cpu/threads_count.ts";
import {
  useRelaxedSimd,
  WASM_HEAP_BASE,
  wasmHeap,
  wasmRelaxedSimdAvailable,
} from "../../plugins/cpu/wasm_gemm.ts";
import { convKernels } from "../../plugins/cpu/wasm_conv_kernels.ts";
import * as cpu from "../../plugins/cpu/mod.ts";
import { ValueError } from "../../core/errors.ts";
import { convParams, random } from "./_helpers.ts";

const available = threadsUnavailable() === null;

/** Asserts equal bits, element by element (so -0, NaN payloads and rounding all count). */
function sameBits(what: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}[${i}]: ${a[i]} (1 thread) vs ${b[i]}`);
  }
}

/**
 * Runs `f` on one thread and on `threads`, the workers doing all threaded items unless
 * `callerWorks`; asserts identical bits and that the workers really ran items.
 */
function compareThreads(
  what: string,
  threads: number,
  f: () => Float32Array,
  callerWorks = false,
): void {
  const before = getNumThreads();
  const prevCaller = setCallerWorks(callerWorks);
  try {
    setNumThreads(1);
    const items0 = workerItems();
    const one = f();
    assert.equal(workerItems(), items0, `${what}: one thread must not use the workers`);
    setNumThreads(threads);
    const many = f();
    if (!callerWorks) assert.ok(workerItems() > items0, `${what}: the workers ran no item`);
    assert.ok(workerCount() >= threads - 1, `${what}: expected ${threads - 1} workers`);
    sameBits(`${what} on ${threads} threads`, one, many);
  } finally {
    setCallerWorks(prevCaller);
    setNumThreads(before);
  }
}

type GemmCase = [m: number, n: number, k: number, transA: boolean, transB: boolean];

const GEMMS: GemmCase[] = [
  [512, 512, 512, false, false],
  [257, 1031, 300, true, false], // odd sizes, two depth blocks, ragged panels
  [1001, 77, 513, false, true], // two accumulator chunks, three depth blocks
  [2000, 5, 300, false, false], // fewer column panels than threads: rows are split
  [37, 2053, 129, true, true], // two column blocks of B
];

function gemmRun(
  [m, n, k, transA, transB]: GemmCase,
  alpha = 1,
  beta = 0,
): () => Float32Array {
  const lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2;
  const a = random(lda * (transA ? k : m) + 5, 1);
  const b = random(ldb * (transB ? n : k) + 7, 2);
  const c0 = random(ldc * m + 4, 3);
  return () => {
    const c = c0.slice();
    sgemm(transA, transB, m, n, k, alpha, a, 5, lda, b, 7, ldb, beta, c, 4, ldc);
    return c;
  };
}

for (const g of GEMMS) {
  Deno.test({
    name: `threads: sgemm ${g[0]}x${g[1]}x${g[2]} (transA ${g[3]}, transB ${
      g[4]
    }) is bitwise the one-thread result`,
    ignore: !available,
    fn() {
      compareThreads("sgemm", 2, gemmRun(g));
      compareThreads("sgemm", 3, gemmRun(g, 0.5, -1.25));
    },
  });
}

Deno.test({
  name: "threads: sgemm with the caller sharing the work, and with the plain mul+add kernels",
  ignore: !available,
  fn() {
    compareThreads("sgemm shared", 2, gemmRun(GEMMS[1]), true);
    if (!wasmRelaxedSimdAvailable) return;
    useRelaxedSimd(false);
    try {
      compareThreads("sgemm plain", 3, gemmRun(GEMMS[2], 2, 0.5));
    } finally {
      useRelaxedSimd(true);
    }
  },
});

Deno.test({
  name: "threads: a product below the threshold stays on the calling thread",
  ignore: !available,
  fn() {
    const before = getNumThreads();
    const prev = setCallerWorks(false);
    try {
      setNumThreads(2);
      gemmRun(GEMMS[0])(); // starts the pool
      const items = workerItems();
      gemmRun([64, 120, 100, false, false])();
      assert.equal(workerItems(), items);
    } finally {
      setCallerWorks(prev);
      setNumThreads(before);
    }
  },
});

const params = (o: Partial<Conv2dParams>): Conv2dParams =>
  convParams({ n: 2, c: 1, h: 8, w: 8, o: 1, kh: 3, kw: 3, ...o });

const CONVS: [string, Partial<Conv2dParams>][] = [
  ["LeNet conv1, batch 64", { n: 64, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, padH: 2, padW: 2 }],
  ["LeNet conv2, batch 64", { n: 64, c: 6, h: 14, w: 14, o: 16, kh: 5, kw: 5 }],
  ["odd sizes, padding, stride, dilation, groups", {
    n: 9,
    c: 6,
    h: 37,
    w: 29,
    o: 15,
    kh: 3,
    kw: 4,
    padH: 1,
    padW: 2,
    strideH: 2,
    dilationW: 2,
    groups: 3,
  }],
  // Over 2M floats per chunk of images, so the batch is cut into several chunks.
  ["several batch chunks", { n: 5, c: 8, h: 150, w: 130, o: 16, kh: 3, kw: 3, padH: 1 }],
];

for (const [name, o] of CONVS) {
  Deno.test({
    name:
      `threads: conv2d forward, input and weight gradients are bitwise the one-thread result (${name})`,
    ignore: !available,
    fn() {
      const p = params(o);
      const x = random(p.n * p.c * p.h * p.w, 4);
      const w = random(p.o * (p.c / p.groups) * p.kh * p.kw, 5);
      const b = random(p.o, 6);
      const gy = random(p.n * p.o * p.oh * p.ow, 7);
      assert.ok(p.n * p.o * p.oh * p.ow * (p.c / p.groups) * p.kh * p.kw >= 1 << 20);
      for (const threads of [2, 3]) {
        compareThreads(`conv2dForward ${name}`, threads, () => conv2dForward(x, w, b, p));
        compareThreads(`conv2dBackwardInput ${name}`, threads, () => conv2dBackwardInput(gy, w, p));
        compareThreads(
          `conv2dBackwardWeight ${name}`,
          threads,
          () => conv2dBackwardWeight(gy, x, p),
        );
      }
      compareThreads(`conv2dForward ${name} (shared)`, 2, () => conv2dForward(x, w, null, p), true);
    },
  });
}

Deno.test("threads: setNumThreads and getNumThreads check their arguments", () => {
  const before = getNumThreads();
  try {
    for (const bad of [0, -1, 1.5, NaN, Infinity, MAX_THREADS + 1, "2", null, undefined]) {
      assert.throws(
        () => setNumThreads(bad as number),
        (e: Error) => e instanceof ValueError && /setNumThreads/.test(e.message),
        `setNumThreads(${String(bad)})`,
      );
    }
    assert.throws(
      () => (setNumThreads as (...a: unknown[]) => void)(2, 3),
      (e: Error) => e instanceof ValueError && /expected 1 argument/.test(e.message),
    );
    assert.throws(
      () => (getNumThreads as (...a: unknown[]) => void)(2),
      (e: Error) => e instanceof ValueError && /getNumThreads/.test(e.message),
    );
    setNumThreads(3);
    assert.equal(getNumThreads(), 3);
    assert.equal(cpu.getNumThreads(), 3, "re-exported by the cpu plugin");
    cpu.setNumThreads(1);
    assert.equal(getNumThreads(), 1);
  } finally {
    setNumThreads(before);
  }
});

Deno.test({
  name: "threads: with one thread no worker is ever started; shutdownThreads stops them",
  ignore: !available,
  fn() {
    const before = getNumThreads();
    try {
      shutdownThreads();
      assert.equal(workerCount(), 0);
      setNumThreads(1);
      gemmRun(GEMMS[0])();
      conv2dForward(random(64 * 784, 1), random(150, 2), null, params(CONVS[0][1]));
      assert.equal(workerCount(), 0);
      setNumThreads(2);
      gemmRun(GEMMS[0])();
      assert.equal(workerCount(), 1);
      shutdownThreads();
      assert.equal(workerCount(), 0);
    } finally {
      setNumThreads(before);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Subprocesses: the default count, DENN_THREADS, and exiting on its own.

const canRun = Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state ===
  "granted";
const script = new URL("./_threads_script.ts", import.meta.url).pathname;

async function runScript(
  args: string[],
  env: Record<string, string> = {},
  permissions: string[] = [],
): Promise<{ out: Record<string, unknown>; ms: number }> {
  const t0 = performance.now();
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, script, ...args],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  // A script kept alive by its workers would never exit: give up after 60 s.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const ms = performance.now() - t0;
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `exit code ${code}: ${err}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return { out: JSON.parse(lines[lines.length - 1]), ms };
}

Deno.test({
  name: "threads: a deno run script exits on its own after a threaded matmul, with no permission",
  ignore: !canRun || !available,
  async fn() {
    const { out } = await runScript(["matmul", "2"]);
    assert.equal(out.threads, 2);
    assert.equal(out.workers, 1, "the matmul started a worker");
    const { out: one } = await runScript(["matmul", "1"]);
    assert.equal(one.workers, 0, "one thread starts no worker");
    assert.equal(out.sum, one.sum, "same checksum on 1 and 2 threads");
  },
});

Deno.test({
  name: "threads: DENN_THREADS is read only where env permission is granted, and checked",
  ignore: !canRun,
  async fn() {
    const allow = ["--allow-env=DENN_THREADS"];
    const d = await runScript(["count"]);
    assert.equal(d.out.threads, d.out.cores, "default: navigator.hardwareConcurrency");
    const e = await runScript(["count"], { DENN_THREADS: "3" }, allow);
    assert.equal(e.out.threads, 3);
    const denied = await runScript(["count"], { DENN_THREADS: "3" });
    assert.equal(denied.out.threads, denied.out.cores, "not read without permission");
    for (const bad of ["0", "two", "1.5", "-2", String(MAX_THREADS + 1)]) {
      const r = await runScript(["count"], { DENN_THREADS: bad }, allow);
      assert.equal(r.out.error, "ValueError", `DENN_THREADS=${bad}`);
      assert.match(String(r.out.message), /DENN_THREADS must be an integer from 1 to 256/);
    }
    const one = await runScript(["matmul"], { DENN_THREADS: "1" }, allow);
    assert.equal(one.out.threads, 1);
    assert.equal(one.out.workers, 0, "DENN_THREADS=1 starts no worker");
  },
});

Deno.test({
  name: "threads: a kernel that traps fails its plan with an error, never a hang; the pool goes on",
  ignore: !available || convKernels === null,
  fn() {
    const k = convKernels!;
    const before = getNumThreads();
    setNumThreads(2);
    try {
      for (const callerWorks of [true, false]) {
        const prev = setCallerWorks(callerWorks);
        try {
          const plan = new Plan(2);
          // Item 0 zeroes far past the end of the memory (a trap); the others are fine.
          plan.item();
          plan.call(k.ids.zero, 0, 0x7fff_fff0, 1024);
          const heap = wasmHeap(4 * 64 * 1024);
          for (let i = 0; i < 16; i++) {
            plan.item();
            plan.call(k.ids.zero, 0, WASM_HEAP_BASE + 4 * 1024 * i, 1024);
          }
          assert.throws(() => plan.run(), `callerWorks=${callerWorks}`);
          assert.ok(heap.length > 0);
        } finally {
          setCallerWorks(prev);
        }
      }
      // The pool still runs a threaded product correctly afterwards.
      compareThreads("matmul after a trap", 2, gemmRun(GEMMS[0]), true);
    } finally {
      setNumThreads(before);
    }
  },
});
