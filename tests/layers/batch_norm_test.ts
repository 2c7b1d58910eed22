/** Batch-norm bookkeeping beyond the PyTorch goldens in layers_test.ts. */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { randn, tensor } from "../../core/mod.ts";
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
