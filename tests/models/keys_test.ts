// State-dict keys, shapes and parameter counts against torchvision (tests/fixtures/
// models_torchvision.json, from tools/gen_model_keys.py). The VGGs' 100M-parameter classifiers take
// ~30 s each to initialise on 2 cores, so the fast run builds them with a narrow classifier and
// checks every key and shape with the width substituted; DENN_SLOW=1 builds the full models.

import assert from "node:assert/strict";
import "../../mod.ts";
import type { Module } from "../../mod.ts";
import { alexnet, createModel, googlenet, lenet5, resnet, vgg } from "../../plugins/models/mod.ts";
import type { VGGDepth } from "../../plugins/models/mod.ts";

type Ref = { parameters: number; keys: [string, number[]][] };
const fixture: { models: Record<string, Ref> } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/models_torchvision.json", import.meta.url)),
);
const slow = !Deno.env.get("DENN_SLOW");

function keysOf(m: Module): [string, number[]][] {
  return Object.entries(m.stateDict()).map(([k, t]) => [k, [...t.shape]]);
}

function same(name: string, m: Module, ref = fixture.models[name]): void {
  assert.deepEqual(keysOf(m), ref.keys, name);
  assert.equal(m.numParameters(), ref.parameters, name);
}

Deno.test("LeNet-5 has 61,706 parameters and documented keys", () => {
  const m = lenet5();
  assert.equal(m.numParameters(), 61706);
  assert.deepEqual(Object.keys(m.stateDict()), [
    "features.0.weight",
    "features.0.bias",
    "features.3.weight",
    "features.3.bias",
    "classifier.0.weight",
    "classifier.0.bias",
    "classifier.2.weight",
    "classifier.2.bias",
    "classifier.4.weight",
    "classifier.4.bias",
  ]);
  assert.equal(lenet5({ inputSize: 32 }).classifier.at(0).stateDict().weight.shape[1], 576);
});

Deno.test("AlexNet matches torchvision (61,100,840 parameters)", () => {
  same("alexnet", alexnet());
  assert.equal(fixture.models.alexnet.parameters, 61100840);
});

Deno.test("ResNet-18/34/50 match torchvision (11,689,512 / 21,797,672 / 25,557,032)", () => {
  same("resnet18", resnet(18));
  same("resnet34", createModel("resnet34"));
  same("resnet50", resnet(50));
  assert.equal(fixture.models.resnet18.parameters, 11689512);
  assert.equal(fixture.models.resnet50.parameters, 25557032);
});

Deno.test("GoogLeNet matches torchvision with and without auxiliary classifiers", () => {
  same("googlenet", googlenet({ auxLogits: true }));
  same("googlenet_noaux", googlenet());
});

Deno.test("VGG keys and shapes match torchvision (narrow classifier)", () => {
  const W = 16;
  for (
    const [name, depth, bn] of [
      ["vgg11", 11, false],
      ["vgg16", 16, false],
      ["vgg16_bn", 16, true],
      ["vgg19", 19, false],
      ["vgg13", 13, false],
      ["vgg11_bn", 11, true],
    ] as const
  ) {
    const m = vgg(depth as VGGDepth, { batchNorm: bn, classifierWidth: W });
    const ref = fixture.models[name];
    const expected = ref.keys.map((
      [k, s],
    ): [string, number[]] => [k, s.map((d) => (d === 4096 ? W : d))]);
    assert.deepEqual(keysOf(m), expected, name);
    // Swap the narrow classifier's parameters for torchvision's 4096-wide ones in the count.
    const narrow = 25088 * W + W + W * W + W + W * 1000;
    const wide = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000;
    assert.equal(m.numParameters() - narrow + wide, ref.parameters, name);
  }
  assert.equal(fixture.models.vgg16.parameters, 138357544);
});

Deno.test({
  name: "full-size VGG and ResNet-101/152 match torchvision (slow)",
  ignore: slow,
  fn() {
    for (const n of ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg16_bn"]) {
      same(n, createModel(n));
    }
    same("resnet101", resnet(101));
    same("resnet152", resnet(152));
  },
});

Deno.test("createModel rejects unknown names and bad options", () => {
  assert.throws(() => createModel("resnet20"), /unknown model "resnet20"/);
  assert.throws(() => lenet5({ numClasses: 0 }), /numClasses must be a positive integer/);
  assert.throws(() => resnet(20 as 18), /depth must be 18, 34, 50, 101 or 152/);
});
