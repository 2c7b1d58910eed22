/**
 * The fused batch-norm ops (batchNormStats, batchNorm, batchNormBackward) and reluBackward: cpu
 * kernels against the ops' decompositions, finite-difference checks of their gradient rules
 * (double backward through the decompositions included), and F.batchNorm's running statistics
 * against PyTorch's update rule.
 */

import assert from "node:assert/strict";
import {
  apply,
  apply1,
  cat,
  explain,
  F,
  fromData,
  Generator,
  getOp,
  noGrad,
  type Tensor,
  tensor,
} from "../../mod.ts";
import type { OpDef } from "../../mod.ts";
import { batchNormRaw, batchNormStats } from "../../layers/mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";

const gen = new Generator(11);

function rand(shape: number[], lo?: number, hi?: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = lo === undefined ? gen.normal() : lo + (hi! - lo) * gen.uniform();
  }
  return fromData(a, shape);
}

function op(name: string): OpDef<unknown> {
  const o = getOp(name);
  assert.ok(o, `op ${name} is defined`);
  return o;
}

// Runs an op's decomposition (what a backend without a kernel executes) under noGrad.
function decomposed(name: string, inputs: Tensor[], attrs: unknown): Tensor[] {
  return noGrad(() => op(name).decompose!(inputs, attrs));
}

const flat = (ts: Tensor[]): Tensor => cat(ts.map((t) => t.reshape([-1])), 0);

for (const shape of [[4, 3], [2, 3, 5], [3, 2, 4, 5]]) {
  const c = shape[1];
  Deno.test(`batchNorm kernels match decompositions ${JSON.stringify(shape)}`, () => {
    const x = rand(shape).mul(3).add(2);
    const [m, v] = batchNormStats(x);
    const [dm, dv] = decomposed("batchNormStats", [x], {});
    assertClose(m, dm, { atol: 1e-5 });
    assertClose(v, dv, { atol: 1e-5 });
    const w = rand([c], 0.5, 1.5), b = rand([c]), g = rand(shape);
    for (const training of [true, false]) {
      const attrs = { training, eps: 1e-5 };
      const y = batchNormRaw(x, m, v, w, b, attrs);
      assertClose(y, decomposed("batchNorm", [x, m, v, w, b], attrs)[0], { atol: 1e-5 });
      const got = apply(op("batchNormBackward"), [g, x, m, v, w], attrs);
      const want = decomposed("batchNormBackward", [g, x, m, v, w], attrs);
      for (let i = 0; i < 3; i++) assertClose(got[i], want[i], { atol: 1e-4, rtol: 1e-4 });
    }
  });
}

Deno.test("batchNormStats: float64 accumulation keeps a large mean's variance", () => {
  const x = rand([64, 2, 8, 8]).add(1e4);
  const [, v] = batchNormStats(x);
  const host = x.dataSync();
  // Channel 0 of each sample: 64 values at offset nb·128.
  let s = 0, q = 0;
  for (let nb = 0; nb < 64; nb++) {
    for (let k = 0; k < 64; k++) s += host[nb * 128 + k];
  }
  const mean = s / 4096;
  for (let nb = 0; nb < 64; nb++) {
    for (let k = 0; k < 64; k++) q += (host[nb * 128 + k] - mean) ** 2;
  }
  assertClose(v.dataSync()[0], q / 4096, { rtol: 1e-5 });
});

Deno.test("gradcheck: batchNorm training (fused op, through F)", () => {
  gradcheck(
    (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
    [rand([4, 3, 2, 2]), rand([3], 0.5, 1.5), rand([3])],
  );
});

Deno.test("gradcheck: batchNorm eval, running statistics included", () => {
  gradcheck(
    (x, m, v, w, b) => batchNormRaw(x, m, v, w, b, { training: false, eps: 1e-5 }),
    [rand([3, 2, 3]), rand([2]), rand([2], 0.5, 1.5), rand([2], 0.5, 1.5), rand([2])],
  );
});

Deno.test("gradcheck: batchNormBackward training (double backward)", () => {
  const x = rand([3, 2, 4]);
  const [m, v] = batchNormStats(x);
  gradcheck(
    (g, x, w) => {
      // Stats recomputed from x so the finite differences see them move with x.
      const [mm, vv] = batchNormStats(x);
      return flat(apply(op("batchNormBackward"), [g, x, mm, vv, w], { training: true, eps: 1e-5 }));
    },
    [rand([3, 2, 4]), x, rand([2], 0.5, 1.5)],
    { atol: 2e-2 },
  );
  assert.equal(m.requiresGrad || v.requiresGrad, false);
});

Deno.test("gradcheck: batchNormBackward eval (double backward)", () => {
  const m = rand([2]), v = rand([2], 0.5, 1.5);
  gradcheck(
    (g, x, w) =>
      flat(apply(op("batchNormBackward"), [g, x, m, v, w], { training: false, eps: 1e-5 })),
    [rand([3, 2, 4]), rand([3, 2, 4]), rand([2], 0.5, 1.5)],
  );
});

Deno.test("F.batchNorm: running statistics follow PyTorch's update", () => {
  const x = rand([5, 3, 2]).mul(2).add(1);
  const rm = tensor([0.5, -1, 2]), rv = tensor([1, 2, 0.5]);
  const rm0 = rm.dataSync().slice(), rv0 = rv.dataSync().slice();
  F.batchNorm(x, rm, rv, { training: true, momentum: 0.3 });
  const h = x.dataSync();
  const cnt = 10;
  for (let ch = 0; ch < 3; ch++) {
    const vals: number[] = [];
    for (let n = 0; n < 5; n++) for (let k = 0; k < 2; k++) vals.push(h[(n * 3 + ch) * 2 + k]);
    const mean = vals.reduce((a, b) => a + b, 0) / cnt;
    const unbiased = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (cnt - 1);
    assertClose(rm.dataSync()[ch], 0.7 * rm0[ch] + 0.3 * mean, { atol: 1e-5 });
    assertClose(rv.dataSync()[ch], 0.7 * rv0[ch] + 0.3 * unbiased, { atol: 1e-5 });
  }
  // momentum null: cumulative average with numBatchesTracked batches seen before this one.
  const rm2 = tensor([1, 1, 1]), rv2 = tensor([1, 1, 1]);
  F.batchNorm(x, rm2, rv2, { training: true, momentum: null, numBatchesTracked: 3 });
  const [bm] = batchNormStats(x);
  assertClose(rm2, bm.mul(0.25).add(0.75), { atol: 1e-6 });
});

Deno.test("F.batchNorm runs fused ops: one kernel forward, one backward", () => {
  const x = rand([4, 3, 2, 2], undefined, undefined).requiresGrad_();
  const w = rand([3]).requiresGrad_(), b = rand([3]).requiresGrad_();
  const { trace, result } = explain(() =>
    F.batchNorm(x, null, null, { weight: w, bias: b, training: true })
  );
  assert.deepEqual(trace.map((e) => e.op), ["batchNormStats", "batchNorm"]);
  const back = explain(() => result.sum().backward()).trace.map((e) => e.op);
  assert.ok(back.includes("batchNormBackward"), back.join(", "));
  // The gradient of sum is an expanded view; dispatch makes it dense for the fused kernel.
  const others = back.filter((o) =>
    !["sum", "reshape", "expand", "contiguous", "batchNormBackward"].includes(o)
  );
  assert.deepEqual(others, [], back.join(", "));
});

Deno.test("reluBackward: kernel matches decomposition, NaN and -0 as PyTorch", () => {
  const y = tensor([0, -0, 1.5, NaN, 3, 0.25]);
  const g = tensor([1, 2, 3, 4, 5, 6]);
  const got = apply1(op("reluBackward"), [g, y], {}).dataSync();
  assert.deepEqual([...got], [0, 0, 3, 4, 5, 6]);
  assert.deepEqual([...decomposed("reluBackward", [g, y], {})[0].dataSync()], [0, 0, 3, 4, 5, 6]);
  const x = rand([2, 3, 4]).requiresGrad_();
  const { trace } = explain(() => x.relu().sum().backward());
  assert.ok(trace.some((e) => e.op === "reluBackward"));
  assert.ok(!trace.some((e) => e.op === "gt" || e.op === "cast"));
});

Deno.test("gradcheck: reluBackward (double backward)", () => {
  const y = rand([3, 4]).relu();
  gradcheck((g) => apply1(op("reluBackward"), [g, y], {}), [rand([3, 4])]);
});
