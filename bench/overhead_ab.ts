/**
 * Per-call overhead of this tree against another checkout of denn, in one process: the two module
 * graphs are loaded side by side and each round times both, alternating which goes first, so slow
 * drifts of a shared machine hit both. Prints per workload the medians (min–max) of 41 rounds and
 * the median of the per-round ratios (this tree / the other).
 *
 *     git worktree add /tmp/denn-base <commit>
 *     deno run --allow-read --allow-env --allow-ffi bench/overhead_ab.ts /tmp/denn-base
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
type Denn = any;

const dir = Deno.args[0];
if (!dir) {
  console.error(
    "usage: deno run --allow-read bench/overhead_ab.ts <path of another denn checkout>",
  );
  Deno.exit(2);
}
const other: Denn = await import(new URL(`file://${await Deno.realPath(dir)}/mod.ts`).href);
const self: Denn = await import("../mod.ts");

const ROUNDS = 41, ITERS = 3000;

function time(m: Denn, kind: string): number {
  const a = m.tensor([1, 2, 3, 4]), b = m.tensor([5, 6, 7, 8]);
  const x = m.randn([1, 1, 4, 4]), w = m.randn([1, 1, 3, 3]);
  const g = m.tensor([1, 2, 3, 4], { requiresGrad: true });
  const f = kind === "add, 4 elements" ? () => a.add(b) : kind === "mul → sum → backward"
    ? () => {
      g.grad = null;
      a.mul(g).sum().backward();
    }
    : kind === "F.conv2d, 1×1×4×4 ⊛ 3×3"
    ? () => m.F.conv2d(x, w)
    : () => m.F.maxPool2d(x, 2);
  for (let i = 0; i < ITERS; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) f();
  return ((performance.now() - t0) * 1000) / ITERS;
}

const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1];
const range = (v: number[]) => `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}`;

console.log(`| call | other µs, median (min–max) | this tree µs | this / other (paired) |`);
console.log(`| --- | --- | --- | --- |`);
for (
  const kind of [
    "add, 4 elements",
    "mul → sum → backward",
    "F.conv2d, 1×1×4×4 ⊛ 3×3",
    "F.maxPool2d, 1×1×4×4",
  ]
) {
  const o: number[] = [], s: number[] = [], r: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const first = i % 2 === 0;
    const t1 = first ? time(other, kind) : time(self, kind);
    const t2 = first ? time(self, kind) : time(other, kind);
    const [to, ts] = first ? [t1, t2] : [t2, t1];
    o.push(to);
    s.push(ts);
    r.push(ts / to);
  }
  console.log(
    `| ${kind} | ${median(o).toFixed(2)} (${range(o)}) | ${median(s).toFixed(2)} (${range(s)}) | ${
      median(r).toFixed(2)
    } |`,
  );
}
