/**
 * The cpu ops that run on all threads over shared host arrays (plugins/cpu/shared_kernels.ts):
 * batch norm (statistics, forward, backward in training and eval) gives the same bits on one and
 * two threads, the workers really run items, an array a user handed in (not shared) keeps the op
 * on the calling thread, small ops stay there too, and allocHost's large arrays are shared.
 */

import assert from "node:assert/strict";
import { manualSeed, nn, noGrad, randn, type Tensor, tensor } from "../../mod.ts";
import { getNumThreads, setNumThreads, workerItems } from "../../plugins/cpu/threads.ts";
import { onOneAndTwo, threaded } from "./_conv_check.ts";

const available = threaded && typeof SharedArrayBuffer === "function";
const SHAPE = [16, 32, 48, 48]; // 1,179,648 elements: above the threading threshold

/** Every output's elements, one after the other. */
function flat(ts: Tensor[]): Float32Array {
  const parts = ts.map((t) => t.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Runs `f` on one thread, then on two with the workers doing every item: same bits, and used. */
function compare(what: string, f: () => Tensor[]): void {
  onOneAndTwo(what, () => flat(f()), true);
}

/** Runs `f` with two threads allowed and asserts that the workers ran nothing. */
function callerOnly(what: string, f: () => Tensor[]): void {
  const before = getNumThreads();
  setNumThreads(2);
  try {
    const items = workerItems();
    flat(f());
    assert.equal(workerItems(), items, `${what}: expected the calling thread only`);
  } finally {
    setNumThreads(before);
  }
}

Deno.test({
  name: "shared kernels: batch norm in training and eval gives the same bits on 1 and 2 threads",
  ignore: !available,
  fn() {
    for (const training of [true, false]) {
      compare(`batchNorm2d training=${training}`, () => {
        manualSeed(3);
        const bn = new nn.BatchNorm2d(SHAPE[1]);
        // Non-trivial affine parameters and running statistics.
        noGrad(() => {
          bn.weight!.copy_(randn([SHAPE[1]]));
          bn.bias!.copy_(randn([SHAPE[1]]));
          bn.runningMean!.copy_(randn([SHAPE[1]]));
          bn.runningVar!.copy_(randn([SHAPE[1]]).abs().add(0.5));
        });
        if (!training) bn.eval();
        const x = randn(SHAPE, { requiresGrad: true });
        const y = bn.forward(x);
        y.mul(randn(SHAPE)).sum().backward();
        return [y, x.grad!, bn.weight!.grad!, bn.bias!.grad!, bn.runningMean!, bn.runningVar!];
      });
    }
  },
});

Deno.test({
  name:
    "shared kernels: a user's array and small ops stay on the calling thread; big arrays are shared",
  ignore: !available,
  fn() {
    const data = new Float32Array(1_179_648).map((_, i) => Math.sin(i));
    // tensor() copies the user's array into an ordinary one of its own.
    assert.ok(!((tensor(data).storage.handle as Float32Array).buffer instanceof SharedArrayBuffer));
    const bn = new nn.BatchNorm2d(SHAPE[1]);
    callerOnly("batch norm over a user's array", () => [bn.forward(tensor(data).reshape(SHAPE))]);
    callerOnly("batch norm below the threshold", () => [bn.forward(randn([16, 32, 8, 8]))]);
    assert.ok((randn(SHAPE).storage.handle as Float32Array).buffer instanceof SharedArrayBuffer);
    assert.ok(
      !((randn([4, 4]).storage.handle as Float32Array).buffer instanceof SharedArrayBuffer),
    );
  },
});
