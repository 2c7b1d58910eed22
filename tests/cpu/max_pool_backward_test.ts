/**
 * Max pooling's backward on cpu: from 16 Ki outputs with output planes at least half the input's
 * (stride 1) the wasm `maxPoolScatter` kernel (on one thread and on all) adds each output's gradient
 * onto its argmax, as the JS loop does for the others. Both must give, bit for bit, a float32
 * scatter in output order: overlapping windows (stride 1, where one input collects several
 * gradients), padding and ceil mode, dilation and 2 × 2 windows.
 */

import { F, fromData, Generator, getNumThreads, setNumThreads, type Tensor } from "../../mod.ts";
import { sameBits } from "./_conv_check.ts";

const gen = new Generator(3);

function rand(shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  // Few distinct values: ties, so the first-maximum rule matters too.
  for (let i = 0; i < n; i++) a[i] = Math.round(gen.normal() * 4) / 4;
  return fromData(a, shape);
}

// The reference: dx[plane, idx[o]] += gy[o] in output order, rounded to float32 at every add.
function scatter(gy: Float32Array, idx: Int32Array, planes: number, inPlane: number): Float32Array {
  const outPlane = gy.length / planes;
  const dx = new Float32Array(planes * inPlane);
  for (let p = 0; p < planes; p++) {
    for (let o = p * outPlane; o < (p + 1) * outPlane; o++) {
      if (idx[o] >= 0) dx[p * inPlane + idx[o]] = Math.fround(dx[p * inPlane + idx[o]] + gy[o]);
    }
  }
  return dx;
}

const CASES: [number[], number, F.MaxPool2dOptions][] = [
  [[16, 32, 8, 8], 3, { stride: 1, padding: 1, ceilMode: true }],
  [[16, 16, 32, 32], 3, { stride: 2, ceilMode: true }],
  [[8, 16, 17, 19], 3, { stride: 2, padding: 1 }],
  [[8, 16, 16, 16], 2, {}],
  [[8, 32, 12, 12], 3, { stride: 1, padding: 1, dilation: 2 }],
  [[2, 3, 5, 5], 3, { stride: 1, padding: 1 }], // small: the JS loop
];

for (const threads of [1, 0]) {
  for (const [shape, k, options] of CASES) {
    Deno.test(`max pooling backward ${JSON.stringify(shape)} k${k} ${JSON.stringify(options)} (${threads ? "one thread" : "all threads"})`, () => {
      const before = getNumThreads();
      if (threads) setNumThreads(threads);
      try {
        const x = rand(shape).requiresGrad_();
        const [y, idx] = F.maxPool2dWithIndices(x, k, options);
        const g = rand(y.shape);
        y.backward(g);
        const planes = shape[0] * shape[1], inPlane = shape[2] * shape[3];
        const want = scatter(
          g.dataSync() as Float32Array,
          idx.dataSync() as Int32Array,
          planes,
          inPlane,
        );
        sameBits("dx", x.grad!.dataSync() as Float32Array, want);
      } finally {
        setNumThreads(before);
      }
    });
  }
}
