/**
 * The fused row normalisation (`normRows`, `normRowsBackward`, layers/ops/layer_norm.ts) behind
 * F.layerNorm and F.groupNorm, on the cpu: finite differences through F.layerNorm (normalised
 * shapes of rank 1 to 3; no affine, weight only, bias only, both) and F.groupNorm (groups 1, 2 and
 * C; 2-D to 4-D input; with and without affine), gradients sent to the saved statistics, second
 * derivatives (the backward's decomposition under createGraph), the cpu kernels against the ops'
 * decompositions on a host backend without the kernels (outputs and every gradient), explain()
 * showing one fused op each way, float16, a large mean, mixed-dtype parameters (applied after the
 * op, as before) and the named errors of bad direct calls.
 *
 * Tolerance of kernel against decomposition: 2e-5 absolute and relative (both float32; the kernel
 * accumulates in double, the decomposition rounds after every op).
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  apply,
  autograd,
  DTypeError,
  explain,
  Generator,
  ShapeError,
  type Tensor,
  tensor,
  ValueError,
  zeros,
} from "../../core/mod.ts";
import * as F from "../../layers/functional.ts";
import { GroupNorm, LayerNorm } from "../../layers/norm.ts";
import { normRows, normRowsBackwardOp } from "../../layers/ops/layer_norm.ts";
import type { NormRowsAttrs } from "../../layers/ops/layer_norm.ts";
import { assertThrowsNamed, gradcheck } from "../../testing/mod.ts";
import { firstDerivative } from "../core/_second_order.ts";
import { randTensor } from "../core/_random.ts";
import { assertClose, values } from "./_helpers.ts";
import { registerCpuWithout } from "./_decomposed.ts";

const FUSED = ["normRows", "normRowsBackward"];

// A host backend with every cpu kernel but the fused ones: the ops run as their decompositions.
registerCpuWithout("norm-nofuse", FUSED);

// normRows attributes: one 4-element row block, eps 1e-5, no affine, but for `o`.
const attrs = (o: Partial<NormRowsAttrs>): NormRowsAttrs => ({
  rowSize: 4,
  groups: 1,
  inner: 1,
  eps: 1e-5,
  weight: false,
  bias: false,
  ...o,
});

const gen = new Generator().manualSeed(5);
const r = (shape: number[], scale = 1, shift = 0): Tensor =>
  randTensor(gen, shape).mul(scale).add(shift);

type Affine = "none" | "weight" | "bias" | "both";
const AFFINES: Affine[] = ["none", "weight", "bias", "both"];

// F.layerNorm over `shape`'s trailing `rank` dims with the affine parameters `aff` names.
function layerCase(
  shape: number[],
  rank: number,
  aff: Affine,
): [(...t: Tensor[]) => Tensor, Tensor[]] {
  const ns = shape.slice(shape.length - rank);
  const inputs = [r(shape, 1.5, 0.3)];
  if (aff === "weight" || aff === "both") inputs.push(r(ns, 0.5, 1));
  if (aff === "bias" || aff === "both") inputs.push(r(ns));
  const fn = (x: Tensor, ...p: Tensor[]) =>
    F.layerNorm(x, ns, {
      weight: aff === "weight" || aff === "both" ? p[0] : null,
      bias: aff === "bias" ? p[0] : aff === "both" ? p[1] : null,
    });
  return [fn, inputs];
}

function groupCase(
  shape: number[],
  groups: number,
  affine: boolean,
): [(...t: Tensor[]) => Tensor, Tensor[]] {
  const c = shape[1];
  const inputs = affine ? [r(shape, 1.5, -0.2), r([c], 0.5, 1), r([c])] : [r(shape, 1.5, -0.2)];
  const fn = (x: Tensor, w?: Tensor, b?: Tensor) =>
    F.groupNorm(x, groups, { weight: w ?? null, bias: b ?? null });
  return [fn, inputs];
}

const LAYER_CASES: [number[], number][] = [[[3, 5], 1], [[2, 3, 4], 2], [[2, 2, 3, 2], 3], [
  [7],
  1,
]];
const GROUP_CASES: [number[], number][] = [
  [[2, 4, 3, 2], 1],
  [[2, 4, 3, 2], 2],
  [[2, 4, 3, 2], 4],
  [[3, 6], 2],
  [[2, 6, 5], 3],
  [[1, 3, 4], 3],
];

Deno.test("F.layerNorm through the fused op passes finite differences", () => {
  for (const [shape, rank] of LAYER_CASES) {
    for (const aff of AFFINES) {
      const [fn, inputs] = layerCase(shape, rank, aff);
      gradcheck(fn, inputs);
    }
  }
});

Deno.test("F.groupNorm through the fused op passes finite differences", () => {
  for (const [shape, groups] of GROUP_CASES) {
    for (const affine of [false, true]) {
      const [fn, inputs] = groupCase(shape, groups, affine);
      gradcheck(fn, inputs);
    }
  }
});

Deno.test("normRows: gradients sent to the saved mean and rstd", () => {
  const a = attrs({ groups: 2, inner: 2, weight: true });
  gradcheck((x, w) => {
    const [y, m, rs] = normRows(x, w, null, a);
    return y.sum(1).add(m.mul(2)).add(rs.mul(0.5));
  }, [r([4, 4], 1, 0.5), r([4], 0.5, 1)]);
  // Only the statistics used: y's gradient is zeros.
  gradcheck((x) => {
    const [, m, rs] = normRows(x, null, null, { ...a, weight: false });
    return m.mul(rs);
  }, [r([2, 4])]);
});

Deno.test("layerNorm and groupNorm: second derivatives (the backward's decomposition)", () => {
  const x = () => r([2, 3, 4]).requiresGrad_();
  gradcheck(
    firstDerivative((t, w, b) => F.layerNorm(t, 4, { weight: w, bias: b })),
    [x(), r([4], 0.5, 1).requiresGrad_(), r([4]).requiresGrad_()],
  );
  gradcheck(firstDerivative((t) => F.layerNorm(t, [3, 4])), [x()]);
  gradcheck(
    firstDerivative((t, w, b) => F.groupNorm(t, 3, { weight: w, bias: b })),
    [r([2, 6, 2]).requiresGrad_(), r([6], 0.5, 1).requiresGrad_(), r([6]).requiresGrad_()],
  );
  // The first derivative recorded with createGraph (the decomposition) is the kernel's.
  const first = (f: (...t: Tensor[]) => Tensor, inputs: Tensor[], createGraph: boolean) => {
    const leaves = inputs.map((t) => t.detach().requiresGrad_());
    return autograd.grad(f(...leaves).sin().sum(), leaves, { createGraph }).map(values);
  };
  const [lf, li] = layerCase([3, 2, 5], 2, "both");
  const [gf, gi] = groupCase([2, 4, 3], 2, true);
  for (const [f, inputs] of [[lf, li], [gf, gi]] as const) {
    const kernel = first(f, inputs, false), decomposed = first(f, inputs, true);
    kernel.forEach((g, i) => assertClose(decomposed[i], g, `gradient ${i}`, 2e-5, 2e-5));
  }
});

// Runs `fn` on `device` with copies of `inputs` and a backward of Σ sin(out); returns the output,
// the inputs' gradients and the fused ops of the trace with where they ran.
function run(device: string, fn: (...t: Tensor[]) => Tensor, inputs: readonly Tensor[]) {
  const leaves = inputs.map((t) => t.to(device).detach().requiresGrad_());
  const { result, trace } = explain(() => {
    const y = fn(...leaves);
    y.sin().sum().backward();
    return y;
  });
  return {
    out: values(result),
    grads: leaves.map((t) => values(t.grad!)),
    ops: trace.filter((e) => FUSED.includes(e.op)).map((e) => `${e.op}/${e.backend}`),
  };
}

Deno.test("normRows cpu kernels match the ops' decompositions", () => {
  const cases: [string, (...t: Tensor[]) => Tensor, Tensor[]][] = [];
  for (const [shape, rank] of [...LAYER_CASES, [[4, 300], 1], [[3, 37, 5], 2]] as const) {
    for (const aff of AFFINES) {
      cases.push([`layerNorm ${shape} ${aff}`, ...layerCase([...shape], rank, aff)]);
    }
  }
  for (const [shape, groups] of [...GROUP_CASES, [[2, 8, 9, 7], 4]] as const) {
    for (const affine of [false, true]) {
      cases.push([
        `groupNorm ${shape} /${groups} ${affine}`,
        ...groupCase([...shape], groups, affine),
      ]);
    }
  }
  for (const [label, fn, inputs] of cases) {
    const k = run("cpu", fn, inputs), d = run("norm-nofuse", fn, inputs);
    assert.deepEqual(k.ops, ["normRows/cpu", "normRowsBackward/cpu"], label);
    assert.deepEqual(d.ops, ["normRows/decomposition", "normRowsBackward/decomposition"], label);
    assertClose(k.out, d.out, `${label} output`, 2e-5, 2e-5);
    k.grads.forEach((g, i) => assertClose(g, d.grads[i], `${label} gradient ${i}`, 2e-5, 2e-5));
  }
});

Deno.test("explain: LayerNorm and GroupNorm run one fused op forward and one backward", () => {
  const x = r([2, 4, 3]).requiresGrad_();
  for (
    const [label, layer] of [
      ["LayerNorm", new LayerNorm([4, 3])],
      ["GroupNorm", new GroupNorm(2, 4)],
    ] as const
  ) {
    const fwd = explain(() => layer.forward(x));
    assert.deepEqual(
      fwd.trace.map((e) => `${e.op}/${e.backend}/${e.via}`),
      ["normRows/cpu/device"],
      label,
    );
    const bwd = explain(() => fwd.result.sum().backward());
    const ops = bwd.trace.map((e) => e.op);
    assert.ok(ops.includes("normRowsBackward"), `${label}: ${ops.join(", ")}`);
    assert.ok(!ops.some((o) => o.startsWith("batchNorm")), `${label}: ${ops.join(", ")}`);
    assert.ok(bwd.trace.every((e) => e.backend === "cpu"), label);
    // The fused backward gave the parameters' gradients directly (no mul/sum of them).
    assert.deepEqual(layer.weight!.grad!.shape, [...layer.weight!.shape], label);
    assert.ok(!ops.includes("mul"), `${label}: ${ops.join(", ")}`);
    x.grad = null;
  }
});

Deno.test("normRows keeps a large mean's variance (two passes, double accumulation)", () => {
  const base = [0.5, -1.25, 2, 0.75, -2, 0, 1, -1];
  const x = tensor([base.map((v) => 1e4 + v)]);
  const [y, m, rs] = normRows(x, null, null, attrs({ rowSize: 8, eps: 0 }));
  const mean = base.reduce((a, b) => a + b) / 8;
  const v = base.reduce((a, b) => a + (b - mean) ** 2, 0) / 8;
  assertClose(values(m), [1e4 + mean], "mean", 1e-3, 0);
  assertClose(values(rs), [1 / Math.sqrt(v)], "rstd", 0, 1e-4);
  assertClose(values(y), base.map((b) => (b - mean) / Math.sqrt(v)), "y", 2e-3, 0);
});

Deno.test("float16: computed in float32, statistics float32, y and gradients float16", () => {
  const xf = r([3, 8], 2, 1);
  const w = r([8], 0.5, 1), b = r([8]);
  const x16 = xf.half().requiresGrad_();
  const [w16, b16] = [w.half().requiresGrad_(), b.half().requiresGrad_()];
  const { result: y, trace } = explain(() => F.layerNorm(x16, 8, { weight: w16, bias: b16 }));
  assert.equal(y.dtype, "float16");
  assert.deepEqual(trace.map((e) => `${e.op}/${e.backend}`), ["normRows/cpu"]);
  const want = F.layerNorm(x16.detach().float(), 8, {
    weight: w16.detach().float(),
    bias: b16.detach().float(),
  });
  assertClose(values(y), values(want), "y", 4e-3, 4e-3);
  y.sum().backward();
  assert.equal(x16.grad!.dtype, "float16");
  assert.equal(w16.grad!.dtype, "float16");
  const [, m, rs] = normRows(x16.detach(), null, null, attrs({ rowSize: 8 }));
  assert.equal(m.dtype, "float32");
  assert.equal(rs.dtype, "float32");
  // GroupNorm in float16 with float32 parameters: as before, the affine is applied after the op
  // and promotes to float32.
  const gn = new GroupNorm(2, 4);
  const out = gn.forward(r([2, 4, 3]).half());
  assert.equal(out.dtype, "float32");
});

Deno.test("empty inputs and parameters on another dtype keep their previous behaviour", () => {
  const e = F.layerNorm(zeros([0, 4]), 4, { weight: r([4]) });
  assert.deepEqual(e.shape, [0, 4]);
  assert.deepEqual(F.groupNorm(zeros([0, 4, 2]), 2).shape, [0, 4, 2]);
});

Deno.test("normRows and normRowsBackward: bad direct calls are named errors", () => {
  const a = attrs({});
  const x = r([2, 4]);
  assertThrowsNamed(
    () => normRows(x, null, null, { ...a, rowSize: 3 }),
    ShapeError,
    /normRows: input \[2, 4\]/,
  );
  assertThrowsNamed(
    () => normRows(x, null, null, { ...a, groups: 3 }),
    ShapeError,
    /multiple of groups/,
  );
  assertThrowsNamed(
    () => normRows(x, null, null, { ...a, inner: 3 }),
    ShapeError,
    /inner \(3\) must/,
  );
  assertThrowsNamed(
    () => normRows(x, null, null, { ...a, rowSize: 0 }),
    ValueError,
    /positive integers/,
  );
  assertThrowsNamed(() => normRows(x, null, null, { ...a, eps: -1 }), ValueError, /eps must be/);
  assertThrowsNamed(() => normRows(x.int(), null, null, a), DTypeError, /floating-point/);
  assertThrowsNamed(() => normRows(x, r([4]), null, a), ValueError, /exactly where attrs.weight/);
  assertThrowsNamed(
    () => normRows(x, r([3]), null, { ...a, weight: true }),
    ShapeError,
    /weight and bias must be float32 \(the input's dtype\) with 4 elements, got \[3\] float32/,
  );
  assertThrowsNamed(
    () => normRows(x, r([4]).half(), null, { ...a, weight: true }),
    ShapeError,
    /got \[4\] float16/,
  );
  const [, m, rs] = normRows(x, null, null, a);
  assertThrowsNamed(
    () => apply(normRowsBackwardOp, [r([2, 3]), x, m, rs], a),
    ShapeError,
    /normRowsBackward: gradient \[2, 3\] float32 must be float32 of the input's shape \[2, 4\]/,
  );
  assertThrowsNamed(
    () => apply(normRowsBackwardOp, [x, x, m.half(), rs], a),
    ShapeError,
    /mean and rstd must be float32 with 2 elements/,
  );
  assertThrowsNamed(
    () => apply(normRowsBackwardOp, [x, x, m], a),
    ValueError,
    /expected 4 inputs \(g, x, mean, rstd, weight\?\), got 3/,
  );
});
