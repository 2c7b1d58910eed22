/**
 * The issue-12 layer plugins work imported file by file with only the core and the cpu backend:
 * this file imports nothing else from layers/ (the pooling plugin, for one, stays unloaded), and
 * each plugin defines the ops its manifest lists.
 */

import assert from "node:assert/strict";
import { AdaptiveMaxPool2d, adaptiveMaxPoolPlugin } from "../../layers/adaptive_max_pool.ts";
import { ConvTranspose2d, convTranspose2dPlugin } from "../../layers/conv_transpose2d.ts";
import { Conv1d } from "../../layers/conv1d.ts";
import { Embedding } from "../../layers/embedding.ts";
import { GroupNorm, InstanceNorm2d, LayerNorm, RMSNorm } from "../../layers/norm.ts";
import { interpolate, Upsample } from "../../layers/upsample.ts";
import { ELU, Hardswish, PReLU } from "../../layers/activations_extra.ts";
import { ModuleDict } from "../../layers/containers.ts";
import "../../plugins/cpu/mod.ts";
import { getOp, listPlugins, randn, tensor } from "../../core/mod.ts";

Deno.test("the adaptive-max-pool and conv-transpose2d plugins define their ops", () => {
  assert.ok(listPlugins().includes(adaptiveMaxPoolPlugin));
  assert.ok(listPlugins().includes(convTranspose2dPlugin));
  assert.ok(adaptiveMaxPoolPlugin.ops!.includes(getOp("adaptiveMaxPool2d")!));
  assert.ok(convTranspose2dPlugin.ops!.includes(getOp("convTranspose2d")!));
  // ConvTranspose2d runs on the Conv2d plugin's ops, which it loads; pooling stays unloaded.
  assert.ok(getOp("conv2dBackwardInput"));
  assert.equal(getOp("maxPool2d"), undefined);
});

Deno.test("each layer works imported alone, forward and backward", () => {
  const x4 = randn([2, 4, 5, 5], { requiresGrad: true });
  const layers = [
    new AdaptiveMaxPool2d(2),
    new ConvTranspose2d(4, 2, 3, { stride: 2 }),
    new GroupNorm(2, 4),
    new InstanceNorm2d(4, { affine: true }),
    new LayerNorm(5),
    new RMSNorm([5, 5]),
    new Upsample({ scaleFactor: 2, mode: "bilinear" }),
    new ELU(),
    new Hardswish(),
    new PReLU(4),
  ];
  for (const m of layers) {
    x4.grad = null;
    m.forward(x4).sum().backward();
    assert.deepEqual(x4.grad!.shape, [2, 4, 5, 5], m.constructor.name);
  }
  const x3 = randn([2, 4, 7], { requiresGrad: true });
  new Conv1d(4, 3, 3).forward(x3).sum().backward();
  assert.deepEqual(x3.grad!.shape, [2, 4, 7]);
  const emb = new Embedding(5, 3);
  emb.forward(tensor([1, 4], { dtype: "int32" })).sum().backward();
  assert.deepEqual(emb.weight.grad!.shape, [5, 3]);
  assert.deepEqual(interpolate(randn([1, 1, 3]), { size: 5, mode: "linear" }).shape, [1, 1, 5]);
  const d = new ModuleDict({ emb });
  assert.deepEqual(Object.keys(d.stateDict()), ["emb.weight"]);
});
