// Deterministic pseudo-random data shared by the optimizer tests.

import { tensor } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";

/** `n` float32 values in [−scale, scale) from a linear congruential generator seeded by `seed`. */
export function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** Parameters of `shapes` on `device`, the i-th filled by `rand` with seed 7 + i. */
export function randParams(shapes: readonly number[][], device: string): Tensor[] {
  return shapes.map((s, i) =>
    tensor(rand(s.reduce((a, b) => a * b, 1), 7 + i), { shape: s }).to(device)
  );
}

/** Gives `cpu[i]` and its copy `gpu[i]` the same gradient of step `k` (seed 1000·k + i). */
export function setSameGrads(cpu: readonly Tensor[], gpu: readonly Tensor[], k: number): void {
  cpu.forEach((p, i) => {
    const g = tensor(rand(p.numel(), 1000 * k + i), { shape: [...p.shape] });
    p.grad = g;
    gpu[i].grad = g.to("webgpu");
  });
}
