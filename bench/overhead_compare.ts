/**
 * Per-call overhead of denn next to PyTorch CPU eager in the same run, on inputs so small that the
 * arithmetic costs almost nothing: a 4-element add, mul → sum → backward, and the functional forms
 * `F.conv2d` / `F.maxPool2d` (options validated at the API boundary) next to the raw op with ready
 * attributes. Each figure is the median of 15 rounds (after a warm-up round) of many calls, with
 * the min–max range; both sides use all cores (PyTorch's default thread count).
 *
 *     deno run --allow-run bench/overhead_compare.ts
 *
 * @module
 */

import { apply, F, tensor } from "../mod.ts";
import { conv, convAttrs, pool, poolAttrs, w as k, x } from "./_tiny.ts";

const ROUNDS = 15;

interface Stat {
  median: number;
  min: number;
  max: number;
}

function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

// Microseconds per call: median over rounds of `iters` calls each.
function timeIt(fn: () => void, iters: number): Stat {
  for (let i = 0; i < iters; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) fn();
    rounds.push(((performance.now() - t0) * 1000) / iters);
  }
  return stat(rounds);
}

const a = tensor([1, 2, 3, 4]);
const b = tensor([5, 6, 7, 8]);
const w = tensor([1, 2, 3, 4], { requiresGrad: true });
const denn: Record<string, Stat> = {
  add: timeIt(() => a.add(b), 20_000),
  backward: timeIt(() => {
    w.grad = null;
    w.mul(b).sum().backward();
  }, 5_000),
  conv: timeIt(() => F.conv2d(x, k, null, { padding: 1 }), 10_000),
  convRaw: timeIt(() => apply(conv, [x, k], convAttrs), 10_000),
  pool: timeIt(() => F.maxPool2d(x, 2), 10_000),
  poolRaw: timeIt(() => apply(pool, [x], poolAttrs), 10_000),
};

const py = `
import time, json, torch
import torch.nn.functional as F
a = torch.tensor([1., 2, 3, 4]); b = torch.tensor([5., 6, 7, 8])
w = torch.tensor([1., 2, 3, 4], requires_grad=True)
x = torch.randn(1, 1, 4, 4); k = torch.randn(1, 1, 3, 3)
def t(f, n):
    for _ in range(n): f()
    rounds = []
    for _ in range(${ROUNDS}):
        s = time.perf_counter()
        for _ in range(n): f()
        rounds.append((time.perf_counter() - s) * 1e6 / n)
    rounds.sort()
    return {"median": rounds[len(rounds) // 2], "min": rounds[0], "max": rounds[-1]}
def bw():
    w.grad = None
    (w * b).sum().backward()
print(json.dumps({
  "add": t(lambda: a + b, 20000),
  "backward": t(bw, 5000),
  "conv": t(lambda: F.conv2d(x, k, None, padding=1), 10000),
  "pool": t(lambda: F.max_pool2d(x, 2), 10000),
}))
`;
let torch: Record<string, Stat> | null = null;
try {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", py],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) torch = JSON.parse(new TextDecoder().decode(out.stdout));
  else console.error(new TextDecoder().decode(out.stderr));
} catch {
  torch = null;
}

const fmt = (s: Stat | undefined) =>
  s ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : "n/a";
console.log("| call | denn µs, median (min–max) | PyTorch CPU µs | denn / PyTorch |");
console.log("| --- | --- | --- | --- |");
const row = (name: string, d: Stat, t: Stat | undefined) =>
  console.log(
    `| ${name} | ${fmt(d)} | ${fmt(t)} | ${t ? (d.median / t.median).toFixed(2) : "n/a"} |`,
  );
row("add, 4 elements", denn.add, torch?.add);
row("mul → sum → backward", denn.backward, torch?.backward);
row("F.conv2d, 1×1×4×4 ⊛ 3×3", denn.conv, torch?.conv);
row("conv2d raw op (apply)", denn.convRaw, undefined);
row("F.maxPool2d, 1×1×4×4", denn.pool, torch?.pool);
row("maxPool2d raw op (apply)", denn.poolRaw, undefined);
