/**
 * The blas backend's momentum SGD update (saxpy/scopy) against the cpu kernel: the same
 * parameters and momentum buffers within float32 rounding after several steps, and the update
 * taken only where it applies (a buffer already there, no dampening, Nesterov or maximize, large
 * parameters). Skipped, with the reason printed, where no CBLAS with saxpy loads.
 */

import assert from "node:assert/strict";
import { explain, manualSeed, optim, randn, route, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { blas, blasLibrary } from "../../plugins/blas/mod.ts";
import { sgdUpdate } from "../../optim/sgd.ts";
import { MIN_SGD_ELEMENTS } from "../../plugins/blas/kernels.ts";

use(blas());
const reason = explain().unavailable["blas"] ??
  (blasLibrary()?.saxpy ? undefined : "the library has no cblas_saxpy");
if (reason) console.log(`blas sgd tests skipped: ${reason}`);

type SgdOptions = ConstructorParameters<typeof optim.SGD>[1];

// Four steps of SGD over a large and a small parameter; the backend of each step's update (one
// sgdUpdateForeach op over both: on blas, the large parameter by saxpy, the small one by the cpu
// kernel's loop).
function train(opts: SgdOptions, onCpu: boolean): { values: Tensor[]; ran: string[] } {
  manualSeed(7);
  const p = randn([MIN_SGD_ELEMENTS + 5]).requiresGrad_();
  const q = randn([7]).requiresGrad_();
  const opt = new optim.SGD([p, q], opts);
  const ran: string[] = [];
  for (let s = 0; s < 4; s++) {
    p.grad = randn(p.shape);
    q.grad = randn(q.shape);
    const step = () => opt.step();
    const { trace } = explain(() => (onCpu ? route({ sgdUpdate: "cpu" }, step) : step()));
    for (const t of trace) if (t.op === "sgdUpdateForeach") ran.push(t.backend);
  }
  const bufP = opt.stateOf(p).momentumBuffer as Tensor;
  const bufQ = opt.stateOf(q).momentumBuffer as Tensor;
  return { values: [p.detach(), bufP, q.detach(), bufQ], ran };
}

function close(what: string, a: Tensor, b: Tensor): void {
  const x = a.dataSync(), y = b.dataSync();
  assert.equal(x.length, y.length, what);
  for (let i = 0; i < x.length; i++) {
    if (!(Math.abs(x[i] - y[i]) <= 1e-5 * (1 + Math.abs(y[i])))) {
      assert.fail(`${what}[${i}]: blas ${x[i]} vs cpu ${y[i]}`);
    }
  }
}

Deno.test({
  name: "momentum SGD on blas matches the cpu kernel, with and without weight decay",
  ignore: reason !== undefined,
  fn() {
    const big = MIN_SGD_ELEMENTS + 5;
    for (
      const opts of [{ lr: 0.1, momentum: 0.9 }, { lr: 0.05, momentum: 0.5, weightDecay: 0.01 }]
    ) {
      const a = train(opts, false), b = train(opts, true);
      ["p", "p's buffer", "q", "q's buffer"].forEach((w, i) => close(w, a.values[i], b.values[i]));
      // Step 1 creates the buffers on cpu; later steps run on blas (the large parameter there).
      assert.deepEqual(a.ran, ["cpu", "blas", "blas", "blas"]);
      assert.deepEqual(b.ran, ["cpu", "cpu", "cpu", "cpu"]);
      assert.ok(big > MIN_SGD_ELEMENTS);
    }
  },
});

Deno.test({
  name: "Nesterov, dampening and maximize updates stay on the cpu kernel",
  ignore: reason !== undefined,
  fn() {
    for (
      const opts of [
        { lr: 0.1, momentum: 0.9, nesterov: true },
        { lr: 0.1, momentum: 0.9, dampening: 0.1 },
        { lr: 0.1, momentum: 0.9, maximize: true },
      ]
    ) {
      const a = train(opts, false), b = train(opts, true);
      assert.deepEqual(a.ran, ["cpu", "cpu", "cpu", "cpu"]);
      ["p", "p's buffer", "q", "q's buffer"].forEach((w, i) => close(w, a.values[i], b.values[i]));
    }
  },
});

Deno.test({
  name:
    "sgdUpdate called directly leaves its inputs alone on blas; the optimizer's views see its update",
  ignore: reason !== undefined,
  fn() {
    const n = MIN_SGD_ELEMENTS + 3;
    const p = randn([n]), g = randn([n]), b = randn([n]);
    const before = [p.dataSync(), b.dataSync()];
    const { trace } = explain(() => sgdUpdate(p, g, b, { lr: 0.1, momentum: 0.9, first: false }));
    assert.equal(trace.find((t) => t.op === "sgdUpdate")!.backend, "blas");
    assert.deepEqual(p.dataSync(), before[0]);
    assert.deepEqual(b.dataSync(), before[1]);
    // Through the optimizer the update is written in place: a view of the parameter follows it.
    const w = randn([n]).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
    const head = w.detach().narrow(0, 0, 4);
    for (let s = 0; s < 3; s++) {
      w.grad = randn([n]);
      opt.step();
      assert.deepEqual(head.dataSync(), w.detach().narrow(0, 0, 4).dataSync());
    }
  },
});
