/**
 * The Tensor API of issue 12 on cpu: split, chunk, unbind, indexSelect, maskedFill(_), repeat,
 * flip, roll, tril/triu, any/all, isnan/isinf/isfinite, nanToNum, norm, PyTorch's var/std forms,
 * numel/size, tolist, the dtype casts, the creation forms, at and index. Each is checked against
 * PyTorch goldens (tests/fixtures/tensor_api.json, written by tools/gen_tensor_api_fixtures.py),
 * by finite differences where differentiable, for view semantics, and for its named errors.
 *
 * Tolerance against the goldens: |actual − expected| <= 1e-6 + 1e-5·|expected| (float64 results
 * over the same float32 inputs; the slack covers float32 rounding).
 */

import assert from "node:assert/strict";
import {
  all,
  any,
  arange,
  AutogradError,
  cat,
  chunk,
  DTypeError,
  empty,
  emptyLike,
  flip,
  fromData,
  full,
  fullLike,
  IndexError,
  indexSelect,
  isfinite,
  isinf,
  isnan,
  maskedFill,
  nanToNum,
  noGrad,
  norm,
  ones,
  onesLike,
  randintLike,
  randLike,
  randnLike,
  roll,
  ShapeError,
  split,
  tensor,
  tril,
  triu,
  unbind,
  ValueError,
  zeros,
  zerosLike,
} from "../../mod.ts";
import type { DType, Tensor, TypedArray } from "../../mod.ts";
import { assertClose, assertThrowsNamed, gradcheck } from "../../testing/mod.ts";

type Num = number | "nan" | "inf" | "-inf";

interface Rec {
  shape: number[];
  dtype: DType;
  data: Num[];
}

interface Case {
  name: string;
  op: string;
  // deno-lint-ignore no-explicit-any
  attrs: any;
  inputs: Rec[];
  outs: Rec[];
  gys?: Num[][];
  grads?: (Num[] | null)[];
}

const fixtures: { cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/tensor_api.json", import.meta.url)),
);

const num = (v: Num): number =>
  v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v;
const nums = (a: Num[]): number[] => a.map(num);
const order = (p: number | string | undefined) =>
  p === "inf" ? Infinity : p === "-inf" ? -Infinity : p as number | "fro" | undefined;
// deno-lint-ignore no-explicit-any
const loose = (f: any) => f as (...a: unknown[]) => unknown;
const bad = (v: unknown) => v as never;
const i32 = (v: number[]) => tensor(v, { dtype: "int32" });
const arr = (t: Tensor) => t.toArraySync();
const fails = assertThrowsNamed;

type OpFn = (x: Tensor[], a: Case["attrs"]) => Tensor | Tensor[];

const OPS: Record<string, OpFn> = {
  split: ([x], a) => x.split(a.size, a.dim),
  chunk: ([x], a) => x.chunk(a.chunks, a.dim),
  unbind: ([x], a) => x.unbind(a.dim),
  indexSelect: ([x, i], a) => x.indexSelect(a.dim, i),
  maskedFill: ([x, m], a) => x.maskedFill(m, a.value),
  maskedFillTensor: ([x, m, v]) => x.maskedFill(m, v),
  repeat: ([x], a) => x.repeat(a.sizes),
  flip: ([x], a) => x.flip(a.dims),
  roll: ([x], a) => x.roll(a.shifts, a.dims ?? undefined),
  tril: ([x], a) => x.tril(a.diagonal),
  triu: ([x], a) => x.triu(a.diagonal),
  any: ([x], a) => x.any(a.dim, a.keepdim),
  all: ([x], a) => x.all(a.dim, a.keepdim),
  isnan: ([x]) => x.isnan(),
  isinf: ([x]) => x.isinf(),
  isfinite: ([x]) => x.isfinite(),
  nanToNum: ([x], a) => x.nanToNum(a),
  norm: ([x], a) => x.norm(order(a.p), a.dim, a.keepdim),
  var: ([x], a) => loose(x.var.bind(x))(...a.args) as Tensor,
  std: ([x], a) => loose(x.std.bind(x))(...a.args) as Tensor,
  arange: (_, a) => loose(arange)(...a.args, a.options) as Tensor,
  index: ([x], a) => x.index(...a.specs),
  at: ([x], a) => x.at(a.index),
};

function build(r: Rec, grad: boolean): Tensor {
  const d = nums(r.data);
  let data: TypedArray;
  if (r.dtype === "float32") data = Float32Array.from(d);
  else if (r.dtype === "int32") data = Int32Array.from(d);
  else data = Uint8Array.from(d);
  return fromData(data, r.shape, { dtype: r.dtype, requiresGrad: grad && r.dtype === "float32" });
}

Deno.test("tensor api golden: every fixture op has a mapping", () => {
  const missing = [...new Set(fixtures.cases.map((c) => c.op))].filter((op) => !OPS[op]);
  assert.deepEqual(missing, []);
  assert.ok(fixtures.cases.length > 100);
});

for (const c of fixtures.cases) {
  Deno.test(`tensor api golden: ${c.name}`, () => {
    const inputs = c.inputs.map((r) => build(r, c.gys !== undefined));
    const got = OPS[c.op](inputs, c.attrs);
    const outs = Array.isArray(got) ? got : [got];
    assert.equal(outs.length, c.outs.length, `${c.name}: number of outputs`);
    outs.forEach((o, k) => {
      assert.deepEqual([...o.shape], c.outs[k].shape, `${c.name}: output ${k} shape`);
      assert.equal(o.dtype, c.outs[k].dtype, `${c.name}: output ${k} dtype`);
      assertClose(o, nums(c.outs[k].data), { message: `${c.name}: output ${k}` });
    });
    if (!c.gys) {
      assert.ok(outs.every((o) => !o.requiresGrad), `${c.name}: no output should require grad`);
      return;
    }
    const terms = outs.flatMap((o, k) =>
      o.requiresGrad ? [o.mul(fromData(Float32Array.from(nums(c.gys![k])), o.shape)).sum()] : []
    );
    if (terms.length === 0) {
      // PyTorch's output requires grad but gives None (norm p=0): no gradient either way.
      assert.ok(c.grads!.every((g) => g === null), `${c.name}: PyTorch gives a gradient`);
      return;
    }
    terms.reduce((s, t) => s.add(t)).backward();
    c.grads!.forEach((g, i) => {
      if (!inputs[i].requiresGrad) return;
      const got = inputs[i].grad;
      if (g === null) {
        // PyTorch leaves the gradient of an input that no output depends on undefined.
        assert.equal(got, null, `${c.name}: input ${i} should get no gradient`);
        return;
      }
      assert.ok(got, `${c.name}: input ${i} received no gradient`);
      assertClose(got, nums(g), { message: `${c.name}: gradient of input ${i}` });
    });
  });
}

// ------------------------------------------------------------------ gradcheck

// Deterministic float32 values at least `away` from 0 and from each other by ~0.05 (kinks of abs,
// max and the norms stay outside the finite-difference step).
function vals(shape: number[], seed = 1, away = 0.2): Tensor {
  let s = seed * 7919 + 17;
  const n = shape.reduce((a, b) => a * b, 1);
  const used = new Set<number>();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do {
      s = (s * 1103515245 + 12345) % 2147483648;
      v = Math.round(((s / 2147483648) * 4 - 2) * 20) / 20;
    } while (Math.abs(v) < away || used.has(v));
    used.add(v);
    out[i] = v;
  }
  return fromData(out, shape);
}

function check(name: string, fn: (...x: Tensor[]) => Tensor, inputs: Tensor[]): void {
  Deno.test(`tensor api gradcheck: ${name}`, () => gradcheck(fn, inputs));
}

const flat = (ts: Tensor[]) => cat(ts.map((t) => t.flatten()));
check("split sections", (x) => flat(x.split([1, 2], 1)), [vals([2, 3])]);
check("split size", (x) => flat(split(x, 2)), [vals([5, 2])]);
check("chunk", (x) => flat(chunk(x, 2, -1)), [vals([2, 5])]);
check("unbind", (x) => flat(unbind(x, 1)), [vals([2, 3, 2])]);
check("indexSelect repeated", (x) => x.indexSelect(1, i32([2, 0, 2, 2])), [vals([2, 3])]);
check("indexSelect 0-d index", (x) => indexSelect(x, 0, i32([1]).reshape([])), [vals([3, 2])]);
check(
  "maskedFill tensor value",
  (x, v) => x.maskedFill(tensor([true, false, true]), v),
  [vals([2, 3]), vals([], 2)],
);
check("maskedFill broadcasts self", (x) => maskedFill(x, tensor([[true], [false]]), 3), [
  vals([3]),
]);
check("repeat", (x) => x.repeat(2, 1, 3), [vals([2, 2])]);
check("flip", (x) => x.flip(0, -1), [vals([3, 2, 2])]);
check("roll", (x) => x.roll([1, -2], [0, 1]), [vals([3, 4])]);
check("roll flat", (x) => roll(x, 5), [vals([2, 3])]);
check("tril", (x) => x.tril(-1), [vals([2, 3, 3])]);
check("triu", (x) => triu(x, 1), [vals([3, 4])]);
check("nanToNum", (x) => x.nanToNum(), [vals([2, 3])]);
for (const p of [1, 2, 3, 1.5, Infinity, -Infinity, "fro"] as const) {
  check(`norm p=${p} all`, (x) => x.norm(p), [vals([2, 3], 3)]);
  check(`norm p=${p} dim 1`, (x) => norm(x, p, 1), [vals([3, 4], 4)]);
  check(`norm p=${p} dims [0] keepdim`, (x) => x.norm(p, [0], true), [vals([3, 2], 5)]);
}
check("var(1, true, true)", (x) => x.var(1, true, true), [vals([3, 4])]);
check("var(false)", (x) => x.var(false), [vals([3, 4])]);
check("std(0, { unbiased: false })", (x) => x.std(0, { unbiased: false }), [vals([3, 4])]);
check("index", (x) => x.index(1, null, "...", { start: 1, step: 2 }), [vals([2, 3, 4])]);
check("at", (x) => x.at(-1), [vals([3, 2])]);

Deno.test("tensor api gradcheck: norm is zero-safe (PyTorch's zero gradient at a zero norm)", () => {
  for (const p of [2, 3, 1.5, "fro"] as const) {
    const x = zeros([2, 3], { requiresGrad: true });
    x.norm(p).backward();
    assert.deepEqual(arr(x.grad!), [[0, 0, 0], [0, 0, 0]], `p=${p}`);
  }
  const y = tensor([[0, 0], [3, 4]], { requiresGrad: true });
  y.norm(2, 1).sum().backward();
  assertClose(y.grad!, [[0, 0], [0.6, 0.8]]);
  // p = 0 counts non-zeros and is not differentiable, as PyTorch's.
  assert.equal(tensor([1, 0, 2], { requiresGrad: true }).norm(0).requiresGrad, false);
});

// ------------------------------------------------------------------ views and copies

Deno.test("tensor api: split, chunk, unbind, at and index are views; writes reach the base", () => {
  const x = arange(12).reshape(3, 4);
  for (const pieces of [x.split(2), x.split([1, 3], 1), x.chunk(2), x.unbind(1)]) {
    for (const p of pieces) assert.equal(p.storage, x.storage);
  }
  assert.equal(x.at(1).storage, x.storage);
  assert.equal(x.index(null, "...", { step: 2 }).storage, x.storage);
  const z = zeros([3, 4]);
  z.split(3, 1)[1].fill_(1);
  z.unbind(0)[2].add_(2);
  z.index(0, { start: 1, step: 2 }).fill_(5);
  z.at(-2).index(0).fill_(7);
  assert.deepEqual(arr(z), [[0, 5, 0, 5], [7, 0, 0, 1], [2, 2, 2, 3]]);
});

Deno.test("tensor api: repeat, flip and roll always copy (writes never reach the input)", () => {
  for (
    const f of [
      (x: Tensor) => x.repeat(1, 1),
      (x: Tensor) => x.repeat(1, 3),
      (x: Tensor) => x.flip([]),
      (x: Tensor) => x.flip(0),
      (x: Tensor) => x.roll(0, 0),
      (x: Tensor) => x.roll(4),
    ]
  ) {
    const x = tensor([[1, 2, 3, 4]]);
    const y = f(x);
    assert.notEqual(y.storage, x.storage);
    y.fill_(9);
    assert.deepEqual(arr(x), [[1, 2, 3, 4]]);
  }
  assert.deepEqual(arr(tensor([5]).repeat(3)), [5, 5, 5]);
  assert.deepEqual(arr(tensor(5).flip(0)), 5);
  assert.deepEqual(arr(tensor(5).roll(3)), 5);
});

Deno.test("tensor api: maskedFill_ writes in place, through views, with PyTorch's dtype rules", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const r = x.maskedFill_(tensor([true, false, true]), 0);
  assert.equal(r, x);
  assert.deepEqual(arr(x), [[0, 2, 0], [0, 5, 0]]);
  x.at(1).maskedFill_(tensor([false, true, false]), tensor(-1));
  assert.deepEqual(arr(x), [[0, 2, 0], [0, -1, 0]]);
  const n = tensor([1, -2, 3], { dtype: "int32" });
  assert.deepEqual(arr(n.maskedFill(n.lt(0), -7.9)), [1, -7, 3]);
  assert.equal(n.maskedFill(n.lt(0), -7.9).dtype, "int32");
  const b = tensor([true, true]);
  assert.deepEqual(arr(b.maskedFill(tensor([false, true]), 0)), [true, false]);
  // The gradient through an in-place fill stops at the filled entries.
  const w = tensor([1, 2, 3], { requiresGrad: true });
  const y = w.mul(1);
  y.maskedFill_(tensor([false, true, false]), 0);
  y.sum().backward();
  assert.deepEqual(arr(w.grad!), [1, 0, 1]);
});

Deno.test("tensor api: bool, int32 and float16 inputs keep their dtype", () => {
  const b = tensor([[true, false, true], [false, false, true]]);
  const h = tensor([[1, NaN, Infinity], [-Infinity, 0, 2]]).half();
  const ops: [string, (x: Tensor) => Tensor][] = [
    ["flip", (x) => x.flip(1)],
    ["roll", (x) => x.roll(1, 1)],
    ["repeat", (x) => x.repeat(1, 2)],
    ["indexSelect", (x) => x.indexSelect(1, i32([2, 0]))],
    ["tril", (x) => x.tril()],
    ["maskedFill", (x) => x.maskedFill(tensor([true, false, false]), 1)],
    ["index", (x) => x.index("...", { step: 2 })],
  ];
  for (const [name, f] of ops) {
    assert.equal(f(b).dtype, "bool", `${name} bool`);
    assert.equal(f(h).dtype, "float16", `${name} float16`);
  }
  assert.deepEqual(arr(b.flip(1)), [[true, false, true], [true, false, false]]);
  assert.deepEqual(arr(b.roll(1, 1)), [[true, true, false], [true, false, false]]);
  assert.deepEqual(arr(h.isnan()), [[false, true, false], [false, false, false]]);
  assert.deepEqual(arr(h.isinf()), [[false, false, true], [true, false, false]]);
  assert.deepEqual(arr(h.nanToNum()), [[1, 0, 65504], [-65504, 0, 2]]);
  assert.deepEqual(arr(h.any(1)), [true, true]);
  // float16 norms are computed in float32: 65504² would overflow float16.
  const n = h.nanToNum().norm(2, 1);
  assert.equal(n.dtype, "float16");
  assert.deepEqual(arr(n), [65504, 65504]);
});

// ------------------------------------------------------------------ numel, tolist, casts

Deno.test("tensor api: size() is PyTorch's; the old size property fails loudly", () => {
  const x = zeros([2, 3, 4]);
  assert.deepEqual(x.size(), [2, 3, 4]);
  assert.equal(x.size(0), 2);
  assert.equal(x.size(-1), 4);
  assert.deepEqual(tensor(1).size(), []);
  const s = x.size();
  s[0] = 9;
  assert.deepEqual(x.shape, [2, 3, 4], "size() returns a copy");
  fails(() => x.size(3), ShapeError, "size: dimension 3 is out of range for a 3-D tensor");
  fails(() => x.size(0.5), ShapeError, "size: dimension 0.5 is out of range");
  fails(() => tensor(1).size(0), ShapeError, "size: a 0-d tensor has no dimension 0");
  fails(
    () => loose(x.size.bind(x))(0, 1),
    ValueError,
    "Tensor.size: takes at most 1 argument, got 2",
  );
  // Code written for the old `size` property (the element count) gets a ValueError naming numel().
  const old = x.size as unknown as number;
  const msg = "Tensor.size is a method since issue 12";
  fails(() => old * 4, ValueError, msg, "use numel() for the number of elements");
  fails(() => new Float32Array(old), ValueError, msg);
  fails(() => Array.from({ length: old }), ValueError, msg);
  fails(() => Array.from(old as unknown as number[]), ValueError, msg);
  fails(() => `${old}`, ValueError, msg);
  fails(() => old > 0, ValueError, msg);
});

Deno.test("tensor api: numel, tolist and tolistSync", async () => {
  const x = arange(6).reshape(2, 3);
  assert.equal(x.numel(), 6);
  assert.equal(zeros([0, 3]).numel(), 0);
  assert.equal(tensor(3).numel(), 1);
  assert.deepEqual(x.tolistSync(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(await x.tolist(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(await tensor([true, false]).tolist(), [true, false]);
  assert.equal(await tensor(2.5).tolist(), 2.5);
});

Deno.test("tensor api: float(), half(), int(), bool(); long() and double() are DTypeErrors", () => {
  const x = tensor([-1.5, 0, 2.7]);
  assert.deepEqual(arr(x.int()), [-1, 0, 2]);
  assert.equal(x.int().dtype, "int32");
  assert.deepEqual(arr(x.bool()), [true, false, true]);
  assert.deepEqual(arr(x.half()), [-1.5, 0, 2.69921875]);
  assert.equal(x.half().dtype, "float16");
  assert.deepEqual(arr(x.int().float()), [-1, 0, 2]);
  assert.equal(x.float(), x);
  fails(() => x.long(), DTypeError, "long: denn has no int64", "use int() for int32");
  fails(() => x.double(), DTypeError, "double: denn has no float64", "use float() for float32");
});

// ------------------------------------------------------------------ creation

Deno.test("tensor api: fullLike, emptyLike, randLike, randnLike, randintLike, empty, full", () => {
  const x = tensor([[1, 2, 3]], { dtype: "int32" });
  const f = fullLike(x, 7);
  assert.equal(f.dtype, "int32");
  assert.deepEqual(arr(f), [[7, 7, 7]]);
  assert.deepEqual(arr(fullLike(x, 0.5, { dtype: "float32" })), [[0.5, 0.5, 0.5]]);
  assert.deepEqual(arr(emptyLike(x)), [[0, 0, 0]]);
  assert.deepEqual(empty([2, 0]).shape, [2, 0]);
  assert.equal(full([2], true).dtype, "bool");
  assert.deepEqual(arr(full([2], true)), [true, true]);
  assert.equal(full([1], 2).dtype, "float32");
  const y = zeros([200], { dtype: "float16" });
  const r = randLike(y);
  assert.equal(r.dtype, "float16");
  assert.ok((r.dataSync() as Float16Array).every((v) => v >= 0 && v < 1));
  const g = randnLike(zeros([2, 3]));
  assert.deepEqual(g.shape, [2, 3]);
  assert.equal(g.dtype, "float32");
  const ri = randintLike(zeros([100]), 3);
  assert.equal(ri.dtype, "int32");
  assert.ok((ri.dataSync() as Int32Array).every((v) => v >= 0 && v < 3));
  const rj = randintLike(zeros([100]), -2, 2, { requiresGrad: false });
  assert.ok((rj.dataSync() as Int32Array).every((v) => v >= -2 && v < 2));
  assert.deepEqual(arr(onesLike(x, { dtype: "bool" })), [[true, true, true]]);
  assert.equal(zerosLike(x).dtype, "int32");
});

Deno.test("tensor api: arange forms (options may follow the numbers)", () => {
  assert.deepEqual(arr(arange(3, { dtype: "float32" })), [0, 1, 2]);
  assert.equal(arange(3, { dtype: "float32" }).dtype, "float32");
  assert.deepEqual(arr(arange(1, 3, { dtype: "float16" })), [1, 2]);
  assert.deepEqual(arr(arange(1, 7, 2, { dtype: "int32" })), [1, 3, 5]);
  assert.deepEqual(arr(arange(3, 0, -1)), [3, 2, 1]);
  assert.deepEqual(arange(2, 2).shape, [0]);
});

// ------------------------------------------------------------------ named errors

Deno.test("tensor api errors: split, chunk, unbind", () => {
  const x = arange(6).reshape(2, 3);
  fails(() => x.split(0), ValueError, "split: splitSize 0 cannot split dimension 0 of size 2");
  fails(() => x.split(-1), ValueError, "split: splitSize must be a non-negative integer, got -1");
  fails(() => x.split(1.5), ValueError, "split: splitSize must be a non-negative integer, got 1.5");
  fails(
    () => x.split([1, 1], 1),
    ShapeError,
    "split: sections [1, 1] sum to 2, but dimension 1 of [2, 3] has size 3",
  );
  fails(
    () => x.split([2, -1, 2], 1),
    ValueError,
    "split: section 1 must be a non-negative integer",
  );
  fails(
    () => x.split(bad("2")),
    ValueError,
    'split: expected a split size or an array of section sizes, got "2"',
  );
  fails(() => x.split(1, 2), ShapeError, "split: dimension 2 is out of range for a 2-D tensor");
  fails(() => tensor(1).split(1), ShapeError, "split: expects a tensor with at least 1 dimension");
  fails(() => x.chunk(0), ValueError, "chunk: chunks must be a positive integer, got 0");
  fails(() => x.chunk(2, -3), ShapeError, "chunk: dimension -3 is out of range");
  fails(() => tensor(1).unbind(), ShapeError, "unbind: expects a tensor with at least 1 dimension");
  fails(() => x.unbind(5), ShapeError, "unbind: dimension 5 is out of range");
  fails(() => loose(split)([1, 2], 1), ValueError, "split: input must be a Tensor, got [1, 2]");
  fails(
    () => loose(x.split.bind(x))(1, 0, 0),
    ValueError,
    "Tensor.split: takes at most 2 arguments",
  );
  assert.deepEqual(zeros([0, 2]).split(2).map((t) => t.shape), [[0, 2]]);
  assert.deepEqual(zeros([0, 2]).chunk(3).map((t) => t.shape), [[0, 2], [0, 2], [0, 2]]);
});

Deno.test("tensor api errors: indexSelect", () => {
  const x = arange(6).reshape(2, 3).float();
  fails(
    () => x.indexSelect(1, i32([0, 3])),
    IndexError,
    "indexSelect: index 3 is out of range for dimension 1 with size 3 (tensor [2, 3]; expected 0 to 2)",
  );
  fails(() => x.indexSelect(0, i32([-1])), IndexError, "indexSelect: index -1 is out of range");
  fails(
    () => x.indexSelect(0, tensor([0])),
    DTypeError,
    "indexSelect: index must be an int32 tensor, got float32",
  );
  fails(
    () => x.indexSelect(0, i32([0]).reshape(1, 1)),
    ShapeError,
    "indexSelect: index must be 1-D (or 0-d), got shape [1, 1]",
  );
  fails(() => x.indexSelect(2, i32([0])), ShapeError, "indexSelect: dimension 2 is out of range");
  fails(
    () => x.indexSelect(0, bad([0])),
    ValueError,
    "indexSelect: index must be a Tensor, got [0]",
  );
  fails(
    () => tensor(2).indexSelect(0, i32([0, 0])),
    ShapeError,
    "indexSelect: a 0-d input takes exactly 1 index, got 2",
  );
  assert.deepEqual(arr(tensor(2).indexSelect(0, i32([0]))), 2);
  assert.deepEqual(x.indexSelect(1, i32([])).shape, [2, 0]);
});

Deno.test("tensor api errors: maskedFill", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  fails(
    () => x.maskedFill(tensor([1, 0, 1]), 0),
    DTypeError,
    "maskedFill: mask must be a bool tensor, got float32",
  );
  fails(
    () => x.maskedFill(tensor([true, false]), 0),
    ShapeError,
    "maskedFill: shapes [2, 3] and [2] cannot be broadcast",
  );
  fails(
    () => x.maskedFill(tensor([true, false, true]), tensor([1, 2])),
    ShapeError,
    "maskedFill: a tensor value must be 0-d, got shape [2]",
  );
  fails(
    () => x.maskedFill(tensor([true, false, true]), bad("0")),
    ValueError,
    'maskedFill: value must be a number, a boolean or a 0-d tensor, got "0"',
  );
  fails(
    () => x.maskedFill(bad([true]), 0),
    ValueError,
    "maskedFill: mask must be a Tensor, got [true]",
  );
  fails(
    () => i32([1]).maskedFill(tensor([true]), NaN),
    ValueError,
    "maskedFill: value NaN cannot be converted to int32",
  );
  fails(
    () => i32([1]).maskedFill(tensor([true]), 2 ** 31),
    ValueError,
    "maskedFill: value 2147483648 cannot be converted to int32",
  );
  fails(
    () => tensor([1, 2, 3]).maskedFill_(tensor([[true, false, true]]), 0),
    ShapeError,
    "maskedFill_: result shape [1, 3] does not match the tensor's [3]",
  );
  fails(
    () => tensor([1], { requiresGrad: true }).maskedFill_(tensor([true]), 0),
    AutogradError,
    "maskedFill_: in-place op on a leaf [1] tensor that requires grad",
  );
});

Deno.test("tensor api errors: repeat, flip, roll, tril, triu", () => {
  const x = arange(6).reshape(2, 3);
  fails(
    () => x.repeat(2),
    ShapeError,
    "repeat: 1 repeat sizes [2] for a 2-D tensor [2, 3]; give at least one per dimension",
  );
  fails(() => x.repeat(2, -1), ValueError, "repeat: size 1 must be a non-negative integer, got -1");
  fails(() => x.flip(), ValueError, "flip: expects the dims to flip");
  fails(() => x.flip(0, 0), ShapeError, "flip: dimension list [0, 0] repeats a dimension");
  fails(() => x.flip(2), ShapeError, "flip: dimension 2 is out of range");
  fails(
    () => flip(x, bad("0")),
    ValueError,
    'flip: dims must be a dimension or a list of them, got "0"',
  );
  fails(
    () => x.roll([1, 2]),
    ValueError,
    "roll: without dims, shifts must be one number, got [1, 2]",
  );
  fails(
    () => x.roll([1, 2], [0]),
    ValueError,
    "roll: shifts [1, 2] and dims [0] must have the same, non-zero length",
  );
  fails(() => x.roll(1.5, 0), ValueError, "roll: shift 0 must be an integer, got 1.5");
  fails(() => x.roll(1, 2), ShapeError, "roll: dimension 2 is out of range");
  fails(
    () => x.roll(bad("1")),
    ValueError,
    'roll: shifts must be a number or a list of numbers, got "1"',
  );
  fails(
    () => tensor([1, 2]).tril(),
    ShapeError,
    "tril: expects a tensor with at least 2 dimensions, got shape [2]",
  );
  fails(
    () => tensor(1).triu(),
    ShapeError,
    "triu: expects a tensor with at least 2 dimensions, got shape []",
  );
  fails(() => x.tril(0.5), ValueError, "tril: diagonal must be an integer, got 0.5");
  fails(
    () => loose(tril)(x, 0, 1),
    ValueError,
    "tril: takes at most 2 arguments, got 3 (Tensor, 0, 1)",
  );
  fails(() => loose(roll)(x, 1, 0, 0), ValueError, "roll: takes at most 3 arguments, got 4");
  fails(
    () => loose(norm)(x.float(), 2, 0, true, 1),
    ValueError,
    "norm: takes at most 4 arguments, got 5",
  );
});

Deno.test("tensor api errors: any, all, isnan, nanToNum, norm", () => {
  const x = tensor([[0, 1], [2, 3]]);
  fails(() => x.any(2), ShapeError, "any: dimension 2 is out of range");
  fails(() => x.all(0, bad({ keepDim: true })), ValueError, 'all: unknown option "keepDim"');
  fails(() => x.all(0, bad(1)), ValueError, "all: options must be an object");
  fails(() => loose(isnan)(1), ValueError, "isnan: input must be a Tensor, got 1");
  fails(() => loose(isinf)(null), ValueError, "isinf: input must be a Tensor, got null");
  fails(() => x.nanToNum(bad("0")), ValueError, 'nanToNum: nan must be a number, got "0"');
  fails(
    () => x.nanToNum({ nan: 0 }, bad(1)),
    ValueError,
    "nanToNum: give the replacements as nanToNum({ nan, posinf, neginf }) or positionally, not both",
  );
  fails(() => x.nanToNum(bad({ inf: 1 })), ValueError, 'nanToNum: unknown option "inf"');
  fails(
    () => x.norm(0.5),
    ValueError,
    'norm: p must be "fro", 0, a number >= 1, Infinity or -Infinity, got 0.5',
  );
  fails(() => x.norm(bad("nuc")), ValueError, "the nuclear norm needs an SVD");
  fails(() => x.norm(NaN), ValueError, "norm: p must be");
  fails(() => i32([1, 2]).norm(), DTypeError, "norm: expects a floating-point tensor, got int32");
  fails(
    () => zeros([2, 2, 2]).norm("fro", [0, 1, 2]),
    ShapeError,
    "norm: the Frobenius norm takes at most 2 dims, got [0, 1, 2]",
  );
  fails(() => x.norm(2, 3), ShapeError, "norm: dimension 3 is out of range");
  fails(() => x.norm(2, 1, bad({ dtype: "float32" })), ValueError, 'norm: unknown option "dtype"');
  assert.deepEqual(arr(any(zeros([2, 0]), 1)), [false, false]);
  assert.deepEqual(arr(all(zeros([2, 0]), 1)), [true, true]);
  assert.deepEqual(arr(isfinite(i32([1]))), [true]);
  assert.deepEqual(arr(nanToNum(i32([1, 2]))), [1, 2]);
});

Deno.test("tensor api errors: var/std forms", () => {
  const x = tensor([[1, 2, 4], [3, 5, 9]]);
  // PyTorch's positional forms: a boolean after dim is unbiased; keepdim comes third.
  assert.deepEqual(x.var(1, true).shape, [2]);
  assert.deepEqual(x.var(1, true, true).shape, [2, 1]);
  assertClose(x.var(1, false), [14 / 9, 56 / 9]);
  assertClose(x.var(false), x.var(undefined, { correction: 0 }));
  assertClose(x.std(null, { unbiased: true }), x.std());
  fails(() => x.var(true, true), ValueError, "var: var(unbiased) takes no further arguments");
  fails(
    () => x.std(1, { unbiased: true, correction: 1 }),
    ValueError,
    "std: give either unbiased or correction, not both",
  );
  fails(
    () => x.var(1, { keepdim: true }, bad(true)),
    ValueError,
    "var: give keepdim in the options object or positionally",
  );
  fails(() => x.var(1, bad({ unbiased: 1 })), ValueError, "var: unbiased must be a boolean, got 1");
  fails(
    () => x.std(1, bad({ ddof: 1 })),
    ValueError,
    'std: unknown option "ddof" (expected unbiased, correction, keepdim)',
  );
  fails(() => x.var(1, true, bad(1)), ValueError, "var: keepdim must be a boolean, got 1");
  fails(
    () => x.std(1, { correction: bad("1") }),
    ValueError,
    'std: correction must be a finite number, got "1"',
  );
});

Deno.test("tensor api errors: creation", () => {
  const x = ones([2]);
  fails(
    () => loose(zerosLike)([1, 2]),
    ValueError,
    "zerosLike: expected a Tensor to take the shape of, got [1, 2]",
  );
  fails(() => loose(onesLike)(x, 5), ValueError, "onesLike: options must be an object");
  fails(
    () => fullLike(x, bad("1")),
    ValueError,
    'fullLike: fill value must be a number or boolean, got "1"',
  );
  fails(
    () => fullLike(x, 1, bad({ dtpye: "int32" })),
    ValueError,
    'fullLike: unknown option "dtpye"',
  );
  fails(() => randLike(i32([1])), DTypeError, "randLike: dtype must be floating-point");
  fails(
    () => randnLike(x, { dtype: "int32" }),
    DTypeError,
    "randnLike: dtype must be floating-point",
  );
  fails(
    () => randintLike(x, 3, { dtype: "float32" }),
    DTypeError,
    "randintLike: dtype must be int32, got float32",
  );
  fails(() => randintLike(x, 3, 1), ValueError, "randint: expected low < high");
  fails(() => arange(3, { dtype: "bool" }), DTypeError, "arange: dtype bool is not supported");
  fails(
    () => arange(0, 1, 0.5, { dtype: "int32" }),
    ValueError,
    "arange: dtype int32 needs integer start, end and step",
  );
  fails(
    () => loose(arange)(3, {}, 1),
    ValueError,
    "arange: the options object must be the last argument",
  );
  fails(
    () => loose(empty)(2, 3),
    ShapeError,
    "empty: shape must be an array of sizes like [2, 3], got 2",
  );
});

Deno.test("tensor api errors: at and index", () => {
  const x = arange(24).reshape(2, 3, 4);
  fails(
    () => x.at(2),
    IndexError,
    "at: index 2 is out of bounds for dimension 0 with size 2 (expected -2 to 1)",
  );
  fails(() => x.at(-3), IndexError, "at: index -3 is out of bounds for dimension 0");
  fails(() => x.at(0.5), ValueError, "at: index must be an integer, got 0.5");
  fails(() => tensor(1).at(0), IndexError, "at: a 0-d tensor cannot be indexed");
  fails(
    () => x.index(0, 0, 0, 0),
    IndexError,
    "index: too many indices for a 3-D tensor [2, 3, 4]: 4 given",
  );
  fails(
    () => x.index("...", 0, "..."),
    IndexError,
    'index: an index can have only one ellipsis ("..."), got two',
  );
  fails(
    () => x.index(0, 3),
    IndexError,
    "index: index 3 is out of bounds for dimension 1 with size 3",
  );
  fails(
    () => x.index("...", -5),
    IndexError,
    "index: index -5 is out of bounds for dimension 2 with size 4",
  );
  fails(() => x.index(1.5), ValueError, "index: spec 0 must be an integer index, got 1.5");
  fails(
    () => x.index({ step: 0 }),
    ValueError,
    "index: spec 0 has step 0; steps must be positive (use flip() to reverse)",
  );
  fails(() => x.index({ step: -1 }), ValueError, "steps must be positive");
  fails(
    () => x.index({ start: 0.5 }),
    ValueError,
    "index: spec 0 has start 0.5; expected an integer",
  );
  fails(() => x.index(bad({ stop: 2 })), ValueError, 'index: unknown option "stop"');
  fails(
    () => x.index(bad([0, 1])),
    ValueError,
    'index: spec 0 must be an integer, { start, end, step }, null or "...", got [0, 1]',
  );
  fails(
    () => x.index(bad(i32([0]))),
    ValueError,
    "(index with tensors through indexSelect, gather or maskedFill)",
  );
  fails(() => x.index(bad("..")), ValueError, "index: spec 0 must be an integer");
  fails(() => x.index(bad(true)), ValueError, "index: spec 0 must be an integer");
  // Too many indices counts only those that consume a dimension (null and "..." do not).
  assert.deepEqual(x.index(null, 0, null, 0, 0, null).shape, [1, 1, 1]);
  assert.deepEqual(x.index("...").shape, [2, 3, 4]);
});

Deno.test("tensor api: functions and methods agree", () => {
  const x = vals([3, 4]);
  const same = (a: Tensor | Tensor[], b: Tensor | Tensor[]) =>
    assert.deepEqual(
      (Array.isArray(a) ? a : [a]).map(arr),
      (Array.isArray(b) ? b : [b]).map(arr),
    );
  same(split(x, 2, 1), x.split(2, 1));
  same(chunk(x, 3), x.chunk(3));
  same(unbind(x, 1), x.unbind(1));
  same(indexSelect(x, 0, i32([2, 1])), x.indexSelect(0, i32([2, 1])));
  same(maskedFill(x, x.gt(0), 1), x.maskedFill(x.gt(0), 1));
  same(flip(x, [0, 1]), x.flip(0, 1));
  same(roll(x, 2, 1), x.roll(2, 1));
  same(tril(x, 1), x.tril(1));
  same(triu(x, -1), x.triu(-1));
  same(any(x.gt(1), 0), x.gt(1).any(0));
  same(all(x.gt(-1), 1, true), x.gt(-1).all(1, { keepdim: true }));
  same(isnan(x), x.isnan());
  same(isinf(x), x.isinf());
  same(isfinite(x), x.isfinite());
  same(nanToNum(x, 1, 2, 3), x.nanToNum({ nan: 1, posinf: 2, neginf: 3 }));
  same(norm(x, Infinity, 0), x.norm(Infinity, 0));
  noGrad(() => same(x.norm(), norm(x, "fro")));
});
