// float16 end to end on the cpu backend: dtype promotion, cast rounding and overflow, ops against a
// float32 reference within float16 tolerance, gradients of a small net, and Module.half().

import assert from "node:assert/strict";
import {
  cast,
  cat,
  DTypeError,
  explain,
  F,
  full,
  manualSeed,
  nn,
  pad,
  promoteTypes,
  rand,
  randn,
  tensor,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { conv2dRaw } from "../../layers/mod.ts";

/** Relative closeness at float16 precision: |a − b| ≤ tol · (1 + |b|). */
function close(label: string, got: Tensor, want: Tensor, tol = 2e-3): void {
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  const g = got.dataSync(), w = want.dataSync();
  for (let i = 0; i < w.length; i++) {
    if (Number.isNaN(g[i]) && Number.isNaN(w[i])) continue;
    if (g[i] === w[i]) continue;
    assert.ok(
      Math.abs(g[i] - w[i]) <= tol * (1 + Math.abs(w[i])),
      `${label}: element ${i}: float16 ${g[i]} vs float32 ${w[i]}`,
    );
  }
}

/** Runs `fn` on float16 copies and on float32 inputs rounded to float16, and compares. */
function same(label: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], tol?: number) {
  const half = inputs.map((t) => t.half());
  const ref = fn(...half.map((t) => t.float()));
  const out = fn(...half);
  assert.equal(out.dtype, "float16", `${label}: result dtype`);
  close(label, out, ref, tol);
}

Deno.test("float16 promotion: bool < int32 < float16 < float32", () => {
  assert.equal(promoteTypes("float16", "float32"), "float32");
  assert.equal(promoteTypes("int32", "float16"), "float16");
  assert.equal(promoteTypes("bool", "float16"), "float16");
  const h = tensor([1, 2], { dtype: "float16" });
  assert.equal(h.add(tensor([1, 2])).dtype, "float32");
  assert.equal(h.add(tensor([1, 2], { dtype: "int32" })).dtype, "float16");
  assert.equal(h.mul(2.5).dtype, "float16", "a number keeps the tensor's float dtype");
  assert.equal(tensor([1, 2], { dtype: "int32" }).div(2).dtype, "float32");
  assert.equal(h.div(tensor([2], { dtype: "int32" })).dtype, "float16");
  assert.equal(h.gt(1).dtype, "bool");
  assert.equal(h.sum().dtype, "float16");
  assert.equal(h.mean().dtype, "float16");
  assert.equal(h.argmax().dtype, "int32");
});

Deno.test("float16 creation and readback: numbers, typed arrays, random", () => {
  const t = tensor([[1, 0.1], [-2.5, 1e5]], { dtype: "float16" });
  assert.equal(t.dtype, "float16");
  assert.ok(t.dataSync() instanceof Float16Array);
  assert.deepEqual(t.toArraySync(), [[1, 0.0999755859375], [-2.5, Infinity]]);
  assert.equal(typeof (t.toArraySync() as number[][])[0][0], "number");
  assert.equal(tensor(new Float16Array([1.5, 2])).dtype, "float16");
  assert.deepEqual(full([2], 3.3, { dtype: "float16" }).toArraySync(), [3.30078125, 3.30078125]);
  manualSeed(3);
  const r32 = randn([100]);
  manualSeed(3);
  const r16 = randn([100], { dtype: "float16" });
  assert.equal(r16.dtype, "float16");
  assert.deepEqual(r16.toArraySync(), r32.half().toArraySync());
  const u = rand([2000], { dtype: "float16" }).dataSync();
  for (const v of u) assert.ok(v >= 0 && v < 1, `rand float16 ${v} outside [0, 1)`);
  assert.throws(() => randn([2], { dtype: "int32" }), DTypeError);
  assert.equal(tensor([1]).half().dtype, "float16");
});

Deno.test("float16 cast: round to nearest even, overflow to inf, round trip", () => {
  const x = tensor([
    1 + 2 ** -11, // halfway between 1 and the next float16: ties to even (1)
    1 + 3 * 2 ** -11, // halfway, rounds up to even (1 + 2^-9)
    65504,
    65519, // below the rounding boundary: the largest finite float16
    65520, // the boundary rounds to inf
    -1e6,
    2 ** -24, // smallest subnormal
    2 ** -26, // underflows to 0
    NaN,
  ]);
  const h = cast(x, "float16");
  const v = h.toArraySync() as number[];
  assert.deepEqual(v.slice(0, 8), [1, 1 + 2 ** -9, 65504, 65504, Infinity, -Infinity, 2 ** -24, 0]);
  assert.ok(Number.isNaN(v[8]));
  // Every float16 value survives float16 → float32 → float16, and int32 / bool casts work.
  const bits = new Uint16Array(65536).map((_, i) => i);
  const all = tensor(new Float16Array(bits.buffer));
  const back = all.float().half().dataSync() as Float16Array;
  const b16 = new Uint16Array(back.buffer);
  for (let i = 0; i < 65536; i++) {
    const nan = ((i >> 10) & 31) === 31 && (i & 1023) !== 0;
    if (!nan) assert.equal(b16[i], i, `bits ${i.toString(16)}`);
  }
  assert.deepEqual(tensor([2.7, -2.7, 0]).half().int().toArraySync(), [2, -2, 0]);
  assert.deepEqual(tensor([2, -3], { dtype: "int32" }).half().toArraySync(), [2, -3]);
  assert.deepEqual(tensor([1.5, 0]).half().bool().toArraySync(), [true, false]);
  assert.deepEqual(tensor([true, false]).half().toArraySync(), [1, 0]);
});

Deno.test("float16 ops on cpu match float32 within float16 tolerance", () => {
  manualSeed(7);
  const a = randn([4, 6]), b = randn([6, 5]), c = randn([4, 1]).abs().add(0.5);
  for (const op of ["add", "sub", "mul", "div", "maximum", "minimum", "pow"] as const) {
    same(op, (x, y) => x[op](y), [op === "pow" ? a.abs().add(0.1) : a, c]);
  }
  for (
    const op of [
      "neg",
      "exp",
      "abs",
      "relu",
      "sigmoid",
      "tanh",
      "erf",
      "sin",
      "cos",
      "round",
    ] as const
  ) same(op, (x) => x[op](), [a]);
  for (const op of ["log", "sqrt", "rsqrt"] as const) same(op, (x) => x[op](), [c]);
  same("sum", (x) => x.sum(1), [a]);
  same("sum all", (x) => x.sum(), [randn([3000])], 5e-3);
  same("mean", (x) => x.mean(0), [a]);
  same("max", (x) => x.amax(1), [a]);
  same("var", (x) => x.var(1), [a]);
  same("softmax", (x) => x.softmax(1), [a]);
  same("logSoftmax", (x) => x.logSoftmax(0), [a]);
  same("matmul", (x, y) => x.matmul(y), [a, b]);
  same("batched matmul", (x, y) => x.matmul(y), [randn([2, 3, 8]), randn([8, 4])]);
  same("transpose + where", (x) => F.relu(x.t()).add(x.t().gt(0).float().half()), [a]);
  const x = randn([2, 3, 8, 8]), w = randn([4, 3, 3, 3]), bias = randn([4]);
  const attrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as {
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    groups: number;
  };
  same("conv2d", (x, w, b) => conv2dRaw(x, w, b, attrs), [x, w, bias], 3e-3);
  same("maxPool2d", (x) => F.maxPool2d(x, 2), [x]);
  same("avgPool2d", (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }), [x]);
  same("adaptiveAvgPool2d", (x) => F.adaptiveAvgPool2d(x, [3, 3]), [x]);
  same("batchNorm (training)", (x) => F.batchNorm(x, null, null, { training: true }), [x], 5e-3);
  same(
    "slice, cat, pad",
    (x) => pad(cat([x.slice(null, { start: 1, end: 3 }), x], 1), [1, 1], 0.5).add(1),
    [x],
  );
  // Losses: class-index cross-entropy and MSE stay float16.
  const target = tensor([0, 2, 1, 4], { dtype: "int32" });
  same("crossEntropy", (x) => F.crossEntropy(x, target), [randn([4, 5])]);
  same("mseLoss", (x, y) => F.mseLoss(x, y), [randn([4, 5]), randn([4, 5])]);
});

Deno.test("float16 kernels on cpu run the float32 kernels (widened), float32 is untouched", () => {
  const a = randn([3, 4]).half(), b = randn([4, 2]).half();
  const { trace, result } = explain(() => a.matmul(b));
  assert.equal(trace[0].backend, "cpu");
  assert.equal(result.dtype, "float16");
  assert.ok(result.dataSync() instanceof Float16Array);
  assert.ok(randn([2, 2]).matmul(randn([2, 2])).dataSync() instanceof Float32Array);
});

Deno.test("float16 tensors carry gradients; a small net's float16 gradients match float32", () => {
  const x = tensor([1, 2, 3], { dtype: "float16", requiresGrad: true });
  x.mul(x).sum().backward();
  assert.equal(x.grad!.dtype, "float16");
  assert.deepEqual(x.grad!.toArraySync(), [2, 4, 6]);
  // A float16 leaf used in float32 arithmetic gets a float16 gradient back through the cast.
  const h = tensor([1, 2], { dtype: "float16", requiresGrad: true });
  h.mul(tensor([3, 4])).sum().backward();
  assert.equal(h.grad!.dtype, "float16");
  assert.deepEqual(h.grad!.toArraySync(), [3, 4]);
  assert.throws(() => tensor([1], { dtype: "int32", requiresGrad: true }), DTypeError);

  manualSeed(11);
  const make = () =>
    new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 4 * 4, 8),
      new nn.Tanh(),
      new nn.Linear(8, 3),
    );
  const ref = make();
  const half = make();
  half.loadStateDict(ref.stateDict());
  half.half();
  // Same float16-representable weights in both.
  ref.loadStateDict(half.stateDict());
  const input = randn([5, 1, 8, 8]).half();
  const target = tensor([0, 1, 2, 1, 0], { dtype: "int32" });
  F.crossEntropy(ref.forward(input.float()), target).backward();
  const loss = F.crossEntropy(half.forward(input), target);
  assert.equal(loss.dtype, "float16");
  loss.backward();
  const refParams = ref.namedParameters();
  for (const [i, [name, p]] of half.namedParameters().entries()) {
    assert.equal(p.grad!.dtype, "float16", name);
    const want = refParams[i][1].grad!;
    const w = want.dataSync(), g = p.grad!.dataSync();
    const scale = Math.max(...[...w].map(Math.abs), 1e-3);
    for (let k = 0; k < w.length; k++) {
      assert.ok(
        Math.abs(g[k] - w[k]) <= 2e-2 * scale,
        `${name}[${k}]: float16 grad ${g[k]} vs float32 ${w[k]} (scale ${scale})`,
      );
    }
  }
});

Deno.test("Module.half() and float() convert parameters and float buffers in place", () => {
  const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
  const params = m.parameters();
  const before = m.stateDict();
  const w = before["0.weight"].toArraySync() as number[][];
  m.forward(randn([4, 3])).sum().backward();
  assert.equal(m.half(), m);
  const after = m.stateDict();
  for (const [k, t] of Object.entries(after)) {
    assert.equal(t, before[k], `${k} keeps its identity`);
    assert.equal(t.dtype, k.endsWith("num_batches_tracked") ? "int32" : "float16", k);
  }
  assert.deepEqual(m.parameters(), params);
  for (const p of params) {
    assert.ok(p.requiresGrad && p.isParameter && p.isLeaf);
    assert.equal(p.grad!.dtype, "float16");
  }
  const w16 = after["0.weight"].toArraySync() as number[][];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      assert.equal(w16[i][j], Math.fround(new Float16Array([w[i][j]])[0]));
    }
  }
  const y = m.forward(randn([4, 3]).half());
  assert.equal(y.dtype, "float16");
  assert.equal(after["1.running_mean"].dtype, "float16");
  m.float();
  for (const [k, t] of Object.entries(m.stateDict())) {
    assert.equal(t, before[k]);
    assert.equal(t.dtype, k.endsWith("num_batches_tracked") ? "int32" : "float32", k);
  }
  assert.deepEqual(m.stateDict()["0.weight"].toArraySync(), w16);
  assert.equal(m.forward(randn([4, 3])).dtype, "float32");
});
