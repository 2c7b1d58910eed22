/**
 * The cpu ops that run on all threads over shared host arrays (plugins/cpu/shared_kernels.ts):
 * batch norm (statistics, forward, backward in training and eval) gives the same bits on one and
 * two threads, the workers really run items, an array a user handed in (not shared) keeps the op
 * on the calling thread, small ops stay there too, and allocHost's large arrays are shared.
 */

import assert from "node:assert/strict";
import { manualSeed, nn, noGrad, randn, type Tensor, tensor } from "../../mod.ts";
import {
  getNumThreads,
  setCallerWorks,
  setNumThreads,
  threadsUnavailable,
  workerItems,
} from "../../plugins/cpu/threads.ts";

const available = threadsUnavailable() === null && typeof SharedArrayBuffer === "function";
const SHAPE = [16, 32, 48, 48]; // 1,179,648 elements: above the threading threshold

function sameBits(what: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}[${i}]: ${a[i]} (1 thread) vs ${b[i]} (2 threads)`);
  }
}

/** Runs `f` on one thread, then on two with the workers doing every item; same bits, and used. */
function compare(what: string, f: () => Tensor[], expectWorkers = true): void {
  const before = getNumThreads();
  const prev = setCallerWorks(false);
  try {
    setNumThreads(1);
    const items0 = workerItems();
    const one = f().map((t) => t.dataSync() as Float32Array);
    assert.equal(workerItems(), items0, `${what}: one thread must not use the workers`);
    setNumThreads(2);
    const two = f().map((t) => t.dataSync() as Float32Array);
    if (expectWorkers) assert.ok(workerItems() > items0, `${what}: the workers ran no item`);
    else assert.equal(workerItems(), items0, `${what}: expected the calling thread only`);
    one.forEach((a, i) => sameBits(`${what} output ${i}`, a, two[i]));
  } finally {
    setCallerWorks(prev);
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
    compare(
      "batch norm over a user's array",
      () => [bn.forward(tensor(data).reshape(SHAPE))],
      false,
    );
    compare("batch norm below the threshold", () => {
      manualSeed(5);
      return [bn.forward(randn([16, 32, 8, 8]))];
    }, false);
    assert.ok((randn(SHAPE).storage.handle as Float32Array).buffer instanceof SharedArrayBuffer);
    assert.ok(
      !((randn([4, 4]).storage.handle as Float32Array).buffer instanceof SharedArrayBuffer),
    );
  },
});
