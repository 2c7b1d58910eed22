// One SGD step on a fixed batch lowers the loss, for every architecture at a tiny input size;
// plus forward shapes of ResNet-18 and VGG-11 at small inputs and input validation.

import assert from "node:assert/strict";
import { F, manualSeed, noGrad, randn, tensor } from "../../mod.ts";
import type { Module, Tensor } from "../../mod.ts";
import { SGD } from "../../optim/mod.ts";
import { alexnet, googlenet, lenet5, resnet, vgg } from "../../plugins/models/mod.ts";

function lossAt(model: Module, x: Tensor, y: Tensor): Tensor {
  manualSeed(42); // the same dropout masks for both evaluations
  return F.crossEntropy(model.forward(x), y);
}

function stepLowersLoss(name: string, model: Module, size: number, lr: number, channels = 3): void {
  manualSeed(1);
  const x = randn([2, channels, size, size]);
  const y = tensor([1, 3], { dtype: "int32" });
  const opt = new SGD(model.parameters(), { lr });
  const before = lossAt(model, x, y);
  opt.zeroGrad();
  before.backward();
  opt.step();
  const after = noGrad(() => lossAt(model, x, y));
  const [b, a] = [before.itemSync(), after.itemSync()];
  assert.ok(Number.isFinite(a) && a < b, `${name}: loss ${b} -> ${a}`);
}

Deno.test("one step lowers the loss: LeNet-5 (relu/max and tanh/avg)", () => {
  stepLowersLoss("lenet5", lenet5(), 28, 0.05, 1);
  stepLowersLoss("lenet5 classic", lenet5({ activation: "tanh", pooling: "avg" }), 28, 0.05, 1);
});

Deno.test("one step lowers the loss: AlexNet at 63x63", () => {
  stepLowersLoss("alexnet", alexnet({ numClasses: 10, classifierWidth: 32 }), 63, 0.01);
});

Deno.test("one step lowers the loss: VGG-11 and VGG-11-BN at 32x32", () => {
  stepLowersLoss("vgg11", vgg(11, { numClasses: 10, classifierWidth: 32 }), 32, 0.05);
  stepLowersLoss(
    "vgg11_bn",
    vgg(11, { numClasses: 10, classifierWidth: 32, batchNorm: true }),
    32,
    0.05,
  );
});

Deno.test("one step lowers the loss: GoogLeNet (with aux heads) at 32x32", () => {
  const g = googlenet({ numClasses: 10, auxLogits: true });
  manualSeed(3);
  const x = randn([2, 3, 32, 32]);
  const out = g.forwardWithAux(x);
  assert.deepEqual([out.logits.shape, out.aux1?.shape, out.aux2?.shape], [[2, 10], [2, 10], [
    2,
    10,
  ]]);
  g.eval();
  assert.equal(g.forwardWithAux(x).aux1, null);
  g.train();
  stepLowersLoss("googlenet", googlenet({ numClasses: 10 }), 32, 0.05);
});

Deno.test("one step lowers the loss: ResNet-18 and ResNet-50 at 32x32", () => {
  stepLowersLoss("resnet18", resnet(18, { numClasses: 10 }), 32, 0.01);
  stepLowersLoss("resnet50", resnet(50, { numClasses: 10 }), 32, 0.01);
});

Deno.test("forward at small input: ResNet-18 (1 channel, 40x40) and VGG-11 (eval, 48x48)", () => {
  const r = resnet(18, { numClasses: 7, inChannels: 1 });
  assert.deepEqual(r.forward(randn([3, 1, 40, 40])).shape, [3, 7]);
  const v = vgg(11, { numClasses: 5, classifierWidth: 16 }).eval();
  const y = noGrad(() => v.forward(randn([1, 3, 48, 48])));
  assert.deepEqual(y.shape, [1, 5]);
  assert.ok(y.dataSync().every(Number.isFinite));
  assert.throws(() => r.forward(randn([1, 3, 40, 40])), /ResNet: expected input \[N, 1, H, W\]/);
  assert.throws(() => lenet5().forward(randn([1, 1, 20, 20])), /H, W >= 28/);
});

Deno.test({
  name: "full-size forwards at 224x224 (slow)",
  ignore: !Deno.env.get("DENN_SLOW"),
  fn() {
    const x = randn([1, 3, 224, 224]);
    for (const m of [resnet(18), resnet(50), googlenet(), alexnet(), vgg(11)]) {
      assert.deepEqual(noGrad(() => m.eval().forward(x)).shape, [1, 1000]);
    }
  },
});
