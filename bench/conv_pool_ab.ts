/**
 * LeNet-5's convolutions with 2 × 2 max pooling, batch 64: the cpu kernels run separately (conv,
 * then pooling) against the fused conv-and-pool kernel, interleaved in one process; prints the
 * medians of 41 rounds after 10 warm-up rounds and checks the two agree bit for bit.
 *
 *     deno run -A bench/conv_pool_ab.ts
 *
 * @module
 */

import type { Conv2dParams } from "../plugins/cpu/conv.ts";
import { wasmConvForward, wasmConvForwardMaxPool2x2 } from "../plugins/cpu/wasm_conv.ts";
import { convKernels } from "../plugins/cpu/wasm_conv_kernels.ts";
import { maxPool2dForward, maxPool2x2Heap } from "../plugins/cpu/pool.ts";

if (!convKernels || !maxPool2x2Heap) {
  console.log("no WebAssembly SIMD: the fused kernel does not run here");
  Deno.exit(0);
}
const k = convKernels, pool2x2 = maxPool2x2Heap;
const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const conv = (n: number, c: number, h: number, o: number, kk: number, pad: number) => {
  const oh = h + 2 * pad - kk + 1;
  return {
    n,
    c,
    h,
    w: h,
    o,
    kh: kk,
    kw: kk,
    strideH: 1,
    strideW: 1,
    padH: pad,
    padW: pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    oh,
    ow: oh,
  } as Conv2dParams;
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1].toFixed(3);
for (
  const [name, p] of [["conv1", conv(64, 1, 28, 6, 5, 2)], [
    "conv2",
    conv(64, 6, 14, 16, 5, 0),
  ]] as const
) {
  const x = rnd(p.n * p.c * p.h * p.w), w = rnd(p.o * p.c * p.kh * p.kw), b = rnd(p.o);
  const pp = {
    n: p.n,
    c: p.o,
    h: p.oh,
    w: p.ow,
    kh: 2,
    kw: 2,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    oh: p.oh >> 1,
    ow: p.ow >> 1,
    ceilMode: false,
    countIncludePad: true,
  };
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
