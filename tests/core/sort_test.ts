/**
 * max/min along a dim, sort, argsort, topk, cumsum, cumprod, prod and einsum against PyTorch goldens
 * written by tools/gen_sort_fixtures.py (tests/fixtures/sort.json): values, indices (tie order
 * included where PyTorch defines it) and input gradients. Then every gradient rule by finite
 * differences, first and second order (the rules are written with differentiable ops).
 *
 * Tolerance: |actual − expected| <= 1e-5 + 1e-5·|expected| (float32 rounding of float64 goldens);
 * indices and integer outputs must match exactly.
 */

import assert from "node:assert/strict";
import { einsum, explain, fromData, Generator, scatterAdd, tensor } from "../../mod.ts";
import type { DType, Tensor, TypedArray, ValuesIndices } from "../../mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { distinctTensor, randTensor } from "./_random.ts";
import { firstDerivative } from "./_second_order.ts";

type Num = number | "NaN" | "Infinity" | "-Infinity";

interface Rec {
  shape: number[];
  dtype: DType;
  data: Num[];
  grad?: boolean;
}

interface Case {
  name: string;
  op: string;
  // deno-lint-ignore no-explicit-any
  args: any;
  inputs: Rec[];
  outs: Rec[];
  gy?: Num[];
  grads?: (Num[] | null)[];
  tiesUnordered?: boolean;
}

const fixtures: { cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/sort.json", import.meta.url)),
);

const TOL = { atol: 1e-5, rtol: 1e-5 };

const num = (v: Num): number => (typeof v === "number" ? v : Number(v));

function build(r: Rec): Tensor {
  const v = r.data.map(num);
  const data: TypedArray = r.dtype === "float32"
    ? Float32Array.from(v)
    : r.dtype === "int32"
    ? Int32Array.from(v)
    : Uint8Array.from(v);
  return fromData(data, r.shape, { dtype: r.dtype, requiresGrad: r.grad ?? false });
}

type OpFn = (x: Tensor[], a: Case["args"]) => Tensor | ValuesIndices;

const OPS: Record<string, OpFn> = {
  max: ([x], a) => x.max(a.dim, a.keepdim),
  min: ([x], a) => x.min(a.dim, { keepdim: a.keepdim }),
  sort: ([x], a) => x.sort(a.dim, { descending: a.descending }),
  argsort: ([x], a) => x.argsort(a.dim, a.descending),
  topk: ([x], a) => x.topk(a.k, a.dim, { largest: a.largest }),
  cumsum: ([x], a) => x.cumsum(a.dim),
  cumprod: ([x], a) => x.cumprod(a.dim),
  prod: ([x], a) => (a.dim === undefined ? x.prod() : x.prod(a.dim, a.keepdim)),
  einsum: (xs, a) => einsum(a.equation, ...xs),
};

const outputs = (r: Tensor | ValuesIndices): Tensor[] =>
  "values" in r ? [r.values, r.indices] : [r];

Deno.test("sort goldens: every fixture op has a mapping", () => {
  assert.deepEqual([...new Set(fixtures.cases.map((c) => c.op))].filter((op) => !OPS[op]), []);
});

// topk's order among equal elements is unspecified in PyTorch: the indices must pick the values.
function checkUnorderedTies(c: Case, x: Tensor, values: Tensor, indices: Tensor): void {
  assertClose(values, c.outs[0].data.map(num), { ...TOL, message: `${c.name}: values` });
  const picked = x.gather(c.args.dim, indices);
  assertClose(picked, values, { atol: 0, rtol: 0, message: `${c.name}: indices pick the values` });
  const rows = indices.toArraySync() as number[][];
  for (const row of rows) assert.equal(new Set(row).size, row.length, `${c.name}: repeated index`);
}

for (const c of fixtures.cases) {
  Deno.test(`sort goldens: ${c.name}`, () => {
    const inputs = c.inputs.map(build);
    const outs = outputs(OPS[c.op](inputs, c.args));
    assert.equal(outs.length, c.outs.length, `${c.name}: number of outputs`);
    outs.forEach((o, i) => {
      assert.deepEqual([...o.shape], c.outs[i].shape, `${c.name}: output ${i} shape`);
      assert.equal(o.dtype, c.outs[i].dtype, `${c.name}: output ${i} dtype`);
    });
    if (c.tiesUnordered) checkUnorderedTies(c, inputs[0], outs[0], outs[1]);
    else {
      outs.forEach((o, i) => {
        const exact = c.outs[i].dtype !== "float32";
        assertClose(o, c.outs[i].data.map(num), {
          ...(exact ? { atol: 0, rtol: 0 } : TOL),
          message: `${c.name}: output ${i}`,
        });
      });
    }
    if (!c.gy) {
      assert.ok(!outs[0].requiresGrad, `${c.name}: the output should not require grad`);
      return;
    }
    const gy = fromData(Float32Array.from(c.gy.map(num)), c.outs[0].shape);
    outs[0].backward(gy);
    if (c.tiesUnordered) {
      // PyTorch's gradient follows its own choice among equal elements: here, ours.
      const want = scatterAdd(inputs[0].shape, c.args.dim, outs[1], gy);
      assertClose(inputs[0].grad!, want, { ...TOL, message: `${c.name}: gradient` });
      return;
    }
    c.grads!.forEach((g, i) => {
      if (g === null) return;
      const got = inputs[i].grad;
      assert.ok(got, `${c.name}: input ${i} received no gradient`);
      assertClose(got, g.map(num), { ...TOL, message: `${c.name}: gradient of input ${i}` });
    });
  });
}

// ---------------------------------------------------------------- finite differences

const gen = new Generator(12);
const rand = (shape: number[]): Tensor => randTensor(gen, shape);
const distinct = (shape: number[]): Tensor => distinctTensor(gen, shape);
// Rows holding zeros: none, one (first, middle, last) and two.
const withZeros = (): Tensor =>
  tensor([
    [1.5, -0.8, 1.2, 0.7, -1.3],
    [0, 1.1, -0.9, 1.4, 0.6],
    [1.3, 0.9, 0, -1.2, 0.8],
    [1.1, -1.4, 0.6, 0.9, 0],
    [0.7, 0, 1.3, 0, -1.1],
  ]);

const FIRST: [string, (...x: Tensor[]) => Tensor, Tensor[]][] = [
  ["max dim values", (x) => x.max(1).values, [distinct([3, 4])]],
  ["min dim keepdim values", (x) => x.min(0, true).values, [distinct([3, 4, 2])]],
  ["sort last dim", (x) => x.sort().values, [distinct([3, 5])]],
  ["sort dim 0 descending", (x) => x.sort(0, true).values, [distinct([4, 3])]],
  ["sort middle dim of 3-D", (x) => x.sort(1).values, [distinct([2, 4, 3])]],
  ["topk", (x) => x.topk(2, 1).values, [distinct([3, 5])]],
  ["topk smallest dim 0", (x) => x.topk(2, 0, false).values, [distinct([4, 3])]],
  ["cumsum dim 0", (x) => x.cumsum(0), [rand([4, 3])]],
  ["cumsum dim -1", (x) => x.cumsum(-1), [rand([2, 3, 4])]],
  ["cumprod", (x) => x.cumprod(1), [rand([3, 4])]],
  ["cumprod with zeros", (x) => x.cumprod(1), [withZeros()]],
  ["cumprod with zeros dim 0", (x) => x.cumprod(0), [withZeros()]],
  ["prod dim", (x) => x.prod(1), [rand([3, 4])]],
  ["prod with zeros", (x) => x.prod(1, true), [withZeros()]],
  ["prod with zeros dim 0", (x) => x.prod(0), [withZeros()]],
  ["prod of all", (x) => x.prod(), [rand([2, 3])]],
  ["einsum attention scores", (q, k) => einsum("bhqd,bhkd->bhqk", q, k), [
    rand([2, 2, 3, 4]),
    rand([2, 2, 5, 4]),
  ]],
  ["einsum attention values", (p, v) => einsum("bhqk,bhkd->bhqd", p, v), [
    rand([1, 2, 3, 5]),
    rand([1, 2, 5, 4]),
  ]],
  ["einsum three operands", (a, b, c) => einsum("ij,jk,kl->il", a, b, c), [
    rand([2, 3]),
    rand([3, 4]),
    rand([4, 2]),
  ]],
  ["einsum diagonal", (x) => einsum("ii->i", x), [rand([4, 4])]],
  ["einsum trace", (x) => einsum("ii", x), [rand([3, 3])]],
  ["einsum broadcast ellipsis", (a, b) => einsum("...ij,...jk->...ik", a, b), [
    rand([3, 2, 4]),
    rand([4, 2]),
  ]],
  ["einsum size-1 broadcast", (a, b) => einsum("bij,bjk->bik", a, b), [
    rand([1, 2, 3]),
    rand([2, 3, 2]),
  ]],
  ["einsum outer product", (a, b) => einsum("i,j->ij", a, b), [
    rand([3]),
    rand([2]),
  ]],
];

for (const [name, f, inputs] of FIRST) {
  Deno.test(`sort gradcheck: ${name}`, () => gradcheck(f, inputs));
}

const SECOND: [string, (...x: Tensor[]) => Tensor, Tensor[]][] = [
  ["max dim values", (x) => x.max(1).values, [distinct([3, 4])]],
  ["sort", (x) => x.sort(0, true).values, [distinct([4, 3])]],
  ["topk", (x) => x.topk(2).values, [distinct([2, 5])]],
  ["cumsum", (x) => x.cumsum(1), [rand([2, 4])]],
  ["cumprod", (x) => x.cumprod(1), [rand([2, 4])]],
  ["cumprod with zeros", (x) => x.cumprod(1), [withZeros()]],
  ["prod", (x) => x.prod(0), [rand([4, 2])]],
  ["prod with zeros", (x) => x.prod(1), [withZeros()]],
  ["einsum", (a, b) => einsum("bij,bkj->bik", a, b), [rand([2, 2, 3]), rand([2, 4, 3])]],
];

for (const [name, f, inputs] of SECOND) {
  Deno.test(`sort double backward: ${name}`, () => gradcheck(firstDerivative(f), inputs));
}

// ---------------------------------------------------------------- kernels and dtypes

Deno.test("sort, cumsum, cumprod and prod run as cpu kernels", () => {
  const { trace } = explain(() => {
    const x = rand([3, 4]);
    x.sort(1);
    x.cumsum(0);
    x.cumprod(1);
    x.prod(1);
  });
  for (const op of ["sort", "cumsum", "cumprod", "prod"]) {
    assert.ok(
      trace.some((e) => e.op === op && e.backend === "cpu" && e.via === "device"),
      `${op} did not run as a cpu kernel`,
    );
  }
});

Deno.test("float16 sorts, scans and multiplies on cpu as the float32 result rounded", () => {
  const x32 = fromData(Float32Array.from([0.5, -1.25, 3, 0.5, NaN, 2]), [2, 3]);
  const x16 = x32.half();
  const sorted = x16.sort(1, true);
  assert.equal(sorted.values.dtype, "float16");
  assert.deepEqual(sorted.indices.toArraySync(), x32.sort(1, true).indices.toArraySync());
  assertClose(sorted.values.float(), x32.sort(1, true).values);
  assertClose(x16.cumsum(1).float(), x32.cumsum(1).half().float());
  assertClose(x16.cumprod(0).float(), x32.cumprod(0).half().float());
  assertClose(x16.prod(1).float(), x32.prod(1).half().float());
  const [v, i] = x16.max(1);
  assert.equal(v.dtype, "float16");
  assert.deepEqual(i.toArraySync(), [2, 1]);
});

Deno.test("long rows and wide tensors sort stably", () => {
  const n = 5000;
  const data = Float32Array.from({ length: 2 * n }, (_, k) => (k * 7919) % 13);
  const x = fromData(data, [2, n]);
  const { values, indices } = x.sort(1);
  const v = values.dataSync(), idx = indices.dataSync();
  for (let r = 0; r < 2; r++) {
    for (let j = 1; j < n; j++) {
      const a = r * n + j - 1, b = r * n + j;
      assert.ok(v[a] < v[b] || (v[a] === v[b] && idx[a] < idx[b]), `row ${r} position ${j}`);
      assert.equal(v[b], data[r * n + idx[b]]);
    }
  }
});
