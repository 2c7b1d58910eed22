/**
 * Per-op overhead of denn next to PyTorch CPU eager in the same run: microseconds per tiny add and
 * per tiny mul → sum → backward.
 *
 *     deno run --allow-run bench/overhead_compare.ts
 *
 * @module
 */

import { tensor } from "../mod.ts";

function timeIt(fn: () => void, iters: number): number {
  for (let i = 0; i < iters / 10; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) fn();
  return ((performance.now() - t0) * 1000) / iters;
}

const a = tensor([1, 2, 3, 4]);
const b = tensor([5, 6, 7, 8]);
const w = tensor([1, 2, 3, 4], { requiresGrad: true });
const denn = {
  add: timeIt(() => a.add(b), 200_000),
  backward: timeIt(() => {
    w.grad = null;
    w.mul(b).sum().backward();
  }, 50_000),
};

const py = `
import time, torch
torch.set_num_threads(1)
a = torch.tensor([1., 2, 3, 4]); b = torch.tensor([5., 6, 7, 8]); w = torch.tensor([1., 2, 3, 4], requires_grad=True)
def t(f, n):
    for _ in range(n // 10): f()
    s = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - s) * 1e6 / n
def bw():
    w.grad = None
    (w * b).sum().backward()
print(t(lambda: a + b, 200000), t(bw, 50000))
`;
let torch: number[] | null = null;
try {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", py],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) torch = new TextDecoder().decode(out.stdout).trim().split(/\s+/).map(Number);
} catch {
  torch = null;
}

console.log("| op | denn (µs) | PyTorch CPU (µs) | ratio |");
console.log("| --- | --- | --- | --- |");
const row = (name: string, d: number, t: number | undefined) =>
  console.log(
    `| ${name} | ${d.toFixed(2)} | ${t?.toFixed(2) ?? "n/a"} | ${t ? (d / t).toFixed(2) : "n/a"} |`,
  );
row("add, 4 elements", denn.add, torch?.[0]);
row("mul → sum → backward", denn.backward, torch?.[1]);
