/**
 * Argument checks of the autograd entry points: `backward`'s gradient (a Tensor or nothing) and
 * options (known keys, booleans), `autograd.grad`'s outputs, inputs, gradOutputs and options, and
 * `noGrad`/`enableGrad`/`setGradEnabled`. Each wrong call is a ValueError naming the function, the
 * argument and what is expected, instead of an ignored option or a raw TypeError.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  autograd,
  backward,
  enableGrad,
  isGradEnabled,
  noGrad,
  setGradEnabled,
  tensor,
  ValueError,
} from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

const rejects = (f: () => unknown, text: string): void => assertThrowsNamed(f, ValueError, text);

const bad = (v: unknown): never => v as never;
const leaf = (): Tensor => tensor([1, 2, 3], { requiresGrad: true });

Deno.test("backward rejects misspelt and non-boolean options instead of ignoring them", () => {
  rejects(
    () => leaf().sum().backward(undefined, bad({ retain_graph: true })),
    'backward: unknown option "retain_graph" (expected retainGraph, createGraph)',
  );
  rejects(
    () => leaf().sum().backward(undefined, bad({ create_graph: true })),
    'backward: unknown option "create_graph"',
  );
  rejects(
    () => leaf().sum().backward(undefined, bad({ retainGraph: "yes" })),
    'backward: retainGraph must be a boolean, got "yes"',
  );
  rejects(
    () => leaf().sum().backward(undefined, bad(true)),
    "backward: options must be an object like { retainGraph: ... }, got true",
  );
  // Nothing was back-propagated by a refused call.
  const x = leaf();
  rejects(() => x.mul(x).sum().backward(undefined, bad({ retain_graph: true })), "backward");
  assert.equal(x.grad, null);
  // The real options work.
  const y = x.mul(x).sum();
  y.backward(undefined, { retainGraph: true });
  y.backward(undefined, { retainGraph: false, createGraph: undefined });
  assert.deepEqual([...x.grad!.dataSync()], [4, 8, 12]);
});

Deno.test("backward's gradient must be a Tensor or omitted", () => {
  const expected = "backward: gradient must be a Tensor of the output's shape [] (or omitted for " +
    "a one-element output)";
  rejects(
    () => leaf().sum().backward(bad(true)),
    `${expected}, got true (PyTorch's positional retain_graph is an option here: ` +
      "y.backward(undefined, { retainGraph: true }))",
  );
  rejects(
    () => leaf().mul(2).sum().backward(bad(1)),
    `${expected}, got 1 (pass a tensor such as tensor(1), or nothing for a one-element tensor)`,
  );
  rejects(
    () => leaf().mul(2).backward(bad([1, 1, 1])),
    "backward: gradient must be a Tensor of the output's shape [3]",
  );
  rejects(() => backward(bad(5)), "backward: expected a Tensor to back-propagate from, got 5");
  const x = leaf();
  x.mul(2).backward(tensor([1, 0, 1]));
  assert.deepEqual([...x.grad!.dataSync()], [2, 0, 2]);
  const z = leaf();
  z.sum().backward(bad(null));
  assert.deepEqual([...z.grad!.dataSync()], [1, 1, 1]);
});

Deno.test("autograd.grad rejects misspelt and non-boolean options", () => {
  const x = leaf();
  rejects(
    () => autograd.grad(x.mul(x).sum(), [x], bad({ create_graph: true })),
    'grad: unknown option "create_graph" (expected gradOutputs, createGraph, retainGraph, allowUnused)',
  );
  rejects(
    () => autograd.grad(x.mul(x).sum(), [x], bad({ allow_unused: true })),
    'grad: unknown option "allow_unused"',
  );
  rejects(
    () => autograd.grad(x.mul(x).sum(), [x], bad({ createGraph: 1 })),
    "grad: createGraph must be a boolean, got 1",
  );
  rejects(
    () => autograd.grad(x.mul(x).sum(), [x], bad(true)),
    "grad: options must be an object like { gradOutputs: ... }, got true",
  );
});

Deno.test("autograd.grad's outputs, inputs and gradOutputs must be Tensors", () => {
  const x = leaf();
  rejects(
    () => autograd.grad(bad(5), [x]),
    "grad: outputs must be a Tensor or an array of Tensors, got 5",
  );
  rejects(
    () => autograd.grad(bad([x.sum(), "y"]), [x]),
    'grad: outputs[1] must be a Tensor, got "y"',
  );
  rejects(
    () => autograd.grad(x.sum(), bad("x")),
    'grad: inputs must be a Tensor or an array of Tensors, got "x"',
  );
  rejects(
    () => autograd.grad(x.sum(), bad([x, null])),
    "grad: inputs[1] must be a Tensor, got null",
  );
  rejects(
    () => autograd.grad(x.sum(), []),
    "grad: expected at least one input to differentiate with respect to",
  );
  rejects(
    () => autograd.grad(x.mul(2), [x], { gradOutputs: bad(1) }),
    "grad: gradOutputs must be a Tensor or an array of them (null for ones), got 1",
  );
  rejects(
    () => autograd.grad(x.mul(2), [x], { gradOutputs: bad([[1, 1, 1]]) }),
    "grad: gradOutputs[0] must be a Tensor (or null for ones), got [1, 1, 1]",
  );
  rejects(
    () => autograd.grad([x.sum(), x.mul(x).sum()], [x], { gradOutputs: [tensor(1)] }),
    "grad: got 1 gradOutputs for 2 outputs (one per output expected)",
  );
  // Valid forms still work: null entries default to ones; a single gradOutputs tensor.
  const [g] = autograd.grad([x.sum(), x.mul(x).sum()], [x], { gradOutputs: [null, tensor(2)] });
  assert.deepEqual([...g.dataSync()], [5, 9, 13]);
  const h = autograd.grad(x.mul(3), x, { gradOutputs: tensor([1, 0, 1]) });
  assert.deepEqual([...h.dataSync()], [3, 0, 3]);
});

Deno.test("noGrad, enableGrad and setGradEnabled need a function / a boolean", () => {
  rejects(
    () => noGrad(bad(5)),
    "noGrad: expected a function to run without gradient recording, got 5 (noGrad(() => ...))",
  );
  rejects(
    () => enableGrad(bad("x")),
    'enableGrad: expected a function to run with gradient recording, got "x"',
  );
  rejects(() => noGrad(bad(undefined)), "noGrad: expected a function");
  rejects(() => setGradEnabled(bad("no")), 'setGradEnabled: on must be a boolean, got "no"');
  assert.equal(isGradEnabled(), true, "a refused call leaves gradient recording as it was");
  assert.equal(noGrad(() => isGradEnabled()), false);
  assert.equal(noGrad(() => enableGrad(() => isGradEnabled())), true);
});
