/**
 * autograd.grad, createGraph and double backward, and multi-output gradient rules: a WGAN-GP
 * gradient penalty, a Hessian-vector product and gradients of intermediate tensors checked against
 * PyTorch (tests/fixtures/autograd_grad.json, written by tools/gen_autograd_fixtures.py); second
 * derivatives of every elementwise, reduction, matmul and softmax rule checked by finite
 * differences of the first; and the errors.
 *
 * Tolerance against PyTorch: atol 1e-5, rtol 1e-4 — the goldens are float64 results over the same
 * float32 inputs, and second derivatives go through two float32 sweeps.
 */

import assert from "node:assert/strict";
import {
  apply,
  apply1,
  autograd,
  AutogradError,
  cat,
  defineOp,
  enableGrad,
  F,
  fromData,
  Generator,
  getBackend,
  getOp,
  nn,
  noGrad,
  registerKernels,
  ShapeError,
  type Tensor,
  tensor,
  ValueError,
  where,
  zeros,
} from "../../mod.ts";
import type { OpDef } from "../../mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { distinctTensor, POOL_2X2, randTensor, UNARY_CASES } from "./_random.ts";
import { firstDerivative } from "./_second_order.ts";
import type { RandOpts } from "./_random.ts";

interface Rec {
  shape: number[];
  data: number[];
}

interface Case {
  inputs: Record<string, Rec>;
  expect: Record<string, Rec | null>;
}

const fixtures: { cases: Record<string, Case> } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/autograd_grad.json", import.meta.url)),
);

const TOL = { atol: 1e-5, rtol: 1e-4 };

function input(c: Case, name: string, requiresGrad = false): Tensor {
  const r = c.inputs[name];
  return fromData(Float32Array.from(r.data), r.shape, { requiresGrad });
}

// PyTorch's None for a gradient that never arrived is null here, or zeros where a rule sent them.
function expectClose(actual: Tensor | null, c: Case, name: string): void {
  const e = c.expect[name];
  if (e === null) {
    if (actual) assertClose(actual, new Array(actual.numel()).fill(0), { message: name });
    return;
  }
  const a = actual ?? zeros(e.shape);
  assert.deepEqual(a.shape, e.shape, `${name}: shape`);
  assertClose(a, e.data, { ...TOL, message: name });
}

// ------------------------------------------------------------------ against PyTorch

Deno.test("autograd.grad: WGAN-GP gradient penalty matches PyTorch", () => {
  const c = fixtures.cases["wgan-gp"];
  const x = input(c, "x", true);
  const layers = [new nn.Linear(3, 5), new nn.Linear(5, 4), new nn.Linear(4, 1)];
  noGrad(() => {
    layers.forEach((l, i) => {
      l.weight.copy_(input(c, `w${i + 1}`));
      l.bias!.copy_(input(c, `b${i + 1}`));
    });
  });
  const [l1, l2, l3] = layers;
  const out = l3.forward(l2.forward(l1.forward(x).tanh()).relu());
  expectClose(out, c, "out");

  const g = autograd.grad(out.sum(), x, { createGraph: true });
  expectClose(g, c, "g");
  assert.ok(g.requiresGrad, "the gradient has a graph");
  assert.equal(x.grad, null, "grad() leaves .grad alone");
  for (const l of layers) assert.equal(l.weight.grad, null, "grad() leaves .grad alone");

  const penalty = g.square().sum(1).sqrt().sub(1).square().mean();
  expectClose(penalty, c, "penalty");
  penalty.backward();
  expectClose(x.grad, c, "grad_x");
  layers.forEach((l, i) => {
    expectClose(l.weight.grad, c, `grad_w${i + 1}`);
    expectClose(l.bias!.grad, c, `grad_b${i + 1}`);
  });
});

Deno.test("autograd.grad: the same penalty through backward({ createGraph }) and .grad", () => {
  const c = fixtures.cases["wgan-gp"];
  const x = input(c, "x", true);
  const w = [1, 2, 3].map((i) => input(c, `w${i}`, true));
  const b = [1, 2, 3].map((i) => input(c, `b${i}`, true));
  const out = F.linear(F.linear(F.linear(x, w[0], b[0]).tanh(), w[1], b[1]).relu(), w[2], b[2]);
  out.sum().backward(undefined, { createGraph: true });
  const g = x.grad!;
  expectClose(g, c, "g");
  assert.ok(g.requiresGrad, "x.grad has a graph");
  for (const t of [...w, ...b]) t.grad = null;
  x.grad = null;
  g.square().sum(1).sqrt().sub(1).square().mean().backward();
  expectClose(x.grad, c, "grad_x");
  for (let i = 0; i < 3; i++) expectClose(w[i].grad, c, `grad_w${i + 1}`);
});

Deno.test("autograd.grad: Hessian-vector product matches PyTorch", () => {
  const c = fixtures.cases["hvp"];
  const x = input(c, "x", true), w = input(c, "w", true);
  const v = input(c, "v"), t = input(c, "t");
  const h = x.sigmoid().matmul(w);
  const f = h.softmax(1).mul(x.exp().add(1).log()).mean().sub(h.logSoftmax(1).mul(t).mean());
  expectClose(f, c, "f");
  const g = autograd.grad(f, x, { createGraph: true });
  expectClose(g, c, "g");
  const [hx, hw] = autograd.grad(g.mul(v).sum(), [x, w]);
  expectClose(hx, c, "hvp_x");
  expectClose(hw, c, "hvp_w");
  assert.ok(!hx.requiresGrad, "without createGraph the result has no graph");
  assert.equal(x.grad, null);
  assert.equal(w.grad, null);
});

Deno.test("autograd.grad: gradients of intermediate tensors match PyTorch", () => {
  const c = fixtures.cases["non-leaf"];
  const x = input(c, "x", true), w = input(c, "w");
  const h = x.tanh().mul(2);
  const u = h.matmul(w);
  const y = u.logsumexp(1).sum().add(h.mul(h).sum());
  expectClose(y, c, "y");
  const [gh, gu] = autograd.grad(y, [h, u], { retainGraph: true });
  expectClose(gh, c, "grad_h");
  expectClose(gu, c, "grad_u");
  const [gu2, gx] = autograd.grad(y, [u, x], { retainGraph: true });
  expectClose(gu2, c, "grad_u");
  expectClose(gx, c, "grad_x");
  const vjp = autograd.grad(u, h, { gradOutputs: input(c, "gu") });
  expectClose(vjp, c, "vjp_h");
  assert.equal(x.grad, null);
});

// ------------------------------------------------------------------ semantics

Deno.test("autograd.grad: several outputs sum their weighted gradients", () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const a = x.mul(x), b = x.exp().sum();
  const g = autograd.grad([a, b], x, { gradOutputs: [tensor([1, 0, 2]), null] });
  assertClose(g, [2 + Math.E, Math.exp(2), 12 + Math.exp(3)], { rtol: 1e-6 });
});

Deno.test("autograd.grad: an output given as its own input gets its seed", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = x.mul(3);
  const [gy, gx] = autograd.grad(y, [y, x], { gradOutputs: tensor([5, 7]) });
  assertClose(gy, [5, 7]);
  assertClose(gx, [15, 21]);
  assertClose(autograd.grad(x, x, { gradOutputs: tensor([4, 6]) }), [4, 6]);
});

Deno.test("autograd.grad: only the part of the graph leading to the inputs runs", () => {
  let calls = 0;
  const boom: OpDef<Record<string, never>> = defineOp<Record<string, never>>({
    name: "@test/boomGrad",
    infer: (i) => [{ shape: i[0].shape as number[], dtype: i[0].dtype }],
    decompose: ([x]) => [x.mul(1)],
    grad: (_ctx, g) => {
      calls++;
      return [g];
    },
  });
  const x = tensor([1, 2], { requiresGrad: true });
  const w = tensor([3, 4], { requiresGrad: true });
  const y = apply1(boom, [w], {}).add(x.mul(2)).sum();
  assertClose(autograd.grad(y, x, { retainGraph: true }), [2, 2]);
  assert.equal(calls, 0, "the rule on the path to w alone did not run");
  y.backward();
  assert.equal(calls, 1);
  assertClose(w.grad!, [1, 1]);
});

Deno.test("autograd: createGraph implies retainGraph; without it a second pass is an error", () => {
  const x = tensor([0.5, -1], { requiresGrad: true });
  const y = x.exp().mul(x).sum();
  autograd.grad(y, x, { createGraph: true });
  autograd.grad(y, x);
  assert.throws(
    () => autograd.grad(y, x),
    (e: unknown) =>
      e instanceof AutogradError &&
      /second time.*retainGraph: true/.test(e.message),
  );
  const z = x.sin().sum();
  z.backward(undefined, { createGraph: true });
  z.backward();
  assertClose(x.grad!, [0.5, -1].map((v) => 2 * Math.cos(v)));
});

Deno.test("autograd: createGraph records inside noGrad; a plain pass records nothing anyway", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = x.pow(3).sum();
  const g = noGrad(() => autograd.grad(y, x, { createGraph: true }));
  assert.ok(g.requiresGrad);
  assertClose(g, [3, 12]);
  assert.ok(!enableGrad(() => autograd.grad(y, x)).requiresGrad);
});

Deno.test("autograd: leaf gradients handed to two leaves stay separate and differentiable", () => {
  const a = tensor([1, 2], { requiresGrad: true });
  const b = tensor([3, 5], { requiresGrad: true });
  a.add(b).square().sum().backward(undefined, { createGraph: true });
  assert.ok(a.grad !== b.grad && a.grad!.requiresGrad && b.grad!.requiresGrad);
  assertClose(a.grad!, [8, 14]);
  // Each .grad is its own graph: d(Σ b.grad)/da = 2.
  assertClose(autograd.grad(b.grad!.sum(), a, { retainGraph: true }), [2, 2]);
  noGrad(() => a.grad!.mul_(0));
  assertClose(b.grad!, [8, 14]);
  // A second createGraph backward accumulates into .grad, still with a graph: 2(a + b) (its values
  // zeroed above, its derivative 2) plus 2a.
  a.mul(a).sum().backward(undefined, { createGraph: true });
  assertClose(a.grad!, [2, 4]);
  assertClose(autograd.grad(a.grad!.sum(), a), [4, 4]);
});

// ------------------------------------------------------------------ multi-output rules

// Splits a [2n, ...] tensor into its halves: a multi-output op whose rule needs every output's
// gradient.
const split2: OpDef<Record<string, never>> = defineOp<Record<string, never>>({
  name: "@test/split2",
  savesInputs: false,
  infer(inputs) {
    const [n, ...rest] = inputs[0].shape;
    const spec = { shape: [n / 2, ...rest], dtype: inputs[0].dtype };
    return [spec, { ...spec }];
  },
  decompose: ([x]) => [x.narrow(0, 0, x.shape[0] / 2), x.narrow(0, x.shape[0] / 2, x.shape[0] / 2)],
  grad(_ctx, g, gs) {
    seen.push([gs[0] !== null, gs[1] !== null, gs[1]?.requiresGrad === true]);
    const zero = (): Tensor => zeros(g.shape, { dtype: g.dtype });
    return [cat([gs[0] ?? zero(), gs[1] ?? zero()])];
  },
});
const seen: [boolean, boolean, boolean][] = [];

Deno.test("multi-output op: a loss on output 1 alone reaches the input", () => {
  seen.length = 0;
  const x = tensor([1, 2, 3, 4], { requiresGrad: true });
  const [, hi] = apply(split2, [x], {});
  hi.mul(hi).sum().backward();
  assertClose(x.grad!, [0, 0, 6, 8]);
  assert.deepEqual(seen, [[false, true, false]], "gradOutputs[0] is null, gradOutputs[1] given");
});

Deno.test("multi-output op: both outputs' gradients reach the rule", () => {
  seen.length = 0;
  const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const [lo, hi] = apply(split2, [x], {});
  const g = autograd.grad(lo.mul(3).add(hi.mul(hi)).sum(), x, { createGraph: true });
  assertClose(g, [[3, 3], [6, 8]]);
  assert.deepEqual(seen, [[true, true, true]]);
  // And the rule (cat of its gradients) differentiates again.
  assertClose(autograd.grad(g.sum(), x), [[0, 0], [2, 2]]);
});

Deno.test("multi-output op: gradcheck through output 1", () => {
  gradcheck((x) => apply(split2, [x], {})[1].sin(), [tensor([0.3, -0.4, 1.2, 0.7, 2, -1])]);
});

Deno.test("multi-output op: maxPool2d's indices output takes no gradient", () => {
  const x = tensor([[[[1, 5], [3, 2]]]], { requiresGrad: true });
  const [y, idx] = F.maxPool2dWithIndices(x, 2);
  assert.ok(y.requiresGrad && !idx.requiresGrad);
  y.sum().backward();
  assertClose(x.grad!, [[[[0, 1], [0, 0]]]]);
});

// ------------------------------------------------------------------ errors

Deno.test("autograd.grad: an input that does not require grad is an error", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const c = tensor([3, 4]);
  assert.throws(
    () => autograd.grad(x.mul(c).sum(), [x, c]),
    (e: unknown) =>
      e instanceof AutogradError && /grad: input 1 \(\[2\] float32\) does not require grad/
        .test(e.message),
  );
});

Deno.test("autograd.grad: an unused input is an error unless allowUnused", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const u = tensor([3], { requiresGrad: true });
  const y = x.mul(x).sum();
  assert.throws(
    () => autograd.grad(y, [x, u], { retainGraph: true }),
    (e: unknown) =>
      e instanceof AutogradError && /input 1 \(\[1\]\) was not used.*allowUnused: true/
        .test(e.message),
  );
  const [gx, gu] = autograd.grad(y, [x, u], { allowUnused: true });
  assertClose(gx!, [2, 4]);
  assert.equal(gu, null);
});

Deno.test("autograd.grad: outputs and gradOutputs are checked", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  assert.throws(
    () => autograd.grad(x.mul(2), x),
    (e: unknown) => e instanceof ShapeError && /output 0.*only for scalar outputs/.test(e.message),
  );
  assert.throws(
    () => autograd.grad(x.mul(2), x, { gradOutputs: tensor([1, 2, 3]) }),
    (e: unknown) =>
      e instanceof ShapeError && /\[3\] does not match the tensor's \[2\]/.test(e.message),
  );
  assert.throws(
    () => autograd.grad([x.sum(), x.sum()], x, { gradOutputs: [null] }),
    (e: unknown) => e instanceof ValueError && /1 gradOutputs for 2 outputs/.test(e.message),
  );
  assert.throws(
    () => autograd.grad(noGrad(() => x.sum()), x),
    (e: unknown) =>
      e instanceof AutogradError && /output 0 \(\[\]\) does not require grad/.test(e.message),
  );
});

Deno.test("autograd: a rule sees createGraph and may refuse to be differentiated", () => {
  const flat: OpDef<Record<string, never>> = defineOp<Record<string, never>>({
    name: "@test/firstOrderOnly",
    infer: (i) => [{ shape: i[0].shape as number[], dtype: i[0].dtype }],
    decompose: ([x]) => [x.mul(x)],
    grad(ctx, g) {
      if (ctx.createGraph) {
        throw new AutogradError("@test/firstOrderOnly: its gradient rule is not differentiable");
      }
      return [g.mul(ctx.inputs[0]).mul(2)];
    },
  });
  const x = tensor([1, 2], { requiresGrad: true });
  const y = apply1(flat, [x], {}).sum();
  assertClose(autograd.grad(y, x, { retainGraph: true }), [2, 4]);
  assert.throws(
    () => autograd.grad(y, x, { createGraph: true }),
    (e: unknown) => e instanceof AutogradError && /firstOrderOnly/.test(e.message),
  );
});

Deno.test("autograd: createGraph through a rule that uses an op without a gradient names the rule", () => {
  // An op with a cpu kernel (the copy kernel) but no gradient rule, used by another op's rule.
  const opaque = defineOp<Record<string, never>>({
    name: "@test/opaque",
    infer: (i) => [{ shape: i[0].shape as number[], dtype: i[0].dtype }],
  });
  registerKernels("cpu", { "@test/opaque": getBackend("cpu").table.get("copy")! });
  const outer = defineOp<Record<string, never>>({
    name: "@test/usesOpaque",
    infer: (i) => [{ shape: i[0].shape as number[], dtype: i[0].dtype }],
    decompose: ([x]) => [x.mul(2)],
    grad: (_ctx, g) => [apply1(opaque, [g], {}).mul(2)],
  });
  const x = tensor([1, 2], { requiresGrad: true });
  const y = apply1(outer, [x], {}).square().sum();
  assertClose(autograd.grad(y, x, { retainGraph: true }), [8, 16]);
  assert.throws(
    () => autograd.grad(y, x, { createGraph: true }),
    (e: unknown) =>
      e instanceof AutogradError &&
      /^@test\/usesOpaque: its gradient rule cannot be differentiated again.*@test\/opaque: has no gradient rule/
        .test(e.message),
  );
});

// ------------------------------------------------------------------ double backward, numerically

const gen = new Generator(11);

const rand = (shape: number[], o: RandOpts = {}): Tensor => randTensor(gen, shape, o);
const distinct = (shape: number[]): Tensor => distinctTensor(gen, shape);

function check2(
  name: string,
  f: (...x: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts?: { eps?: number; atol?: number; rtol?: number },
): void {
  Deno.test(`double backward: ${name}`, () => gradcheck(firstDerivative(f), inputs, opts));
}

const U: [string, (x: Tensor) => Tensor, RandOpts][] = [
  ...UNARY_CASES,
  ["pow scalar", (x) => x.pow(3), {}],
];
for (const [name, f, o] of U) check2(name, f, [rand([2, 3], o)]);

const B: [string, (a: Tensor, b: Tensor) => Tensor, Tensor, Tensor][] = [
  ["add (broadcast)", (a, b) => a.add(b), rand([2, 3]), rand([3])],
  ["sub (broadcast)", (a, b) => a.sub(b), rand([2, 3]), rand([2, 1])],
  ["mul (broadcast)", (a, b) => a.mul(b), rand([2, 3]), rand([3])],
  ["div (broadcast)", (a, b) => a.div(b), rand([2, 3]), rand([3], { lo: 0.5, hi: 2 })],
  ["pow", (a, b) => a.pow(b), rand([2, 3], { lo: 0.5, hi: 2 }), rand([2, 3])],
  ["maximum", (a, b) => a.maximum(b), rand([2, 3]), rand([2, 3]).add(0.05)],
  ["minimum", (a, b) => a.minimum(b), rand([2, 3]), rand([2, 3]).add(0.05)],
];
for (const [name, f, a, b] of B) check2(name, f, [a, b]);

check2(
  "where",
  (a, b) => where(tensor([[true, false, true], [false, false, true]]), a, b),
  [rand([2, 3]), rand([3])],
);
check2("sum dims", (x) => x.sum(1), [rand([2, 3, 2])]);
check2("sum all keepdim", (x) => x.sum(undefined, { keepdim: true }), [rand([2, 3])]);
check2("mean", (x) => x.mean([0, 2]), [rand([2, 3, 2])]);
check2("max dim", (x) => x.amax(1), [distinct([3, 4])]);
check2("min all", (x) => x.min(), [distinct([3, 4])]);
check2("var", (x) => x.var(1), [rand([2, 4])]);
check2("expand", (x) => x.expand([3, 2, 4]), [rand([2, 1])]);
check2("matmul", (a, b) => a.matmul(b), [rand([2, 3]), rand([3, 4])]);
check2("matmul batched broadcast", (a, b) => a.matmul(b), [rand([2, 2, 3]), rand([3, 2])]);
check2("matmul batched both", (a, b) => a.matmul(b), [rand([2, 2, 3]), rand([1, 3, 2])]);
check2("matmul vector", (a, b) => a.matmul(b), [rand([3]), rand([3, 2])]);
check2("softmax", (x) => x.softmax(1), [rand([2, 4])]);
check2("logSoftmax", (x) => x.logSoftmax(0), [rand([3, 2])]);
check2("logsumexp", (x) => x.logsumexp(1), [rand([2, 4])]);
check2(
  "conv2d",
  (x, w) => F.conv2d(x, w, null, { padding: 1 }),
  [rand([1, 2, 3, 3]), rand([2, 2, 2, 2])],
);
check2("maxPool2d", (x) => F.maxPool2d(x, 2), [distinct([1, 1, 4, 4])]);
check2("avgPool2d", (x) => F.avgPool2d(x, 2), [rand([1, 1, 4, 4])]);
check2(
  "batchNorm training",
  (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
  [rand([4, 2]), rand([2], { lo: 0.5, hi: 1.5 }), rand([2])],
);

check2(
  "batchNorm eval",
  (x, m, v, w, b) => F.batchNorm(x, m, v, { weight: w, bias: b, training: false }),
  [
    rand([3, 2]),
    rand([2]),
    rand([2], { lo: 0.5, hi: 1.5 }),
    rand([2], { lo: 0.5, hi: 1.5 }),
    rand(
      [2],
    ),
  ],
);

Deno.test("double backward: maxPool2dGather (maxPool2d's third derivative)", () => {
  const [, idx] = F.maxPool2dWithIndices(distinct([1, 2, 4, 4]), 2);
  const gather = getOp("maxPool2dGather")!;
  const attrs = { ...POOL_2X2, shape: [1, 2, 4, 4] };
  gradcheck((g) => apply1(gather, [g, idx], attrs), [rand([1, 2, 4, 4])]);
});
