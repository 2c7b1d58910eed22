/**
 * Checks every layer plugin against PyTorch goldens from tools/gen_layer_fixtures.py: the state
 * dict (keys in PyTorch's order) is loaded with loadStateDict, then for each step forward, the
 * gradients of loss = (y * g).sum() w.r.t. the input and every parameter, and the state dict after
 * the step (batch-norm running statistics, num_batches_tracked) are compared.
 *
 * Tolerance: |actual − expected| ≤ 1e-5 + 1e-5·|expected| everywhere. The goldens are float64
 * results over float32-exact inputs and parameters, so the slack covers only float32 rounding.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { type Module, tensor } from "../../core/mod.ts";
import type { StateDict, Tensor } from "../../core/mod.ts";
import * as L from "../../layers/mod.ts";
import { assertClose, values } from "./_helpers.ts";

interface LayerSpec {
  type: string;
  args?: unknown[];
  options?: Record<string, unknown>;
  children?: LayerSpec[];
  body?: LayerSpec;
  shortcut?: LayerSpec | null;
  branches?: LayerSpec[];
}

interface Step {
  training: boolean;
  x: number[];
  g: number[];
  y: number[];
  yShape: number[];
  dx: number[];
  grads: Record<string, number[]>;
  stateAfter: Record<string, number[]>;
}

interface Case {
  name: string;
  spec: LayerSpec;
  inShape: number[];
  nonLeafInput: boolean;
  state: Record<string, number[]>;
  stateKeys: string[];
  steps: Step[];
}

type Ctor = new (...args: unknown[]) => Module;
const leafLayers: Record<string, Ctor> = {
  Linear: L.Linear,
  Conv2d: L.Conv2d,
  ReLU: L.ReLU,
  LeakyReLU: L.LeakyReLU,
  Sigmoid: L.Sigmoid,
  Tanh: L.Tanh,
  GELU: L.GELU,
  Softmax: L.Softmax,
  LogSoftmax: L.LogSoftmax,
  MaxPool2d: L.MaxPool2d,
  AvgPool2d: L.AvgPool2d,
  AdaptiveAvgPool2d: L.AdaptiveAvgPool2d,
  Dropout: L.Dropout,
  LocalResponseNorm: L.LocalResponseNorm,
  BatchNorm1d: L.BatchNorm1d,
  BatchNorm2d: L.BatchNorm2d,
  Flatten: L.Flatten,
  Identity: L.Identity,
} as unknown as Record<string, Ctor>;

/** Builds the denn module a fixture spec describes (PyTorch's positional args, then options). */
export function build(spec: LayerSpec): Module {
  switch (spec.type) {
    case "Sequential":
      return new L.Sequential(...spec.children!.map(build));
    case "Residual":
      return new L.Residual(build(spec.body!), spec.shortcut ? build(spec.shortcut) : null);
    case "Concat":
      return new L.Concat(spec.branches!.map(build), spec.options);
  }
  const C = leafLayers[spec.type];
  if (!C) throw new Error(`no layer ${spec.type}`);
  const opts = spec.options ?? {};
  return Object.keys(opts).length ? new C(...(spec.args ?? []), opts) : new C(...(spec.args ?? []));
}

function stateFrom(m: Module, data: Record<string, number[]>): StateDict {
  const sd: StateDict = {};
  for (const [k, t] of Object.entries(m.stateDict())) {
    assert.ok(k in data, `fixture lacks ${k}`);
    sd[k] = tensor(data[k], { dtype: t.dtype }).reshape(t.shape as number[]);
  }
  return sd;
}

const fixture: { cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/layers.json", import.meta.url)),
);

Deno.test("layers match PyTorch", async (t) => {
  for (const c of fixture.cases) {
    await t.step(c.name, () => {
      const m = build(c.spec);
      assert.deepEqual(Object.keys(m.stateDict()), c.stateKeys, "state-dict keys and order");
      m.loadStateDict(stateFrom(m, c.state));
      c.steps.forEach((s, i) => {
        const at = `${c.name} step ${i} (${s.training ? "train" : "eval"})`;
        m.train(s.training);
        m.zeroGrad();
        const x = tensor(Float32Array.from(s.x), { shape: c.inShape, requiresGrad: true });
        const y = m.forward(c.nonLeafInput ? x.mul(1) : x);
        assert.deepEqual(y.shape, s.yShape, `${at}: output shape`);
        assertClose(values(y), s.y, `${at}: y`);
        const g = tensor(Float32Array.from(s.g), { shape: s.yShape });
        (y.mul(g).sum() as Tensor).backward();
        assertClose(values(x.grad!), s.dx, `${at}: dx`);
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
