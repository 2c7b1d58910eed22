// Shared by the cpu and webgpu gradient-accumulation tests: a fixed big batch of digits, split
// into micro-batches, and the gradients of examples/grad_accumulation.ts's accumulation against
// those of one backward over the big batch.

import assert from "node:assert/strict";
import { F, manualSeed } from "../../mod.ts";
import type { nn } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { DataLoader, loadDigits, normalize } from "../../plugins/data/mod.ts";
import type { Batch } from "../../plugins/data/mod.ts";
import { accumulateGradients, mlp } from "../../examples/grad_accumulation.ts";

/** The first shuffled batch of `n` normalized digits, on `device`. */
export async function bigBatch(n: number, device: string): Promise<Batch> {
  const loader = new DataLoader(await loadDigits(), {
    batchSize: n,
    shuffle: true,
    seed: 3,
    transforms: [normalize(0.1307, 0.3081)],
    device,
  });
  return loader[Symbol.iterator]().next().value!;
}

/** `batch` cut into consecutive micro-batches of the given sizes. */
export function split(batch: Batch, sizes: readonly number[]): Batch[] {
  let at = 0;
  return sizes.map((s) => {
    const b = { x: batch.x.narrow(0, at, s), y: batch.y.narrow(0, at, s) };
    at += s;
    return b;
  });
}

/** A fresh model with seeded weights, on `device`. */
export function seededModel(device: string, seed = 11): nn.Sequential {
  manualSeed(seed);
  return mlp(32).to(device);
}

async function grads(model: nn.Sequential): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const p of model.parameters()) out.push(await p.grad!.data() as Float32Array);
  return out;
}

/** Asserts two gradient lists agree within `tol`·(1 + max |g|) per tensor. */
export function assertSameGrads(
  a: Float32Array[],
  b: Float32Array[],
  what: string,
  tol = 2e-6,
): void {
  assert.equal(a.length, b.length);
  a.forEach((g, t) => {
    const scale = 1 + b[t].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i] - b[t][i]));
    assert.ok(worst <= tol * scale, `${what}: tensor ${t} differs by ${worst} (scale ${scale})`);
  });
}

/**
 * The accumulated gradient over micro-batches of `sizes` equals the gradient of one backward over
 * their concatenation, and the returned loss is the big batch's mean loss.
 */
export async function checkAccumulation(device: string, sizes: readonly number[]): Promise<void> {
  const n = sizes.reduce((a, b) => a + b, 0);
  const batch = await bigBatch(n, device);
  const big = seededModel(device);
  const bigLoss = F.crossEntropy(big.forward(batch.x), batch.y);
  bigLoss.backward();
  const acc = seededModel(device);
  const loss: Tensor = accumulateGradients(acc, split(batch, sizes));
  assert.equal(loss.device, device);
  const [l1, l2] = [await loss.item(), await bigLoss.item()];
  assert.ok(Math.abs(l1 - l2) <= 1e-6 * (1 + Math.abs(l2)), `loss ${l1} vs ${l2}`);
  const ga = await grads(acc), gb = await grads(big);
  assertSameGrads(ga, gb, `micro-batches ${sizes.join("+")}`);
  // Not trivially equal: one micro-batch alone has a different gradient.
  const one = seededModel(device);
  F.crossEntropy(one.forward(split(batch, sizes)[0].x), split(batch, sizes)[0].y).backward();
  const g1 = await grads(one);
  const diff = g1[0].reduce((m, v, i) => Math.max(m, Math.abs(v - gb[0][i])), 0);
  assert.ok(diff > 1e-3, `one micro-batch's gradient differs from the big batch's (${diff})`);
}
