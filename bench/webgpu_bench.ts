/**
 * Matmul throughput of the webgpu backend at 256³, 512³ and 1024³. Each measurement records many
 * matmuls into the batched command encoder and reads back once at the end, so it times the GPU
 * rather than the ~11 ms readback. `deno bench bench/webgpu_bench.ts` runs it as benchmarks;
 * `deno run bench/webgpu_bench.ts` prints GFLOP/s and the time of a LeNet-5 training step (batch
 * 64, SGD momentum, cross-entropy) with everything on webgpu, next to the same step on cpu.
 *
 * @module
 */

import { F, optim, randint, randn, scope, use } from "../mod.ts";
import { lenet5 } from "../plugins/models/mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpu } from "../plugins/webgpu/mod.ts";

const plugin = use(await webgpu()) as Awaited<ReturnType<typeof webgpu>>;
const SIZES = [256, 512, 1024];
// Work per timed run: software adapters (lavapipe) manage well under 1 GFLOP/s.
const OPS_PER_RUN = plugin.gpu?.device.adapterInfo.isFallbackAdapter ? 5e8 : 2e10;

function repeats(n: number): number {
  return Math.max(2, Math.round(OPS_PER_RUN / (2 * n ** 3)));
}

// Runs `reps` matmuls and reads one element of the last product back.
async function run(a: Tensor, b: Tensor, reps: number): Promise<void> {
  let last: Tensor | null = null;
  for (let r = 0; r < reps; r++) {
    last?.dispose();
    last = scope(() => a.matmul(b));
  }
  await last!.select(0, 0).select(0, 0).item();
  last!.dispose();
}

if (plugin.unavailableReason !== null) {
  console.log(`skipping webgpu benchmarks: ${plugin.unavailableReason}`);
} else if (import.meta.main) {
  const info = plugin.gpu!.device.adapterInfo;
  console.log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
  for (const n of SIZES) {
    const a = randn([n, n]).to("webgpu"), b = randn([n, n]).to("webgpu");
    await run(a, b, 1); // compile and warm up
    const reps = repeats(n);
    const t0 = performance.now();
    await run(a, b, reps);
    const ms = performance.now() - t0;
    const gflops = (2 * n ** 3 * reps) / (ms * 1e6);
    console.log(`matmul ${n}³: ${reps} reps in ${ms.toFixed(0)} ms → ${gflops.toFixed(2)} GFLOP/s`);
  }
  for (const device of ["cpu", "webgpu"]) {
    const model = lenet5().to(device);
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = randn([64, 1, 28, 28]).to(device), y = randint(0, 10, [64]).to(device);
    let last: Tensor | null = null;
    const step = () =>
      scope(() => {
        const loss = F.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      });
    last = step();
    await last.item();
    const steps = 5;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) last = step();
    await last!.item(); // one readback at the end: the steps are queued, not timed one by one
    console.log(
      `LeNet-5 train step, batch 64, ${device}: ${
        ((performance.now() - t0) / steps).toFixed(1)
      } ms`,
    );
  }
} else {
  for (const n of SIZES) {
    const a = randn([n, n]).to("webgpu"), b = randn([n, n]).to("webgpu");
    const reps = repeats(n);
    Deno.bench({
      name: `webgpu matmul ${n}³ × ${reps} (one readback)`,
      group: "webgpu matmul",
      n: 2,
      warmup: 1,
      fn: () => run(a, b, reps),
    });
  }
}
