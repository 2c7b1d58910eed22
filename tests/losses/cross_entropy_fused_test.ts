// The fused cross-entropy ops (losses/ops/cross_entropy.ts) on cpu: F.crossEntropy with class
// indices of [N, C] / [C] logits runs one `crossEntropy` kernel forward and one
// `crossEntropyBackward` kernel backward (checked on the explain() trace); values and gradients
// against PyTorch goldens (tests/fixtures/losses.json and cross_entropy_fused.json from
// tools/gen_cross_entropy_fused_fixtures.py); finite differences; equality with the composite
// logSoftmax + nllLoss for random cases (ignored rows, weights, float16); the IndexError for
// out-of-range targets; and the decompositions (called directly against the kernels, and run by
// double backward through createGraph).

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  apply,
  autograd,
  explain,
  F,
  IndexError,
  manualSeed,
  nn,
  noGrad,
  randn,
  tensor,
} from "../../mod.ts";
import type { Reduction, Tensor, TraceEntry } from "../../mod.ts";
import { assertThrowsNamed, gradcheck } from "../../testing/mod.ts";
import { crossEntropyBackwardOp, crossEntropyOp } from "../../losses/ops/cross_entropy.ts";
import type { CrossEntropyAttrs } from "../../losses/ops/cross_entropy.ts";
import { assertClose, decode, type Encoded, type LossCase as Case } from "./helpers.ts";

async function cases(file: string): Promise<Case[]> {
  const text = await Deno.readTextFile(new URL(`../fixtures/${file}`, import.meta.url));
  return (JSON.parse(text) as { cases: Case[] }).cases;
}

const isEncoded = (v: unknown): v is Encoded =>
  typeof v === "object" && v !== null && "shape" in v && "data" in v;

// JSON has no NaN: the fused fixture writes it as null.
const nums = (e: Encoded): number[] => e.data.map((v) => (v === null ? NaN : v));

const REDUCTIONS: Reduction[] = ["mean", "sum", "none"];

// The ops that ran (op:backend), forward and backward.
function ran(trace: readonly TraceEntry[]): string[] {
  return trace.map((e) => `${e.op}:${e.backend}`);
}

function assertFused(trace: readonly TraceEntry[], what: string): void {
  const ops = ran(trace);
  assert.ok(ops.includes("crossEntropy:cpu"), `${what}: fused forward did not run: ${ops}`);
  assert.ok(
    ops.includes("crossEntropyBackward:cpu"),
    `${what}: fused backward did not run: ${ops}`,
  );
  for (const op of ["logSoftmax", "gather", "nllLoss"]) {
    assert.ok(!ops.some((o) => o.startsWith(`${op}:`)), `${what}: ${op} ran: ${ops}`);
  }
}

// The composite F.crossEntropy used before the fused op: logSoftmax then nllLoss.
function composite(x: Tensor, t: Tensor, o: Record<string, unknown>): Tensor {
  return F.nllLoss(x.logSoftmax(x.ndim === 1 ? 0 : 1), t, o);
}

const fixtureCases = [
  ...(await cases("losses.json")).filter((c) =>
    c.loss === "CrossEntropyLoss" && c.target.dtype === "int32" && c.input.shape.length <= 2 &&
    !c.options.labelSmoothing
  ),
  ...(await cases("cross_entropy_fused.json")),
];

Deno.test("fused crossEntropy: the fixture set covers the fused cases", () => {
  // [N, C] and [C]; weight; ignoreIndex; every reduction; all ignored; large logits; empty batch.
  assert.ok(fixtureCases.length >= 26, `only ${fixtureCases.length} cases`);
});

for (const c of fixtureCases) {
  Deno.test(`fused crossEntropy vs PyTorch: ${c.name}`, () => {
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.options)) options[k] = isEncoded(v) ? decode(v) : v;
    const x = decode(c.input, true);
    const ex = explain(() => {
      const out = new nn.CrossEntropyLoss(options).forward(x, decode(c.target));
      out.backward(decode(c.gy));
      return out;
    });
    const out = ex.result;
    assert.deepEqual(out.shape, c.output.shape, `${c.name}: shape`);
    assertClose(out.dataSync(), nums(c.output), `${c.name} forward`, 1e-5, 1e-5);
    // 1e4 logits: float32 keeps ~7 digits of a loss near 1e4 (tolerance scaled with |expected|).
    assertClose(x.grad!.dataSync(), nums(c.grad), `${c.name} grad`, 1e-5, 1e-5);
    if (x.numel() > 0) assertFused(ex.trace, c.name);
  });
}

Deno.test("fused crossEntropy: finite-difference gradients", () => {
  const t = tensor([2, -100, 0, 4, 1], { dtype: "int32" });
  const w = tensor([0.5, 1.5, 1, 2, 0.25]);
  for (const reduction of REDUCTIONS) {
    for (const weight of [null, w]) {
      gradcheck(
        (x) => F.crossEntropy(x, t, { reduction, weight }),
        [randn([5, 5]).mul(2)],
        { atol: 2e-3, rtol: 2e-3 },
      );
    }
  }
  gradcheck((x) => F.crossEntropy(x, tensor(1, { dtype: "int32" })), [randn([4])], {
    atol: 2e-3,
    rtol: 2e-3,
  });
});

Deno.test("fused crossEntropy equals the composite for random cases", () => {
  manualSeed(7);
  let s = 12345;
  const rand = (k: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * k);
  };
  for (let trial = 0; trial < 12; trial++) {
    // At least two rows: one ignored, one not (every row ignored is tested on its own below).
    const n = 2 + rand(8), c = 2 + rand(40);
    const ignoreIndex = trial % 3 === 0 ? -100 : rand(c);
    const tv = Array.from({ length: n }, () => rand(c));
    for (let i = 0; i < n; i += 3) tv[i] = ignoreIndex; // some rows ignored
    tv[n - 1] = ignoreIndex === 0 ? 1 : 0;
    const t = tensor(tv, { dtype: "int32" });
    const weight = trial % 2 ? randn([c]).abs().add(0.1) : null;
    const x0 = randn([n, c]).mul(3);
    for (const reduction of REDUCTIONS) {
      const o = { reduction, ignoreIndex, weight };
      const gy = reduction === "none" ? randn([n]) : tensor(0.7);
      const run = (f: typeof composite): [number[], number[]] => {
        const x = x0.detach().clone();
        x.requiresGrad = true;
        const l = f(x, t, o);
        l.backward(gy);
        return [Array.from(l.dataSync()), Array.from(x.grad!.dataSync())];
      };
      const [lf, gf] = run((x, t, o) => F.crossEntropy(x, t, o));
      const [lc, gc] = run(composite);
      const what =
        `trial ${trial} [${n}, ${c}] ${reduction} ignore ${ignoreIndex} weight ${!!weight}`;
      assertClose(lf, lc, `${what} loss`, 1e-5, 1e-5);
      assertClose(gf, gc, `${what} grad`, 1e-6, 1e-5);
    }
  }
});

Deno.test("fused crossEntropy: every target ignored gives NaN for mean, 0 for sum, zero grads", () => {
  const t = tensor([-100, -100], { dtype: "int32" });
  for (const reduction of REDUCTIONS) {
    const x = randn([2, 3], { requiresGrad: true });
    const l = F.crossEntropy(x, t, { reduction });
    l.backward(reduction === "none" ? tensor([1, 1]) : undefined);
    const v = l.dataSync();
    if (reduction === "mean") assert.ok(Number.isNaN(v[0]), `mean gave ${v[0]}`);
    else assert.ok(v.every((e) => e === 0), `${reduction} gave ${v}`);
    assert.ok(x.grad!.dataSync().every((e) => e === 0), `${reduction} grad ${x.grad!.dataSync()}`);
  }
});

Deno.test("fused crossEntropy: logits of 1e4 and 1e30 stay finite", () => {
  const x = tensor([[1e4, -1e4, 0], [3e4, 3e4, -3e4], [1e30, 0, -1e30]], { requiresGrad: true });
  const l = F.crossEntropy(x, tensor([1, 0, 2], { dtype: "int32" }), { reduction: "none" });
  l.sum().backward();
  assertClose(l.dataSync(), [2e4, Math.log(2), 2e30], "loss", 0, 1e-6);
  const g = x.grad!.dataSync();
  assert.ok(g.every(Number.isFinite), `grad ${g}`);
  // The saved log-sum-exp is float32: at |x| = 3e4 its ulp is 2e-3, so softmax = exp(x − lse)
  // carries up to ~1e-3 relative error there (the loss itself is exact to float32 rounding).
  assertClose(g, [1, -1, 0, -0.5, 0.5, 0, 1, 0, -1], "grad", 1e-3, 0);
});

Deno.test("fused crossEntropy: float16 logits give a float16 loss equal to the composite", () => {
  const x16 = randn([6, 7]).mul(2).cast("float16");
  const t = tensor([0, 6, -100, 3, 2, 1], { dtype: "int32" });
  for (const reduction of REDUCTIONS) {
    const grads: number[][] = [];
    const losses: number[][] = [];
    for (
      const f of [
        (x: Tensor) => F.crossEntropy(x, t, { reduction }),
        (x: Tensor) => composite(x, t, { reduction }),
      ]
    ) {
      const x = x16.detach().clone();
      x.requiresGrad = true;
      const l = f(x);
      assert.equal(l.dtype, "float16");
      l.backward(reduction === "none" ? tensor([1, 2, 3, 4, 5, 6]).cast("float16") : undefined);
      assert.equal(x.grad!.dtype, "float16");
      losses.push(Array.from(l.dataSync(), Number));
      grads.push(Array.from(x.grad!.dataSync(), Number));
    }
    // The composite rounds each intermediate to float16; the fused op rounds once.
    assertClose(losses[0], losses[1], `${reduction} loss`, 2e-2, 5e-3);
    assertClose(grads[0], grads[1], `${reduction} grad`, 2e-2, 1e-2);
  }
});

Deno.test("fused crossEntropy: a weight that needs a gradient keeps the composite", () => {
  const w = tensor([1, 2, 0.5], { requiresGrad: true });
  const x = randn([4, 3], { requiresGrad: true });
  const ex = explain(() => {
    const l = F.crossEntropy(x, tensor([0, 1, 2, 1], { dtype: "int32" }), { weight: w });
    l.backward();
  });
  assert.ok(w.grad !== null, "the weight got no gradient");
  assert.ok(!ran(ex.trace).includes("crossEntropy:cpu"));
});

Deno.test("fused crossEntropy: out-of-range targets raise IndexError naming the op, value and C", () => {
  const bad: [number[], number[], Record<string, unknown>, string][] = [
    [[2, 3], [0, 5], {}, "index 5 is out of bounds for dimension 1 with size 3 (tensor [2, 3])"],
    [[2, 3], [-1, 0], {}, "index -1 is out of bounds for dimension 1 with size 3 (tensor [2, 3])"],
    [
      [2, 3],
      [-100, 0],
      { ignoreIndex: 2 },
      "index -100 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
    ],
    [
      [2, 3],
      [0, 4],
      { weight: tensor([1, 1, 1]), reduction: "none" },
      "index 4 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
    ],
    [[3], [3], {}, "index 3 is out of bounds for dimension 1 with size 3 (tensor [1, 3])"],
  ];
  for (const [shape, tv, o, msg] of bad) {
    const t = shape.length === 1 ? tensor(tv[0], { dtype: "int32" }) : tensor(tv, {
      dtype: "int32",
    });
    assertThrowsNamed(
      () => F.crossEntropy(randn(shape), t, o),
      IndexError,
      `crossEntropy: class index out of range [0, 3): gather: ${msg}`,
    );
  }
});

// Runs op's kernel and its decomposition on the same inputs and compares every output.
function kernelVsDecomposition(
  op: typeof crossEntropyOp,
  inputs: Tensor[],
  a: CrossEntropyAttrs,
  what: string,
): void {
  const k = apply(op, inputs, a);
  const d = noGrad(() => op.decompose!(inputs, a));
  assert.equal(k.length, d.length);
  for (let i = 0; i < k.length; i++) {
    assert.deepEqual(d[i].shape, k[i].shape, `${what} output ${i} shape`);
    assert.equal(d[i].dtype, k[i].dtype, `${what} output ${i} dtype`);
    assertClose(d[i].dataSync(), k[i].dataSync(), `${what} output ${i}`, 1e-6, 1e-5);
  }
}

Deno.test("fused crossEntropy: the decompositions equal the kernels", () => {
  const x = randn([6, 9]).mul(2);
  const t = tensor([0, 8, -100, 4, 4, 1], { dtype: "int32" });
  const w = randn([9]).abs();
  for (const reduction of REDUCTIONS) {
    for (const weight of [false, true]) {
      const a = { reduction, ignoreIndex: -100, weight };
      const ins = weight ? [x, t, w] : [x, t];
      const what = `${reduction} weight ${weight}`;
      kernelVsDecomposition(crossEntropyOp, ins, a, `forward ${what}`);
      const [, lse, total] = apply(crossEntropyOp, ins, a);
      const g = reduction === "none" ? randn([6]) : tensor(0.7);
      const bins = [g, x, t, lse, total, ...(weight ? [w] : [])];
      kernelVsDecomposition(crossEntropyBackwardOp, bins, a, `backward ${what}`);
    }
  }
});

Deno.test("fused crossEntropy: double backward (createGraph) runs the decomposition", () => {
  const t = tensor([1, -100, 3, 0], { dtype: "int32" });
  const weight = tensor([0.5, 1, 2, 1.5]);
  for (const reduction of REDUCTIONS) {
    const x0 = randn([4, 4]);
    const v = randn([4, 4]);
    // Hessian-vector product: d/dx <dL/dx, v>, fused vs composite.
    const hvp = (f: typeof composite): [number[], TraceEntry[]] => {
      const x = x0.detach().clone();
      x.requiresGrad = true;
      const ex = explain(() => {
        const l = f(x, t, { reduction, weight });
        const s = reduction === "none" ? l.sum() : l;
        const g = autograd.grad(s, x, { createGraph: true });
        return autograd.grad(g.mul(v).sum(), x);
      });
      return [Array.from(ex.result.dataSync()), ex.trace];
    };
    const [hf, trace] = hvp((x, t, o) => F.crossEntropy(x, t, o));
    const [hc] = hvp(composite);
    assertClose(hf, hc, `${reduction} Hessian-vector product`, 1e-5, 1e-4);
    assert.ok(
      trace.some((e) => e.op === "crossEntropyBackward" && e.backend === "decomposition"),
      `${reduction}: the backward did not run as its decomposition: ${ran(trace)}`,
    );
    assert.ok(ran(trace).includes("crossEntropy:cpu"), `${reduction}: ${ran(trace)}`);
  }
});

Deno.test("fused crossEntropy: the op rejects bad inputs with named errors", () => {
  const a = { reduction: "mean" as Reduction, ignoreIndex: -100, weight: false };
  const x = randn([2, 3]), t = tensor([0, 1], { dtype: "int32" });
  assert.throws(() => apply(crossEntropyOp, [x, t.cast("float32")], a), /target must be int32/);
  assert.throws(() => apply(crossEntropyOp, [randn([2, 3, 1]), t], a), /logits must have shape/);
  assert.throws(() => apply(crossEntropyOp, [x, t], { ...a, weight: true }), /expected 3 inputs/);
  assert.throws(
    () => apply(crossEntropyOp, [x, t], { ...a, reduction: "batchmean" as Reduction }),
    /unknown reduction/,
  );
  assert.throws(
    () => apply(crossEntropyOp, [x, t, randn([2])], { ...a, weight: true }),
    /weight must be float32 of shape \[3\]/,
  );
});
