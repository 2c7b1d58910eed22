/**
 * Checks forward values and every input gradient of the core ops against PyTorch goldens written by
 * tools/gen_core_fixtures.py (tests/fixtures/core.json), through the public API.
 *
 * Tolerance: |actual − expected| <= 1e-6 + 1e-5·|expected|. The goldens are float64 results over
 * the same float32 inputs, so the slack covers float32 rounding only. Exceptions, with reasons, are
 * in TOLERANCE below.
 */

import assert from "node:assert/strict";
import { cat, F, fromData, pad, stack, UNARY_OPS, where } from "../../mod.ts";
import type { DType, SliceSpec, Tensor, TypedArray, UnaryOpName } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";

interface InputRec {
  shape: number[];
  dtype: DType;
  data: number[];
  grad: boolean;
}

interface Case {
  name: string;
  op: string;
  // deno-lint-ignore no-explicit-any
  attrs: any;
  inputs: InputRec[];
  out: { shape: number[]; dtype: DType; data: number[] };
  extra?: Record<string, number[]>;
  gy?: number[];
  grads?: (number[] | null)[];
}

const fixtures: { cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/core.json", import.meta.url)),
);

// Per-case tolerances that differ from the default, keyed by case name, each with its reason.
// None is needed today: "sum large" (4096 terms) and "exp extreme" (exp(80)) pass at the default
// because the cpu kernels accumulate and evaluate in float64 (JS numbers) and round once to
// float32. A backend that accumulates in float32 would need about { atol: 1e-3, rtol: 1e-4 } for
// "sum large" (rounding error grows with the number of terms).
const TOLERANCE: Record<string, { atol: number; rtol: number }> = {};
const DEFAULT = { atol: 1e-6, rtol: 1e-5 };

type OpFn = (x: Tensor[], a: Case["attrs"]) => Tensor;

const binary = (op: "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum"): OpFn =>
(
  [a, b],
) => a[op](b);
const unary = (op: UnaryOpName): OpFn => ([x]) => x[op]();
const compare =
  (op: "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "logicalAnd" | "logicalOr"): OpFn => ([a, b]) =>
    a[op](b);
const reduce = (op: "sum" | "mean" | "amax" | "amin"): OpFn => ([x], a) =>
  x[op](a.dims ?? undefined, { keepdim: a.keepdim });
const argReduce = (op: "argmax" | "argmin"): OpFn => ([x], a) =>
  x[op](a.dim ?? undefined, { keepdim: a.keepdim });
const pair = (v: number | number[]): number | [number, number] =>
  Array.isArray(v) ? [v[0], v[1]] : v;

const OPS: Record<string, OpFn> = {
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  pow: binary("pow"),
  maximum: binary("maximum"),
  minimum: binary("minimum"),
  powScalar: ([x], a) => x.pow(a.exponent),
  where: ([c, a, b]) => where(c, a, b),
  ...Object.fromEntries(UNARY_OPS.map((k) => [k, unary(k)])),
  ...Object.fromEntries(
    (["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"] as const).map(
      (k) => [k, compare(k)],
    ),
  ),
  gelu: ([x], a) => F.gelu(x, a.approximate),
  silu: ([x]) => F.silu(x),
  leakyRelu: ([x], a) => F.leakyRelu(x, a.slope),
  clamp: ([x], a) => x.clamp(a.min, a.max),
  cast: ([x], a) => x.cast(a.dtype),
  sum: reduce("sum"),
  mean: reduce("mean"),
  // The fixtures use torch.amax/amin (ties share the gradient), denn's amax/amin.
  max: reduce("amax"),
  min: reduce("amin"),
  argmax: argReduce("argmax"),
  argmin: argReduce("argmin"),
  var: ([x], a) => x.var(a.dims ?? undefined, { correction: a.correction, keepdim: a.keepdim }),
  std: ([x], a) => x.std(a.dims ?? undefined, { correction: a.correction, keepdim: a.keepdim }),
  logsumexp: ([x], a) => x.logsumexp(a.dims, { keepdim: a.keepdim }),
  matmul: ([a, b]) => a.matmul(b),
  reshape: ([x], a) => x.reshape(a.shape),
  permute: ([x], a) => x.permute(a.dims),
  transpose: ([x], a) => x.transpose(a.dims[0], a.dims[1]),
  expand: ([x], a) => x.expand(a.shape),
  slice: ([x], a) => {
    // A number spec is Python's x[..., i, ...]: a range of one, then that dim dropped (select).
    const specs = a.specs as (SliceSpec | number | null)[];
    let y = x.slice(...specs.map((s) => typeof s === "number" ? null : s));
    for (let d = specs.length - 1; d >= 0; d--) {
      const s = specs[d];
      if (typeof s === "number") y = y.select(d, s);
    }
    return y;
  },
  cat: (xs, a) => cat(xs, a.dim),
  stack: (xs, a) => stack(xs, a.dim),
  squeeze: ([x], a) => x.squeeze(a.dim ?? undefined),
  unsqueeze: ([x], a) => x.unsqueeze(a.dim),
  flatten: ([x], a) => x.flatten(a.start, a.end),
  pad: ([x], a) => pad(x, a.padding, a.value),
  gather: ([x, i], a) => x.gather(a.dim, i),
  clone: ([x]) => x.clone(),
  softmax: ([x], a) => x.softmax(a.dim),
  logSoftmax: ([x], a) => x.logSoftmax(a.dim),
  conv2d: ([x, w, b], a) => F.conv2d(x, w, b ?? null, a),
  maxPool2d: ([x], a) =>
    F.maxPool2d(x, pair(a.kernelSize), {
      stride: a.stride === undefined ? null : pair(a.stride),
      padding: pair(a.padding ?? 0),
      dilation: pair(a.dilation ?? 1),
      ceilMode: a.ceil_mode ?? false,
    }),
  avgPool2d: ([x], a) =>
    F.avgPool2d(x, pair(a.kernelSize), {
      stride: a.stride === undefined ? null : pair(a.stride),
      padding: pair(a.padding ?? 0),
      ceilMode: a.ceil_mode ?? false,
      countIncludePad: a.count_include_pad ?? true,
      divisorOverride: a.divisor_override ?? null,
    }),
  adaptiveAvgPool2d: ([x], a) => F.adaptiveAvgPool2d(x, a.outputSize),
  linear: ([x, w, b]) => F.linear(x, w, b),
  batchNorm: ([x, rm, rv, w, b], a) =>
    F.batchNorm(x, rm, rv, {
      weight: w,
      bias: b,
      training: a.training,
      momentum: a.momentum,
      eps: a.eps,
    }),
  localResponseNorm: ([x], a) => F.localResponseNorm(x, a.size, a.alpha, a.beta, a.k),
  dropout: ([x], a) => F.dropout(x, a.p, true),
};

function build(r: InputRec): Tensor {
  let data: TypedArray;
  if (r.dtype === "float32") data = Float32Array.from(r.data);
  else if (r.dtype === "int32") data = Int32Array.from(r.data);
  else data = Uint8Array.from(r.data);
  return fromData(data, r.shape, { dtype: r.dtype, requiresGrad: r.grad });
}

Deno.test("golden: every fixture op has a mapping", () => {
  const missing = [...new Set(fixtures.cases.map((c) => c.op))].filter((op) => !OPS[op]);
  assert.deepEqual(missing, []);
});

for (const c of fixtures.cases) {
  Deno.test(`golden: ${c.name}`, () => {
    const tol = TOLERANCE[c.name] ?? DEFAULT;
    const inputs = c.inputs.map(build);
    const out = OPS[c.op](inputs, c.attrs);
    assert.deepEqual([...out.shape], c.out.shape, `${c.name}: output shape`);
    assert.equal(out.dtype, c.out.dtype, `${c.name}: output dtype`);
    assertClose(out, c.out.data, { ...tol, message: `${c.name}: forward` });
    for (const [k, v] of Object.entries(c.extra ?? {})) {
      const t = k === "runningMean" ? inputs[1] : inputs[2];
      assertClose(t, v, { ...tol, message: `${c.name}: ${k}` });
    }
    if (!c.gy) {
      assert.ok(!out.requiresGrad || !c.inputs.some((i) => i.grad), `${c.name}: requiresGrad`);
      return;
    }
    out.backward(fromData(Float32Array.from(c.gy), c.out.shape));
    c.grads!.forEach((g, i) => {
      if (!c.inputs[i].grad) return;
      const got = inputs[i].grad;
      if (g === null) {
        // PyTorch leaves the gradient of an unused input undefined; zeros are equivalent.
        if (got) {
          assertClose(got, new Array(got.numel()).fill(0), { message: `${c.name}: grad ${i}` });
        }
        return;
      }
      assert.ok(got, `${c.name}: input ${i} received no gradient`);
      assert.deepEqual([...got.shape], c.inputs[i].shape, `${c.name}: grad ${i} shape`);
      assertClose(got, g, { ...tol, message: `${c.name}: gradient of input ${i}` });
    });
  });
}
