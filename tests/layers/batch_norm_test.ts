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

// The cpu kernels sum in several float64 accumulators with a scalar tail: every remainder of the
// per-image run length (inner sizes 1 to 9) against float64 sums in one pass.
Deno.test("BatchNorm2d on cpu matches float64 sums for every run length, forward and backward", () => {
  for (const [h, w] of [[1, 1], [1, 2], [1, 3], [2, 2], [1, 5], [2, 3], [1, 7], [3, 3]]) {
    const n = 3, c = 2, inner = h * w, count = n * inner;
    const x = randn([n, c, h, w]).requiresGrad_(), g = randn([n, c, h, w]);
    const bn = new BatchNorm2d(c);
    noGrad(() => bn.weight!.copy_(tensor([1.5, -0.5])));
    const y = bn.forward(x);
    y.backward(g);
    const xs = values(x), gs = values(g), ys = values(y), dxs = values(x.grad!);
    const wv = [1.5, -0.5];
    for (let ch = 0; ch < c; ch++) {
      const at = (b: number, i: number) => (b * c + ch) * inner + i;
      let s = 0, q = 0, sg = 0, sgx = 0;
      for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) s += xs[at(b, i)];
      const m = s / count;
      for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) q += (xs[at(b, i)] - m) ** 2;
      const invstd = 1 / Math.sqrt(q / count + 1e-5);
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
          wantDx.push(wv[ch] * invstd * (gs[at(b, i)] - sg / count - xh * sgx / count));
          got.push(ys[at(b, i)]);
          gotDx.push(dxs[at(b, i)]);
        }
      }
      assertClose(got, want, `y ${h}x${w} channel ${ch}`);
      assertClose(gotDx, wantDx, `dx ${h}x${w} channel ${ch}`);
      assertClose([values(bn.bias!.grad!)[ch]], [sg], `dbias ${h}x${w}`);
      assertClose([values(bn.weight!.grad!)[ch]], [sgx], `dweight ${h}x${w}`);
    }
  }
});
