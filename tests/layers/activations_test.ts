/** In-place ReLU and the plugin manifests. */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { AutogradError, getOp, listPlugins, Module, randn, tensor, use } from "../../core/mod.ts";
import type { Plugin } from "../../core/mod.ts";
import * as L from "../../layers/mod.ts";
import { values } from "./_helpers.ts";

Deno.test("in-place ReLU gives the same output and gradients as the out-of-place one", () => {
  const w0 = randn([4, 3]);
  const x0 = randn([5, 3]);
  const g = randn([5, 4]);
  const run = (inplace: boolean) => {
    const lin = new L.Linear(3, 4);
    lin.loadStateDict({ weight: w0, bias: tensor([0.1, -0.2, 0.3, 0]) });
    const x = x0.detach().requiresGrad_();
    const net = new L.Sequential(lin, new L.ReLU({ inplace }), new L.Sigmoid());
    const y = net.forward(x);
    y.mul(g).sum().backward();
    return {
      y: values(y),
      dx: values(x.grad!),
      dw: values(lin.weight.grad!),
      db: values(lin.bias!.grad!),
    };
  };
  assert.deepEqual(run(true), run(false));
});

Deno.test("in-place ReLU overwrites its input and refuses a leaf that requires grad", () => {
  const h = tensor([-1, 2, -3]).mul(1);
  const y = new L.ReLU({ inplace: true }).forward(h);
  assert.equal(y, h);
  assert.deepEqual(values(h), [0, 2, 0]);
  const leaf = tensor([-1, 2], { requiresGrad: true });
  assert.throws(() => new L.ReLU({ inplace: true }).forward(leaf), AutogradError);
});

Deno.test("the layer plugins that define ops are valid and registered on import", () => {
  const plugins = Object.entries(L).filter(([k]) => k.endsWith("Plugin")).map(([, v]) =>
    v as Plugin
  );
  assert.deepEqual(plugins.map((p) => p.name).sort(), [
    "@denn/adaptive-max-pool",
    "@denn/attention",
    "@denn/batch-norm",
    "@denn/conv-transpose2d",
    "@denn/conv2d",
    "@denn/norm",
    "@denn/pooling",
    "@denn/rnn",
  ]);
  for (const p of plugins) {
    assert.match(p.name, /^@denn\/[a-z0-9-]+$/);
    assert.equal(p.kind, "layer");
    assert.equal(p.apiVersion, 1);
    assert.ok(p.ops?.length, `${p.name} defines ops`);
    for (const op of p.ops!) assert.equal(getOp(op.name), op, `${op.name} is defined`);
    assert.ok(listPlugins().includes(p), `${p.name} is loaded`);
    for (const [name, cls] of Object.entries(p.exports ?? {})) {
      assert.ok(
        typeof cls === "function" && cls.prototype instanceof Module,
        `${p.name}: ${name} is a Module class`,
      );
    }
    assert.equal(use(p), p);
  }
});

Deno.test("LeakyReLU gradient at 0 is the negative slope, as in PyTorch", () => {
  // torch: x = tensor([-1., 0., 1.], requires_grad=True); F.leaky_relu(x, 0.1).sum().backward()
  // x.grad == [0.1, 0.1, 1.0]
  const x = tensor([-1, 0, 1], { requiresGrad: true });
  const y = new L.LeakyReLU(0.1).forward(x);
  assert.deepEqual(values(y), [Math.fround(-0.1), 0, 1]);
  y.sum().backward();
  assert.deepEqual(values(x.grad!), [0.1, 0.1, 1].map(Math.fround));
});

Deno.test("in-place ReLU after a layer whose backward needs its output is caught", () => {
  // PyTorch raises too: sigmoid saves its output, which relu_ would overwrite.
  const x = randn([4, 3], { requiresGrad: true });
  const y = new L.Sequential(new L.Sigmoid(), new L.ReLU({ inplace: true })).forward(x);
  assert.throws(() => y.sum().backward(), AutogradError);
});
