/**
 * The backprop scheduler: accumulation over diamonds and repeated use, retained and released
 * graphs, noGrad and detach, in-place rules, and a deep chain that would overflow a recursive walk.
 */

import assert from "node:assert/strict";
import { AutogradError, F, noGrad, randn, ShapeError, tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";

const X = [0.5, -1, 2];

Deno.test("autograd: a diamond sums the gradients of both paths", () => {
  const x = tensor(X, { requiresGrad: true });
  const a = x.mul(2), b = x.exp();
  a.mul(b).sum().backward();
  assertClose(x.grad!, X.map((v) => 2 * Math.exp(v) + 2 * v * Math.exp(v)));
});

Deno.test("autograd: a tensor used twice by one op gets both contributions", () => {
  const x = tensor(X, { requiresGrad: true });
  x.mul(x).sum().backward();
  assertClose(x.grad!, X.map((v) => 2 * v));
});

Deno.test("autograd: an intermediate feeding several consumers is back-propagated once", () => {
  const x = tensor(X, { requiresGrad: true });
  const h = x.tanh();
  h.add(h.mul(3)).add(h.sin()).sum().backward();
  assertClose(x.grad!, X.map((v) => (1 - Math.tanh(v) ** 2) * (4 + Math.cos(Math.tanh(v)))));
});

Deno.test("autograd: gradients accumulate across two backward calls", () => {
  const x = tensor(X, { requiresGrad: true });
  x.mul(3).sum().backward();
  x.mul(x).sum().backward();
  assertClose(x.grad!, X.map((v) => 3 + 2 * v));
});

Deno.test("autograd: a second backward needs retainGraph, else a clear error", () => {
  const x = tensor(X, { requiresGrad: true });
  const y = x.exp().mul(x).sum();
  y.backward(undefined, { retainGraph: true });
  y.backward();
  assertClose(x.grad!, X.map((v) => 2 * (Math.exp(v) + v * Math.exp(v))));
  assert.throws(
    () => y.backward(),
    (e: unknown) =>
      e instanceof AutogradError &&
      /backward through the graph a second time.*retainGraph: true/.test(e.message),
  );
});

Deno.test("autograd: saved tensors are released after backward unless retained", () => {
  const x = tensor(X, { requiresGrad: true });
  const a = x.exp();
  const b = a.mul(x);
  const y = b.sum();
  y.backward(undefined, { retainGraph: true });
  assert.ok(!a.gradFn!.released && !b.gradFn!.released);
  y.backward();
  assert.ok(a.gradFn!.released && b.gradFn!.released && y.gradFn!.released);
});

Deno.test("autograd: noGrad records nothing; detach cuts the graph but shares storage", () => {
  const x = tensor(X, { requiresGrad: true });
  const n = noGrad(() => x.mul(2).exp());
  assert.equal(n.requiresGrad, false);
  assert.equal(n.gradFn, null);
  const d = x.mul(2).detach();
  assert.equal(d.requiresGrad, false);
  assert.ok(d.isLeaf);
  const y = x.mul(d).sum();
  y.backward();
  assertClose(x.grad!, X.map((v) => 2 * v));
  assert.throws(() => n.sum().backward(), AutogradError);
});

Deno.test("autograd: in-place relu_ after a conv is allowed and matches relu", () => {
  const x = randn([1, 2, 5, 5]), w = randn([3, 2, 3, 3]);
  const grads = [true, false].map((inplace) => {
    const xi = x.detach().requiresGrad_(), wi = w.detach().requiresGrad_();
    const y = F.conv2d(xi, wi, null, { padding: 1 });
    const r = inplace ? y.relu_() : y.relu();
    if (inplace) assert.equal(r, y);
    r.square().sum().backward();
    return [xi.grad!, wi.grad!];
  });
  assertClose(grads[0][0], grads[1][0]);
  assertClose(grads[0][1], grads[1][1]);
});

Deno.test("autograd: modifying a tensor saved for backward in place is a clear error", () => {
  const x = tensor(X, { requiresGrad: true });
  const a = x.mul(2);
  const b = a.mul(a);
  a.add_(1);
  assert.throws(
    () => b.sum().backward(),
    (e: unknown) =>
      e instanceof AutogradError &&
      /mul: a \[3\] tensor it saved for backward was modified by an in-place operation/.test(
        e.message,
      ),
  );
  // sigmoid saves its output: writing into the output is caught too.
  const sg = x.sigmoid();
  sg.mul_(2);
  assert.throws(() => sg.sum().backward(), /sigmoid: a \[3\] tensor it saved for backward/);
});

Deno.test("autograd: an in-place op on a leaf that requires grad is refused", () => {
  const x = tensor(X, { requiresGrad: true });
  assert.throws(
    () => x.add_(1),
    (e: unknown) =>
      e instanceof AutogradError &&
      /in-place op on a leaf \[3\] tensor that requires grad/.test(e.message),
  );
  noGrad(() => x.add_(1)); // optimizer updates do this
  assertClose(x, X.map((v) => v + 1));
});

Deno.test("autograd: backward on a non-scalar needs a gradient of the same shape", () => {
  const x = tensor(X, { requiresGrad: true });
  assert.throws(
    () => x.mul(2).backward(),
    (e: unknown) =>
      e instanceof ShapeError && /only for scalar outputs, got shape \[3\]/.test(e.message),
  );
  assert.throws(() => x.mul(2).backward(tensor([1, 2])), /gradient shape \[2\] does not match/);
  x.mul(2).backward(tensor([1, 2, 3]));
  assertClose(x.grad!, [2, 4, 6]);
});

Deno.test("autograd: a 10,000-op chain back-propagates without recursion", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  let y = x;
  for (let i = 0; i < 10_000; i++) y = i % 2 ? y.add(0.5) : y.mul(1);
  y.sum().backward();
  assertClose(x.grad!, [1, 1]);
  assertClose(y, [2501, 2502]);
});
