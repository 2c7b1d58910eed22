/**
 * Fused attention against the composite it replaces, on cpu: `F.scaledDotProductAttention` (the
 * fused `scaledDotProductAttention` op, flash-attention style tiles over sgemm) and the same
 * attention as core ops (q·scale, matmul with kᵀ, softmax, matmul with v: the path dropout and
 * backends without the kernel take), for batch 4 × heads 4, L = S = 256, E = 64, forward alone and
 * forward + backward, without a mask and causal.
 *
 *     deno bench bench/attention_bench.ts
 *
 * @module
 */

import "../plugins/cpu/mod.ts";
import { apply1, fromData, getOp, noGrad, scalar, type Tensor, where } from "../core/mod.ts";
import { scaledDotProductAttention } from "../layers/attention.ts";
import { causalMask } from "../layers/ops/attention.ts";

const B = 4, H = 4, L = 256, E = 64;

// Deterministic fill so runs are comparable.
function filled(shape: number[], seed: number, requiresGrad = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return fromData(a, shape, { requiresGrad });
}

const shape = [B, H, L, E];
const [q, k, v] = [1, 2, 3].map((s) => filled(shape, s));
const [qg, kg, vg] = [1, 2, 3].map((s) => filled(shape, s, true));
const keep = causalMask(L, L, "cpu", true);

// The composite of core ops, as layers/attention.ts runs it without the fused kernel.
function composite(q: Tensor, k: Tensor, v: Tensor, causal: boolean): Tensor {
  let s = apply1(getOp("matmul")!, [q.mul(1 / Math.sqrt(E)), k], { transA: false, transB: true });
  if (causal) s = where(keep, s, scalar(-Infinity, "float32", "cpu"));
  return s.softmax(-1).matmul(v);
}

const fused = (q: Tensor, k: Tensor, v: Tensor, causal: boolean): Tensor =>
  scaledDotProductAttention(q, k, v, { isCausal: causal });

for (const causal of [false, true]) {
  const tag = causal ? "causal" : "no mask";
  Deno.bench(`forward, ${tag}: fused`, { group: `forward ${tag}`, baseline: true }, () => {
    noGrad(() => fused(q, k, v, causal)).dataSync();
  });
  Deno.bench(`forward, ${tag}: composite`, { group: `forward ${tag}` }, () => {
    noGrad(() => composite(q, k, v, causal)).dataSync();
  });
  for (const [name, f] of [["fused", fused], ["composite", composite]] as const) {
    Deno.bench(`forward + backward, ${tag}: ${name}`, {
      group: `backward ${tag}`,
      baseline: name === "fused",
    }, () => {
      for (const t of [qg, kg, vg]) t.grad = null;
      f(qg, kg, vg, causal).sum().backward();
      qg.grad!.dataSync();
    });
  }
}
