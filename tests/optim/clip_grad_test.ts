/**
 * Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_
 * (tools/gen_training_utils_fixtures.py): three parameters (one without a gradient), the returned
 * total norm and the gradients afterwards, for norm types 2, 1, 3, 0.5 and Infinity, with and
 * without clipping, and with NaN or infinite gradients (NaN must come out where PyTorch has NaN).
 * Also PyTorch's positional form, errorIfNonfinite, the `nn.utils` namespace and every argument
 * check. The same cases run on webgpu in clip_grad_webgpu_test.ts.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { nn, tensor, ValueError } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { clipGradNorm_, clipGradNormAsync_, clipGradValue_ } from "../../layers/clip_grad.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";
import { type ClipCase, clipFixture, decode, runClipCase } from "./_clip_cases.ts";

for (const c of clipFixture.cases) {
  Deno.test(`${c.fn} ${c.name} matches PyTorch (cpu)`, async () => {
    await runClipCase(c, "cpu");
  });
}

function withGrads(grads: (number[] | null)[]): Tensor[] {
  return clipFixture.shapes.map((s, i) => {
    const p = tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), {
      shape: s,
      requiresGrad: true,
    });
    const g = grads[i];
    if (g) p.grad = tensor(Float32Array.from(g), { shape: s });
    return p;
  });
}

const caseNamed = (name: string): ClipCase => clipFixture.cases.find((c) => c.name === name)!;

Deno.test("clipGradNorm_: PyTorch's positional form equals the options object", () => {
  const c = caseNamed("norm 3");
  const a = withGrads(c.grads.map(decode)), b = withGrads(c.grads.map(decode));
  const na = clipGradNorm_(a, 0.5, 3), nb = clipGradNorm_(b, 0.5, { normType: 3 });
  assert.equal(na.itemSync(), nb.itemSync());
  a.forEach((p, i) => assert.deepEqual(p.grad?.toArraySync(), b[i].grad?.toArraySync()));
  const d = withGrads(c.grads.map(decode));
  assert.equal(clipGradNorm_(d, 0.5, 3, false).itemSync(), na.itemSync());
});

Deno.test("clipGradNorm_ errorIfNonfinite: a ValueError, and the gradients stay as they were", async () => {
  for (const name of ["nan gradient", "inf gradient"]) {
    const c = caseNamed(name);
    for (const run of ["sync", "async"]) {
      const ps = withGrads(c.grads.map(decode));
      const before = ps.map((p) => p.grad?.toArraySync());
      const value = name === "nan gradient" ? "NaN" : "Infinity";
      const text =
        `the total norm of order 2 of the gradients is ${value}, so it cannot be clipped`;
      if (run === "sync") {
        assertThrowsNamed(
          () => clipGradNorm_(ps, 1, { errorIfNonfinite: true }),
          ValueError,
          `clipGradNorm_: ${text}`,
        );
      } else {
        await assert.rejects(
          clipGradNormAsync_(ps, 1, { errorIfNonfinite: true }),
          (e: Error) =>
            e instanceof ValueError && e.message.startsWith(`clipGradNormAsync_: ${text}`),
        );
      }
      assert.deepEqual(ps.map((p) => p.grad?.toArraySync()), before);
    }
  }
  // A finite norm passes the check and clips as usual.
  const c = caseNamed("norm 2 clips");
  const ps = withGrads(c.grads.map(decode));
  const n = await clipGradNormAsync_(ps, 1, { errorIfNonfinite: true });
  assert.ok(Math.abs(n.itemSync() - (c.norm as number)) < 1e-5);
});

Deno.test("clipGradNorm_ without gradients returns 0 and clips nothing", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const n = clipGradNorm_([w], 1);
  assert.equal(n.itemSync(), 0);
  assert.deepEqual(n.shape, []);
  assert.equal(w.grad, null);
  assert.equal(clipGradNorm_([], 1).itemSync(), 0);
  clipGradValue_([w], 1);
  assert.equal(w.grad, null);
});

Deno.test("clipping takes one tensor, arrays, generators and model.parameters()", () => {
  const model = new nn.Linear(3, 2);
  model.forward(tensor([[1, 2, 3]])).sum().backward();
  // The gradients: weight [[1, 2, 3], [1, 2, 3]], bias [1, 1]; norm √(2·14 + 2) = √30.
  function* gen() {
    yield* model.parameters();
  }
  const n = clipGradNorm_(gen(), Infinity);
  assert.ok(Math.abs(n.itemSync() - Math.sqrt(30)) < 1e-5);
  assert.deepEqual(model.bias!.grad!.toArraySync(), [1, 1], "maxNorm Infinity only measures");
  assert.ok(Math.abs(clipGradNorm_(model.weight, 1).itemSync() - Math.sqrt(28)) < 1e-5);
  clipGradValue_(model.parameters(), 0.5);
  assert.deepEqual(model.bias!.grad!.toArraySync(), [0.5, 0.5]);
  assert.ok(model.weight.grad!.dataSync().every((v) => Math.abs(v) <= 0.5));
});

Deno.test("the norm is computed without recording a graph, and grads keep their identity", () => {
  const w = tensor([3, 4], { requiresGrad: true });
  w.mul(w).sum().backward();
  const g = w.grad!;
  const n = clipGradNorm_([w], 1);
  assert.equal(n.requiresGrad, false);
  assert.equal(n.gradFn, null);
  assert.equal(w.grad, g, "scaled in place");
});

Deno.test("nn.utils holds the clipping functions, as torch.nn.utils", () => {
  assert.equal(nn.utils.clipGradNorm_, clipGradNorm_);
  assert.equal(nn.utils.clipGradValue_, clipGradValue_);
  assert.equal(nn.utils.clipGradNormAsync_, clipGradNormAsync_);
});

const rejects = (f: () => unknown, text: string): void => assertThrowsNamed(f, ValueError, text);
const bad = (v: unknown): never => v as never;

Deno.test("clipping arguments are checked", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  w.sum().backward();
  const model = new nn.Linear(2, 2);
  rejects(
    () => clipGradNorm_(bad(model), 1),
    "clipGradNorm_: parameters must be a Tensor or an iterable of Tensors, got a Linear (a Module); pass model.parameters()",
  );
  rejects(
    () => clipGradNorm_(bad(model.namedParameters()), 1),
    "clipGradNorm_: parameters must be Tensors, but parameter 0 is",
  );
  rejects(
    () => clipGradNorm_(bad(model.namedParameters()), 1),
    "(a [name, Tensor] pair: pass model.parameters())",
  );
  rejects(
    () => clipGradNorm_(bad(null), 1),
    "clipGradNorm_: parameters must be a Tensor or an iterable of Tensors, got null",
  );
  rejects(
    () => clipGradNorm_(bad([w, 3]), 1),
    "clipGradNorm_: parameters must be Tensors, but parameter 1 is 3",
  );
  rejects(
    () => clipGradNorm_([w], -1),
    "clipGradNorm_: maxNorm must be a number >= 0 (Infinity only measures the norm), got -1",
  );
  rejects(() => clipGradNorm_([w], NaN), "clipGradNorm_: maxNorm must be a number >= 0");
  rejects(
    () => clipGradNorm_([w], bad("1")),
    'clipGradNorm_: maxNorm must be a number >= 0 (Infinity only measures the norm), got "1"',
  );
  rejects(() => clipGradNorm_([w], bad(undefined)), "clipGradNorm_: maxNorm must be a number >= 0");
  rejects(
    () => clipGradNorm_([w], 1, 0),
    "clipGradNorm_: normType must be a number > 0, or Infinity for the largest absolute value, got 0",
  );
  rejects(() => clipGradNorm_([w], 1, -Infinity), "clipGradNorm_: normType must be a number > 0");
  rejects(
    () => clipGradNorm_([w], 1, { normType: NaN }),
    "clipGradNorm_: normType must be a number > 0",
  );
  rejects(
    () => clipGradNorm_([w], 1, bad({ normType: "inf" })),
    'clipGradNorm_: normType must be a number > 0, or Infinity for the largest absolute value, got "inf"',
  );
  rejects(
    () => clipGradNorm_([w], 1, bad({ norm_type: 2 })),
    'clipGradNorm_: unknown option "norm_type" (expected normType, errorIfNonfinite)',
  );
  rejects(
    () => clipGradNorm_([w], 1, bad("2")),
    'clipGradNorm_: options must be an object like { normType: 2 } or a norm type, got "2"',
  );
  rejects(
    () => clipGradNorm_([w], 1, { errorIfNonfinite: bad(1) }),
    "clipGradNorm_: errorIfNonfinite must be a boolean, got 1",
  );
  rejects(
    () => clipGradNorm_([w], 1, 2, bad("yes")),
    'clipGradNorm_: errorIfNonfinite must be a boolean, got "yes"',
  );
  rejects(
    () => clipGradNorm_([w], 1, bad({}), bad(true)),
    "clipGradNorm_: got true after the options object; pass errorIfNonfinite in it",
  );
  rejects(
    () => (clipGradNorm_ as (...a: unknown[]) => unknown)([w], 1, 2, false, 5),
    "clipGradNorm_: takes at most 4 arguments, got 5",
  );
  rejects(
    () => clipGradValue_([w], -0.5),
    "clipGradValue_: clipValue must be a number >= 0, got -0.5",
  );
  rejects(
    () => clipGradValue_([w], NaN),
    "clipGradValue_: clipValue must be a number >= 0, got NaN",
  );
  rejects(
    () => clipGradValue_([w], bad(null)),
    "clipGradValue_: clipValue must be a number >= 0, got null",
  );
  rejects(
    () => clipGradValue_(bad(model), 1),
    "clipGradValue_: parameters must be a Tensor or an iterable of Tensors, got a Linear (a Module)",
  );
  rejects(
    () => (clipGradValue_ as (...a: unknown[]) => unknown)([w], 1, 2),
    "clipGradValue_: takes at most 2 arguments, got 3",
  );
  assert.deepEqual(w.grad!.toArraySync(), [1, 1], "refused calls change nothing");
});
