/**
 * A view taken before an in-place op on its base, while gradients are recorded: its values follow
 * the base but its history would not, so denn refuses to differentiate through it (PyTorch
 * regenerates the view's history instead) rather than give a wrong gradient. Taken again after the
 * in-place op, or cloned before it, the view works; outside gradient recording nothing changes.
 */

import assert from "node:assert/strict";
import { AutogradError, noGrad, randn, tensor } from "../../mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

const STALE = "view of a [3] tensor is used after an in-place op changed that tensor";

Deno.test("a view made before an in-place op on its base is refused in backward and in ops", () => {
  const x = tensor([1, -2, 3], { requiresGrad: true });
  const y = x.mul(1);
  const a = y.select(0, 1);
  const b = y.narrow(0, 0, 2);
  y.relu_();
  // The values are the base's new ones, as in PyTorch.
  assert.equal(a.itemSync(), 0);
  assertThrowsNamed(() => a.backward(), AutogradError, `backward: a [] ${STALE}`);
  assertThrowsNamed(() => b.sum(), AutogradError, `sum: a [2] ${STALE}`);
  assertThrowsNamed(() => a.mul(x.sum()), AutogradError, "take the view again");
  // Taken again after the in-place op: the gradient goes through relu (0 at -2).
  y.select(0, 1).backward(undefined, { retainGraph: true });
  assert.deepEqual(x.grad!.toArraySync(), [0, 0, 0]);
  y.narrow(0, 0, 2).sum().backward();
  assert.deepEqual(x.grad!.toArraySync(), [1, 0, 0]);
});

Deno.test("a view of a constant base that an in-place op made depend on a parameter is refused", () => {
  const z = tensor([0, 0, 0]);
  const v = z.select(0, 0);
  const w = randn([3], { requiresGrad: true });
  z.add_(w); // z now depends on w; v's history (none) would treat it as a constant
  assertThrowsNamed(() => v.mul(w.sum()), AutogradError, `mul: a [] ${STALE}`);
});

Deno.test("clones, views taken under noGrad use, and in-place ops under noGrad are unaffected", () => {
  const x = tensor([1, -2, 3], { requiresGrad: true });
  const y = x.mul(2);
  const kept = y.select(0, 0).clone();
  const view = y.select(0, 2);
  noGrad(() => y.mul_(10)); // not recorded: the base's history is unchanged
  kept.mul(view).backward();
  // d(kept·view)/dx through the recorded history: kept = 2x0, view = 2x2 (values 2 and 60).
  assert.deepEqual(x.grad!.toArraySync(), [2 * 60, 0, 2 * 2]);
  // Views and in-place ops without any gradient recording are plain memory aliases.
  const p = tensor([1, 2, 3]);
  const q = p.select(0, 1);
  p.add_(1);
  assert.equal(q.mul(2).itemSync(), 6);
});
