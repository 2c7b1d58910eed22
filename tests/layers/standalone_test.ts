/**
 * A layer plugin must work imported alone, with only the core and the cpu backend: this file
 * deliberately imports nothing else from layers/.
 */

import assert from "node:assert/strict";
import { Conv2d, conv2d, conv2dPlugin } from "../../layers/conv2d.ts";
import "../../plugins/cpu/mod.ts";
import { getOp, listPlugins, randn } from "../../core/mod.ts";

Deno.test("importing the Conv2d plugin alone defines the conv2d ops its manifest lists", () => {
  assert.ok(listPlugins().includes(conv2dPlugin));
  for (const name of ["conv2d", "conv2dBackwardInput", "conv2dBackwardWeight"]) {
    assert.ok(getOp(name), `${name} is defined`);
    assert.ok(conv2dPlugin.ops!.includes(getOp(name)!), `${name} comes from @denn/conv2d`);
  }
  // Nothing else from layers/ was imported, so the pooling plugin's ops are not defined.
  assert.equal(getOp("maxPool2d"), undefined);
  const y = conv2d(randn([1, 2, 5, 5]), randn([3, 2, 3, 3]), null, { padding: "same" });
  assert.deepEqual(y.shape, [1, 3, 5, 5]);
});

Deno.test("Conv2d works imported alone with core + cpu", () => {
  const conv = new Conv2d(2, 3, 3, { padding: 1, stride: 2 });
  const x = randn([1, 2, 5, 5], { requiresGrad: true });
  const y = conv.forward(x);
  assert.deepEqual(y.shape, [1, 3, 3, 3]);
  y.sum().backward();
  assert.deepEqual(x.grad!.shape, [1, 2, 5, 5]);
  assert.deepEqual(conv.weight.grad!.shape, [3, 2, 3, 3]);
  assert.deepEqual(Object.keys(conv.stateDict()), ["weight", "bias"]);
});

Deno.test("Conv2d initialisation follows PyTorch's bounds and the init option", () => {
  const maxAbs = (t: { dataSync(): ArrayLike<number> }) =>
    Math.max(...Array.from(t.dataSync(), Math.abs));
  // fan_in = (8 / 2) * 3 * 3 = 36: kaiming-uniform(a=√5) and the bias are both U(±1/6).
  const conv = new Conv2d(8, 16, 3, { groups: 2 });
  assert.deepEqual(conv.weight.shape, [16, 4, 3, 3]);
  assert.ok(maxAbs(conv.weight) <= 1 / 6 && maxAbs(conv.weight) > 0.9 / 6);
  assert.ok(maxAbs(conv.bias!) <= 1 / 6);
  // Glorot: U(±√(6 / (fan_in + fan_out))), fan_out = 16 * 9.
  const glorot = new Conv2d(8, 16, 3, { groups: 2, init: "glorot", bias: false });
  const b = Math.sqrt(6 / (36 + 144));
  assert.ok(maxAbs(glorot.weight) <= b && maxAbs(glorot.weight) > 0.9 * b);
  assert.equal(glorot.bias, null);
  // Kaiming (ReLU gain): U(±√(6 / fan_in)).
  const he = new Conv2d(8, 16, 3, { groups: 2, init: "kaiming" });
  assert.ok(maxAbs(he.weight) <= Math.sqrt(6 / 36) && maxAbs(he.weight) > 0.9 * Math.sqrt(6 / 36));
});
