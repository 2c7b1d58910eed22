/**
 * `fuse` on the cpu backend: a fused chain equals the unfused one bit for bit (float32, float16,
 * int and bool comparisons feeding where, broadcasting, scalars, casts), runs as one
 * `fusedElementwise` op, traces and compiles once per key, gives gradients that agree with the
 * unfused autograd and with finite differences (also second derivatives, through the fused
 * gradient op), and refuses what is not elementwise with a ValueError naming it.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { autograd, explain, randn, scalar, tensor, ValueError, where } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import * as F from "../../layers/functional.ts";
import { fuse, fuseStats } from "../../layers/fuse.ts";
import { fusedExpr } from "../../layers/ops/fused_expr.ts";
import { fusedElementwise } from "../../layers/ops/fused.ts";
import { fusedCpuStats } from "../../plugins/cpu/fused.ts";
import { gradcheck } from "../../testing/mod.ts";

const geluTanh = (x: Tensor): Tensor =>
  x.mul(0.5).mul(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI)).tanh().add(1));
const geluErf = (x: Tensor): Tensor => x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
const mixed = (x: Tensor, y: Tensor, k: Tensor): Tensor =>
  where(k.gt(2).logicalAnd(x.lt(y)), x.mul(y).sub(1), y.div(x.abs().add(0.5)))
    .add(k.cast("float32").mul(0.25));

function sameBits(a: Tensor, b: Tensor, label: string): void {
  assert.deepEqual(a.shape, b.shape, `${label}: shape`);
  assert.equal(a.dtype, b.dtype, `${label}: dtype`);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) {
    assert.ok(Object.is(x[i], y[i]), `${label}: element ${i}: ${x[i]} vs ${y[i]}`);
  }
}

const CASES: [string, (...t: Tensor[]) => Tensor, () => Tensor[]][] = [
  ["gelu tanh", geluTanh, () => [randn([3, 7]).mul(3)]],
  ["gelu erf", geluErf, () => [randn([3, 7]).mul(3)]],
  ["broadcast [4,1,3] x [5,1] + scalar", (x, y) => x.mul(y).add(2).sigmoid().sub(y.exp()), () => [
    randn([4, 1, 3]),
    randn([5, 1]),
  ]],
  ["int/bool comparisons feeding where", mixed, () => [
    randn([2, 6]),
    randn([6]),
    tensor([[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]], { dtype: "int32" }),
  ]],
  [
    "int arithmetic and casts",
    (k, x) => k.mul(3).add(k).cast("float32").mul(x).cast("int32"),
    () => [
      tensor([[1, -2, 7]], { dtype: "int32" }),
      randn([4, 3]).mul(5),
    ],
  ],
  ["bool logic to bool result", (x, y) => x.gt(0).logicalOr(y.le(-0.5)).logicalNot(), () => [
    randn([5]),
    randn([2, 5]),
  ]],
  ["float16", (x, y) => geluTanh(x).mul(y).add(x.pow(2)), () => [
    randn([6, 5]).half(),
    randn([5]).half(),
  ]],
  [
    "special values",
    (x) => x.log().maximum(x.sqrt()).minimum(x.mul(-1)).relu().add(x.sign()),
    () => [
      tensor([0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-30]),
    ],
  ],
  ["0-d and empty", (x, y) => x.add(y).exp(), () => [scalar(0.5), randn([0, 3])]],
];

Deno.test("fuse: results equal the unfused ops bit for bit, in one fusedElementwise op", () => {
  for (const [label, fn, make] of CASES) {
    const inputs = make();
    const f = fuse(fn);
    const { result, trace } = explain(() => f(...inputs));
    sameBits(result, fn(...inputs), label);
    assert.deepEqual(trace.map((e) => `${e.op} ${e.backend}`), ["fusedElementwise cpu"], label);
  }
});

Deno.test("fuse: traces once per key and compiles each expression once", () => {
  const f = fuse((x: Tensor) => x.mul(1.75).tanh().add(x));
  const t0 = fuseStats().traces, c0 = fusedCpuStats().compiles;
  f(randn([4, 8]));
  assert.equal(fuseStats().traces - t0, 1);
  assert.equal(fusedCpuStats().compiles - c0, 1);
  f(randn([4, 8]));
  f(randn([4, 8]));
  assert.equal(fuseStats().traces - t0, 1, "the same key traces nothing");
  assert.equal(fusedCpuStats().compiles - c0, 1, "the same key compiles nothing");
  f(randn([7, 3]));
  assert.equal(fuseStats().traces - t0, 1, "new sizes of the same rank trace nothing");
  // A new rank traces again but gives the same expression, compiled already.
  f(randn([9]));
  assert.equal(fuseStats().traces - t0, 2);
  assert.equal(fusedCpuStats().compiles - c0, 1, "a new rank reuses the compiled loop");
  // A second fused function with the same chain shares the compiled loop too.
  fuse((x: Tensor) => x.mul(1.75).tanh().add(x))(randn([3]));
  assert.equal(fusedCpuStats().compiles - c0, 1);
});

Deno.test("fuse: gradients agree with the unfused autograd and with finite differences", () => {
  for (const [label, fn, make] of CASES.slice(0, 4)) {
    const inputs = make();
    const f = fuse(fn);
    const leaves = (): Tensor[] =>
      inputs.map((t) => t.dtype === "float32" ? t.detach().requiresGrad_(true) : t);
    const a = leaves(), b = leaves();
    const w = randn(fn(...inputs).shape as number[]);
    f(...a).mul(w).sum().backward();
    fn(...b).mul(w).sum().backward();
    a.forEach((t, i) => {
      if (t.dtype !== "float32") return;
      const ga = t.grad!.dataSync(), gb = b[i].grad!.dataSync();
      assert.deepEqual(t.grad!.shape, b[i].grad!.shape, `${label}: grad shape`);
      for (let j = 0; j < ga.length; j++) {
        assert.ok(Math.abs(ga[j] - gb[j]) <= 1e-5 * (1 + Math.abs(gb[j])), `${label} ${i}/${j}`);
      }
    });
  }
  gradcheck(fuse(geluTanh), [randn([3, 5])]);
  gradcheck(fuse(geluErf), [randn([3, 5])]);
  gradcheck(fuse((x, y) => x.mul(y).add(2).sigmoid().sub(y.exp())), [
    randn([4, 1, 3]),
    randn([5, 1]),
  ]);
  gradcheck(fuse((x, y) => x.div(y).pow(2).add(y.pow(x)).maximum(x.sin())), [
    randn([6]),
    randn([6]).abs().add(0.5),
  ], { atol: 2e-2, rtol: 2e-2 });
  const k = tensor([1, 3, 5, 0], { dtype: "int32" });
  gradcheck((x, y) => fuse(mixed)(x, y, k), [randn([2, 4]), randn([4])]);
});

Deno.test("fuse: second derivatives run through the fused gradient op", () => {
  const f = fuse(geluTanh);
  const x = randn([7]).requiresGrad_(true);
  const [g] = autograd.grad([f(x).sum()], [x], { createGraph: true });
  const { result: [gg], trace } = explain(() => autograd.grad([g.sum()], [x]));
  assert.ok(trace.some((e) => e.op === "fusedElementwise"), "the gradient's gradient is fused");
  const x2 = x.detach().requiresGrad_(true);
  const [h] = autograd.grad([geluTanh(x2).sum()], [x2], { createGraph: true });
  const [hh] = autograd.grad([h.sum()], [x2]);
  const a = gg.dataSync(), b = hh.dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${a[i]} vs ${b[i]}`);
});

Deno.test("fuse: non-elementwise ops, views, captured tensors and bad results are named errors", () => {
  const x = randn([2, 3]);
  const cases: [(x: Tensor) => unknown, RegExp][] = [
    [(t) => t.matmul(t.t()), /fuse: fn uses (matmul|permute), /],
    [(t) => t.exp().sum(), /fuse: fn uses sum, which is not an elementwise op/],
    [(t) => t.reshape([3, 2]).exp(), /fuse: fn uses reshape, a view op/],
    [(t) => F.softmax(t, 1), /fuse: fn uses softmax/],
    [(t) => t.add(x), /fuse: fn must compute from its arguments and scalar constants only/],
    [(t) => t.add(tensor([1, 2, 3], { device: t.device })), /3-element constant tensor/],
    [() => 3, /fuse: fn must return one Tensor, got number/],
    [(t) => [t], /fuse: fn must return one Tensor, got an array/],
    [(t) => Promise.resolve(t), /fuse: fn must be synchronous/],
    [(t) => t.mul_(2), /in place/],
    [(t) => scalar(1, "float32", t.device), /does not depend on its arguments/],
  ];
  for (const [fn, re] of cases) {
    assert.throws(() => fuse(fn as (t: Tensor) => Tensor)(x), (e: Error) => {
      assert.ok(e instanceof ValueError, `${re}: ${e.name}: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.throws(() => fuse((t: Tensor) => t)(3 as unknown as Tensor), ValueError);
  assert.throws(() => fuse(3 as unknown as (t: Tensor) => Tensor), ValueError);
  // Errors of the traced ops themselves keep their class and message.
  const add = fuse((a: Tensor, b: Tensor) => a.add(b));
  assert.throws(() => add(randn([2]), randn([3])), /add/);
  add(randn([2]), randn([1]));
  assert.throws(() => add(randn([2]), randn([3])), /fusedElementwise: .*broadcast/);
  // The op itself checks its attributes and inputs.
  const e = fusedExpr([{ op: "input", index: 0, dtype: "float32" }], ["float32"]);
  assert.throws(() => fusedElementwise([tensor([1], { dtype: "int32" })], e), /input 0 is int32/);
  assert.throws(
    () => fusedExpr([{ op: "matmul", args: [0, 0], dtype: "float32" }], ["float32"]),
    /"matmul" is not a fusable elementwise op/,
  );
  assert.throws(
    () => fusedElementwise([x], { nodes: e.nodes, inputs: e.inputs, key: e.key }),
    /must be an expression made by fusedExpr/,
  );
});

Deno.test("fuse: the tracing backend leaves the registry as it was", () => {
  const before = JSON.stringify(explain().backends);
  fuse((t: Tensor) => t.neg().exp())(randn([3]));
  assert.throws(() => fuse((t: Tensor) => t.sum())(randn([3])), ValueError);
  assert.equal(JSON.stringify(explain().backends), before);
});

Deno.test("fuse: the activations run as one fusedElementwise op each, with unchanged values", () => {
  const x = randn([5, 8]).mul(4);
  const ref: [string, (t: Tensor) => Tensor, (t: Tensor) => Tensor][] = [
    ["gelu", (t) => F.gelu(t), geluErf],
    ["gelu tanh", (t) => F.gelu(t, "tanh"), geluTanh],
    ["silu", (t) => F.silu(t), (t) => t.mul(t.sigmoid())],
    ["leakyRelu", (t) => F.leakyRelu(t, 0.2), (t) => where(t.gt(0), t, t.mul(0.2))],
    [
      "hardswish",
      (t) => F.hardswish(t),
      (t) => where(t.lt(-3), 0, where(t.lt(3), t.mul(t.add(3)).div(6), t)),
    ],
    ["softplus", (t) => F.softplus(t, 2, 5), (t) => {
      const bx = t.mul(2), lin = bx.gt(5);
      return where(lin, t, where(lin, 0, bx).exp().log1p().div(2));
    }],
    ["elu", (t) => F.elu(t, 1.5), (t) => {
      const pos = t.gt(0);
      return where(pos, t, where(pos, 0, t).exp().sub(1).mul(1.5));
    }],
    ["relu6", (t) => F.relu6(t), (t) => where(t.le(0), 0, where(t.ge(6), 6, t))],
    [
      "hardsigmoid",
      (t) => F.hardsigmoid(t),
      (t) => where(t.le(-3), 0, where(t.ge(3), 1, t.div(6).add(0.5))),
    ],
  ];
  for (const [label, fused, plain] of ref) {
    const { result, trace } = explain(() => fused(x));
    assert.deepEqual(trace.map((e) => e.op), ["fusedElementwise"], label);
    sameBits(result, plain(x), label);
  }
  const { trace } = explain(() => F.mish(x));
  assert.deepEqual(trace.map((e) => e.op), ["fusedElementwise"], "mish");
});

Deno.test("fuse: fused functions inside a fused function are inlined into one op", () => {
  const x = randn([3, 4]);
  const outer = fuse((t: Tensor) => F.gelu(t).add(F.mish(t)).mul(fuse((u: Tensor) => u.exp())(t)));
  const { result, trace } = explain(() => outer(x));
  assert.deepEqual(trace.map((e) => e.op), ["fusedElementwise"]);
  sameBits(result, F.gelu(x).add(F.mish(x)).mul(x.exp()), "nested");
  // A fusedElementwise op called directly inside fn is inlined too.
  const e = fusedExpr([
    { op: "input", index: 0, dtype: "float32" },
    { op: "const", value: 2, dtype: "float32" },
    { op: "mul", args: [0, 1], dtype: "float32" },
  ], ["float32"]);
  const direct = fuse((t: Tensor) => fusedElementwise([t.sin()], e).exp());
  const r = explain(() => direct(x));
  assert.deepEqual(r.trace.map((t) => t.op), ["fusedElementwise"]);
  sameBits(r.result, x.sin().mul(2).exp(), "direct");
});

Deno.test("activations with erf, tanh or exp run unfused on cpu while recording gradients, fused otherwise", () => {
  const ops = (fn: () => unknown) => explain(fn).trace.map((e) => e.op);
  const x = randn([4, 5], { requiresGrad: true });
  // With gradients on cpu: the unfused ops (whose backward does not recompute erf).
  const withGrad = ops(() => F.gelu(x).sum().backward());
  assert.ok(!withGrad.includes("fusedElementwise"), `${withGrad}`);
  assert.ok(withGrad.includes("erf"), `${withGrad}`);
  // Without gradients: one fused op.
  const c = randn([4, 5]);
  assert.deepEqual(ops(() => F.gelu(c)), ["fusedElementwise"]);
  assert.deepEqual(ops(() => F.silu(c, false)), ["fusedElementwise"]);
  // Piecewise-linear ones stay fused with gradients too.
  assert.ok(ops(() => F.leakyRelu(x, 0.1).sum().backward()).includes("fusedElementwise"));
  // A user's fuse() is fused everywhere unless asked otherwise.
  const mine = fuse((t: Tensor) => t.mul(t.exp()));
  assert.ok(ops(() => mine(x).sum().backward()).includes("fusedElementwise"));
  const hostUnfused = fuse((t: Tensor) => t.mul(t.exp()), { unfusedOnHostWithGrad: true });
  assert.ok(!ops(() => hostUnfused(x).sum().backward()).includes("fusedElementwise"));
  // Same values and gradients either way.
  const g1 = autograd.grad(mine(x).sum(), [x])[0];
  const g2 = autograd.grad(hostUnfused(x).sum(), [x])[0];
  assert.deepEqual(g1.toArraySync(), g2.toArraySync());
  assert.throws(() => fuse((t: Tensor) => t, { fast: true } as never), ValueError);
  assert.throws(
    () => fuse((t: Tensor) => t, { unfusedOnHostWithGrad: 1 } as never),
    ValueError,
  );
});
