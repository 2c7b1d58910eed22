/**
 * The fused `conv2dMaxPool2x2` op (conv then 2 × 2 max pooling, stride 2) and its backward op:
 * values and indices bit for bit those of conv2d followed by maxPool2d, where the cpu kernels run
 * them (the direct wasm conv, LeNet's shapes) and where they decompose (wide convs, float16); the
 * gradients to float32 rounding where the cpu's backward kernel sums over the pooled elements only
 * (unit stride, no dilation or groups: the same terms as the dense products, less their zeros, in
 * another order) and bit for bit elsewhere or with a NaN in the input (the dense path then runs,
 * with PyTorch's NaNs); the gradients by finite differences; and Sequential's use of it for a
 * Conv2d, ReLU, MaxPool2d(2) chain.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { apply, apply1, explain, randn, randperm, tensor, zeros } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { Conv2d, MaxPool2d, ReLU, Sequential } from "../../layers/mod.ts";
import { conv2dOp } from "../../layers/ops/conv.ts";
import type { Conv2dAttrs } from "../../layers/ops/conv.ts";
import {
  conv2dMaxPool2x2,
  conv2dMaxPool2x2BackwardOp,
  maxPool2x2Attrs,
} from "../../layers/ops/conv_pool.ts";
import { maxPool2dOp } from "../../layers/ops/pool.ts";
import { gradcheck } from "../../testing/mod.ts";

const attrs = (
  padding = 0,
  stride: [number, number] = [1, 1],
  groups = 1,
  dilation = 1,
): Conv2dAttrs => ({
  stride,
  padding: [padding, padding],
  dilation: [dilation, dilation],
  groups,
});

function unfused(x: Tensor, w: Tensor, b: Tensor | null, a: Conv2dAttrs, relu = false): Tensor[] {
  const [y, i] = apply(
    maxPool2dOp,
    [apply1(conv2dOp, b ? [x, w, b] : [x, w], a)],
    maxPool2x2Attrs(),
  );
  return relu ? [y.relu(), i] : [y, i];
}

interface Case {
  name: string;
  x: number[];
  w: number[];
  bias: boolean;
  a: Conv2dAttrs;
  /** "kernel" where the cpu's fused kernel runs, "decomposition" where conv2d + maxPool2d do. */
  via: string;
  /** Whether the backward kernel sums over the pooled elements (finite inputs). */
  sparse?: boolean;
}

const cases: Case[] = [
  {
    name: "LeNet conv1",
    x: [4, 1, 28, 28],
    w: [6, 1, 5, 5],
    bias: true,
    a: attrs(2),
    via: "kernel",
    sparse: true,
  },
  {
    name: "LeNet conv2",
    x: [4, 6, 14, 14],
    w: [16, 6, 5, 5],
    bias: true,
    a: attrs(),
    via: "kernel",
    sparse: true,
  },
  {
    name: "odd output 9x11",
    x: [3, 2, 11, 13],
    w: [5, 2, 3, 3],
    bias: false,
    a: attrs(),
    via: "kernel",
    sparse: true,
  },
  {
    name: "groups 2",
    x: [2, 4, 12, 12],
    w: [12, 2, 3, 3],
    bias: true,
    a: attrs(1, [1, 1], 2),
    via: "kernel",
  },
  {
    name: "vertical stride 2",
    x: [2, 3, 17, 12],
    w: [4, 3, 3, 3],
    bias: true,
    a: attrs(1, [2, 1]),
    via: "kernel",
  },
  {
    name: "dilation 2",
    x: [2, 2, 15, 16],
    w: [6, 2, 3, 3],
    bias: true,
    a: attrs(2, [1, 1], 1, 2),
    via: "kernel",
  },
  {
    name: "32 channels",
    x: [2, 3, 10, 10],
    w: [32, 3, 3, 3],
    bias: true,
    a: attrs(1),
    via: "decomposition",
  },
  {
    name: "horizontal stride",
    x: [2, 3, 16, 16],
    w: [4, 3, 3, 3],
    bias: true,
    a: attrs(1, [1, 2]),
    via: "decomposition",
  },
];

/** Every element within float32 rounding of sums of `terms` products, NaNs in the same places. */
function near(what: string, got: ArrayLike<number>, want: ArrayLike<number>, terms: number): void {
  assert.equal(got.length, want.length, what);
  const scale = Array.from(want).reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  const tol = 2 ** -21 * Math.sqrt(terms) * scale;
  for (let i = 0; i < got.length; i++) {
    const v = got[i];
    if (!(Object.is(v, want[i]) || Math.abs(v - want[i]) <= tol)) {
      assert.fail(`${what}[${i}]: ${v} vs ${want[i]}`);
    }
  }
}

Deno.test("conv2dMaxPool2x2 equals conv2d then maxPool2d (then relu): values, indices, gradients", () => {
  for (const c of cases) {
    for (const nan of [true, false]) for (const relu of [false, true]) check(c, nan, relu);
  }
});

function check(c: Case, nan: boolean, relu: boolean): void {
  {
    const a = { ...c.a, relu };
    const xd = randn(c.x).mul(2), wd = randn(c.w), bd = randn([c.w[0]]);
    const data = xd.dataSync();
    if (nan) data[0] = NaN; // a NaN wins its window, as in maxPool2d
    data[5] = data[6]; // a tie
    const mk = () => {
      const x = tensor(Array.from(data)).reshape(c.x).requiresGrad_();
      const w = wd.detach().requiresGrad_();
      const b = c.bias ? bd.detach().requiresGrad_() : null;
      return { x, w, b };
    };
    const f = mk(), u = mk();
    const { trace } = explain(() => conv2dMaxPool2x2(f.x, f.w, f.b, a));
    const ran = trace.find((t) => t.op === "conv2dMaxPool2x2")!;
    assert.equal(ran.via === "decomposition" ? "decomposition" : "kernel", c.via, c.name);
    // The kernel applies the ReLU itself.
    if (c.via === "kernel") assert.ok(!trace.some((t) => t.op === "relu"), c.name);
    const [fy, fi] = conv2dMaxPool2x2(f.x, f.w, f.b, a);
    const [uy, ui] = unfused(u.x, u.w, u.b, c.a, relu);
    assert.deepEqual(fy.shape, uy.shape, c.name);
    assert.deepEqual(Array.from(fy.dataSync()), Array.from(uy.dataSync()), `${c.name}: values`);
    assert.deepEqual(Array.from(fi.dataSync()), Array.from(ui.dataSync()), `${c.name}: indices`);
    const g = randn(fy.shape);
    const back = explain(() => fy.backward(g)).trace.map((t) => `${t.op}@${t.backend}`);
    // The kernel path scatters the pooled gradient in scratch memory: no maxPool2dBackward op.
    if (c.via === "kernel") {
      assert.ok(back.includes("conv2dMaxPool2x2Backward@cpu"), `${c.name}: ${back}`);
      assert.ok(
        !back.some((o) => /^(maxPool2dBackward|reluBackward)@/.test(o)),
        `${c.name}: ${back}`,
      );
    }
    uy.backward(g);
    const [fx, ux] = [f.x.grad!.dataSync(), u.x.grad!.dataSync()];
    const [fw, uw] = [f.w.grad!.dataSync(), u.w.grad!.dataSync()];
    if (c.sparse && !nan) {
      near(`${c.name}: dx`, fx, ux, c.w[0] * c.w[2] * c.w[3]);
      near(`${c.name}: dw`, fw, uw, c.x[0] * fy.shape[2] * fy.shape[3]);
      assert.notDeepEqual(Array.from(fw), Array.from(uw), `${c.name}: the sparse path ran`);
    } else {
      assert.deepEqual(Array.from(fx), Array.from(ux), `${c.name}: dx`);
      assert.deepEqual(Array.from(fw), Array.from(uw), `${c.name}: dw`);
    }
    if (c.bias) {
      // The same terms summed in another order (the pooled gradient, not the scattered one).
      const fb = f.b!.grad!.dataSync(), ub = u.b!.grad!.dataSync();
      fb.forEach((v, i) => assert.ok(Math.abs(v - ub[i]) <= 1e-6 * (1 + Math.abs(ub[i])), c.name));
    }
  }
}

Deno.test("conv2dMaxPool2x2: a non-boolean relu, a relu backward without the output: ValueErrors", () => {
  assert.throws(
    () =>
      conv2dMaxPool2x2(randn([1, 1, 6, 6]), randn([2, 1, 3, 3]), null, {
        ...attrs(),
        relu: 1 as unknown as boolean,
      }),
    (e: Error) =>
      e.name === "ValueError" && e.message === "conv2dMaxPool2x2: relu must be a boolean, got 1",
  );
  // The backward op with relu needs the forward's output.
  const x = randn([1, 1, 6, 6]), w = randn([2, 1, 3, 3]);
  const [y, idx] = conv2dMaxPool2x2(x, w, null, { ...attrs(), relu: true });
  const back = { ...attrs(), relu: true, inputGrad: true, weightGrad: true, biasGrad: false };
  assert.throws(
    () => apply(conv2dMaxPool2x2BackwardOp, [y, idx, x, w], back),
    (e: Error) =>
      e.name === "ValueError" &&
      e.message ===
        "conv2dMaxPool2x2Backward: expected 5 inputs (gradient, indices, x, weight, forward output), got 4",
  );
  const [dx] = apply(conv2dMaxPool2x2BackwardOp, [y, idx, x, w, y], back);
  assert.deepEqual(dx.shape, [1, 1, 6, 6]);
});

Deno.test("conv2dMaxPool2x2: float16 decomposes; a conv output under 2x2 is a named ShapeError", () => {
  const x = randn([2, 1, 8, 8]).cast("float16"), w = randn([3, 1, 3, 3]).cast("float16");
  const [y] = conv2dMaxPool2x2(x, w, null, attrs());
  const [z] = unfused(x, w, null, attrs());
  assert.equal(y.dtype, "float16");
  assert.deepEqual(Array.from(y.dataSync()), Array.from(z.dataSync()));
  assert.throws(
    () => conv2dMaxPool2x2(randn([1, 1, 3, 3]), randn([1, 1, 3, 3]), null, attrs()),
    (e: Error) =>
      e.name === "ShapeError" && /conv2dMaxPool2x2: the conv output \[1, 1, 1, 1\]/.test(e.message),
  );
});

// Max pooling's winner must not change within a difference step: the input holds distinct values
// 0.1 apart and the weight is the identity tap (each output channel copies one input channel), so
// the conv output keeps those gaps; the weight's own check uses a step too small to close them.
Deno.test("conv2dMaxPool2x2 gradients by finite differences", () => {
  const spread = randperm(2 * 6 * 6).float().mul(0.1).reshape([1, 2, 6, 6]);
  const wd = zeros([2, 2, 3, 3]).dataSync();
  wd[0 * 18 + 0 * 9 + 4] = 1;
  wd[1 * 18 + 1 * 9 + 4] = 1;
  const w = tensor(Array.from(wd)).reshape([2, 2, 3, 3]);
  const b = randn([2]);
  const f = (xx: Tensor, ww: Tensor, bb: Tensor) => conv2dMaxPool2x2(xx, ww, bb, attrs(1))[0];
  gradcheck((xx, bb) => f(xx, w, bb), [spread.clone(), b.clone()]);
  gradcheck((ww) => f(spread, ww, b), [w.clone()], { eps: 1e-3, atol: 2e-2, rtol: 2e-2 });
  // With the ReLU: a bias of -3.05 puts half the values below zero, none within 0.05 of it.
  const shift = tensor([-3.05, -3.05]);
  const fr = (xx: Tensor, ww: Tensor, bb: Tensor) =>
    conv2dMaxPool2x2(xx, ww, bb, { ...attrs(1), relu: true })[0];
  gradcheck((xx, bb) => fr(xx, w, bb), [spread.clone(), shift.clone()]);
  gradcheck((ww) => fr(spread, ww, shift), [w.clone()], { eps: 1e-3, atol: 2e-2, rtol: 2e-2 });
});

Deno.test("Sequential runs Conv2d, ReLU, MaxPool2d(2) as the fused op, with the same values", () => {
  const conv = new Conv2d(1, 6, 5, { padding: 2 }), relu = new ReLU(), pool = new MaxPool2d(2);
  const seq = new Sequential(conv, relu, pool);
  const data = randn([3, 1, 28, 28]).dataSync();
  const xa = tensor(Array.from(data)).reshape([3, 1, 28, 28]).requiresGrad_();
  const xb = tensor(Array.from(data)).reshape([3, 1, 28, 28]).requiresGrad_();
  const { trace } = explain(() => seq.forward(xa));
  assert.deepEqual(trace.map((t) => `${t.op}@${t.backend}`), ["conv2dMaxPool2x2@cpu"]);
  const ya = seq.forward(xa), yb = pool.forward(relu.forward(conv.forward(xb)));
  assert.deepEqual(Array.from(ya.dataSync()), Array.from(yb.dataSync()));
  const g = randn(ya.shape);
  conv.zeroGrad();
  ya.backward(g);
  const gw = Array.from(conv.weight.grad!.dataSync());
  conv.zeroGrad();
  yb.backward(g);
  near("dx", xa.grad!.dataSync(), xb.grad!.dataSync(), 6 * 25);
  near("dw", gw, conv.weight.grad!.dataSync(), 3 * 14 * 14);
  // A forward hook on the conv sees its own output: no fusion then.
  const seen: number[][] = [];
  const h = conv.registerForwardHook((_m, _a, out) => {
    seen.push([...(out as Tensor).shape]);
  });
  seq.forward(xa);
  h.remove();
  assert.deepEqual(seen, [[3, 6, 28, 28]]);
});

Deno.test("functional options: empty options share one parsed default that other calls leave alone", async () => {
  const { avgPool2d, conv2d, maxPool2d } = await import("../../layers/mod.ts");
  const x = randn([1, 1, 6, 6]), w = randn([1, 1, 3, 3]);
  for (let round = 0; round < 2; round++) {
    assert.deepEqual(avgPool2d(x, 2).shape, [1, 1, 3, 3]);
    assert.deepEqual(avgPool2d(x, 2, { stride: 1 }).shape, [1, 1, 5, 5]);
    assert.deepEqual(maxPool2d(x, 3, {}).shape, [1, 1, 2, 2]);
    assert.deepEqual(maxPool2d(x, 3, { stride: 1, padding: 1 }).shape, [1, 1, 6, 6]);
    assert.deepEqual(conv2d(x, w).shape, [1, 1, 4, 4]);
    assert.deepEqual(conv2d(x, w, null, { padding: 1 }).shape, [1, 1, 6, 6]);
  }
});
