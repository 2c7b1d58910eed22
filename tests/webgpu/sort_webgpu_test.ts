// max/min along a dim, sort, argsort, topk, cumsum, cumprod, prod and einsum on webgpu against the
// cpu oracle (values, indices and input gradients), with the webgpu kernels required to have run:
// the one-workgroup and the global bitonic sort (rows up to 1024 and longer), the per-row and the
// per-workgroup scans and products, NaN, ties, int32, bool and float16 inputs. Skipped without an
// adapter, except under CI=true, where a missing adapter is a failure.

import assert from "node:assert/strict";
import { DeviceError, einsum, fromData, Generator, ones, randint, tensor, use } from "../../mod.ts";
import type { Tensor, ValuesIndices } from "../../mod.ts";
import { checkBackendConformance } from "../../testing/mod.ts";
import type { ConformanceOptions } from "../../testing/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu sort", true);

const test = webgpuTest(reason, "webgpu sort");

const gen = new Generator(5);
const randn = (shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return fromData(Float32Array.from({ length: n }, () => gen.normal()), shape);
};
// Small integers as floats: many ties.
const ties = (shape: number[], hi = 4): Tensor => randint(0, hi, shape, { generator: gen }).float();
const pair = (r: Tensor | ValuesIndices): Tensor[] => ("values" in r ? [r.values, r.indices] : [r]);

async function same(
  name: string,
  kernels: string[],
  f: (...x: Tensor[]) => Tensor | ValuesIndices,
  inputs: Tensor[],
  options: ConformanceOptions = {},
): Promise<void> {
  try {
    await checkBackendConformance("webgpu", (...xs) => pair(f(...xs)), inputs, {
      kernels,
      ...options,
    });
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
  }
}

const NANS = tensor([[3, NaN, 1, NaN, 2, Infinity, -Infinity, 1], [
  0,
  -1,
  NaN,
  4,
  4,
  -Infinity,
  2,
  0,
]]);

test("sort in workgroup memory: dims, directions, ties, NaN, lengths 1 to 1024", async () => {
  const x = randn([3, 7, 5]);
  for (const dim of [0, 1, 2]) {
    for (const desc of [false, true]) {
      await same(`sort dim ${dim} ${desc}`, ["sort"], (t) => t.sort(dim, desc), [x]);
    }
  }
  await same("sort ties", ["sort"], (t) => t.sort(1), [ties([4, 33])]);
  await same("sort ties descending", ["sort"], (t) => t.sort(0, true), [ties([9, 6])]);
  await same("sort NaN", ["sort"], (t) => t.sort(), [NANS]);
  await same("sort NaN descending", ["sort"], (t) => t.sort(-1, true), [NANS]);
  const zeros = tensor([[0, -0, 1e-40, -1e-40, 0, -0, 1e-38, -1e-45]]);
  await same("sort signed zeros, subnormals", ["sort"], (t) => t.sort(), [zeros], { atol: 0 });
  await same("sort zeros descending", ["sort"], (t) => t.sort(1, true), [zeros], { atol: 0 });
  for (const n of [1, 2, 3, 255, 256, 1000, 1024]) {
    await same(`sort length ${n}`, ["sort"], (t) => t.sort(), [ties([2, n], 50)]);
  }
  await same("sort many rows", ["sort"], (t) => t.sort(), [ties([3000, 6])]);
});

test("sort in global memory: rows longer than 1024", async () => {
  for (const n of [1025, 3000]) {
    await same(`sort length ${n}`, ["sort"], (t) => t.sort(), [ties([2, n], 100)]);
    await same(`sort length ${n} descending`, ["sort"], (t) => t.sort(-1, true), [ties([2, n])]);
    const nans = ties([1, n], 9).div(ties([1, n], 3)); // 0/0 = NaN, x/0 = ±inf
    await same(`sort length ${n} with NaN`, ["sort"], (t) => t.sort(-1, true), [nans], {
      grad: false,
    });
  }
  await same("sort long middle dim", ["sort"], (t) => t.sort(1), [randn([2, 1500, 3])]);
});

test("sort, argsort and topk of int32 and bool, and topk's selections", async () => {
  await same("sort int32", ["sort"], (t) => t.sort(1), [randint(-5, 5, [4, 40])], {
    grad: false,
  });
  await same("sort bool", ["sort"], (t) => t.sort(0, true), [tensor([true, false, true, false])]);
  await same("argsort", ["sort"], (t) => t.argsort(1, true), [ties([5, 9])]);
  await same("topk", ["sort"], (t) => t.topk(3), [randn([4, 10])]);
  await same("topk smallest dim 0", ["sort"], (t) => t.topk(2, 0, false), [randn([6, 3])]);
  await same("topk NaN", ["sort"], (t) => t.topk(3), [NANS]);
  await same("topk long row", ["sort"], (t) => t.topk(5), [randn([2, 2000])]);
});

test("max/min along a dim: values, first index on ties and NaN, gradients", async () => {
  await same("max ties", ["argmax", "gather"], (t) => t.max(1), [ties([5, 7])]);
  await same("min keepdim", ["argmin", "gather"], (t) => t.min(0, true), [ties([5, 7])]);
  await same("max NaN", ["argmax"], (t) => t.max(1), [NANS]);
  await same("min NaN", ["argmin"], (t) => t.min(-1), [NANS]);
  await same("max 3-D", ["argmax"], (t) => t.max(1), [randn([2, 300, 3])]);
  await same("max int32", ["argmax"], (t) => t.max(0), [randint(-9, 9, [6, 4])]);
  await same("flattened argmax NaN", ["argmax"], (t) => t.argmax(), [NANS]);
});

test("cumsum and cumprod per row and per workgroup, with zeros in cumprod", async () => {
  const x = randn([3, 4, 5]);
  for (const dim of [0, 1, 2]) {
    await same(`cumsum dim ${dim}`, ["cumsum"], (t) => t.cumsum(dim), [x]);
    await same(`cumprod dim ${dim}`, ["cumprod"], (t) => t.cumprod(dim), [x]);
  }
  const z = tensor([[2, 0, 3, 0, 4], [0, 1.5, -2, 3, 0.5], [1.5, 2, -1, 0.5, 0], [1, 2, 3, 4, 5]]);
  await same("cumprod zeros", ["cumprod", "cumsum"], (t) => t.cumprod(1), [z]);
  await same("cumprod zeros dim 0", ["cumprod", "cumsum"], (t) => t.cumprod(0), [z]);
  const tol = { atol: 1e-3, rtol: 1e-4 };
  await same("cumsum long rows", ["cumsum"], (t) => t.cumsum(1), [randn([3, 2000])], tol);
  await same("cumsum long middle", ["cumsum"], (t) => t.cumsum(1), [randn([2, 700, 3])], tol);
  const near1 = randn([2, 1500]).mul(0.01).add(1);
  await same("cumprod long rows", ["cumprod"], (t) => t.cumprod(1), [near1], tol);
  await same("cumsum int32", ["cumsum"], (t) => t.cumsum(1), [randint(-5, 5, [3, 900])]);
  await same("cumsum bool", ["cumsum"], (t) => t.cumsum(0), [tensor([true, false, true])]);
});

test("prod per output and per workgroup, with zeros", async () => {
  const z = tensor([[2, 0, 3, 0, 4], [0, 1.5, -2, 3, 0.5], [1.5, 2, -1, 0.5, 0], [1, 2, 3, 4, 5]]);
  await same("prod zeros", ["prod", "cumprod"], (t) => t.prod(1), [z]);
  await same("prod zeros keepdim", ["prod"], (t) => t.prod(0, true), [z]);
  await same("prod all", ["prod"], (t) => t.prod(), [randn([3, 4])]);
  const near1 = randn([3, 1000]).mul(0.01).add(1);
  await same("prod long rows", ["prod"], (t) => t.prod(1), [near1], { atol: 1e-4, rtol: 1e-4 });
  await same("prod int32", ["prod"], (t) => t.prod(1), [randint(-3, 4, [5, 7])]);
  await same("prod empty dim", ["prod"], (t) => t.prod(1), [ones([2, 0])], { kernels: [] });
});

test("einsum: attention contractions, diagonal, ellipsis, broadcast, int32", async () => {
  const tol = { atol: 1e-4, rtol: 1e-4 };
  const cases: [string, number[][]][] = [
    ["bhqd,bhkd->bhqk", [[2, 3, 4, 5], [2, 3, 6, 5]]],
    ["bhqk,bhkd->bhqd", [[2, 3, 4, 6], [2, 3, 6, 5]]],
    ["ij,jk->ik", [[3, 4], [4, 5]]],
    ["bij,bjk->bik", [[2, 3, 4], [2, 4, 5]]],
    ["i,i->", [[7], [7]]],
    ["ij->ji", [[3, 4]]],
    ["ii->i", [[4, 4]]],
    ["...ij,...jk->...ik", [[5, 2, 3], [3, 4]]],
    ["bij,bjk->bik", [[1, 3, 4], [2, 4, 5]]],
  ];
  for (const [eq, shapes] of cases) {
    await same(eq, [], (...xs) => einsum(eq, ...xs), shapes.map(randn), tol);
  }
  await same("einsum int32", [], (a, b) => einsum("ij,jk->ik", a, b), [
    randint(-3, 3, [3, 4]),
    randint(-3, 3, [4, 2]),
  ]);
});

test("einsum with operands on two devices is a DeviceError naming the op", () => {
  const a = ones([2, 3]), b = ones([3, 2], { device: "webgpu" });
  assert.throws(() => einsum("ij,jk->ik", a, b), (e: unknown) => {
    assert.ok(e instanceof DeviceError, String(e));
    assert.match((e as Error).message, /inputs are on different devices/);
    return true;
  });
});

const f16Reason = reason ?? (plugin.gpu!.f16 ? null : "the adapter has no shader-f16");

Deno.test({
  name: "webgpu sort: float16 sort, scans and products match cpu float16",
  ignore: f16Reason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const x = ties([3, 40], 20).div(4).half();
    const tol = { atol: 1e-2, rtol: 1e-2, grad: false };
    await same("sort f16", ["sort"], (t) => t.sort(1, true), [x], tol);
    await same("sort f16 long", ["sort"], (t) => t.sort(), [ties([2, 1500], 30).half()], tol);
    await same("cumsum f16", ["cumsum"], (t) => t.cumsum(1), [x], tol);
    await same("prod f16", ["prod"], (t) => t.div(8).add(1).prod(1), [x], tol);
  },
});

releaseDeviceAtEnd(plugin, "webgpu sort");
