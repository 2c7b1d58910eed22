/**
 * The blas backend against the cpu backend (the oracle), through the public API: each op runs once
 * inside `route({ ...: "cpu" })` (blas provides kernels for cpu tensors, so only a route to cpu
 * keeps it off) and once inside `route({ ...: "blas" })`, values and gradients compared within float32
 * tolerance |blas - cpu| <= ATOL + RTOL * |cpu|. The two backends sum in different orders, so
 * results differ by rounding that grows with the reduction length (here at most a few hundred
 * terms of magnitude ~1, well inside 1e-4).
 *
 * Skipped, with the reason printed, where no CBLAS loads.
 */

import assert from "node:assert/strict";
import {
  apply1,
  explain,
  getOp,
  hasBackend,
  randn,
  route,
  tensor,
  use,
  ValueError,
} from "../../mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";
import type { Tensor } from "../../mod.ts";
import { conv2dRaw } from "../../layers/mod.ts";
import type { Conv2dAttrs } from "../../layers/mod.ts";
import { ADAPTIVE_MIN_MACS, blas, blasBackend, blasLibrary } from "../../plugins/blas/mod.ts";
import { blasKernels } from "../../plugins/blas/kernels.ts";

// The matmul op with transpose flags on batched operands (mm itself takes 2-D matrices).
const gemm = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor =>
  apply1(getOp("matmul")!, [a, b], { transA, transB });

const ATOL = 1e-4;
const RTOL = 1e-4;

use(blas({ minConvWeights: 0 }));
const reason = explain().unavailable["blas"];
const ignore = reason !== undefined;
const granted = (name: "env" | "ffi") => Deno.permissions.querySync({ name }).state === "granted";
if (ignore) console.log(`blas tests skipped: ${reason}`);
else console.log(`blas tests use ${blasLibrary()!.path} (${blasLibrary()!.config})`);

function close(name: string, actual: Tensor, expected: Tensor): void {
  assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
  const a = actual.dataSync() as Float32Array, e = expected.dataSync() as Float32Array;
  for (let i = 0; i < e.length; i++) {
    const tol = ATOL + RTOL * Math.abs(e[i]);
    if (!(Math.abs(a[i] - e[i]) <= tol)) {
      assert.fail(`${name}: element ${i} is ${a[i]}, cpu gives ${e[i]} (tolerance ${tol})`);
    }
  }
}

/** A fresh leaf over the same values, so cpu and blas runs get separate gradients. */
function leaf(t: Tensor): Tensor {
  return tensor(t.dataSync() as Float32Array, { shape: [...t.shape], requiresGrad: true });
}

function backends(fn: () => unknown): Record<string, string> {
  const seen: Record<string, string> = {};
  for (const e of explain(fn).trace) seen[e.op] = e.backend;
  return seen;
}

Deno.test({
  name: "blas matmul matches cpu for every transpose combination and odd shapes",
  ignore,
  fn() {
    const dims: [number, number, number][] = [
      [1, 1, 1],
      [7, 5, 3],
      [33, 17, 65],
      [1, 300, 2],
      [64, 1, 129],
      [5, 6, 0],
      [130, 257, 200],
    ];
    for (const [m, n, k] of dims) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = randn(transA ? [k, m] : [m, k]), b = randn(transB ? [n, k] : [k, n]);
          const want = route({ matmul: "cpu" }, () => gemm(a, b, transA, transB));
          const got = route({ matmul: "blas" }, () => gemm(a, b, transA, transB));
          close(`matmul m=${m} n=${n} k=${k} tA=${transA} tB=${transB}`, got, want);
        }
      }
    }
  },
});

Deno.test({
  name: "blas matmul matches cpu for batched and broadcast operands",
  ignore,
  fn() {
    const cases: [number[], number[]][] = [
      [[4, 5, 7], [4, 7, 3]],
      [[2, 3, 5, 7], [3, 7, 4]],
      [[1, 5, 7], [4, 7, 6]],
      [[4, 1, 5, 7], [3, 7, 2]],
      [[5, 7], [2, 3, 7, 9]],
    ];
    for (const [sa, sb] of cases) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const ra = sa.length, rb = sb.length;
          const shA = transA ? [...sa.slice(0, -2), sa[ra - 1], sa[ra - 2]] : sa;
          const shB = transB ? [...sb.slice(0, -2), sb[rb - 1], sb[rb - 2]] : sb;
          const a = randn(shA), b = randn(shB);
          const want = route({ matmul: "cpu" }, () => gemm(a, b, transA, transB));
          const got = route({ matmul: "blas" }, () => gemm(a, b, transA, transB));
          close(`matmul ${sa}x${sb} tA=${transA} tB=${transB}`, got, want);
        }
      }
    }
  },
});

Deno.test({
  name: "blas matmul: explain shows blas for the routed op and gradients match cpu",
  ignore,
  fn() {
    const a0 = randn([3, 6, 5]), b0 = randn([5, 4]), r = randn([3, 6, 4]);
    const run = () => {
      const a = leaf(a0), b = leaf(b0);
      const y = a.matmul(b);
      y.mul(r).sum().backward();
      return [y, a.grad!, b.grad!];
    };
    const want = route({ matmul: "cpu" }, run);
    const seen = backends(() => route({ matmul: "blas" }, run));
    assert.equal(seen["matmul"], "blas");
    const got = route({ matmul: "blas" }, run);
    ["y", "dA", "dB"].forEach((n, i) => close(`matmul ${n}`, got[i], want[i]));
  },
});

interface ConvCase {
  x: number[];
  w: number[];
  bias: boolean;
  attrs: Conv2dAttrs;
}

function conv(
  x: number[],
  w: number[],
  s: number,
  p: number,
  d: number,
  groups: number,
  bias = true,
): ConvCase {
  return { x, w, bias, attrs: { stride: [s, s], padding: [p, p], dilation: [d, d], groups } };
}

const convCases: ConvCase[] = [
  conv([2, 3, 8, 8], [4, 3, 3, 3], 1, 1, 1, 1),
  conv([2, 4, 9, 7], [6, 2, 3, 3], 2, 1, 1, 2),
  conv([1, 3, 11, 10], [5, 3, 3, 2], 1, 2, 2, 1, false),
  conv([2, 6, 7, 7], [6, 1, 3, 3], 3, 0, 1, 6),
  conv([3, 8, 5, 6], [4, 8, 1, 1], 1, 0, 1, 1),
  conv([2, 4, 6, 6], [4, 4, 1, 1], 2, 1, 1, 1, false),
  conv([1, 2, 5, 5], [3, 2, 5, 5], 1, 0, 1, 1),
  // ResNet's stem at 32 x 32: specialised im2col with stride-2 shuffles, generic col2im.
  conv([2, 3, 32, 32], [4, 3, 7, 7], 2, 3, 1, 1),
  {
    x: [2, 3, 9, 8],
    w: [4, 3, 3, 2],
    bias: true,
    attrs: {
      stride: [2, 1],
      padding: [0, 2],
      dilation: [1, 3],
      groups: 1,
    },
  },
];

Deno.test({
  name: "blas conv2d forward and backward match cpu (stride, padding, dilation, groups)",
  ignore,
  fn() {
    for (const c of convCases) {
      const x0 = randn(c.x), w0 = randn(c.w), b0 = c.bias ? randn([c.w[0]]) : null;
      const label = `conv2d x=${c.x} w=${c.w} ${JSON.stringify(c.attrs)}`;
      let r: Tensor | null = null;
      const run = () => {
        const x = leaf(x0), w = leaf(w0), b = b0 && leaf(b0);
        const y = conv2dRaw(x, w, b, c.attrs);
        r ??= randn(y.shape);
        y.mul(r).sum().backward();
        return [y, x.grad!, w.grad!, ...(b ? [b.grad!] : [])];
      };
      const want = route({ conv2d: "cpu" }, run);
      assert.equal(backends(() => route({ conv2d: "cpu" }, run))["conv2dBackwardWeight"], "cpu");
      const seen = backends(() => route({ conv2d: "blas" }, run));
      assert.equal(seen["conv2d"], "blas", label);
      assert.equal(seen["conv2dBackwardInput"], "blas", label);
      assert.equal(seen["conv2dBackwardWeight"], "blas", label);
      const got = route({ conv2d: "blas" }, run);
      ["y", "dx", "dw", "db"].slice(0, want.length).forEach((n, i) =>
        close(`${label} ${n}`, got[i], want[i])
      );
    }
  },
});

Deno.test({
  name: "blas tensors share host memory with cpu and fall back to cpu for other ops",
  ignore,
  fn() {
    const a = randn([4, 4]).to("blas");
    assert.equal(a.device, "blas");
    const seen = backends(() => a.matmul(a).relu().sum());
    assert.equal(seen["matmul"], "blas");
    assert.equal(seen["relu"], "cpu");
  },
});

Deno.test({
  name: "blas backend declines with a reason when DENN_BLAS names a missing file",
  ignore,
  fn() {
    const prev = Deno.env.get("DENN_BLAS");
    Deno.env.set("DENN_BLAS", "/nonexistent/libnothing.so");
    try {
      const r = blasBackend();
      assert.equal(typeof r, "string");
      assert.match(r as string, /\/nonexistent\/libnothing\.so/);
    } finally {
      if (prev === undefined) Deno.env.delete("DENN_BLAS");
      else Deno.env.set("DENN_BLAS", prev);
    }
  },
});

Deno.test({
  name: "blas backend declines without --allow-ffi or env permission instead of throwing",
  ignore: !granted("env"),
  permissions: { ffi: false, env: true, read: true },
  fn() {
    const r = blasBackend();
    assert.equal(typeof r, "string");
    assert.match(r as string, /--allow-ffi/);
  },
});

Deno.test({
  name: "blas backend declines without permission to read DENN_BLAS",
  ignore: !granted("ffi"),
  permissions: { ffi: true, env: false, read: true },
  fn() {
    const r = blasBackend();
    assert.equal(typeof r, "string");
    assert.match(r as string, /DENN_BLAS/);
  },
});

Deno.test({
  name: "blas: by default a conv too small for BLAS is declined with a reason and runs on cpu",
  ignore: !hasBackend("blas"),
  fn() {
    const kernels = blasKernels(blasLibrary()!.sgemm);
    const x = randn([2, 1, 8, 8]), w = randn([6, 1, 5, 5]);
    const why = kernels.conv2d.supports!([x, w], {
      stride: [1, 1],
      padding: [2, 2],
      dilation: [1, 1],
      groups: 1,
    }, undefined);
    assert.match(
      String(why),
      /conv weight \[6, 1, 5, 5\] is too small for BLAS .*150 weights per group < 4096/,
    );
    const big = randn([64, 64, 3, 3]);
    assert.equal(
      kernels.conv2d.supports!([randn([1, 64, 4, 4]), big], {
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 1,
      }, undefined),
      true,
    );
  },
});

Deno.test({
  name: "blas provides for cpu tensors: matmul and large convs run on blas without a route",
  ignore,
  fn() {
    // The user's steps: use(blas()) once, then ordinary cpu tensors and layers.
    const a = randn([64, 400], { requiresGrad: true }), b = randn([400, 120]);
    const { trace } = explain(() => a.matmul(b).relu().sum().backward());
    const mm = trace.filter((e) => e.op === "matmul");
    assert.equal(mm.length, 2); // forward and the gradient for a
    for (const e of mm) {
      assert.equal(e.backend, "blas");
      assert.equal(e.via, "provider");
      assert.deepEqual(e.moved, []);
    }
    assert.equal(trace.find((e) => e.op === "relu")!.backend, "cpu");
    const y = a.matmul(b);
    assert.equal(y.device, "cpu");
    assert.equal(a.grad!.device, "cpu");
    close("provider matmul", y, route({ matmul: "cpu" }, () => a.matmul(b)));
    // The conv cut-off (minConvWeights: 0 in this file, so every conv goes to blas).
    const x = randn([2, 3, 8, 8]), w = randn([4, 3, 3, 3]);
    const conv = explain(() => conv2dRaw(x, w, null, convCases[0].attrs)).trace[0];
    assert.deepEqual([conv.backend, conv.via], ["blas", "provider"]);
  },
});

Deno.test({
  name:
    "blas provider: a route to cpu keeps an op on cpu, and explain() gives blas's reason for declining",
  ignore,
  fn() {
    const a = randn([8, 8]), b = randn([8, 8]);
    const e = explain(() => route({ matmul: "cpu" }, () => a.matmul(b))).trace[0];
    assert.deepEqual([e.backend, e.via], ["cpu", "route"]);
    // float16 is not a blas dtype: cpu runs it and explain() says why blas declined.
    const run = () => a.half().matmul(b.half());
    const d = explain(run).trace.find((t) => t.op === "matmul")!;
    assert.deepEqual([d.backend, d.via], ["cpu", "device"]);
    assert.match(d.declined!.join("\n"), /blas: matmul does not accept dtype float16/);
    assert.match(explain(run).toString(), /declined: blas: /);
  },
});

Deno.test({
  name: "blas threads: without a set count, small products run on one thread and large ones on all",
  ignore: ignore || !granted("env") || Deno.env.get("DENN_BLAS_THREADS") !== undefined,
  fn() {
    const lib = blasLibrary()!;
    if (lib.threads() === null) return; // a library that cannot report its threads
    randn([8, 8]).matmul(randn([8, 8]));
    assert.equal(lib.threads(), 1);
    const n = Math.ceil(Math.cbrt(ADAPTIVE_MIN_MACS));
    randn([n, n]).matmul(randn([n, n]));
    const all = lib.threads()!;
    // All of the library's threads: more than one wherever there is more than one core, unless
    // OpenBLAS was told otherwise.
    const cores = navigator.hardwareConcurrency;
    if (cores > 1 && Deno.env.get("OPENBLAS_NUM_THREADS") === undefined) {
      assert.ok(all > 1, `a large product ran on ${all} thread(s) with ${cores} cores`);
    }
    randn([8, 8]).matmul(randn([8, 8]));
    assert.equal(lib.threads(), 1);
  },
});

Deno.test({
  name: "blas threads: a second opener of the library (a second copy of denn) keeps the full count",
  ignore: ignore || !granted("env") || Deno.env.get("DENN_BLAS_THREADS") !== undefined,
  async fn() {
    const lib = blasLibrary()!;
    if (lib.threads() === null) return;
    const n = Math.ceil(Math.cbrt(ADAPTIVE_MIN_MACS));
    const big = () => randn([n, n]).matmul(randn([n, n]));
    big();
    const all = lib.threads()!;
    randn([8, 8]).matmul(randn([8, 8]));
    assert.equal(lib.threads(), 1);
    // Another copy of the module, as two versions of denn in one process load it, opened while
    // the library is on one thread: its large products still get all of them.
    const url = new URL("../../plugins/blas/ffi.ts?second-copy", import.meta.url).href;
    const copy: typeof import("../../plugins/blas/ffi.ts") = await import(url);
    const other = copy.openBlas();
    assert.ok(typeof other !== "string", String(other));
    const a = new Float32Array(n * n).fill(1), c = new Float32Array(n * n);
    other.sgemm(false, false, n, n, n, 1, a, n, a, n, 0, c, n);
    assert.equal(other.threads(), all);
    assert.equal(c[0], n);
    // Each copy asks the library for its count instead of remembering its own last change.
    other.sgemm(false, false, 8, 8, 8, 1, a, 8, a, 8, 0, c, 8);
    assert.equal(lib.threads(), 1);
    big();
    assert.equal(lib.threads(), all);
    other.close();
  },
});

Deno.test({
  name: "blas sgemm and saxpy reject operands too short for their extents with a ShapeError",
  ignore,
  fn() {
    const lib = blasLibrary()!;
    const a = new Float32Array(6), b = new Float32Array(12), c = new Float32Array(8);
    // A is 2x3 with lda 3 (6 floats): fine; with lda 4 it needs 7.
    lib.sgemm(false, false, 2, 4, 3, 1, a, 3, b, 4, 0, c, 4);
    assert.throws(
      () => lib.sgemm(false, false, 2, 4, 3, 1, a, 4, b, 4, 0, c, 4),
      (e: Error) =>
        e.name === "ShapeError" &&
        /sgemm: A is 2x3 with leading dimension 4, but has 6/.test(e.message),
    );
    assert.throws(
      () => lib.sgemm(false, false, 2, 4, 3, 1, a, 3, b, 4, 0, c.subarray(0, 7), 4),
      (e: Error) => e.name === "ShapeError" && /sgemm: C is 2x4/.test(e.message),
    );
    if (lib.saxpy) {
      assert.throws(
        () => lib.saxpy!(8, 1, new Float32Array(8), new Float32Array(7)),
        (e: Error) =>
          e.name === "ShapeError" && /a vector of 7 elements, expected 8/.test(e.message),
      );
    }
  },
});

Deno.test({
  name: "blas add: large same-shape float32 adds give the cpu loop's bits; others stay on cpu",
  ignore,
  fn() {
    const shape = [16, 192, 8, 8];
    const a = randn(shape), b = randn(shape);
    // Signed zeros, infinities and NaNs among the values.
    const av = Float32Array.from(a.dataSync()), bv = Float32Array.from(b.dataSync());
    [av[0], bv[0]] = [-0, -0];
    [av[1], bv[1]] = [0, -0];
    [av[2], bv[2]] = [Infinity, -Infinity];
    [av[3], bv[3]] = [NaN, 1];
    [av[4], bv[4]] = [3e38, 3e38];
    const x = tensor(Array.from(av)).reshape(shape), y = tensor(Array.from(bv)).reshape(shape);
    const onCpu = route({ add: "cpu" }, () => x.add(y));
    const trace = explain(() => x.add(y)).trace;
    assert.deepEqual(trace.map((t) => `${t.op}@${t.backend}`), ["add@blas"]);
    const want = onCpu.dataSync() as Float32Array, got = x.add(y).dataSync() as Float32Array;
    for (let i = 0; i < want.length; i++) {
      if (!Object.is(got[i], want[i])) assert.fail(`element ${i}: ${got[i]}, cpu gives ${want[i]}`);
    }
    // Small, broadcast and strided adds are the cpu kernel's, with blas's reason in explain().
    const small = explain(() => randn([64, 64]).add(randn([64, 64]))).trace.at(-1)!;
    assert.equal(small.backend, "cpu");
    assert.match(small.declined!.join("\n"), /under 32768 elements/);
    const bias = randn([1, 192, 1, 1]);
    assert.equal(explain(() => x.add(bias)).trace.at(-1)!.backend, "cpu");
    const view = x.transpose(2, 3);
    assert.equal(explain(() => view.add(y)).trace.at(-1)!.backend, "cpu");
    close("broadcast add", a.add(bias), route({ add: "cpu" }, () => a.add(bias)));
  },
});

Deno.test({
  name: "blas add: backward's accumulation of a tensor used twice runs on blas with cpu's values",
  ignore,
  fn() {
    const x = randn([8, 64, 16, 16], { requiresGrad: true });
    const loss = () => x.relu().mul(2).add(x.sigmoid()).sum();
    const l1 = loss();
    const trace = explain(() => l1.backward()).trace.map((t) => `${t.op}@${t.backend}`);
    assert.ok(trace.includes("add@blas"), trace.join(", "));
    const g = x.grad!.clone();
    x.grad = null;
    route({ add: "cpu" }, () => loss().backward());
    close("x.grad", g, x.grad!);
  },
});

Deno.test("blas() rejects unknown and mistyped options with a ValueError naming the option", () => {
  const bad: [unknown, RegExp][] = [
    [
      { thread: 2 },
      /blas: unknown option "thread" \(expected one of path, threads, minConvWeights/,
    ],
    [{ threads: 0 }, /blas: threads must be a positive integer, got 0/],
    [{ threads: 1.5 }, /blas: threads must be a positive integer, got 1.5/],
    [{ minConvWeights: -1 }, /blas: minConvWeights must be a non-negative integer, got -1/],
    [{ minConvWeights: "64" }, /blas: minConvWeights must be a non-negative integer, got 64/],
    [{ tuneMalloc: "no" }, /blas: tuneMalloc must be a boolean, got "no"/],
    [{ path: "" }, /blas: path must be a library path, got ""/],
    [null, /blas: options must be an object, got null/],
  ];
  for (const [options, message] of bad) {
    assertThrowsNamed(() => blas(options as Parameters<typeof blas>[0]), ValueError, message);
  }
  assert.equal(blas({ threads: 2 }), blas({ threads: 2 }), "the same options give the same plugin");
});
