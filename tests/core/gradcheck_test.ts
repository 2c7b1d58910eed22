/**
 * Finite-difference checks of every gradient rule in the op catalogue, through testing/mod.ts.
 * Backward ops (sliceBackward, scatterAdd, conv2dBackwardInput/Weight, pooling backward) are called
 * through the catalogue so their own gradient rules (double backward) are checked too.
 *
 * Inputs avoid kinks by a margin larger than the step: relu/abs/sign away from 0, max/min and
 * pooling with distinct values at least 0.1 apart, floor/ceil/round away from their jumps.
 */

import assert from "node:assert/strict";
import {
  apply1,
  cat,
  F,
  fromData,
  Generator,
  getOp,
  pad,
  scatterAdd,
  stack,
  type Tensor,
  tensor,
  where,
} from "../../mod.ts";
import type { OpDef } from "../../mod.ts";
import { AssertionError, gradcheck } from "../../testing/mod.ts";
import { distinctTensor, POOL_2X2, randTensor, UNARY_CASES } from "./_random.ts";
import type { RandOpts } from "./_random.ts";

// The matmul op with transpose flags on batched operands (mm itself takes 2-D matrices).
const gemm = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor =>
  apply1(getOp("matmul")!, [a, b], { transA, transB });

const gen = new Generator(7);

const rand = (shape: number[], o: RandOpts = {}): Tensor => randTensor(gen, shape, o);
const distinct = (shape: number[]): Tensor => distinctTensor(gen, shape);

function op(name: string): OpDef<unknown> {
  const o = getOp(name);
  assert.ok(o, `op ${name} is defined`);
  return o;
}

function check(
  name: string,
  fn: (...x: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts?: { eps?: number; atol?: number; rtol?: number },
): void {
  Deno.test(`gradcheck: ${name}`, () => gradcheck(fn, inputs, opts));
}

// ------------------------------------------------------------------ elementwise

for (const [name, fn, o] of UNARY_CASES) check(name, fn, [rand([2, 3], o)]);
for (const name of ["sign", "floor", "ceil", "round"] as const) {
  check(`${name} (zero gradient)`, (x) => x[name](), [tensor([0.3, 1.4, -2.7, -0.2])]);
}
check("leakyRelu", (x) => F.leakyRelu(x, 0.1), [rand([5], { away: 0.1 })]);
check("gelu", (x) => F.gelu(x), [rand([5])]);

const BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"] as const;
for (const name of BINARY) {
  const a = name === "pow" ? rand([2, 3], { lo: 0.5, hi: 2 }) : distinct([2, 3]);
  const b = name === "div" ? rand([3], { away: 0.5 }) : rand([3], { lo: -1.5, hi: 1.5 }).add(
    name === "maximum" || name === "minimum" ? 0.05 : 0,
  );
  check(`${name} broadcast [2,3] [3]`, (x, y) => x[name](y), [a, b]);
}
check("pow scalar exponent", (x) => x.pow(3), [rand([4])]);
check("where", (a, b) => where(tensor([[true, false, true]]), a, b), [rand([2, 3]), rand([3])]);
check("cast float32 → float32 (catalogue)", (x) => apply1(op("cast"), [x], { dtype: "float32" }), [
  rand([4]),
]);
check("copy (clone)", (x) => x.clone().mul(x), [rand([3])]);

// ------------------------------------------------------------------ reductions

check("sum all", (x) => x.sum(), [rand([2, 3])]);
check("sum dims keepdim", (x) => x.sum([0, 2], { keepdim: true }), [rand([2, 3, 2])]);
check("mean dim", (x) => x.mean(1), [rand([2, 3, 2])]);
check("max dim", (x) => x.amax(1), [distinct([3, 4])]);
check("max all", (x) => x.max(), [distinct([3, 4])]);
check("min dims keepdim", (x) => x.amin([0, 2], { keepdim: true }), [distinct([2, 3, 2])]);
check("var", (x) => x.var(1), [rand([3, 4])]);
check("std correction 0", (x) => x.std(undefined, { correction: 0 }), [rand([3, 4])]);
check("logsumexp", (x) => x.logsumexp(1), [rand([3, 4])]);

// ------------------------------------------------------------------ matmul

for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
  const a = rand(ta ? [4, 3] : [3, 4]), b = rand(tb ? [2, 4] : [4, 2]);
  check(`matmul transA=${ta} transB=${tb}`, (x, y) => gemm(x, y, ta, tb), [a, b]);
}
check("matmul batched broadcast", (x, y) => x.matmul(y), [rand([2, 1, 2, 3]), rand([3, 3, 2])]);
check("matmul 1-D @ 2-D", (x, y) => x.matmul(y), [rand([3]), rand([3, 2])]);
check("matmul 3-D @ 2-D (folded)", (x, y) => x.matmul(y), [rand([2, 2, 3]), rand([3, 2])]);
check("matmul transposed batched", (x, y) => gemm(x, y, true, true), [
  rand([2, 3, 2]),
  rand([2, 2, 3]),
]);

// ------------------------------------------------------------------ movement

check("reshape", (x) => x.reshape(3, 2).mul(tensor([1, 2])), [rand([2, 3])]);
check("permute", (x) => x.permute(2, 0, 1), [rand([2, 3, 2])]);
check("transpose", (x) => x.transpose(0, 1), [rand([2, 3])]);
check("expand", (x) => x.expand(3, 2, 4), [rand([2, 1])]);
check("slice with steps", (x) => x.slice({ start: 1, step: 2 }, { step: 2 }), [rand([5, 4])]);
check("slice used twice (gradients add)", (x) => x.slice({ end: 3 }).mul(x.slice({ start: 1 })), [
  rand([4, 2]),
]);
const sliceAttrs = { starts: [1, 0], steps: [2, 1], shape: [2, 3], inputShape: [5, 3] };
check(
  "sliceBackward (catalogue, double backward)",
  (g) => apply1(op("sliceBackward"), [g], sliceAttrs),
  [rand([2, 3])],
);
check("cat", (a, b) => cat([a, b], 1), [rand([2, 1]), rand([2, 3])]);
check("stack", (a, b) => stack([a, b], 0), [rand([3]), rand([3])]);
check("squeeze/unsqueeze/flatten", (x) => x.unsqueeze(0).squeeze(2).flatten(), [rand([2, 1, 3])]);
check("pad", (x) => pad(x, [1, 2, 1, 0], 0.5), [rand([2, 3])]);
const index = fromData(Int32Array.from([0, 2, 2, 1, 0, 0]), [2, 3]);
check("gather", (x) => x.gather(1, index), [rand([2, 4])]);
check("scatterAdd", (s) => scatterAdd([2, 4], 1, index, s), [rand([2, 3])]);

// ------------------------------------------------------------------ softmax

check("softmax dim 1", (x) => x.softmax(1), [rand([3, 4])]);
check("softmax dim 0", (x) => x.softmax(0), [rand([3, 4])]);
check("logSoftmax dim 1", (x) => x.logSoftmax(1), [rand([3, 4])]);
check("logSoftmax dim 0 3-D", (x) => x.logSoftmax(0), [rand([3, 2, 2])]);

// ------------------------------------------------------------------ conv2d

const convCases = [
  { name: "basic", x: [1, 2, 4, 4], w: [2, 2, 3, 3], o: {} },
  { name: "stride 2 padding 1", x: [1, 2, 5, 4], w: [2, 2, 3, 3], o: { stride: 2, padding: 1 } },
  { name: "dilation 2", x: [1, 1, 5, 5], w: [2, 1, 2, 2], o: { dilation: 2 } },
  { name: "groups 2", x: [1, 4, 3, 3], w: [2, 2, 2, 2], o: { groups: 2, padding: 1 } },
  { name: "same (even kernel)", x: [1, 1, 4, 3], w: [1, 1, 2, 2], o: { padding: "same" } },
] as const;
for (const c of convCases) {
  check(
    `conv2d ${c.name}`,
    (x, w, b) => F.conv2d(x, w, b, c.o),
    [rand([...c.x]), rand([...c.w]), rand([c.w[0]])],
  );
}
const convAttrs = { stride: [2, 1], padding: [1, 0], dilation: [1, 1], groups: 1 };
// x [1, 2, 4, 3], w [3, 2, 2, 2] → y [1, 3, 3, 2]
check(
  "conv2dBackwardInput (catalogue, double backward)",
  (gy, w) => apply1(op("conv2dBackwardInput"), [gy, w], { ...convAttrs, shape: [1, 2, 4, 3] }),
  [rand([1, 3, 3, 2]), rand([3, 2, 2, 2])],
);
check(
  "conv2dBackwardWeight (catalogue, double backward)",
  (gy, x) => apply1(op("conv2dBackwardWeight"), [gy, x], { ...convAttrs, shape: [3, 2, 2, 2] }),
  [rand([1, 3, 3, 2]), rand([1, 2, 4, 3])],
);
check(
  "conv2dBackwardInput grouped (catalogue)",
  (gy, w) =>
    apply1(op("conv2dBackwardInput"), [gy, w], {
      stride: [1, 1],
      padding: [1, 1],
      dilation: [1, 1],
      groups: 2,
      shape: [1, 4, 3, 3],
    }),
  [rand([1, 2, 4, 4]), rand([2, 2, 2, 2])],
);

// ------------------------------------------------------------------ pooling

check("maxPool2d", (x) => F.maxPool2d(x, 2), [distinct([1, 2, 4, 4])]);
check(
  "maxPool2d padding ceil",
  (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
  [distinct([1, 1, 6, 5])],
);
check("avgPool2d padding", (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }), [
  rand([1, 2, 5, 5]),
]);
check(
  "avgPool2d ceil no count_include_pad",
  (x) => F.avgPool2d(x, 2, { ceilMode: true, countIncludePad: false, padding: 1 }),
  [rand([1, 1, 5, 4])],
);
check("adaptiveAvgPool2d", (x) => F.adaptiveAvgPool2d(x, [2, 3]), [rand([1, 2, 5, 4])]);
const poolAttrs = POOL_2X2;
check(
  "avgPool2dBackward (catalogue, double backward)",
  (g) => apply1(op("avgPool2dBackward"), [g], { ...poolAttrs, shape: [1, 2, 4, 5] }),
  [rand([1, 2, 2, 2])],
);
check(
  "adaptiveAvgPool2dBackward (catalogue, double backward)",
  (g) => apply1(op("adaptiveAvgPool2dBackward"), [g], { outputSize: [2, 2], shape: [1, 1, 5, 3] }),
  [rand([1, 1, 2, 2])],
);
Deno.test("gradcheck: maxPool2dBackward (catalogue, double backward)", () => {
  const [, idx] = F.maxPool2dWithIndices(distinct([1, 2, 4, 4]), 2);
  gradcheck(
    (g) => apply1(op("maxPool2dBackward"), [g, idx], { ...poolAttrs, shape: [1, 2, 4, 4] }),
    [rand([1, 2, 2, 2])],
  );
});

// ------------------------------------------------------------------ composites

check("linear", (x, w, b) => F.linear(x, w, b), [rand([3, 4]), rand([2, 4]), rand([2])]);
check(
  "batchNorm training",
  (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
  [rand([3, 2, 2]), rand([2], { lo: 0.5, hi: 1.5 }), rand([2])],
);
check(
  "localResponseNorm",
  (x) => F.localResponseNorm(x, 3, 0.1, 0.75, 1),
  [rand([1, 4, 2, 2])],
);
check("crossEntropy", (x) => F.crossEntropy(x, tensor([0, 2, 1], { dtype: "int32" })), [
  rand([3, 3]),
]);

// ------------------------------------------------------------------ the checker itself

Deno.test("gradcheck: detects a wrong gradient rule", () => {
  const bad: OpDef<Record<string, never>> = {
    name: "badSquare",
    infer: (inputs) => [{ shape: inputs[0].shape as number[], dtype: "float32" }],
    grad: (ctx, g) => [g.mul(ctx.inputs[0])], // should be 2x
    decompose: ([x]) => [x.mul(x)],
  };
  assert.throws(
    () => gradcheck((x) => apply1(bad, [x], {}), [tensor([1, 2, 3])]),
    (e: unknown) =>
      e instanceof AssertionError &&
      /input 0 \[3\] element 0: autograd gives .*central difference gives/.test(e.message),
  );
});
