/**
 * Every kernel of the cuda backend's table, run numerically without a GPU: the generated CUDA C is
 * compiled by g++ against a small host shim (tests/cuda/_emulator/shim.h: __global__, thread and
 * block indices, __syncthreads as a barrier over fibers, shared memory, warp shuffles, atomics,
 * float16 conversions) and launched through the real kernel-table code with a host `Cuda` context
 * (tests/cuda/_emulator/host_context.ts; cuBLAS is a host reference sgemm, convolutions take the
 * im2col path). The context backs a backend registered as "cudaemu" (not host memory, so dispatch
 * moves data as for a device), and each op is compared with the cpu backend through
 * checkBackendConformance (forward, and gradients of float32 inputs; it also checks from the trace
 * that every op ran as a cudaemu kernel, none as a decomposition or on cpu), in float32 and, where
 * the table takes it, float16. The last test checks that every source allKernelSources() lists
 * was launched at least once.
 *
 * Skipped, with the reason printed, where no g++ (or c++) is on PATH.
 */

import assert from "node:assert/strict";
import {
  apply,
  definePlugin,
  explain,
  fromData,
  getOp,
  IndexError,
  manualSeed,
  setStrict,
  use,
} from "../../mod.ts";
import type { DType, Tensor } from "../../mod.ts";
import { F, optim } from "../../mod.ts";
import { assertClose, checkBackendConformance } from "../../testing/mod.ts";
import { chunkImages, convProblem, Im2colConvEngine } from "../../plugins/cuda/kernels/conv.ts";
import type { ConformanceOptions } from "../../testing/mod.ts";
import { allKernelSources, cudaKernels } from "../../plugins/cuda/kernels/mod.ts";
import { BLOCK_SUM_CUDA, kernelSource } from "../../plugins/cuda/kernels/kit_source.ts";
import { lenet5 } from "../../plugins/models/mod.ts";
import { cudaBackendDef } from "../../plugins/cuda/mod.ts";
import type { CudaContext } from "../../plugins/cuda/mod.ts";
import { findCompiler, HostCuda } from "./_emulator/host_context.ts";
import { UNARY_OPS } from "./_fake.ts";

const EMU = "cudaemu";
const missing = (["run", "ffi", "write", "read"] as const).filter((name) =>
  Deno.permissions.querySync({ name }).state !== "granted"
);
const compiler = missing.length ? null : findCompiler();
const ignore = compiler === null;
let ctx: HostCuda | null = null;
if (ignore) {
  console.log(
    `cuda emulated tests skipped: ${
      missing.length ? `needs --allow-${missing.join(", --allow-")}` : "no g++ or c++ on PATH"
    }`,
  );
} else {
  ctx = new HostCuda({
    compiler: compiler!,
    cacheDir: Deno.env.get("DENN_CUDA_EMU_CACHE") || undefined,
  });
  await ctx.prebuild(allKernelSources(), 4, 2);
  // The libraries stay loaded until the process ends; a temp cache dir goes with it.
  const made = ctx;
  globalThis.addEventListener("unload", () => made.dispose());
  const def = { ...cudaBackendDef(ctx as unknown as CudaContext), name: EMU };
  use(definePlugin({
    name: "@denn/cuda-emulated",
    kind: "backend",
    version: "0.1.0",
    apiVersion: 1,
    description: "the cuda kernel table on a host emulation of CUDA C (tests only)",
    backend: () => def,
  }));
  const why = explain().unavailable[EMU];
  if (why) throw new Error(`cudaemu did not register: ${why}`);
  console.log(
    `cuda emulation: ${allKernelSources().length} sources built in ${
      ctx.compileSeconds.toFixed(1)
    } s (${ctx.compiles} g++ runs, ${ctx.cacheDir})`,
  );
}
const opts = { ignore, sanitizeResources: false, sanitizeOps: false };

// ---------------------------------------------------------------- inputs

let seed = 20240611;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return (seed / 2147483648) * 2 - 1;
}

/** A cpu tensor of uniform values in [lo, hi) (ints for int32, 0/1 for bool), or given values. */
function T(
  shape: number[],
  dtype: DType = "float32",
  range: [number, number] | number[] = [-2, 2],
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let v: number[];
  if (range.length === n && n !== 2) v = range as number[];
  else if (dtype === "bool") v = Array.from({ length: n }, () => (rnd() > 0 ? 1 : 0));
  else {
    const [lo, hi] = range.length === 2 && n !== 2 ? range : [-2, 2];
    v = Array.from({ length: n }, () => lo + ((rnd() + 1) / 2) * (hi - lo));
    if (dtype === "int32") v = v.map(Math.round);
  }
  const data = dtype === "float32"
    ? Float32Array.from(v)
    : dtype === "float16"
    ? Float16Array.from(v)
    : dtype === "int32"
    ? Int32Array.from(v)
    : Uint8Array.from(v);
  return fromData(data, shape, { dtype });
}

/** Exactly these values. */
function V(shape: number[], values: number[], dtype: DType = "float32"): Tensor {
  const data = dtype === "float32"
    ? Float32Array.from(values)
    : dtype === "float16"
    ? Float16Array.from(values)
    : dtype === "int32"
    ? Int32Array.from(values)
    : Uint8Array.from(values);
  return fromData(data, shape, { dtype });
}

const half = (t: Tensor): Tensor => (t.dtype === "float32" ? t.to("float16" as never) : t);

/** Ops that ran as cudaemu kernels in the checks so far. */
const ran = new Set<string>();

const F32 = { atol: 2e-5, rtol: 2e-5 };
const F16 = { atol: 2e-3, rtol: 4e-3 };

/** checkBackendConformance on cudaemu, labelled, with float32 tolerances by default. */
async function conf(
  label: string,
  fn: string | ((...x: Tensor[]) => Tensor | Tensor[]),
  inputs: Tensor[],
  o: ConformanceOptions = {},
): Promise<void> {
  const f16 = inputs.some((t) => t.dtype === "float16");
  try {
    const r = await checkBackendConformance(EMU, fn, inputs, { ...(f16 ? F16 : F32), ...o });
    for (const e of r.trace) if (e.backend === EMU && e.via !== "view") ran.add(e.op);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
  }
}

/** The same check in float32 and with every float32 input as float16 (forward only). */
async function both(
  label: string,
  fn: string | ((...x: Tensor[]) => Tensor | Tensor[]),
  inputs: Tensor[],
  o: ConformanceOptions = {},
  o16: ConformanceOptions = {},
): Promise<void> {
  await conf(`${label} float32`, fn, inputs, o);
  await conf(`${label} float16`, fn, inputs.map(half), { ...o, grad: false, ...o16 });
}

// ---------------------------------------------------------------- the emulator itself

Deno.test({
  name: "cuda emulator: barriers and shuffles, and it catches a missing barrier, a deadlock, " +
    "an out-of-bounds write and a wrong argument",
  ...opts,
  fn() {
    const cuda = ctx!;
    const sum = (sync: boolean) => {
      const helpers = sync ? BLOCK_SUM_CUDA : BLOCK_SUM_CUDA.replace(
        "sh[threadIdx.x >> 5] = v;\n  __syncthreads();",
        "sh[threadIdx.x >> 5] = v;",
      );
      const name = `denn_emu_selftest_sum_${sync ? "ok" : "racy"}`;
      const src = kernelSource(
        name,
        ["float* out", "const float* x", "long long n"],
        `
  __shared__ float sh[33];
  float v = 0.0f;
  for (long long i = threadIdx.x; i < n; i += blockDim.x) v += x[blockIdx.x * n + i];
  const float r = denn_block_sum(v, sh);
  if (threadIdx.x == 0) out[blockIdx.x] = r;`,
        helpers,
      );
      assert.equal(src.includes("__syncthreads();\n  if (threadIdx.x < 32)"), sync);
      const x = cuda.alloc(3 * 700, "float32"), out = cuda.alloc(3, "float32");
      cuda.write(x, Float32Array.from({ length: 2100 }, (_, i) => (i % 7) - 3));
      cuda.launch(cuda.kernel(src, name), { grid: [3], block: [256] }, [
        { ptr: out },
        { ptr: x },
        { i64: 700 },
      ]);
      return Array.from(cuda.read(out, 3) as Float32Array);
    };
    const want = [0, 1, 2].map((b) =>
      Array.from({ length: 700 }, (_, i) => ((b * 700 + i) % 7) - 3).reduce((a, c) => a + c, 0)
    );
    assert.deepEqual(sum(true), want);
    assert.notDeepEqual(sum(false), want, "a missing barrier changes the result");
    const dead = kernelSource(
      "denn_emu_selftest_deadlock",
      ["float* out"],
      `
  float v = (float)threadIdx.x;
  if (threadIdx.x == 0) __syncthreads();
  else v = __shfl_down_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;`,
    );
    const out = cuda.alloc(64, "float32");
    assert.throws(
      () =>
        cuda.launch(cuda.kernel(dead, "denn_emu_selftest_deadlock"), {
          grid: [1],
          block: [64],
        }, [{ ptr: out }]),
      /deadlocked/,
    );
    const oob = kernelSource(
      "denn_emu_selftest_oob",
      ["float* out", "long long n"],
      `
  for (long long i = denn_gid(); i <= n; i += denn_gsize()) out[i] = 1.0f;`,
    );
    const small = cuda.alloc(64, "float32");
    assert.throws(
      () =>
        cuda.launch(cuda.kernel(oob, "denn_emu_selftest_oob"), { grid: [1], block: [32] }, [
          { ptr: small },
          { i64: 64 },
        ]),
      /wrote past the end/,
    );
    assert.throws(
      () =>
        cuda.launch(cuda.kernel(oob, "denn_emu_selftest_oob"), { grid: [1], block: [32] }, [
          { ptr: small },
          { i32: 64 },
        ]),
      /argument 1 \(long long\) got a i32 argument/,
    );
    cuda.free(small);
    assert.throws(
      () =>
        cuda.launch(cuda.kernel(oob, "denn_emu_selftest_oob"), { grid: [1], block: [32] }, [
          { ptr: small },
          { i64: 8 },
        ]),
      /points into no live buffer/,
    );
  },
});

// ---------------------------------------------------------------- elementwise

const UNARY = UNARY_OPS;
const POSITIVE = new Set(["log", "log1p", "sqrt", "rsqrt", "reciprocal"]);
const INT_UNARY = new Set(["neg", "abs", "sign", "relu", "floor", "ceil", "round"]);

Deno.test({
  name: "cuda emulated: unary elementwise ops, float32/float16/int32, with NaN, ±inf and views",
  ...opts,
  async fn() {
    for (const op of UNARY) {
      const range: [number, number] = POSITIVE.has(op) ? [0.1, 3] : [-3, 3];
      // A transposed view: the kernel reads it through contiguous.
      const f = (x: Tensor) => apply(getOp(op)!, [x.transpose(0, 1)], {})[0];
      await both(op, f, [T([3, 5], "float32", range)], {
        kernels: [op, "contiguous"],
        allowDecomposition: [],
      });
      // Special values (no gradients: cpu and the device agree on them, not on d/dx at ±inf).
      const special = V([8], [NaN, Infinity, -Infinity, 0, -0, 2.5, -2.5, 1e-30]);
      await both(`${op} special`, op, [special], { grad: false });
      if (INT_UNARY.has(op)) await conf(`${op} int32`, op, [T([4, 3], "int32", [-9, 9])]);
      await conf(`${op} empty`, op, [T([0, 3])]);
    }
    await conf("logicalNot", "logicalNot", [T([7], "bool")]);
  },
});

Deno.test({
  name: "cuda emulated: binary and comparison ops with broadcasting, every dtype they take",
  ...opts,
  async fn() {
    for (const op of ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]) {
      const a = op === "pow" ? T([2, 3, 4], "float32", [0.2, 2]) : T([2, 3, 4]);
      const b = op === "div" ? T([3, 1], "float32", [0.5, 2]) : T([3, 1]);
      await both(op, op, [a, b]);
      await both(`${op} [1] with [5, 2]`, op, [
        op === "pow" ? T([1], "float32", [0.5, 2]) : T([1]),
        op === "div" ? T([5, 2], "float32", [0.5, 2]) : T([5, 2]),
      ]);

      await conf(`${op} NaN`, op, [V([4], [NaN, 3, 2, NaN]), V([4], [1, NaN, 0.5, NaN])], {
        grad: false,
      });
      const ia = T([3, 4], "int32", [-6, 6]);
      const ib = op === "div" || op === "pow" ? T([4], "int32", [1, 3]) : T([4], "int32", [-6, 6]);
      await conf(`${op} int32`, op, [ia, ib]);
      if (op === "maximum" || op === "minimum") {
        await conf(`${op} bool`, op, [T([3, 4], "bool"), T([4], "bool")]);
      }
      await conf(`${op} empty`, op, [T([0, 4]), T([4])]);
    }
    for (const op of ["eq", "ne", "lt", "le", "gt", "ge"]) {
      const a = V([2, 4], [1, 2, 3, NaN, 0, -0, 5, 1]), b = V([4], [1, 3, 3, NaN]);
      await both(op, op, [a, b], { grad: false });
      await conf(`${op} int32`, op, [T([3, 4], "int32", [-2, 2]), T([4], "int32", [-2, 2])]);
      await conf(`${op} bool`, op, [T([3, 4], "bool"), T([3, 1], "bool")]);
    }
    for (const op of ["logicalAnd", "logicalOr"]) {
      await conf(op, op, [T([3, 4], "bool"), T([4], "bool")]);
    }
  },
});

Deno.test({
  name: "cuda emulated: where, cast between every dtype pair, reluBackward",
  ...opts,
  async fn() {
    for (const d of ["float32", "float16", "int32", "bool"] as DType[]) {
      await conf(`where ${d}`, "where", [T([3, 1], "bool"), T([3, 4], d), T([4], d)]);
    }
    const DTYPES: DType[] = ["float32", "float16", "int32", "bool"];
    for (const from of DTYPES) {
      const x = from === "bool"
        ? T([9], "bool")
        : V([9], [0, -0, 1.5, -2.5, 3.49, 70000, -1e9, 0.1, 65520], from);
      for (const to of DTYPES) {
        if (to === from) continue;
        if (from.startsWith("float") && to === "int32") {
          // Out-of-range float → int is undefined; keep the values in range.
          await conf(`cast ${from}→${to}`, "cast", [V([5], [0, -0, 1.5, -2.5, 3.49], from)], {
            attrs: { dtype: to },
            grad: false,
          });
        } else {
          await conf(`cast ${from}→${to}`, "cast", [x], { attrs: { dtype: to }, grad: false });
        }
      }
    }
    for (const to of ["float16", "bool"]) {
      await conf(`cast NaN to ${to}`, "cast", [V([3], [NaN, Infinity, -Infinity])], {
        attrs: { dtype: to },
        grad: false,
      });
    }
    await conf("cast float32 to int32, large", "cast", [V([3], [70000, -1e9, 2e9])], {
      attrs: { dtype: "int32" },
      grad: false,
    });
    await both("relu grad", (x) => x.relu().mul(x), [T([4, 5])], {
      kernels: ["relu", "reluBackward"],
    }, { kernels: ["relu"] });
  },
});

Deno.test({
  name: "cuda emulated: reluBackward float16",
  ...opts,
  async fn() {
    await conf("reluBackward f16", "reluBackward", [half(T([6])), half(T([6]))], { grad: false });
  },
});

// ---------------------------------------------------------------- reductions and scans

Deno.test({
  name: "cuda emulated: sum/max/min/prod (thread and block variants), argmax/argmin, NaN, empty",
  ...opts,
  async fn() {
    for (const op of ["sum", "max", "min"]) {
      for (
        const [shape, dims] of [[[4, 5, 6], [0, 2]], [[3, 700], [1]], [[5, 4], [0, 1]]] as const
      ) {
        const x = T([...shape]);
        // max/min gradients of ties are split differently; random floats have none.
        await both(`${op} ${shape} over ${dims}`, op, [x], {
          attrs: { dims: [...dims], keepdim: false },
          // float32 sums of 700 terms in another order
          ...(op === "sum" ? { atol: 1e-4, rtol: 1e-4 } : {}),
        }, op === "sum" ? { atol: 2e-2, rtol: 4e-3 } : {});
        await conf(`${op} int32 ${shape}`, op, [T([...shape], "int32", [-9, 9])], {
          attrs: { dims: [...dims], keepdim: true },
        });
      }
      await conf(`${op} NaN`, op, [V([2, 3], [1, NaN, 2, 3, 4, 5])], {
        attrs: { dims: [1], keepdim: false },
        grad: false,
      });
      const longNaN = Array.from({ length: 600 }, (_, i) => (i === 437 ? NaN : i % 17));
      await conf(`${op} NaN block`, op, [V([1, 600], longNaN)], {
        attrs: { dims: [1], keepdim: false },
        grad: false,
      });
      if (op !== "sum") {
        for (const shape of [[3, 4], [2, 600]]) {
          await conf(`${op} bool ${shape}`, op, [T(shape, "bool")], {
            attrs: { dims: [1], keepdim: false },
          });
        }
      }
    }
    await conf("sum empty dim", "sum", [T([0, 4])], { attrs: { dims: [0], keepdim: false } });
    // A transposed view reduced (contiguous first).
    await both("sum of a view", (x) => x.transpose(0, 1).sum(1), [T([5, 3])]);
    for (const [shape, dim] of [[[3, 4], 1], [[2, 300], 1], [[4, 3, 2], 0]] as const) {
      const tol = shape[1] === 300 ? { atol: 1e-3, rtol: 1e-4 } : {};
      await both(`prod ${shape}`, "prod", [T([...shape], "float32", [0.9, 1.1])], {
        attrs: { dim, keepdim: false },
        ...tol,
      }, { atol: 4e-3, rtol: 8e-3 });
      await conf(`prod int32 ${shape}`, "prod", [T([...shape], "int32", [-1, 1])], {
        attrs: { dim, keepdim: true },
      });
    }
    for (const op of ["argmax", "argmin"]) {
      for (const d of ["float32", "float16", "int32", "bool"] as DType[]) {
        // Ties are frequent in int32/bool: the first index wins on both backends.
        const x = d === "float16" ? half(T([5, 7])) : T([5, 7], d, [-3, 3]);
        await conf(`${op} ${d}`, op, [x], { attrs: { dim: 1, keepdim: false } });
        // 1500 per row: the block-per-output variant (from 1024).
        const long = d === "float16" ? half(T([2, 1500])) : T([2, 1500], d, [-3, 3]);
        await conf(`${op} ${d} all`, op, [long], { attrs: { dim: null, keepdim: false } });
        await conf(`${op} ${d} long rows`, op, [long], { attrs: { dim: 1, keepdim: true } });
      }
      await conf(`${op} NaN`, op, [V([2, 4], [1, NaN, 3, 2, 5, 4, NaN, NaN])], {
        attrs: { dim: 1, keepdim: false },
      });
      const longNaN = Array.from(
        { length: 1200 },
        (_, i) => (i === 437 || i === 900 ? NaN : i % 9),
      );
      await conf(`${op} NaN block`, op, [V([1, 1200], longNaN)], {
        attrs: { dim: null, keepdim: false },
      });
    }
  },
});

Deno.test({
  name: "cuda emulated: softmax and logSoftmax (thread and block rows), cumsum and cumprod",
  ...opts,
  async fn() {
    for (const op of ["softmax", "logSoftmax"]) {
      await both(`${op} middle dim`, op, [T([2, 3, 4])], { attrs: { dim: 1 } });
      await both(`${op} long rows`, op, [T([3, 700], "float32", [-6, 6])], {
        attrs: { dim: 1 },
        atol: 1e-5,
        rtol: 1e-4,
      });
      await conf(`${op} -inf and NaN`, op, [
        V([3, 3], [-Infinity, 0, 1, -Infinity, -Infinity, -Infinity, NaN, 1, 2]),
      ], { attrs: { dim: 1 }, grad: false });
      await conf(`${op} empty`, op, [T([0, 3])], { attrs: { dim: 1 } });
    }
    for (const op of ["cumsum", "cumprod"]) {
      for (const reverse of [false, true]) {
        const x = op === "cumprod" ? T([3, 4, 5], "float32", [0.5, 1.5]) : T([3, 4, 5]);
        await both(`${op} reverse=${reverse}`, op, [x], { attrs: { dim: 1, reverse } });
        await conf(`${op} int32 reverse=${reverse}`, op, [T([4, 6], "int32", [-2, 2])], {
          attrs: { dim: 1, reverse },
        });
      }
    }
    await conf("cumsum NaN", "cumsum", [V([5], [1, 2, NaN, 3, 4])], {
      attrs: { dim: 0, reverse: false },
      grad: false,
    });
  },
});

// ---------------------------------------------------------------- movement

Deno.test({
  name: "cuda emulated: views, copies, in-place writes, pad, cat, slice gradients, every dtype",
  ...opts,
  async fn() {
    for (const d of ["float32", "float16", "int32", "bool"] as DType[]) {
      const x = T([3, 4, 5], d, [-9, 9]);
      await conf(`permute ${d}`, (a) => a.permute([2, 0, 1]).contiguous(), [x], {
        kernels: ["contiguous"],
      });
      await conf(
        `step slice ${d}`,
        (a) => a.slice(null, { start: 1 }, { start: 0, end: 5, step: 2 }).contiguous(),
        [
          x,
        ],
        { kernels: ["contiguous"] },
      );
      await conf(`copy ${d}`, "copy", [x]);
      await conf(`pad ${d}`, "pad", [T([2, 3], d, [-9, 9])], {
        attrs: { before: [0, 1], after: [1, 2], value: d === "bool" ? 1 : 7 },
      });
      await conf(`cat ${d}`, "cat", [T([2, 3], d, [-9, 9]), T([2, 1], d), T([2, 0], d)], {
        attrs: { dim: 1 },
      });
      await conf(`cat dim 0 ${d}`, "cat", [T([2, 3], d, [-9, 9]), T([1, 3], d)], {
        attrs: { dim: 0 },
      });
      // An in-place write into a strided window of a clone (copyInto).
      await conf(
        `copyInto ${d}`,
        (a, b) => {
          const c = a.clone();
          c.slice(null, { start: 1, end: 4, step: 2 }).copy_(b);
          return c;
        },
        [T([3, 5], d, [-9, 9]), T([3, 2], d, [-9, 9])],
        { kernels: ["copyInto"], grad: false },
      );
    }
    // Gradients through slices (sliceBackward), pads, cats and expands.
    await both(
      "slice grad",
      (a) => a.slice(null, { start: 1, end: 5, step: 2 }).mul(a.slice(null, { start: 0, end: 2 })),
      [
        T([3, 6]),
      ],
      { kernels: ["sliceBackward"] },
      { kernels: [] },
    );
    await both("expand", (a) => a.expand([4, 3, 5]).mul(2), [T([3, 1])]);
    await both("narrow and cat", (a, b) => a.narrow(0, 1, 2).add(b.transpose(0, 1)), [
      T([4, 3]),
      T([3, 2]),
    ]);
  },
});

Deno.test({
  name: "cuda emulated: gather and scatterAdd, and their out-of-range index error",
  ...opts,
  async fn() {
    for (const d of ["float32", "float16", "int32", "bool"] as DType[]) {
      const x = T([3, 5], d, [-9, 9]);
      for (const dim of [0, 1]) {
        const idx = dim === 0 ? T([2, 5], "int32", [0, 2]) : T([3, 4], "int32", [0, 4]);
        await conf(`gather ${d} dim ${dim}`, "gather", [x, idx], { attrs: { dim } });
      }
    }
    for (const d of ["float32", "float16", "int32"] as DType[]) {
      const idx = T([3, 4], "int32", [0, 5]);
      await conf(`scatterAdd ${d}`, "scatterAdd", [idx, T([3, 4], d, [-9, 9])], {
        attrs: { dim: 1, shape: [3, 6] },
        ...(d === "float16" ? { atol: 4e-3, rtol: 4e-3 } : {}),
      });
    }
    await conf("gather empty index", "gather", [T([3, 5]), T([3, 0], "int32")], {
      attrs: { dim: 1 },
      kernels: [],
    });
    // gather's gradient is a scatterAdd on the device.
    await conf("gather grad", (a, i) => a.gather(1, i), [T([3, 5]), T([3, 7], "int32", [0, 4])], {
      kernels: ["gather", "scatterAdd"],
    });
    // Out-of-range indices: the device records them; the next readback raises cpu's IndexError.
    const x = T([3, 5]).to(EMU);
    for (const bad of [5, -1]) {
      const i = V([3, 2], [0, 1, 2, bad, 4, 0], "int32").to(EMU);
      const cpuErr = (() => {
        try {
          T([3, 5]).gather(1, V([3, 2], [0, 1, 2, bad, 4, 0], "int32"));
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      assert(cpuErr instanceof IndexError, "cpu raises IndexError");
      const y = x.gather(1, i);
      assert.throws(() => y.dataSync(), (e: unknown) => {
        assert(e instanceof IndexError, String(e));
        assert.equal(e.message, cpuErr.message);
        return true;
      });
      // The record was cleared: the context works again.
      assert.deepEqual(
        Array.from(x.gather(1, V([3, 1], [0, 1, 2], "int32").to(EMU)).dataSync()),
        Array.from(x.dataSync()).filter((_, k) => k === 0 || k === 6 || k === 12),
      );
    }
    const si = V([2, 2], [0, 9, 1, 2], "int32").to(EMU);
    const s = apply(getOp("scatterAdd")!, [si, T([2, 2]).to(EMU)], { dim: 1, shape: [2, 3] })[0];
    assert.throws(() => s.dataSync(), IndexError);
  },
});

// ---------------------------------------------------------------- nn

const POOLS: {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}[] = [
  { kernelSize: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
  { kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [1, 1], ceilMode: true },
  { kernelSize: [2, 3], stride: [1, 2], padding: [0, 1], dilation: [2, 1], ceilMode: false },
];

Deno.test({
  name: "cuda emulated: max/avg/adaptive-avg pooling and their gradients (regression: " +
    "maxPool2dBackward and maxPool2dGather take int32 indices through dispatch)",
  ...opts,
  async fn() {
    for (const p of POOLS) {
      const x = T([2, 3, 7, 6]);
      const label = JSON.stringify(p);
      const { kernelSize, ...mp } = p;
      await both(`maxPool2d ${label}`, (a) => F.maxPool2d(a, kernelSize, mp), [x], {
        kernels: ["maxPool2d", "maxPool2dBackward"],
      }, { kernels: ["maxPool2d"] });
      if (p.dilation[0] === 1) {
        for (const countIncludePad of [false, true]) {
          const { dilation: _, ...ap } = mp;
          await both(
            `avgPool2d ${label} countIncludePad=${countIncludePad}`,
            (a) => F.avgPool2d(a, kernelSize, { ...ap, countIncludePad }),
            [x],
            { kernels: ["avgPool2d", "avgPool2dBackward"] },
            { kernels: ["avgPool2d"] },
          );
        }
      }
    }
    await both(
      "avgPool2d divisorOverride",
      (a) => F.avgPool2d(a, 2, { stride: 1, divisorOverride: 3 }),
      [T([1, 2, 4, 5])],
    );
    // maxPool2d with returned indices: the double backward reads g at the indices.
    await both("maxPool2d indices", (a) => F.maxPool2dWithIndices(a, 2), [T([1, 2, 4, 4])], {
      kernels: ["maxPool2d"],
    });
    await conf("maxPool2dGather", "maxPool2dGather", [
      T([2, 3, 5, 4]),
      T([2, 3, 3, 2], "int32", [0, 19]),
    ], {
      attrs: { ...POOLS[0], countIncludePad: false, divisorOverride: null, shape: [2, 3, 5, 4] },
      grad: false,
    });
    await conf("maxPool2dGather f16", "maxPool2dGather", [
      half(T([2, 3, 5, 4])),
      T([2, 3, 3, 2], "int32", [0, 19]),
    ], {
      attrs: { ...POOLS[0], countIncludePad: false, divisorOverride: null, shape: [2, 3, 5, 4] },
      grad: false,
    });
    await conf("maxPool2d NaN", (a) => F.maxPool2d(a, 2), [
      V([1, 1, 2, 4], [1, NaN, 3, 4, 5, 6, NaN, 0]),
    ], { grad: false });
    // float16 gradients through the backward ops.
    const { kernelSize, ...p1 } = POOLS[1];
    const pa = { ...POOLS[1], countIncludePad: false, divisorOverride: null, shape: [2, 3, 7, 6] };
    const [pooled, idx] = F.maxPool2dWithIndices(half(T([2, 3, 7, 6])), kernelSize, p1);
    await conf("maxPool2dBackward f16", "maxPool2dBackward", [half(T([...pooled.shape])), idx], {
      attrs: pa,
      grad: false,
    });
    await conf("avgPool2dBackward f16", "avgPool2dBackward", [half(T([...pooled.shape]))], {
      attrs: pa,
      grad: false,
    });
    await conf("adaptiveAvgPool2dBackward f16", "adaptiveAvgPool2dBackward", [
      half(T([2, 3, 2, 3])),
    ], {
      attrs: { outputSize: [2, 3], shape: [2, 3, 5, 4] },
      grad: false,
    });
    for (const size of [[2, 3], [3, 2], [7, 6]] as [number, number][]) {
      await both(
        `adaptiveAvgPool2d ${size}`,
        (a) => F.adaptiveAvgPool2d(a, size),
        [
          T([2, 3, 5, 4]),
        ],
        { kernels: ["adaptiveAvgPool2d", "adaptiveAvgPool2dBackward"] },
        {
          kernels: ["adaptiveAvgPool2d"],
        },
      );
    }
  },
});

Deno.test({
  name: "cuda emulated: batch norm (training and eval, stats, backward), float32 and float16",
  ...opts,
  async fn() {
    for (const training of [true, false]) {
      const fn = (x: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor) =>
        F.batchNorm(x, rm, rv, { weight: w, bias: b, training, eps: 1e-5, momentum: 0.1 });
      const inputs = [T([4, 3, 2, 5]), T([3]), T([3]), T([3]), T([3], "float32", [0.5, 2])];
      const kernels = training
        ? ["batchNormStats", "batchNorm", "batchNormBackward"]
        : ["batchNorm", "batchNormBackward"];
      await both(`batchNorm training=${training}`, fn, inputs, {
        kernels,
        atol: 1e-4,
        rtol: 1e-4,
      }, { kernels: kernels.filter((k) => k !== "batchNormBackward"), atol: 1e-2, rtol: 1e-2 });
      // float16 gradients, through the op.
      const g = half(T([4, 3, 2, 5]));
      const x = half(T([4, 3, 2, 5]));
      await conf(`batchNormBackward f16 training=${training}`, "batchNormBackward", [
        g,
        x,
        half(T([3])),
        half(T([3], "float32", [0.5, 2])),
        half(T([3])),
      ], { attrs: { training, eps: 1e-5 }, grad: false, atol: 2e-2, rtol: 2e-2 });
    }
  },
});

// ---------------------------------------------------------------- optimizers

Deno.test({
  name: "cuda emulated: fused sgd/adam/adagrad/rmsprop updates, every variant",
  ...opts,
  async fn() {
    const p = (n: number, d: DType) =>
      Array.from(
        { length: n },
        (_, i) =>
          d === "float16"
            ? half(T([3, 7], "float32", i === 3 || i === 4 ? [0, 2] : [-2, 2]))
            : T([3, 7], "float32", i === 3 || i === 4 ? [0, 2] : [-2, 2]),
      );
    for (const d of ["float32", "float16"] as DType[]) {
      const g = { grad: false, ...(d === "float16" ? { atol: 4e-3, rtol: 4e-3 } : {}) };
      for (const maximize of [false, true]) {
        const sgd = { lr: 0.1, dampening: 0.1, weightDecay: 0.01, nesterov: false, maximize };
        await conf(`sgd plain ${d}`, "sgdUpdate", p(2, d), {
          ...g,
          attrs: { ...sgd, momentum: 0, first: false },
        });
        await conf(`sgd first ${d}`, "sgdUpdate", p(2, d), {
          ...g,
          attrs: { ...sgd, momentum: 0.9, first: true },
        });
        for (const nesterov of [false, true]) {
          await conf(`sgd momentum nesterov=${nesterov} ${d}`, "sgdUpdate", p(3, d), {
            ...g,
            attrs: { ...sgd, nesterov, dampening: nesterov ? 0 : 0.1, momentum: 0.9, first: false },
          });
        }
        const adam = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maximize };
        for (const decoupled of [false, true]) {
          // v (input 3) and vmax (input 4) are non-negative, as the optimizer keeps them.
          await conf(`adam ${decoupled} ${d}`, "adamUpdate", p(4, d), {
            ...g,
            attrs: { ...adam, decoupled, amsgrad: false, step: 3 },
          });
          await conf(`adam amsgrad ${decoupled} ${d}`, "adamUpdate", p(5, d), {
            ...g,
            attrs: { ...adam, decoupled, amsgrad: true, step: 1 },
          });
        }
        // Two parameters of different shapes at once, inputs role-major (parameters, gradients,
        // then each state role); the second moment non-negative.
        const two = (roles: number) =>
          Array.from(
            { length: roles },
            (_, r) =>
              [
                T([3, 7], "float32", r >= 3 ? [0, 2] : [-2, 2]),
                T([5], "float32", r >= 3 ? [0, 2] : [-2, 2]),
              ]
                .map((t) => (d === "float16" ? half(t) : t)),
          ).flat();
        await conf(`adam foreach ${d}`, "adamUpdateForeach", two(5), {
          ...g,
          attrs: { ...adam, decoupled: false, amsgrad: true, step: 2, count: 2 },
        });
        await conf(`sgd foreach ${d}`, "sgdUpdateForeach", two(3), {
          ...g,
          attrs: { ...sgd, momentum: 0.9, first: false, count: 2 },
        });
        await conf(`adagrad foreach ${d}`, "adagradUpdateForeach", two(3), {
          ...g,
          attrs: {
            lr: 0.1,
            lrDecay: 0.01,
            weightDecay: 0.1,
            eps: 1e-10,
            maximize,
            step: 2,
            count: 2,
          },
        });
        const rm = two(4);
        rm[4] = rm[4].abs().add(2); // the square averages (role 2) stay above the centred term²
        rm[5] = rm[5].abs().add(2);
        await conf(`rmsprop foreach ${d}`, "rmspropUpdateForeach", [
          ...rm,
          ...two(5).slice(8).map((t) => t.mul(0.5)), // the gradient averages: |ga| ≤ 1 < √2
        ], {
          ...g,
          attrs: {
            lr: 0.01,
            alpha: 0.9,
            eps: 1e-8,
            weightDecay: 0.1,
            momentum: 0.9,
            centered: true,
            maximize,
            count: 2,
          },
        });
        await conf(`adagrad ${d}`, "adagradUpdate", [...p(2, d), p(1, d)[0].abs()], {
          ...g,
          attrs: { lr: 0.1, lrDecay: 0.01, weightDecay: 0.1, eps: 1e-10, maximize, step: 2 },
        });
        for (const momentum of [0, 0.9]) {
          for (const centered of [false, true]) {
            const n = 3 + (momentum > 0 ? 1 : 0) + (centered ? 1 : 0);
            const ins = p(n, d);
            ins[2] = ins[2].abs().add(2); // the square average stays above the centred term²
            await conf(`rmsprop m=${momentum} centered=${centered} ${d}`, "rmspropUpdate", ins, {
              ...g,
              attrs: {
                lr: 0.01,
                alpha: 0.99,
                eps: 1e-8,
                weightDecay: 0.01,
                momentum,
                centered,
                maximize,
              },
            });
          }
        }
      }
    }
  },
});

// ---------------------------------------------------------------- matmul and convolutions

Deno.test({
  name: "cuda emulated: matmul (broadcast batches, transposed views, vectors) through sgemm",
  ...opts,
  async fn() {
    await both("matmul batched", (a, b) => a.matmul(b), [T([2, 1, 3, 4]), T([3, 4, 5])], {
      atol: 1e-5,
      rtol: 1e-4,
    });
    await both("matmul transposed", (a, b) => a.transpose(0, 1).matmul(b.transpose(0, 1)), [
      T([4, 3]),
      T([5, 4]),
    ], { atol: 1e-5, rtol: 1e-4 });
    await both("matmul vector", (a, b) => a.matmul(b), [T([3, 4]), T([4])]);
    await conf("matmul empty k", (a, b) => a.matmul(b), [T([3, 0]), T([0, 2])]);
    await conf(
      "matmul NaN",
      (a, b) => a.matmul(b),
      [V([1, 2], [NaN, 1]), V([2, 2], [1, 2, 3, 4])],
      {
        grad: false,
      },
    );
  },
});

const CONVS: {
  x: number[];
  w: number[];
  stride: number | [number, number];
  padding: number | [number, number];
  dilation: number | [number, number];
  groups: number;
}[] = [
  { x: [2, 3, 7, 6], w: [4, 3, 3, 2], stride: 1, padding: 0, dilation: 1, groups: 1 },
  {
    x: [2, 4, 9, 8],
    w: [6, 2, 3, 3],
    stride: [2, 3],
    padding: [1, 2],
    dilation: [2, 1],
    groups: 2,
  },
  { x: [1, 6, 5, 5], w: [6, 1, 3, 3], stride: 1, padding: 1, dilation: 1, groups: 6 },
];

Deno.test({
  name: "cuda emulated: conv2d and both backward ops on the im2col path, float32 and float16",
  ...opts,
  async fn() {
    for (const c of CONVS) {
      const o = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
      for (const bias of [false, true]) {
        const ins = [T(c.x), T(c.w), ...(bias ? [T([c.w[0]])] : [])];
        await both(
          `conv2d ${c.x}*${c.w} bias=${bias}`,
          (x, w, b) => F.conv2d(x, w, b ?? null, o),
          ins,
          {
            kernels: ["conv2d", "conv2dBackwardInput", "conv2dBackwardWeight"],
            atol: 1e-4,
            rtol: 1e-4,
          },
          { kernels: ["conv2d"], atol: 1e-2, rtol: 1e-2 },
        );
      }
      // float16 backward ops directly.
      const y = F.conv2d(T(c.x), T(c.w), null, o);
      const pair = (v: number | number[]) => (typeof v === "number" ? [v, v] : v);
      const attrs = {
        stride: pair(c.stride),
        padding: pair(c.padding),
        dilation: pair(c.dilation),
        groups: c.groups,
      };
      await conf(`conv2dBackwardInput f16 ${c.x}`, "conv2dBackwardInput", [
        half(T([...y.shape])),
        half(T(c.w)),
      ], { attrs: { ...attrs, shape: c.x }, grad: false, atol: 1e-2, rtol: 1e-2 });
      await conf(`conv2dBackwardWeight f16 ${c.x}`, "conv2dBackwardWeight", [
        half(T([...y.shape])),
        half(T(c.x)),
      ], { attrs: { ...attrs, shape: c.w }, grad: false, atol: 2e-2, rtol: 1e-2 });
    }
  },
});

// ---------------------------------------------------------------- attention, norms, rnn

Deno.test({
  name: "cuda emulated: scaledDotProductAttention and its backward, every mask kind, causal",
  ...opts,
  async fn() {
    const sdpa = getOp("scaledDotProductAttention")!;
    for (const mask of ["none", "bool", "float"] as const) {
      for (const causal of [false, true]) {
        const ins = [T([2, 3, 5, 8]), T([3, 7, 8]), T([3, 7, 6])];
        if (mask === "bool") {
          // Every row keeps key 0, so no row is fully masked.
          ins.push(
            V(
              [5, 7],
              Array.from({ length: 35 }, (_, i) => (i % 7 === 0 || rnd() > -0.4 ? 1 : 0)),
              "bool",
            ),
          );
        }
        if (mask === "float") {
          ins.push(
            V(
              [2, 1, 5, 7],
              Array.from(
                { length: 70 },
                (_, i) => (i % 7 !== 0 && rnd() > 0.6 ? -Infinity : rnd()),
              ),
            ),
          );
        }
        const attrs = { scale: 0.4, causal };
        const label = `sdpa mask=${mask} causal=${causal}`;
        const ks = ["scaledDotProductAttention", "scaledDotProductAttentionBackward"];
        await both(label, (...x) => apply(sdpa, x, attrs)[0], ins, {
          kernels: ks,
          atol: 1e-5,
          rtol: 1e-4,
        }, { kernels: ks.slice(0, 1), atol: 4e-3, rtol: 4e-3 });
        // The log-sum-exp's gradient too.
        await conf(
          `${label} lse grad`,
          (...x) => {
            const [o, lse] = apply(sdpa, x, attrs);
            return o.add(lse.unsqueeze(-1).mul(0.5));
          },
          ins,
          { kernels: ks, atol: 1e-5, rtol: 1e-4 },
        );
        // float16 backward through the op, from the cpu forward's outputs.
        // float32 and float16 backward through the op, from the cpu forward's outputs.
        for (const h of [ins, ins.map(half)]) {
          const [out, lse] = apply(sdpa, h, attrs);
          const ht = h[0].dtype === "float16" ? half : (t: Tensor) => t;
          const tol = h[0].dtype === "float16"
            ? { atol: 2e-2, rtol: 2e-2 }
            : { atol: 1e-5, rtol: 1e-4 };
          for (const lseGrad of [false, true]) {
            for (const maskGrad of mask === "float" ? [false, true] : [false]) {
              const bins = [...h, out, lse, ht(T([...out.shape]))];
              if (lseGrad) bins.push(T([...lse.shape]));
              await conf(
                `${label} ${h[0].dtype} bwd lse=${lseGrad} mask=${maskGrad}`,
                "scaledDotProductAttentionBackward",
                bins,
                {
                  attrs: { ...attrs, mask: mask !== "none", maskGrad, lseGrad },
                  grad: false,
                  ...tol,
                },
              );
            }
          }
        }
      }
    }
    // Long rows: several chunks of keys per query block.
    const long = [T([1, 70, 20]), T([1, 260, 20]), T([1, 260, 40])];
    await conf("sdpa long", (...x) => apply(sdpa, x, { scale: 0.2, causal: true })[0], long, {
      kernels: ["scaledDotProductAttention", "scaledDotProductAttentionBackward"],
      atol: 1e-5,
      rtol: 1e-4,
    });
    // No keys (S = 0) and a NaN query.
    await conf("sdpa S=0", (...x) => apply(sdpa, x, { scale: 1, causal: false })[0], [
      T([3, 4]),
      T([0, 4]),
      T([0, 2]),
    ], { grad: false });
    await conf("sdpa NaN", (...x) => apply(sdpa, x, { scale: 1, causal: false })[0], [
      V([3, 2], [NaN, 1, 0, 1, 1, 0]),
      T([4, 2]),
      T([4, 3]),
    ], { grad: false });
  },
});

Deno.test({
  name: "cuda emulated: layer norm and group norm (normRows), with and without weight and bias",
  ...opts,
  async fn() {
    for (const weight of [false, true]) {
      for (const bias of [false, true]) {
        const ln = (x: Tensor, ...p: Tensor[]) =>
          F.layerNorm(x, [300], {
            weight: weight ? p[0] : undefined,
            bias: bias ? p[weight ? 1 : 0] : undefined,
          });
        const ps = [...(weight ? [T([300])] : []), ...(bias ? [T([300])] : [])];
        const ks = ["normRows", "normRowsBackward"];
        await both(`layerNorm w=${weight} b=${bias}`, ln, [T([6, 300]), ...ps], {
          kernels: ks,
          atol: 1e-4,
          rtol: 1e-4,
        }, { kernels: ks.slice(0, 1), atol: 1e-2, rtol: 1e-2 });
        const gn = (x: Tensor, ...p: Tensor[]) =>
          F.groupNorm(x, 3, {
            weight: weight ? p[0] : undefined,
            bias: bias ? p[weight ? 1 : 0] : undefined,
          });
        const gps = [...(weight ? [T([6])] : []), ...(bias ? [T([6])] : [])];
        await both(`groupNorm w=${weight} b=${bias}`, gn, [T([2, 6, 5]), ...gps], {
          kernels: ks,
          atol: 1e-4,
          rtol: 1e-4,
        }, { kernels: ks.slice(0, 1), atol: 1e-2, rtol: 1e-2 });
        // float16 backward through the op.
        const a = { rowSize: 10, groups: 3, inner: 5, eps: 1e-5, weight, bias };
        const x = half(T([2, 6, 5]));
        const [, mean, rstd] = apply(getOp("normRows")!, [x, ...gps.map(half)], a);
        await conf(`normRowsBackward f16 w=${weight} b=${bias}`, "normRowsBackward", [
          half(T([2, 6, 5])),
          x,
          mean,
          rstd,
          ...(weight ? [half(gps[0])] : []),
        ], { attrs: a, grad: false, atol: 2e-2, rtol: 2e-2 });
      }
    }
  },
});

Deno.test({
  name: "cuda emulated: lstmCell and gruCell and their backward ops (dh, dc, both)",
  ...opts,
  async fn() {
    const lstm = getOp("lstmCell")!;
    const gates = () => T([3, 2, 20], "float32", [-4, 4]);
    const ks = ["lstmCell", "lstmCellBackward"];
    const tol = { kernels: ks, atol: 1e-5, rtol: 1e-4 };
    const t16 = { kernels: ks.slice(0, 1), atol: 4e-3, rtol: 4e-3 };
    await both(
      "lstmCell dh",
      (g, c) => apply(lstm, [g, c], {})[0],
      [gates(), T([3, 2, 5])],
      tol,
      t16,
    );
    await both(
      "lstmCell dc",
      (g, c) => apply(lstm, [g, c], {})[1],
      [gates(), T([3, 2, 5])],
      tol,
      t16,
    );
    await both(
      "lstmCell both",
      (g, c) => {
        const [h, c1] = apply(lstm, [g, c], {});
        return h.mul(c1);
      },
      [gates(), T([3, 2, 5])],
      tol,
      t16,
    );
    // float16 backward ops directly, from the cpu forward.
    const g = half(gates()), c = half(T([3, 2, 5]));
    const [, c1, ws] = apply(lstm, [g, c], {});
    for (const [dh, dc] of [[true, false], [false, true], [true, true]]) {
      const ins = [ws, c, c1];
      if (dh) ins.push(half(T([3, 2, 5])));
      if (dc) ins.push(half(T([3, 2, 5])));
      await conf(`lstmCellBackward f16 dh=${dh} dc=${dc}`, "lstmCellBackward", ins, {
        attrs: { dh, dc },
        grad: false,
        atol: 4e-3,
        rtol: 4e-3,
      });
    }
    const gk = ["gruCell", "gruCellBackward"];
    await both("gruCell", "gruCell", [T([4, 9]), T([4, 9]), T([4, 3])], {
      kernels: gk,
      atol: 1e-5,
      rtol: 1e-4,
    }, { kernels: gk.slice(0, 1) });
    await conf("gruCellBackward f16", "gruCellBackward", [
      half(T([4, 9])),
      half(T([4, 9])),
      half(T([4, 3])),
      half(T([4, 3])),
    ], { grad: false, atol: 4e-3, rtol: 4e-3 });
    await conf("lstmCell empty", "lstmCell", [T([0, 8]), T([0, 2])]);
  },
});

Deno.test({
  name: "cuda emulated: adaptiveMaxPool2d (ties, NaN, upsampling) and sort (shared and global)",
  ...opts,
  async fn() {
    const ties = Array.from({ length: 2 * 3 * 7 * 5 }, () => Math.round(rnd() * 3));
    await both("adaptiveMaxPool2d ties", (x) => F.adaptiveMaxPool2d(x, [3, 2], true), [
      V([2, 3, 7, 5], ties),
    ], { kernels: ["adaptiveMaxPool2d"] });
    await both("adaptiveMaxPool2d", (x) => F.adaptiveMaxPool2d(x, [3, 2]), [T([2, 3, 7, 5])], {
      kernels: ["adaptiveMaxPool2d"],
    });
    const nan = Array.from({ length: 70 }, (_, i) => (i % 11 === 0 ? NaN : rnd()));
    await both("adaptiveMaxPool2d NaN", (x) => F.adaptiveMaxPool2d(x, [3, 2], true), [
      V([1, 2, 7, 5], nan),
    ], { grad: false });
    await both("adaptiveMaxPool2d up", (x) => F.adaptiveMaxPool2d(x, [5, 7], true), [
      T([1, 2, 4, 6]),
    ]);
    const sort = getOp("sort")!;
    for (const d of ["float32", "float16", "int32", "bool"] as DType[]) {
      const special = d.startsWith("float") ? [NaN, -0, 0, Infinity, -Infinity] : [];
      const mk = (n: number) =>
        Array.from(
          { length: n },
          (_, i) =>
            special.length && i % 9 === 0
              ? special[(i / 9) % special.length]
              : d === "bool"
              ? (rnd() > 0 ? 1 : 0)
              : Math.round(rnd() * 4),
        );
      for (const descending of [false, true]) {
        for (
          const [shape, dim] of [[[3, 7, 4], 1], [[2, 1000], 1], [[2, 3000], 1], [
            [3, 0],
            1,
          ]] as const
        ) {
          const n = shape.reduce((a, b) => a * b, 1);
          await conf(
            `sort ${d} ${shape} desc=${descending}`,
            (x) => apply(sort, [x], { dim, descending }),
            [
              V([...shape], mk(n), d),
            ],
            { grad: false, kernels: n ? ["sort"] : [] },
          );
        }
      }
    }
    // Gradients through sort and topk.
    await conf(
      "sort grad",
      (x) => apply(sort, [x], { dim: 1, descending: false })[0],
      [T([3, 9])],
      {
        kernels: ["sort"],
      },
    );
    await conf("topk", (x) => x.topk(3, 1).values, [T([4, 10])], { kernels: ["sort"] });
  },
});

Deno.test({
  name: "cuda emulated: the im2col engine in several image chunks (a small column limit)",
  ...opts,
  fn() {
    const cuda = ctx!;
    const up = (t: Tensor) => {
      const b = cuda.alloc(t.numel(), t.dtype);
      cuda.write(b, t.dataSync());
      return b;
    };
    const down = (b: ReturnType<typeof up>) => Array.from(cuda.read(b, b.elements) as Float32Array);
    for (const dtype of ["float32", "float16"] as DType[]) {
      for (const c of CONVS) {
        const pair = (v: number | [number, number]): [number, number] =>
          typeof v === "number" ? [v, v] : v;
        const attrs = {
          stride: pair(c.stride),
          padding: pair(c.padding),
          dilation: pair(c.dilation),
          groups: c.groups,
        };
        const cast = (t: Tensor) => (dtype === "float16" ? half(t) : t);
        const x = cast(T([5, ...c.x.slice(1)])), w = cast(T(c.w)), bias = cast(T([c.w[0]]));
        const y = F.conv2d(x, w, bias, attrs);
        const gy = cast(T([...y.shape]));
        const dx = apply(getOp("conv2dBackwardInput")!, [gy, w], { ...attrs, shape: x.shape })[0];
        const dw = apply(getOp("conv2dBackwardWeight")!, [gy, x], { ...attrs, shape: w.shape })[0];
        const problem = convProblem(x.shape, w.shape, y.shape, attrs, dtype);
        // Two images per chunk: chunks of 2, 2 and 1.
        const limit = 2 * problem.geo.g * problem.geo.k * problem.geo.p;
        assert.equal(chunkImages(problem.geo, limit), 2);
        const engine = new Im2colConvEngine(cuda, { columnLimit: limit });
        const yb = cuda.alloc(y.numel(), dtype), dxb = cuda.alloc(x.numel(), dtype);
        const dwb = cuda.alloc(w.numel(), dtype);
        engine.forward(problem, up(x), up(w), up(bias), yb);
        engine.backwardData(problem, up(gy), up(w), dxb);
        engine.backwardFilter(problem, up(x), up(gy), dwb);
        const tol = dtype === "float16" ? { atol: 2e-2, rtol: 1e-2 } : { atol: 1e-4, rtol: 1e-4 };
        const label = `${dtype} ${c.w} in chunks`;
        assertClose(down(yb), Array.from(y.dataSync(), Number), { ...tol, message: `${label} y` });
        assertClose(down(dxb), Array.from(dx.dataSync(), Number), {
          ...tol,
          message: `${label} dx`,
        });
        assertClose(down(dwb), Array.from(dw.dataSync(), Number), {
          ...tol,
          message: `${label} dw`,
        });
      }
    }
  },
});

// ---------------------------------------------------------------- a training step, coverage

Deno.test({
  name: "cuda emulated: one SGD step of LeNet-5 matches cpu (loss, gradients, parameters)",
  ...opts,
  fn() {
    const x = T([4, 1, 28, 28], "float32", [0, 1]);
    const y = V([4], [3, 7, 0, 9], "int32");
    const step = (device: string) => {
      manualSeed(5);
      const model = lenet5();
      model.to(device);
      const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
      const run = () => {
        const loss = F.crossEntropy(model.forward(x.to(device)), y.to(device));
        opt.zeroGrad();
        loss.backward();
        const grads = model.parameters().map((p) => Array.from(p.grad!.dataSync()));
        opt.step();
        return { loss: loss.itemSync(), grads };
      };
      const ex = explain(() => {
        if (device === "cpu") return run();
        setStrict(true);
        try {
          return run();
        } finally {
          setStrict(false);
        }
      });
      const params = model.parameters().map((p) => Array.from(p.dataSync()));
      return { ...ex.result, params, trace: ex.trace };
    };
    const want = step("cpu");
    const got = step(EMU);
    const onEmu = got.trace.filter((e) => e.backend === EMU && e.via !== "view").map((e) => e.op);
    for (const op of onEmu) ran.add(op);
    for (
      const op of ["conv2d", "conv2dBackwardInput", "conv2dBackwardWeight", "sgdUpdateForeach"]
    ) {
      assert(onEmu.includes(op), `${op} ran on cudaemu (ran: ${[...new Set(onEmu)]})`);
    }
    const stray = got.trace.filter((e) =>
      e.backend !== EMU && e.via !== "view" && e.backend !== "cpu"
    );
    assert.deepEqual(stray, [], "nothing ran as a decomposition");
    assert(Math.abs(got.loss - want.loss) < 1e-5, `loss ${got.loss} vs cpu ${want.loss}`);
    const close = (a: number[], b: number[], what: string) => {
      assert.equal(a.length, b.length, what);
      let worst = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-5 + 1e-4 * Math.abs(b[i])));
      }
      assert(worst <= 1, `${what}: worst difference ${worst.toFixed(2)}× the tolerance`);
    };
    got.grads.forEach((g, i) => close(g, want.grads[i], `gradient of parameter ${i}`));
    got.params.forEach((p, i) => close(p, want.params[i], `parameter ${i} after the step`));
  },
});

Deno.test({
  name: "cuda emulated: fused crossEntropy, every reduction, weight, ignoreIndex, index errors",
  ...opts,
  async fn() {
    // Rows 2 and 5 are ignored (-100); 30 classes so the row kernel's threads stride.
    const target = V([7], [3, 0, -100, 29, 7, -100, 12], "int32");
    const w0 = T([30], "float32", [0.2, 2]);
    for (const reduction of ["mean", "sum", "none"] as const) {
      for (const weight of [false, true]) {
        const fn = (x: Tensor, t: Tensor) =>
          F.crossEntropy(x, t, { reduction, weight: weight ? w0.to(x.device) : undefined });
        await both(`crossEntropy ${reduction} weight=${weight}`, fn, [T([7, 30]), target], {
          kernels: ["crossEntropy", "crossEntropyBackward"],
        }, { kernels: ["crossEntropy"] });
      }
    }
    // float16 backward through the op.
    const x16 = half(T([7, 30]));
    for (const reduction of ["mean", "sum", "none"] as const) {
      for (const weight of [false, true]) {
        const a = { reduction, ignoreIndex: -100, weight };
        const ws = weight ? [w0] : [];
        const [, lse, total] = apply(getOp("crossEntropy")!, [x16, target, ...ws], a);
        const g = half(reduction === "none" ? T([7]) : T([], "float32", [1.5]));
        await conf(
          `crossEntropyBackward f16 ${reduction} weight=${weight}`,
          "crossEntropyBackward",
          [g, x16, target, lse, total, ...ws],
          { attrs: a, grad: false },
        );
      }
    }
    // Every target ignored: a mean over nothing is NaN, as on cpu.
    await conf("crossEntropy all ignored", (x: Tensor, t: Tensor) => F.crossEntropy(x, t), [
      T([2, 4]),
      V([2], [-100, -100], "int32"),
    ], { kernels: ["crossEntropy"] });
    // A target outside [0, C): the next readback raises the cpu backend's IndexError.
    const bad = V([2], [1, 30], "int32");
    const cpuErr = (() => {
      try {
        F.crossEntropy(T([2, 30]), bad).dataSync();
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    assert(cpuErr instanceof IndexError, "cpu raises IndexError");
    const loss = F.crossEntropy(T([2, 30]).to(EMU), bad.to(EMU));
    assert.throws(() => loss.dataSync(), (e: unknown) => {
      assert(e instanceof IndexError, String(e));
      assert.equal(e.message, cpuErr.message);
      return true;
    });
  },
});

Deno.test({
  name: "cuda emulated: every table op ran as a cudaemu kernel, every source was launched",
  ...opts,
  fn() {
    const ops = Object.keys(cudaKernels()).filter((op) => !ran.has(op));
    assert.deepEqual(ops, [], "table ops never checked on cudaemu");
    const names = allKernelSources().map((s) => s.name).filter((n) => !ctx!.launched.has(n));
    assert.deepEqual(names, [], "kernel sources never launched");
    assert(ctx!.gemms > 0, "sgemm ran");
    console.log(
      `${ran.size} ops, ${ctx!.launched.size} kernels, ${
        [...ctx!.launched.values()].reduce((a, b) => a + b, 0)
      } launches, ${ctx!.gemms} sgemm calls emulated`,
    );
  },
});
