/**
 * Where a training step's time goes, op by op: every kernel of the cpu and blas backends is wrapped
 * with a timer (in this process only), then `--steps` training steps run after a warm-up and the
 * kernels' total time per op is printed beside the step's wall time; the rest is dispatch,
 * autograd and allocation outside kernels.
 *
 * ```sh
 * deno run -A bench/profile_ops.ts [--model lenet|resnet18|mlp|googlenet|alexnet|vgg11bn] [--batch 64]
 *   [--size 64] [--steps 20] [--no-blas]
 * ```
 *
 * `--size` is the image side of googlenet, alexnet and vgg11bn (default 64, 64 and 32); 10 classes.
 *
 * ```sh
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { F, getBackend, hasBackend, optim, randint, randn, use } from "../mod.ts";
import type { Module, Tensor } from "../mod.ts";
import { blas } from "../plugins/blas/mod.ts";
import { alexnet, googlenet, lenet5, resnet, vgg } from "../plugins/models/mod.ts";
import { mlp784 } from "./_models.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "lenet" },
    batch: { type: "string", default: "64" },
    size: { type: "string" },
    steps: { type: "string", default: "20" },
    "no-blas": { type: "boolean", default: false },
  },
});
if (!values["no-blas"]) use(blas());
const batch = Number(values.batch), steps = Number(values.steps);

const times = new Map<string, { ms: number; calls: number }>();
for (const name of ["cpu", "blas"]) {
  if (!hasBackend(name)) continue;
  for (const [op, entry] of getBackend(name).table) {
    const run = entry.run;
    const key = `${op}@${name}`;
    (entry as { run: typeof run }).run = (inputs, attrs, specs, ctx) => {
      const t0 = performance.now();
      try {
        return run(inputs, attrs, specs, ctx);
      } finally {
        const s = times.get(key) ?? { ms: 0, calls: 0 };
        s.ms += performance.now() - t0;
        s.calls++;
        times.set(key, s);
      }
    };
  }
}

let model: Module, x: Tensor;
if (values.model === "resnet18") {
  model = resnet(18, { numClasses: 10 });
  x = randn([batch, 3, 32, 32]);
} else if (
  values.model === "googlenet" || values.model === "alexnet" || values.model === "vgg11bn"
) {
  const side = Number(values.size ?? (values.model === "vgg11bn" ? 32 : 64));
  model = values.model === "googlenet"
    ? googlenet({ numClasses: 10 })
    : values.model === "alexnet"
    ? alexnet({ numClasses: 10 })
    : vgg(11, { numClasses: 10, batchNorm: true });
  x = randn([batch, 3, side, side]);
} else if (values.model === "mlp") {
  model = mlp784(true);
  x = randn([batch, 1, 28, 28]);
} else {
  model = lenet5();
  x = randn([batch, 1, 28, 28]);
}
const y = randint(0, 10, [batch]);
const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const step = () => {
  const loss = F.crossEntropy(model.forward(x), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
};
for (let i = 0; i < 50; i++) step();
times.clear();
const walls: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step();
  walls.push(performance.now() - t0);
}
walls.sort((a, b) => a - b);
const total = walls.reduce((a, b) => a + b, 0);
const rows = [...times].sort((a, b) => b[1].ms - a[1].ms);
const kernels = rows.reduce((a, [, s]) => a + s.ms, 0);
console.log(
  `${values.model} batch ${batch}: step median ${walls[walls.length >> 1].toFixed(2)} ms ` +
    `[${walls[0].toFixed(2)}–${walls[walls.length - 1].toFixed(2)}] over ${steps} steps`,
);
console.log(`| op@backend | ms per step | share of step | calls per step |`);
console.log(`| --- | --- | --- | --- |`);
for (const [k, s] of rows.slice(0, 20)) {
  console.log(
    `| ${k} | ${(s.ms / steps).toFixed(3)} | ${(100 * s.ms / total).toFixed(1)}% | ${
      s.calls / steps
    } |`,
  );
}
console.log(
  `| (all kernels) | ${(kernels / steps).toFixed(3)} | ${(100 * kernels / total).toFixed(1)}% | |`,
);
console.log(
  `| (outside kernels: dispatch, autograd, allocation) | ${
    ((total - kernels) / steps).toFixed(3)
  } | ${(100 * (total - kernels) / total).toFixed(1)}% | |`,
);
