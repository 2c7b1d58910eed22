/**
 * Batch norm followed by ReLU as the one `batchNormRelu` op: the cpu kernels (the JS loops for
 * small inputs and runs under 4 values, the wasm kernels on one and on all threads) give the same
 * bits as `batchNorm` then `relu`, forward and backward, NaNs and signed zeros included; the
 * decompositions agree; the gradients pass finite differences (double backward included); and
 * Sequential, GoogLeNet's conv unit and ResNet's blocks run it only where no hook or subclass could
 * see the tensor between the two, with the same values, gradients and running statistics as the
 * modules run one by one.
 */

import assert from "node:assert/strict";
import {
  apply,
  cat,
  explain,
  fromData,
  Generator,
  getNumThreads,
  getOp,
  noGrad,
  setNumThreads,
  type Tensor,
} from "../../mod.ts";
import type { OpDef } from "../../mod.ts";
import {
  BatchNorm1d,
  BatchNorm2d,
  batchNormRaw,
  batchNormStats,
  ReLU,
  Sequential,
} from "../../layers/mod.ts";
import { batchNormReluRaw } from "../../layers/ops/batch_norm.ts";
import { googlenet, resnet } from "../../plugins/models/mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { sameBits as sameArrayBits } from "./_conv_check.ts";

const gen = new Generator(5);

function rand(shape: readonly number[], lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * gen.uniform();
  return fromData(a, shape);
}

function op(name: string): OpDef<unknown> {
  const o = getOp(name);
  assert.ok(o, `op ${name} is defined`);
  return o;
}

// Bitwise equality of two float32 tensors (NaN payloads and the sign of zero included).
const sameBits = (what: string, a: Tensor, b: Tensor): void =>
  sameArrayBits(what, Float32Array.from(a.dataSync()), Float32Array.from(b.dataSync()));

// Shapes for each kernel path: JS loops (small; runs of 1 and 2), wasm (from 2^15 elements with
// runs of at least 4, with and without a scalar tail per run), and wasm with the channels shared
// out to the threads (from 2^17 elements; an odd channel count shares unevenly).
const SHAPES = [
  [4, 3],
  [2, 3, 5],
  [3, 2, 4, 5],
  [64, 600, 1, 1],
  [8, 16, 16, 16],
  [16, 8, 15, 19],
  [16, 33, 16, 16],
];

for (const threads of [1, 0]) {
  for (const shape of SHAPES) {
    Deno.test(`batchNormRelu = batchNorm then relu, bit for bit ${JSON.stringify(shape)} (${threads ? "one thread" : "all threads"})`, () => {
      const before = getNumThreads();
      if (threads) setNumThreads(threads);
      try {
        const c = shape[1];
        const x = rand(shape, -2, 3);
        // NaNs of both signs and signed zeros in the input, so the mask's edge cases are hit.
        const xs = x.dataSync() as Float32Array;
        const raw = Float32Array.from(xs);
        raw[0] = NaN;
        raw[1] = -NaN;
        raw[2] = -0;
        raw[3] = 0;
        const xin = fromData(raw, shape);
        const [m, v] = noGrad(() => batchNormStats(rand(shape, -2, 3)));
        const w = rand([c], 0.5, 1.5), b = rand([c], -0.5, 0.5), g = rand(shape);
        for (const training of [true, false]) {
          const attrs = { training, eps: 1e-5 };
          const fused = batchNormReluRaw(xin, m, v, w, b, attrs);
          const plain = batchNormRaw(xin, m, v, w, b, attrs).relu();
          sameBits("forward", fused, plain);
          const got = apply(op("batchNormReluBackward"), [g, xin, m, v, w, fused], attrs);
          const masked = apply(op("reluBackward"), [g, plain], {})[0];
          const want = apply(op("batchNormBackward"), [masked, xin, m, v, w], attrs);
          for (let i = 0; i < 3; i++) sameBits(`backward output ${i}`, got[i], want[i]);
        }
      } finally {
        setNumThreads(before);
      }
    });
  }
}

Deno.test("batch-norm backward ops: the same bits on one thread and on all", () => {
  const shape = [16, 33, 16, 16], c = shape[1];
  const x = rand(shape, -2, 3), [m, v] = batchNormStats(x), w = rand([c], 0.5, 1.5);
  const attrs = { training: true, eps: 1e-5 };
  const y = batchNormReluRaw(x, m, v, w, rand([c]), attrs);
  // The gradient as cat's channel slice too (image blocks, not dense).
  const wide = rand([16, 40, 16, 16]);
  for (const g of [rand(shape), wide.narrow(1, 3, c)]) {
    const runs = [1, 0].map((threads) => {
      const before = getNumThreads();
      if (threads) setNumThreads(threads);
      try {
        return [
          ...apply(op("batchNormReluBackward"), [g, x, m, v, w, y], attrs),
          ...apply(op("batchNormBackward"), [g, x, m, v, w], attrs),
        ];
      } finally {
        setNumThreads(before);
      }
    });
    for (let i = 0; i < 6; i++) sameBits(`output ${i}`, runs[0][i], runs[1][i]);
  }
});

Deno.test("batchNormRelu: kernels match the decompositions", () => {
  for (const shape of [[3, 2, 4, 5], [8, 16, 16, 16]]) {
    const c = shape[1];
    const x = rand(shape, -2, 3), [m, v] = batchNormStats(x);
    const w = rand([c], 0.5, 1.5), b = rand([c]), g = rand(shape);
    for (const training of [true, false]) {
      const attrs = { training, eps: 1e-5 };
      const y = batchNormReluRaw(x, m, v, w, b, attrs);
      const dy = noGrad(() => op("batchNormRelu").decompose!([x, m, v, w, b], attrs))[0];
      assertClose(y, dy, { atol: 1e-5 });
      const got = apply(op("batchNormReluBackward"), [g, x, m, v, w, y], attrs);
      const want = noGrad(() => op("batchNormReluBackward").decompose!([g, x, m, v, w, y], attrs));
      for (let i = 0; i < 3; i++) assertClose(got[i], want[i], { atol: 1e-4, rtol: 1e-4 });
    }
  }
});

Deno.test("batchNormRelu: wrong inputs are named errors", () => {
  const x = rand([2, 3, 4]), [m, v] = batchNormStats(x), w = rand([3]);
  assert.throws(
    () => apply(op("batchNormRelu"), [x, m, v, w], { training: true, eps: 1e-5 }),
    { name: "ValueError", message: /batchNormRelu: expected 5 inputs/ },
  );
  assert.throws(
    () =>
      apply(op("batchNormReluBackward"), [x, x, m, v, w, rand([2, 3, 5])], {
        training: true,
        eps: 1e-5,
      }),
    { name: "ShapeError", message: /batchNormReluBackward: ReLU's output \[2, 3, 5\]/ },
  );
});

const flat = (ts: Tensor[]): Tensor => cat(ts.map((t) => t.reshape([-1])), 0);

Deno.test("gradcheck: batchNormRelu training and eval", () => {
  // Values kept away from the ReLU's kink so finite differences do not straddle it.
  const x = rand([4, 3, 2, 2], -2, 2);
  gradcheck((xx, w, b) => {
    const [m, v] = batchNormStats(xx);
    return batchNormReluRaw(xx, m, v, w, b, { training: true, eps: 1e-5 });
  }, [x, rand([3], 0.5, 1.5), rand([3], -0.2, 0.2)]);
  gradcheck(
    (xx, m, v, w, b) => batchNormReluRaw(xx, m, v, w, b, { training: false, eps: 1e-5 }),
    [rand([3, 2, 3]), rand([2]), rand([2], 0.5, 1.5), rand([2], 0.5, 1.5), rand([2])],
  );
});

Deno.test("gradcheck: batchNormReluBackward (double backward)", () => {
  const x = rand([3, 2, 4]), w = rand([2], 0.5, 1.5), b = rand([2], -0.2, 0.2);
  const [m0, v0] = batchNormStats(x);
  const y = noGrad(() => batchNormReluRaw(x, m0, v0, w, b, { training: true, eps: 1e-5 }));
  gradcheck(
    (g, xx, ww) => {
      const [m, v] = batchNormStats(xx);
      const attrs = { training: true, eps: 1e-5 };
      return flat(apply(op("batchNormReluBackward"), [g, xx, m, v, ww, y], attrs));
    },
    [rand([3, 2, 4]), x, w],
    { atol: 2e-2 },
  );
});

const ops = (f: () => unknown): string[] => explain(f).trace.map((t) => `${t.op}@${t.backend}`);

// Two copies of the same modules: one run as Sequential(bn, relu), one module by module.
function pair(make: () => [BatchNorm2d | BatchNorm1d, ReLU]) {
  const [bnA, reluA] = make(), [bnB, reluB] = make();
  bnB.loadStateDict(bnA.stateDict());
  return { seq: new Sequential(bnA, reluA), bnA, bnB, reluB };
}

Deno.test("Sequential(BatchNorm2d, ReLU) runs batchNormRelu: same values, gradients, running stats", () => {
  for (const inplace of [false, true]) {
    const { seq, bnA, bnB, reluB } = pair(() => [new BatchNorm2d(16), new ReLU({ inplace })]);
    const x0 = rand([8, 16, 16, 16]);
    assert.ok(ops(() => seq.forward(x0)).includes("batchNormRelu@cpu"));
    reluB.forward(bnB.forward(x0)); // the same running-statistics update on the other copy
    for (const training of [true, false]) {
      seq.train(training);
      bnB.train(training);
      const data = rand([8, 16, 16, 16], -2, 3).dataSync();
      const xa = fromData(Float32Array.from(data), [8, 16, 16, 16]).requiresGrad_();
      const xb = fromData(Float32Array.from(data), [8, 16, 16, 16]).requiresGrad_();
      const ya = seq.forward(xa), yb = reluB.forward(bnB.forward(xb));
      sameBits("output", ya, yb);
      const g = rand(ya.shape);
      ya.backward(g);
      yb.backward(g);
      sameBits("dx", xa.grad!, xb.grad!);
      sameBits("dweight", bnA.weight!.grad!, bnB.weight!.grad!);
      sameBits("dbias", bnA.bias!.grad!, bnB.bias!.grad!);
      sameBits("running_mean", bnA.runningMean!, bnB.runningMean!);
      sameBits("running_var", bnA.runningVar!, bnB.runningVar!);
      assert.equal(bnA.numBatchesTracked!.itemSync(), bnB.numBatchesTracked!.itemSync());
    }
  }
});

Deno.test("Sequential(BatchNorm1d, ReLU) on [N, C] runs batchNormRelu with the same bits", () => {
  const { seq, bnB, reluB } = pair(() => [new BatchNorm1d(32), new ReLU()]);
  const x = rand([64, 32], -2, 3);
  assert.ok(ops(() => seq.forward(x)).includes("batchNormRelu@cpu"));
  sameBits("output", seq.forward(x), reluB.forward(bnB.forward(x)));
});

Deno.test("Sequential(BatchNorm2d, ReLU): a hook or a subclass keeps the two ops", () => {
  const bn = new BatchNorm2d(4), relu = new ReLU();
  const seq = new Sequential(bn, relu);
  const x = rand([2, 4, 3, 3]);
  const seen: number[] = [];
  const h = bn.registerForwardHook((_m, _a, out) => {
    seen.push((out as Tensor).dataSync()[0]);
  });
  const traced = ops(() => seq.forward(x));
  h.remove();
  assert.equal(seen.length, 1);
  assert.ok(!traced.includes("batchNormRelu@cpu") && traced.includes("batchNorm@cpu"));
  class MyReLU extends ReLU {}
  const seq2 = new Sequential(new BatchNorm2d(4), new MyReLU());
  assert.ok(!ops(() => seq2.forward(x)).includes("batchNormRelu@cpu"));
  // An input the layer rejects is its named error, as without the fusion.
  assert.throws(() => seq.forward(rand([2, 5, 3, 3])), {
    name: "ShapeError",
    message: /BatchNorm2d: expected 4 channels/,
  });
});

Deno.test("GoogLeNet's conv units and ResNet's blocks run batchNormRelu", () => {
  const g = googlenet({ numClasses: 10 });
  const r = resnet(18, { numClasses: 10 });
  const x = rand([2, 3, 32, 32]);
  const count = (t: string[]) => t.filter((s) => s === "batchNormRelu@cpu").length;
  // Every GoogLeNet conv unit (57 without the auxiliary heads); ResNet-18: the stem and the first
  // batch norm of each of its 8 blocks (the second is followed by the residual add).
  assert.equal(count(ops(() => g.forward(x))), 57);
  assert.equal(count(ops(() => r.forward(x))), 9);
});

Deno.test("batch-norm backward ops take cat's channel slices of the gradient without a contiguous copy", () => {
  for (const shape of [[2, 3, 4, 5], [8, 16, 16, 16], [16, 32, 16, 16]]) {
    for (const fused of [true, false]) {
      const c = shape[1];
      const mods = () => [new BatchNorm2d(c), new BatchNorm2d(c)];
      const [a1, a2] = mods(), [b1, b2] = mods();
      const data = [rand(shape, -2, 3).dataSync(), rand(shape, -2, 3).dataSync()];
      const inputs = () => data.map((d) => fromData(Float32Array.from(d), shape).requiresGrad_());
      const run = (bn: BatchNorm2d, x: Tensor) =>
        fused ? new Sequential(bn, new ReLU()).forward(x) : bn.forward(x);
      const [xa1, xa2] = inputs(), [xb1, xb2] = inputs();
      const joined = cat([run(a1, xa1), run(a2, xa2)], 1);
      const g = rand(joined.shape);
      const traced = ops(() => joined.backward(g));
      const want = fused ? "batchNormReluBackward@cpu" : "batchNormBackward@cpu";
      assert.equal(traced.filter((t) => t === want).length, 2, traced.join(", "));
      assert.ok(!traced.includes("contiguous@cpu"), traced.join(", "));
      // The same modules given dense copies of the two halves of g.
      run(b1, xb1).backward(g.narrow(1, 0, c).contiguous());
      run(b2, xb2).backward(g.narrow(1, c, c).contiguous());
      sameBits("dx 1", xa1.grad!, xb1.grad!);
      sameBits("dx 2", xa2.grad!, xb2.grad!);
      sameBits("dweight 2", a2.weight!.grad!, b2.weight!.grad!);
      sameBits("dbias 1", a1.bias!.grad!, b1.bias!.grad!);
    }
  }
});

Deno.test("batch-norm backward ops: a gradient view that is not one block per image is copied", () => {
  // A transposed gradient: no image is contiguous in its storage.
  for (const shape of [[4, 6, 5, 5], [16, 32, 9, 9]]) {
    const c = shape[1];
    const x = rand(shape, -2, 3), [m, v] = batchNormStats(x), w = rand([c], 0.5, 1.5);
    const y = batchNormReluRaw(x, m, v, w, rand([c]), { training: true, eps: 1e-5 });
    const gt = rand([shape[0], c, shape[3], shape[2]]).transpose(2, 3);
    const attrs = { training: true, eps: 1e-5 };
    const got = apply(op("batchNormReluBackward"), [gt, x, m, v, w, y], attrs);
    const want = apply(op("batchNormReluBackward"), [gt.contiguous(), x, m, v, w, y], attrs);
    for (let i = 0; i < 3; i++) sameBits(`output ${i}`, got[i], want[i]);
  }
});

Deno.test("Sequential(BatchNorm2d, ReLU) without affine parameters or running statistics: the same bits", () => {
  for (const options of [{ affine: false }, { trackRunningStats: false }, { momentum: null }]) {
    const { seq, bnB, reluB } = pair(() => [new BatchNorm2d(8, options), new ReLU()]);
    for (const training of [true, false]) {
      seq.train(training);
      bnB.train(training);
      const data = rand([4, 8, 16, 16], -2, 3).dataSync();
      const xa = fromData(Float32Array.from(data), [4, 8, 16, 16]).requiresGrad_();
      const xb = fromData(Float32Array.from(data), [4, 8, 16, 16]).requiresGrad_();
      const traced = ops(() => seq.forward(xa));
      assert.ok(traced.includes("batchNormRelu@cpu"), JSON.stringify(options));
      reluB.forward(bnB.forward(xb)); // the same running-statistics update on the other copy
      const ya = seq.forward(xa), yb = reluB.forward(bnB.forward(xb));
      sameBits(`output ${JSON.stringify(options)}`, ya, yb);
      const g = rand(ya.shape);
      ya.backward(g);
      yb.backward(g);
      sameBits(`dx ${JSON.stringify(options)}`, xa.grad!, xb.grad!);
    }
  }
});
