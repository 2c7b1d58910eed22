/** Batch-norm bookkeeping beyond the PyTorch goldens in layers_test.ts. */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { noGrad, randn, tensor } from "../../core/mod.ts";
import { BatchNorm1d, BatchNorm2d } from "../../layers/batch_norm.ts";
import { assertClose, values } from "./_helpers.ts";

Deno.test("BatchNorm: defaults, buffers and num_batches_tracked counting", () => {
  const bn = new BatchNorm2d(3);
  assert.deepEqual(values(bn.weight!), [1, 1, 1]);
  assert.deepEqual(values(bn.bias!), [0, 0, 0]);
  assert.deepEqual(values(bn.runningMean!), [0, 0, 0]);
  assert.deepEqual(values(bn.runningVar!), [1, 1, 1]);
  assert.equal(bn.numBatchesTracked!.dtype, "int32");
  const x = randn([4, 3, 2, 2]);
  bn.forward(x);
  bn.forward(x);
  assert.equal(bn.numBatchesTracked!.itemSync(), 2);
  bn.eval().forward(x);
  assert.equal(bn.numBatchesTracked!.itemSync(), 2, "eval does not count");
  bn.resetRunningStats();
  assert.equal(bn.numBatchesTracked!.itemSync(), 0);
  assert.deepEqual(values(bn.runningVar!), [1, 1, 1]);
  assert.deepEqual(bn.parameters().length, 2);
  assert.deepEqual(bn.namedBuffers().map(([k]) => k), [
    "running_mean",
    "running_var",
    "num_batches_tracked",
  ]);
});

Deno.test("BatchNorm: momentum null continues the average from a loaded num_batches_tracked", () => {
  const bn = new BatchNorm1d(2, { momentum: null });
  const sd = bn.stateDict();
  bn.loadStateDict({
    ...sd,
    running_mean: tensor([1, 2]),
    num_batches_tracked: tensor([3], { dtype: "int32" }).reshape([]),
  });
  const x = tensor([[0, 0], [2, 4]]);
  bn.forward(x);
  // Cumulative average with 3 batches seen: new = old + (batch − old) / 4.
  assertClose(values(bn.runningMean!), [1 + (1 - 1) / 4, 2 + (2 - 2) / 4], "running_mean");
  assertClose(values(bn.runningVar!), [1 + (2 - 1) / 4, 1 + (8 - 1) / 4], "running_var");
  assert.equal(bn.numBatchesTracked!.itemSync(), 4);
});

Deno.test("BatchNorm: no running stats means batch statistics in eval and no buffers", () => {
  const bn = new BatchNorm2d(2, { trackRunningStats: false, affine: false });
  assert.deepEqual(Object.keys(bn.stateDict()), []);
  assert.equal(bn.runningMean, null);
  const x = randn([3, 2, 2, 2]);
  assert.deepEqual(values(bn.eval().forward(x)), values(bn.train().forward(x)));
});

// The cpu kernels sum in several float64 accumulators with a scalar tail (small tensors), or in
// wasm SIMD lanes over the heap with channels shared out to the threads (from 2^15 elements): every
// remainder of the per-image run length, and large shapes whose runs have tails or are one element
// long (BatchNorm1d), against float64 sums in one pass; eval mode's backward too.
function checkBatchNorm(shape: number[], training: boolean): void {
  const [n, c] = shape, inner = shape.slice(2).reduce((p, q) => p * q, 1), count = n * inner;
  const x = randn(shape).mul(3).add(1).requiresGrad_(), g = randn(shape);
  const bn = shape.length === 2 ? new BatchNorm1d(c) : new BatchNorm2d(c);
  const wv = Array.from({ length: c }, (_, i) => 1.5 - 0.25 * (i % 5));
  noGrad(() => bn.weight!.copy_(tensor(wv)));
  const rm = Array.from({ length: c }, (_, i) => 0.1 * i), rv = rm.map((v) => 1 + v);
  if (!training) {
    noGrad(() => bn.runningMean!.copy_(tensor(rm)));
    noGrad(() => bn.runningVar!.copy_(tensor(rv)));
    bn.eval();
  }
  const y = bn.forward(x);
  y.backward(g);
  const xs = values(x), gs = values(g), ys = values(y), dxs = values(x.grad!);
  const db = values(bn.bias!.grad!), dw = values(bn.weight!.grad!);
  const what = `${training ? "train" : "eval"} [${shape}]`;
  for (let ch = 0; ch < c; ch++) {
    const at = (b: number, i: number) => (b * c + ch) * inner + i;
    let m = rm[ch], v = rv[ch], sg = 0, sgx = 0;
    if (training) {
      let s = 0, q = 0;
      for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) s += xs[at(b, i)];
      m = s / count;
      for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) q += (xs[at(b, i)] - m) ** 2;
      v = q / count;
    }
    const invstd = 1 / Math.sqrt(v + 1e-5);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < inner; i++) {
        sg += gs[at(b, i)];
        sgx += gs[at(b, i)] * (xs[at(b, i)] - m) * invstd;
      }
    }
    const want: number[] = [], wantDx: number[] = [], got: number[] = [], gotDx: number[] = [];
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < inner; i++) {
        const xh = (xs[at(b, i)] - m) * invstd;
        want.push(wv[ch] * xh);
        wantDx.push(
          wv[ch] * invstd *
            (training ? gs[at(b, i)] - sg / count - xh * sgx / count : gs[at(b, i)]),
        );
        got.push(ys[at(b, i)]);
        gotDx.push(dxs[at(b, i)]);
      }
    }
    assertClose(got, want, `y ${what} channel ${ch}`);
    assertClose(gotDx, wantDx, `dx ${what} channel ${ch}`);
    assertClose([db[ch]], [sg], `dbias ${what} channel ${ch}`, 1e-4, 1e-5);
    assertClose([dw[ch]], [sgx], `dweight ${what} channel ${ch}`, 1e-4, 1e-5);
  }
}

Deno.test("BatchNorm on cpu matches float64 sums for every run length, forward and backward", () => {
  for (const [h, w] of [[1, 1], [1, 2], [1, 3], [2, 2], [1, 5], [2, 3], [1, 7], [3, 3]]) {
    checkBatchNorm([3, 2, h, w], true);
  }
  // The wasm path: runs of 289 (a tail of 1), 81 and 4096 floats. Runs shorter than 4 stay in
  // JS at any size: 1 (BatchNorm1d, and 1 x 1 maps) and 3.
  for (
    const shape of [[8, 16, 17, 17], [64, 7, 9, 9], [4, 3, 64, 64], [512, 64], [2048, 8, 1, 3]]
  ) {
    checkBatchNorm(shape, true);
    checkBatchNorm(shape, false);
  }
});
