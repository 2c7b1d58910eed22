/** Containers and blocks: PyTorch's state-dict keys, train/eval propagation, list operations. */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { randn, tensor } from "../../core/mod.ts";
import {
  BatchNorm2d,
  Concat,
  Conv2d,
  Dropout,
  Flatten,
  Identity,
  Linear,
  MaxPool2d,
  ModuleList,
  ReLU,
  Residual,
  Sequential,
} from "../../layers/mod.ts";

Deno.test("nested Sequential state-dict keys equal PyTorch's, in order", () => {
  const m = new Sequential(
    new Conv2d(3, 4, 3),
    new BatchNorm2d(4),
    new ReLU(),
    new Sequential(new Linear(4, 2), new ReLU()),
  );
  // list(nn.Sequential(nn.Conv2d(3,4,3), nn.BatchNorm2d(4), nn.ReLU(),
  //      nn.Sequential(nn.Linear(4,2), nn.ReLU())).state_dict())
  assert.deepEqual(Object.keys(m.stateDict()), [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
    "3.0.weight",
    "3.0.bias",
  ]);
  assert.deepEqual(m.namedParameters().map(([k]) => k), [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "3.0.weight",
    "3.0.bias",
  ]);
  assert.deepEqual(m.namedBuffers().map(([k]) => k), [
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
  ]);
  assert.equal(m.stateDict()["1.num_batches_tracked"].dtype, "int32");
});

Deno.test("Sequential with more than ten children orders keys numerically", () => {
  const m = new Sequential(...Array.from({ length: 12 }, () => new Linear(2, 2)));
  const keys = Object.keys(m.stateDict()).filter((k) => k.endsWith("weight"));
  assert.deepEqual(keys, Array.from({ length: 12 }, (_, i) => `${i}.weight`));
});

Deno.test("train() and eval() propagate to every descendant", () => {
  const m = new Sequential(
    new Conv2d(1, 2, 3),
    new Sequential(new BatchNorm2d(2), new Dropout(0.5)),
    new Residual(new Sequential(new ReLU())),
    new Concat([new Identity(), new MaxPool2d(1)]),
  );
  assert.ok(m.modules().every((x) => x.training));
  assert.equal(m.eval(), m);
  assert.ok(m.modules().every((x) => !x.training));
  m.train();
  assert.ok(m.modules().every((x) => x.training));
  m.train(false);
  assert.ok(m.modules().every((x) => !x.training));
});

Deno.test("Sequential: append, at, length, iteration, chaining, empty identity", () => {
  const a = new Linear(3, 4), b = new ReLU(), c = new Linear(4, 2);
  const s = new Sequential(a, b);
  assert.equal(s.length, 2);
  assert.equal(s.append(c), s);
  assert.equal(s.length, 3);
  assert.equal(s.at(0), a);
  assert.equal(s.at(-1), c);
  assert.throws(() => s.at(3), /Sequential: index 3 is out of range/);
  assert.deepEqual([...s], [a, b, c]);
  const x = randn([5, 3]);
  const want = c.forward(b.forward(a.forward(x))).dataSync();
  assert.deepEqual(s.forward(x).dataSync(), want);
  assert.deepEqual(s.call(x).dataSync(), want);
  const e = new Sequential();
  assert.equal(e.forward(x), x);
  assert.throws(
    () => new Sequential(a, 3 as unknown as Linear),
    /Sequential: module 1 must be a Module/,
  );
});

Deno.test("Sequential from a named object (PyTorch's OrderedDict form)", () => {
  const s = new Sequential({ conv: new Conv2d(1, 2, 3), act: new ReLU(), flat: new Flatten() });
  assert.deepEqual(Object.keys(s.stateDict()), ["conv.weight", "conv.bias"]);
  assert.deepEqual(s.forward(randn([1, 1, 4, 4])).shape, [1, 8]);
  assert.throws(
    () => new Sequential({ train: new ReLU() }),
    /Sequential: module name "train" .*clashes/,
  );
});

Deno.test("ModuleList registers children and has no forward", () => {
  const l = new ModuleList([new Linear(2, 3)]).extend([new ReLU(), new Linear(3, 1)]);
  assert.equal(l.length, 3);
  assert.deepEqual(Object.keys(l.stateDict()), ["0.weight", "0.bias", "2.weight", "2.bias"]);
  assert.ok(l.at(-1) instanceof Linear);
  assert.throws(() => l.forward(), /ModuleList: has no forward/);
  let x = randn([4, 2]);
  for (const m of l) x = m.forward(x);
  assert.deepEqual(x.shape, [4, 1]);
});

Deno.test("Residual and Concat: keys, shapes and errors", () => {
  const r = new Residual(
    new Conv2d(2, 3, 3, { stride: 2, padding: 1 }),
    new Conv2d(2, 3, 1, {
      stride: 2,
      bias: false,
    }),
  );
  assert.deepEqual(Object.keys(r.stateDict()), ["body.weight", "body.bias", "shortcut.weight"]);
  assert.deepEqual(r.forward(randn([1, 2, 5, 5])).shape, [1, 3, 3, 3]);
  const bad = new Residual(new Conv2d(2, 3, 1));
  assert.throws(() => bad.forward(randn([1, 2, 4, 4])), /Residual: body output \[1, 3, 4, 4\]/);
  const id = new Residual(new Identity());
  assert.deepEqual(id.forward(tensor([1, 2])).dataSync(), Float32Array.from([2, 4]));
  const c = new Concat([new Conv2d(3, 2, 1), new Conv2d(3, 4, 1)]);
  assert.deepEqual(Object.keys(c.stateDict()), ["0.weight", "0.bias", "1.weight", "1.bias"]);
  assert.deepEqual(c.forward(randn([2, 3, 4, 4])).shape, [2, 6, 4, 4]);
  assert.equal(c.branches.length, 2);
});

// Sequential runs a plain ReLU followed by a MaxPool2d as pool-then-ReLU; the values and gradients
// must be those of the modules run one by one, including ties, zeros, -0 and NaN in a window.
Deno.test("Sequential: ReLU then MaxPool2d gives the unswapped values and gradients bit for bit", () => {
  const conv = new Conv2d(2, 3, 3, { padding: 1 });
  for (const inplace of [false, true]) {
    for (
      const pool of [new MaxPool2d(2), new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })]
    ) {
      const relu = new ReLU({ inplace });
      const seq = new Sequential(conv, relu, pool);
      const base = randn([2, 2, 7, 7]).mul(2);
      const data = base.toArraySync() as number[][][][];
      data[0][0][0][0] = NaN;
      data[1][1][2][2] = -0;
      const xa = tensor(data, { requiresGrad: true }), xb = tensor(data, { requiresGrad: true });
      const ya = seq.forward(xa);
      const yb = pool.forward(relu.forward(conv.forward(xb)));
      assert.deepEqual(ya.toArraySync(), yb.toArraySync());
      const g = randn(ya.shape);
      conv.zeroGrad();
      ya.backward(g);
      const gwA = conv.weight.grad!.toArraySync();
      conv.zeroGrad();
      yb.backward(g);
      assert.deepEqual(xa.grad!.toArraySync(), xb.grad!.toArraySync());
      assert.deepEqual(gwA, conv.weight.grad!.toArraySync());
    }
  }
});

Deno.test("Sequential: a hook or an in-place ReLU on the caller's tensor sees the ReLU run first", () => {
  const relu = new ReLU(), pool = new MaxPool2d(2);
  const seen: number[][] = [];
  const h = relu.registerForwardHook((_m, args) => {
    seen.push([...(args[0] as { shape: readonly number[] }).shape]);
  });
  new Sequential(relu, pool).forward(randn([1, 1, 4, 4]));
  h.remove();
  assert.deepEqual(seen, [[1, 1, 4, 4]]);
  // An in-place ReLU first in the chain overwrites the caller's tensor, as PyTorch's does.
  const x = tensor([[[[-1, 2], [3, -4]]]]);
  new Sequential(new ReLU({ inplace: true }), new MaxPool2d(2)).forward(x);
  assert.deepEqual(x.toArraySync(), [[[[0, 2], [3, 0]]]]);
});
