/**
 * The argument forms of max/min with a dim, amax/amin, sort, argsort, topk, cumsum, cumprod, prod
 * and einsum: PyTorch's forms work (positional keepdim/descending/largest, destructuring the
 * result by position, `max(other)`), and every bad argument is a named error naming the op and
 * what was expected.
 */

import assert from "node:assert/strict";
import {
  amax,
  amin,
  argsort,
  cumprod,
  cumsum,
  DTypeError,
  einsum,
  max,
  min,
  ones,
  prod,
  ShapeError,
  sort,
  tensor,
  topk,
  ValueError,
  zeros,
} from "../../mod.ts";
import { assertClose, assertThrowsNamed as fails } from "../../testing/mod.ts";

const bad = (v: unknown) => v as never;
const x = () => tensor([[1, 5, 3], [4, 2, 6]]);

Deno.test("max/min with a dim: values and int32 indices, by name or by position", () => {
  const r = x().max(1);
  assert.deepEqual(r.values.toArraySync(), [5, 6]);
  assert.deepEqual(r.indices.toArraySync(), [1, 2]);
  assert.equal(r.indices.dtype, "int32");
  const [v, i] = x().min(0, true);
  assert.deepEqual(v.toArraySync(), [[1, 2, 3]]);
  assert.deepEqual(i.toArraySync(), [[0, 1, 0]]);
  assert.ok(Object.isFrozen(r));
  const f = max(x(), -1, { keepdim: true });
  assert.deepEqual(f.values.shape, [2, 1]);
  assert.deepEqual(min(x(), 1).indices.toArraySync(), [0, 1]);
});

Deno.test("max()/min() without a dim stay tensors; max(other) is the elementwise maximum", () => {
  assert.equal(x().max().itemSync(), 6);
  assert.equal(min(x()).itemSync(), 1);
  assert.deepEqual(x().max(tensor([3])).toArraySync(), [[3, 5, 3], [4, 3, 6]]);
  assert.deepEqual(min(x(), tensor([[2], [5]])).toArraySync(), [[1, 2, 2], [4, 2, 5]]);
});

Deno.test("amax/amin reduce several dims to a tensor and split the gradient among ties", () => {
  const t = tensor([[1, 7], [7, 2]], { requiresGrad: true });
  assert.equal(t.amax([0, 1]).itemSync(), 7);
  assert.deepEqual(amin(t, 1, true).toArraySync(), [[1], [2]]);
  amax(t).backward();
  assert.deepEqual(t.grad!.toArraySync(), [[0, 0.5], [0.5, 0]]);
  const u = tensor([[1, 7], [7, 2]], { requiresGrad: true });
  u.max(1).values.sum().backward(); // max(dim): to the selected element only
  assert.deepEqual(u.grad!.toArraySync(), [[0, 1], [1, 0]]);
});

Deno.test("max/min with a dim: empty reductions and bad dims are named errors", () => {
  fails(() => x().max(bad([0, 1])), ValueError, "max: dim must be one integer", "amax");
  fails(() => x().max(5), ShapeError, "max: dimension 5 is out of range for a 2-D tensor");
  fails(() => x().min(bad("1")), ValueError, 'min: dim must be one integer, got "1"');
  fails(() => x().max(bad(undefined), true), ValueError, "max: keepdim needs a dim");
  fails(() => x().max(1, bad("yes")), ValueError, "max: options must be an object");
  fails(() => x().min(1, bad({ keepDim: true })), ValueError, 'min: unknown option "keepDim"');
  fails(() => x().max(bad(x()), true), ValueError, "max: keepdim does not apply");
  fails(() => (x().max as (...a: unknown[]) => unknown)(1, true, 3), ValueError, "Tensor.max");
  fails(() => zeros([2, 0]).max(1), DTypeError, "max: cannot reduce an empty [2, 0] tensor");
  // A non-empty reduced dim of an empty tensor gives empty results, as in PyTorch.
  const e = zeros([0, 3]).max(1);
  assert.deepEqual([e.values.shape, e.indices.shape], [[0], [0]]);
  assert.deepEqual(zeros([0, 3]).argmax(1).shape, [0]);
  fails(() => zeros([3, 0]).argmax(1), DTypeError, "argmax: cannot reduce an empty [3, 0]");
});

Deno.test("sort/argsort: PyTorch's forms, and their bad arguments", () => {
  const t = tensor([[3, 1, 2], [0, 5, 5]]);
  assert.deepEqual(t.sort().indices.toArraySync(), [[1, 2, 0], [0, 1, 2]]);
  assert.deepEqual(t.sort(1, true).indices.toArraySync(), [[0, 2, 1], [1, 2, 0]]);
  assert.deepEqual(sort(t, 0, { descending: true, stable: true }).values.toArraySync(), [
    [3, 5, 5],
    [0, 1, 2],
  ]);
  assert.deepEqual(argsort(t, -1, { stable: false }).toArraySync(), [[1, 2, 0], [0, 1, 2]]);
  assert.deepEqual(t.argsort(0, true).toArraySync(), [[0, 1, 1], [1, 0, 0]]);
  assert.ok(!t.sort().indices.requiresGrad);
  // -0 equals 0 (ties keep their order) and subnormals are ordered, as in PyTorch.
  const z = tensor([0, -0, 1e-40, -1e-40, 0, -0]);
  assert.deepEqual(z.sort().indices.toArraySync(), [3, 0, 1, 4, 5, 2]);
  assert.deepEqual(z.sort(0, true).indices.toArraySync(), [2, 0, 1, 4, 5, 3]);
  assert.ok(Object.is(z.sort().values.dataSync()[2], -0));
  fails(() => t.sort(bad("a")), ValueError, 'sort: dim must be an integer, got "a"');
  fails(() => t.sort(2), ShapeError, "sort: dimension 2 is out of range");
  fails(() => t.sort(0, bad("yes")), ValueError, "sort: options must be an object");
  fails(() => t.sort(0, bad({ descending: 1 })), ValueError, "sort: descending must be a boolean");
  fails(() => t.sort(0, bad({ reverse: true })), ValueError, 'sort: unknown option "reverse"');
  fails(() => t.argsort(0, bad({ stable: "x" })), ValueError, "argsort: stable must be a boolean");
  fails(() => sort(bad([1, 2])), ValueError, "sort: expected a Tensor");
  const loose = (f: unknown) => f as (...a: unknown[]) => unknown;
  fails(() => loose(sort)(t, 0, true, "stable"), ValueError, "sort: takes at most 3 arguments");
  fails(() => loose(argsort)(t, 0, true, 1), ValueError, "argsort: takes at most 3 arguments");
  fails(() => loose(topk)(t, 1, 0, true, true, 1), ValueError, "topk: takes at most 5");
  fails(() => loose(max)(t, 0, true, 1), ValueError, "max: takes at most 3 arguments");
  fails(() => loose(amin)(t, 0, true, 1), ValueError, "amin: takes at most 3 arguments");
  fails(() => loose(cumsum)(t, 0, 1), ValueError, "cumsum: takes at most 2 arguments");
  fails(() => loose(prod)(t, 0, true, 1), ValueError, "prod: takes at most 3 arguments");
});

Deno.test("topk: PyTorch's positional and options forms, and its bad arguments", () => {
  const t = tensor([[1, 9, 3, 7], [8, 2, 6, 4]]);
  assert.deepEqual(t.topk(2).indices.toArraySync(), [[1, 3], [0, 2]]);
  assert.deepEqual(t.topk(1, 0, false, true).values.toArraySync(), [[1, 2, 3, 4]]);
  assert.deepEqual(topk(t, 2, 1, { largest: false, sorted: false }).values.toArraySync(), [
    [1, 3],
    [2, 4],
  ]);
  assert.deepEqual(t.topk(0).values.shape, [2, 0]);
  assert.deepEqual(tensor(5).topk(1).values.shape, []);
  fails(() => t.topk(5), ValueError, "topk: k must be an integer from 0 to 4", "got 5");
  fails(() => t.topk(-1), ValueError, "topk: k must be an integer from 0 to 4");
  fails(() => t.topk(1.5), ValueError, "got 1.5");
  fails(() => t.topk(bad("2")), ValueError, 'got "2"');
  fails(() => t.topk(2, 5), ShapeError, "topk: dimension 5 is out of range");
  fails(() => t.topk(2, 0, bad({ largest: 1 })), ValueError, "topk: largest must be a boolean");
  fails(() => t.topk(2, 0, { largest: false }, true), ValueError, "topk: a positional sorted");
  fails(() => t.topk(2, 0, false, bad("x")), ValueError, "topk: sorted must be a boolean");
  fails(() => t.topk(2, 0, bad({ k: 1 })), ValueError, 'topk: unknown option "k"');
});

Deno.test("cumsum/cumprod/prod: forms, dtypes and bad arguments", () => {
  const b = tensor([true, false, true]);
  assert.equal(cumsum(b, 0).dtype, "int32");
  assert.deepEqual(cumsum(b, 0).toArraySync(), [1, 1, 2]);
  assert.deepEqual(cumprod(tensor([2, 3], { dtype: "int32" }), 0).toArraySync(), [2, 6]);
  assert.deepEqual(prod(b).toArraySync(), 0);
  assert.equal(prod(b).dtype, "int32");
  assert.deepEqual(x().prod(1, { keepdim: true }).shape, [2, 1]);
  assert.deepEqual(tensor(3).prod(0).shape, []);
  assertClose(zeros([2, 0]).prod(1), [1, 1]);
  // int32 wraps as int32 arithmetic does.
  const big = tensor([65536, 65536, 3], { dtype: "int32" });
  assert.deepEqual(big.cumprod(0).toArraySync(), [65536, 0, 0]);
  assert.deepEqual(tensor([2147483647, 1], { dtype: "int32" }).cumsum(0).toArraySync(), [
    2147483647,
    -2147483648,
  ]);
  fails(() => (x().cumsum as (...a: unknown[]) => unknown)(), ValueError, "cumsum: dim must be");
  fails(() => x().cumprod(3), ShapeError, "cumprod: dimension 3 is out of range");
  fails(() => x().prod(bad(undefined), true), ValueError, "prod: keepdim needs a dim");
  fails(() => x().prod(5), ShapeError, "prod: dimension 5 is out of range");
  fails(() => x().prod(1, bad({ keepDim: true })), ValueError, 'prod: unknown option "keepDim"');
  fails(() => cumsum(bad(3), 0), ValueError, "cumsum: expected a Tensor, got 3");
});

Deno.test("einsum: operands as arguments or one array, and every bad equation named", () => {
  const a = x(), o = ones([3, 2]);
  assertClose(einsum("ij,jk->ik", [a, o]), a.matmul(o));
  assert.deepEqual(einsum("ij->ji", a).shape, [3, 2]);
  const cases: [() => unknown, new (...a: never[]) => Error, string][] = [
    [() => einsum(bad(3), a), ValueError, "einsum: the equation must be a string"],
    [() => einsum("i1", a), ValueError, 'invalid subscript "1" in operand 0'],
    [() => einsum("i.j", a), ValueError, "not part of an ellipsis"],
    [() => einsum("......", a), ValueError, "more than one ellipsis"],
    [() => einsum("ij->i->j", a), ValueError, 'more than one "->"'],
    [() => einsum("ij,jk->ik", a), ValueError, "subscripts for 2 operand(s), but 1 was given"],
    [() => einsum("ijk", a), ShapeError, "operand 0 has 2 dimension(s) [2, 3], but its subscripts"],
    [() => einsum("ij,jk->ik", a, ones([4, 4])), ShapeError, "subscript j has size 4 in operand 1"],
    [() => einsum("ij->ii", a), ValueError, "output subscript i appears more than once"],
    [() => einsum("ij->k", a), ValueError, "output subscript k does not appear in any operand"],
    [() => einsum("ii->i", a), ShapeError, "subscript i is repeated in operand 0 [2, 3]"],
    [() => einsum("ij,jk", a, ones([3, 2], { dtype: "int32" })), DTypeError, "share a dtype"],
    [() => einsum("ij", a.gt(1)), DTypeError, "bool operands are not supported"],
    [() => einsum("ij,jk", a, bad([[1]])), ValueError, "operand 1 must be a Tensor"],
    [() => einsum("ij"), ValueError, "no operands were given"],
    [() => einsum("ij->i,j", a), ValueError, 'invalid subscript "," in the output'],
  ];
  for (const [f, cls, msg] of cases) fails(f, cls, "einsum", msg);
});
