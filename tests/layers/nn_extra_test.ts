/**
 * The issue-12 layers against PyTorch goldens from tools/gen_nn_extra_fixtures.py: each module is
 * built from its spec with PyTorch's positional arguments and camelCased options, PyTorch's state
 * dict (keys checked in PyTorch's order) is loaded with loadStateDict, and for each step the
 * output, the input gradient, every parameter gradient of loss = (y * g).sum() and the state dict
 * after the step (running statistics, Embedding's max-norm renormalisation) are compared. Also:
 * each activation at its kinks, what a full backward hook sees, and ModuleList / ModuleDict state
 * dicts from PyTorch.
 *
 * Tolerance: |actual − expected| ≤ 1e-5 + 1e-5·|expected|, as tests/layers/layers_test.ts (the
 * goldens are float64 results over float32-exact inputs and parameters).
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { Module, tensor } from "../../core/mod.ts";
import type { StateDict, Tensor } from "../../core/mod.ts";
import * as L from "../../layers/mod.ts";
import * as F from "../../layers/functional.ts";
import { assertClose, values } from "./_helpers.ts";

interface LayerSpec {
  type: string;
  args?: unknown[];
  options?: Record<string, unknown>;
}

interface Step {
  training: boolean;
  x: number[];
  g: number[];
  y: number[];
  yShape: number[];
  dx: number[] | null;
  grads: Record<string, number[]>;
  stateAfter: Record<string, number[]>;
}

interface Case {
  name: string;
  spec: LayerSpec;
  inShape: number[];
  intInput: boolean;
  nonLeafInput: boolean;
  state: Record<string, number[]>;
  stateKeys: string[];
  steps: Step[];
}

interface Fixture {
  cases: Case[];
  kinks: { name: string; x: number[]; y: number[]; dx: number[] }[];
  hooks: {
    state: Record<string, number[]>;
    x: number[];
    g: number[];
    gradInput: number[];
    gradOutput: number[];
  };
  containers: { keys: string[]; shapes: Record<string, number[]>; state: Record<string, number[]> };
}

type Ctor = new (...args: unknown[]) => Module;
const layers: Record<string, Ctor> = {
  Embedding: L.Embedding,
  LayerNorm: L.LayerNorm,
  GroupNorm: L.GroupNorm,
  InstanceNorm1d: L.InstanceNorm1d,
  InstanceNorm2d: L.InstanceNorm2d,
  RMSNorm: L.RMSNorm,
  Conv1d: L.Conv1d,
  ConvTranspose2d: L.ConvTranspose2d,
  Upsample: L.Upsample,
  UpsamplingNearest2d: L.UpsamplingNearest2d,
  UpsamplingBilinear2d: L.UpsamplingBilinear2d,
  AdaptiveMaxPool2d: L.AdaptiveMaxPool2d,
  Dropout2d: L.Dropout2d,
  SiLU: L.SiLU,
  ELU: L.ELU,
  Softplus: L.Softplus,
  Mish: L.Mish,
  ReLU6: L.ReLU6,
  Hardtanh: L.Hardtanh,
  Hardswish: L.Hardswish,
  Hardsigmoid: L.Hardsigmoid,
  PReLU: L.PReLU,
} as unknown as Record<string, Ctor>;

/** Builds the denn module a spec describes: PyTorch's positional args, then the options. */
function build(spec: LayerSpec): Module {
  const C = layers[spec.type];
  if (!C) throw new Error(`no layer ${spec.type}`);
  const opts = spec.options ?? {};
  const args = spec.args ?? [];
  return Object.keys(opts).length ? new C(...args, opts) : new C(...args);
}

function stateFrom(m: Module, data: Record<string, number[]>): StateDict {
  const sd: StateDict = {};
  for (const [k, t] of Object.entries(m.stateDict())) {
    assert.ok(k in data, `fixture lacks ${k}`);
    sd[k] = tensor(data[k], { dtype: t.dtype }).reshape(t.shape as number[]);
  }
  return sd;
}

const fixture: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/nn_extra.json", import.meta.url)),
);

Deno.test("nn extra layers match PyTorch (forward, gradients, state dicts)", async (t) => {
  assert.ok(fixture.cases.length >= 70, `only ${fixture.cases.length} cases`);
  for (const c of fixture.cases) {
    await t.step(c.name, () => {
      const m = build(c.spec);
      assert.deepEqual(Object.keys(m.stateDict()), c.stateKeys, "state-dict keys and order");
      m.loadStateDict(stateFrom(m, c.state));
      c.steps.forEach((s, i) => {
        const at = `${c.name} step ${i} (${s.training ? "train" : "eval"})`;
        m.train(s.training);
        m.zeroGrad();
        const x = c.intInput
          ? tensor(Int32Array.from(s.x), { shape: c.inShape, dtype: "int32" })
          : tensor(Float32Array.from(s.x), { shape: c.inShape, requiresGrad: true });
        const y = m.forward(c.nonLeafInput ? x.mul(1) : x);
        assert.deepEqual(y.shape, s.yShape, `${at}: output shape`);
        assertClose(values(y), s.y, `${at}: y`);
        const g = tensor(Float32Array.from(s.g), { shape: s.yShape });
        if (y.requiresGrad) (y.mul(g).sum() as Tensor).backward();
        if (s.dx) assertClose(values(x.grad!), s.dx, `${at}: dx`);
        const params = Object.fromEntries(m.namedParameters());
        assert.deepEqual(Object.keys(s.grads).sort(), Object.keys(params).sort(), `${at}: grads`);
        for (const [k, gk] of Object.entries(s.grads)) {
          assert.ok(params[k].grad, `${at}: ${k} has no gradient`);
          assertClose(values(params[k].grad!), gk, `${at}: d${k}`);
        }
        const after = m.stateDict();
        for (const [k, v] of Object.entries(s.stateAfter)) {
          assertClose(values(after[k]), v, `${at}: state ${k}`);
        }
      });
    });
  }
});

const kinkFns: Record<string, (x: Tensor) => Tensor> = {
  "silu": (x) => F.silu(x),
  "elu": (x) => F.elu(x),
  "elu alpha 0.5": (x) => F.elu(x, 0.5),
  "softplus": (x) => F.softplus(x),
  "softplus beta 2 threshold 5": (x) => F.softplus(x, 2, 5),
  "mish": (x) => F.mish(x),
  "relu6": (x) => F.relu6(x),
  "hardtanh": (x) => F.hardtanh(x),
  "hardtanh -3 6": (x) => F.hardtanh(x, -3, 6),
  "hardswish": (x) => F.hardswish(x),
  "hardsigmoid": (x) => F.hardsigmoid(x),
  "prelu": (x) => F.prelu(x, tensor([0.25])),
};

Deno.test("activations match PyTorch at their kinks and for large inputs (no inf·0)", async (t) => {
  assert.equal(fixture.kinks.length, Object.keys(kinkFns).length);
  for (const k of fixture.kinks) {
    await t.step(k.name, () => {
      const x = tensor(k.x, { requiresGrad: true });
      const y = kinkFns[k.name](x);
      assertClose(values(y), k.y, `${k.name}: y`);
      y.sum().backward();
      assertClose(values(x.grad!), k.dx, `${k.name}: dx at ${k.x}`);
    });
  }
});

Deno.test("a full backward hook sees PyTorch's grad_input and grad_output", () => {
  const h = fixture.hooks;
  const lin = new L.Linear(3, 2);
  lin.loadStateDict({
    weight: tensor(h.state.weight).reshape([2, 3]),
    bias: tensor(h.state.bias),
  });
  const seen: { gi?: Tensor | null; go?: Tensor | null; calls: number } = { calls: 0 };
  lin.registerFullBackwardHook((m, gi, go) => {
    assert.equal(m, lin);
    seen.gi = gi[0];
    seen.go = go[0];
    seen.calls++;
  });
  const x = tensor(h.x, { requiresGrad: true }).reshape([4, 3]);
  const y = lin.forward(x).tanh();
  y.mul(tensor(h.g).reshape([4, 2])).sum().backward();
  assert.equal(seen.calls, 1);
  assertClose(values(seen.gi!), h.gradInput, "gradInput");
  assertClose(values(seen.go!), h.gradOutput, "gradOutput");
});

// What tools/gen_nn_extra_fixtures.py's Holder is, with denn's containers.
class Holder extends Module {
  blocks = new L.ModuleList([new L.Linear(3, 4), new L.ReLU(), new L.Conv1d(4, 2, 1)]);
  heads = new L.ModuleDict({
    cls: new L.Linear(2, 5),
    norm: new L.LayerNorm(2),
    emb: new L.Embedding(3, 2),
  });
  forward(x: Tensor): Tensor {
    return x;
  }
}

Deno.test("ModuleList and ModuleDict state dicts are PyTorch's and load from it", () => {
  const c = fixture.containers;
  const m = new Holder();
  const sd = m.stateDict();
  assert.deepEqual(Object.keys(sd), c.keys);
  for (const [k, t] of Object.entries(sd)) assert.deepEqual(t.shape, c.shapes[k], k);
  m.loadStateDict(stateFrom(m, c.state));
  for (const [k, t] of Object.entries(m.stateDict())) assertClose(values(t), c.state[k], k);
  // The loaded modules compute with the loaded weights.
  const cls = m.heads.get("cls") as L.Linear;
  assertClose(values(cls.weight), c.state["heads.cls.weight"], "heads.cls.weight");
});

Deno.test("the new layers print their settings as PyTorch does (camelCase names)", () => {
  const cases: [Module, string][] = [
    [new L.Embedding(10, 3, { paddingIdx: 0 }), "Embedding(10, 3, paddingIdx=0)"],
    [new L.LayerNorm([3, 4]), "LayerNorm((3, 4), eps=1e-05, elementwiseAffine=true)"],
    [new L.GroupNorm(2, 4), "GroupNorm(2, 4, eps=1e-05, affine=true)"],
    [
      new L.InstanceNorm2d(3, { affine: true }),
      "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=true, trackRunningStats=false)",
    ],
    [new L.RMSNorm(4), "RMSNorm((4,), eps=null, elementwiseAffine=true)"],
    [new L.Conv1d(3, 4, 3, { stride: 2 }), "Conv1d(3, 4, kernelSize=(3,), stride=(2,))"],
    [
      new L.ConvTranspose2d(3, 4, 3, { stride: 2, padding: 1, outputPadding: 1, bias: false }),
      "ConvTranspose2d(3, 4, kernelSize=(3, 3), stride=(2, 2), padding=(1, 1), " +
      "outputPadding=(1, 1), bias=false)",
    ],
    [new L.Upsample({ scaleFactor: 2 }), "Upsample(scaleFactor=2.0, mode='nearest')"],
    [new L.Upsample({ size: [5, 7], mode: "bilinear" }), "Upsample(size=(5, 7), mode='bilinear')"],
    [new L.AdaptiveMaxPool2d([null, 2]), "AdaptiveMaxPool2d(outputSize=(null, 2))"],
    [new L.Dropout2d(0.2), "Dropout2d(p=0.2, inplace=false)"],
    [new L.ELU(), "ELU(alpha=1.0)"],
    [new L.Softplus(), "Softplus(beta=1, threshold=20)"],
    [new L.Hardtanh(), "Hardtanh(minVal=-1.0, maxVal=1.0)"],
    [new L.ReLU6(true), "ReLU6(inplace=true)"],
    [new L.PReLU(3), "PReLU(numParameters=3)"],
    [new L.SiLU(), "SiLU()"],
    [new L.ModuleDict({ act: new L.Mish() }), "ModuleDict(\n  (act): Mish()\n)"],
  ];
  for (const [m, text] of cases) assert.equal(String(m), text);
});
