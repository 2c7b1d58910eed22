/**
 * LeNet-5's convolutions with 2 × 2 max pooling, batch 64: the cpu kernels run separately (conv,
 * then pooling) against the fused conv-and-pool kernel, interleaved in one process; prints the
 * medians of 41 rounds after 10 warm-up rounds and checks the two agree bit for bit.
 *
 *     deno run -A bench/conv_pool_ab.ts
 *
 * @module
 */

import { wasmConvForward } from "../plugins/cpu/wasm_conv.ts";
import { wasmConvForwardMaxPool2x2 } from "../plugins/cpu/wasm_conv_direct.ts";
import { convKernels } from "../plugins/cpu/wasm_conv_kernels.ts";
import { maxPool2dForward } from "../plugins/cpu/pool.ts";
import { maxPool2x2Heap } from "../plugins/cpu/wasm_pool2x2.ts";
import { convParams, pool2x2Params } from "../tests/cpu/_helpers.ts";

if (!convKernels || !maxPool2x2Heap) {
  console.log("no WebAssembly SIMD: the fused kernel does not run here");
  Deno.exit(0);
}
const k = convKernels, pool2x2 = maxPool2x2Heap;
const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1].toFixed(3);
const shapes = [
  ["conv1", convParams({ n: 64, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, padH: 2, padW: 2 })],
  ["conv2", convParams({ n: 64, c: 6, h: 14, w: 14, o: 16, kh: 5, kw: 5 })],
] as const;
for (const [name, p] of shapes) {
  const x = rnd(p.n * p.c * p.h * p.w), w = rnd(p.o * p.c * p.kh * p.kw), b = rnd(p.o);
  const pp = pool2x2Params(p.n, p.o, p.oh, p.ow);
  const separate = () => maxPool2dForward(wasmConvForward(k, x, w, b, p), pp);
  const fused = () => wasmConvForwardMaxPool2x2(k, x, w, b, p, pool2x2)!;
  const a = separate(), f = fused();
  const same = a.y.every((v, i) => Object.is(v, f.y[i])) &&
    a.indices.every((v, i) => v === f.indices[i]);
  const ts: number[] = [], tf: number[] = [];
  for (let i = 0; i < 10; i++) separate(), fused();
  for (let i = 0; i < 41; i++) {
    let t = performance.now();
    separate();
    ts.push(performance.now() - t);
    t = performance.now();
    fused();
    tf.push(performance.now() - t);
  }
  console.log(`${name}: separate ${median(ts)} ms, fused ${median(tf)} ms; same bits: ${same}`);
}
Deno.exit(0);
