/**
 * Training-step time of this tree against another checkout of denn, in one process: both module
 * graphs are loaded side by side (each with `use(blas())` unless `--no-blas`), and each round runs
 * (after 30 warm-up steps each) one untimed and one timed step of the same model on each,
 * alternating which goes first, so slow drifts of a shared machine hit both. Prints, per model, the
 * medians (min–max) of the rounds and the median of the per-round ratios (this tree / the other).
 * googlenet is GoogLeNet at 64 × 64, batch 16; resnet50 ResNet-50 at 32 × 32, batch 16.
 * Against a tree before 15dd71b with blas, set `DENN_BLAS_THREADS` (e.g. to the core count): its
 * blas wrapper kept its own idea of OpenBLAS's thread count, which the other tree's changes made
 * wrong, and identical trees measured 1.3–1.5× apart.
 *
 *     git worktree add /tmp/denn-base <commit>
 *     deno run -A bench/step_ab.ts /tmp/denn-base [--rounds 21]
 *       [--only lenet,resnet18,mlp,googlenet,resnet50,batchnorm,batchnorm:32x128x4x4,bnrelu,
 *        bnrelu:16x192x16x16]
 *       [--no-blas]
 *
 * @module
 */

import { parseArgs } from "node:util";

// deno-lint-ignore no-explicit-any
type Denn = any;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "21" },
    only: { type: "string", default: "lenet,resnet18" },
    "no-blas": { type: "boolean", default: false },
  },
});
const dir = positionals[0];
if (!dir) {
  console.error("usage: deno run -A bench/step_ab.ts <path of another denn checkout> [options]");
  Deno.exit(2);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 15) throw new RangeError("--rounds must be at least 15");

async function load(root: string): Promise<{ m: Denn; models: Denn }> {
  const m = await import(`${root}/mod.ts`);
  const models = await import(`${root}/plugins/models/mod.ts`);
  if (!values["no-blas"]) m.use((await import(`${root}/plugins/blas/mod.ts`)).blas());
  return { m, models };
}

const other = await load(new URL(`file://${await Deno.realPath(dir)}`).href);
const self = await load(new URL("..", import.meta.url).href.replace(/\/$/, ""));

function trainer(d: { m: Denn; models: Denn }, model: string): () => void {
  const { m, models } = d;
  if (model.startsWith("batchnorm")) return batchNormStep(m, model);
  if (model.startsWith("bnrelu")) return bnReluStep(m, model);
  if (model === "mlp") return mlpStep(m);
  if (model === "googlenet") {
    return sgdStep(m, models.googlenet({ numClasses: 10 }), m.randn([16, 3, 64, 64]));
  }
  if (model === "resnet50") {
    return sgdStep(m, models.resnet(50, { numClasses: 10 }), m.randn([16, 3, 32, 32]));
  }
  const net = model === "resnet18" ? models.resnet(18, { numClasses: 10 }) : models.lenet5();
  const x = model === "resnet18" ? m.randn([32, 3, 32, 32]) : m.randn([64, 1, 28, 28]);
  return sgdStep(m, net, x);
}

// One SGD training step (lr 0.01, momentum 0.9) of `net` on x with random labels.
function sgdStep(m: Denn, net: Denn, x: Denn): () => void {
  const y = m.randint(0, 10, [x.shape[0]]);
  const opt = new m.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  return () => {
    const loss = m.F.crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
}

// Batch norm alone (training, affine): forward and backward over ResNet-18's first activation at
// batch 32, [32, 64, 16, 16], or the shape given as "batchnorm:32x128x4x4".
function batchNormStep(m: Denn, model: string): () => void {
  const shape = model.includes(":") ? model.split(":")[1].split("x").map(Number) : [32, 64, 16, 16];
  const c = shape[1];
  const x = m.randn(shape).requiresGrad_(), g = m.randn(shape);
  const w = m.ones([c]).requiresGrad_(), b = m.zeros([c]).requiresGrad_();
  const rm = m.zeros([c]), rv = m.ones([c]);
  return () => {
    m.F.batchNorm(x, rm, rv, { weight: w, bias: b, training: true }).backward(g);
    for (const t of [x, w, b]) t.grad = null;
  };
}

// Sequential(BatchNorm2d, ReLU) in training, forward and backward, on [32, 64, 16, 16] or the
// shape given as "bnrelu:16x192x16x16" (one batchNormRelu op where the tree has it).
function bnReluStep(m: Denn, model: string): () => void {
  const shape = model.includes(":") ? model.split(":")[1].split("x").map(Number) : [32, 64, 16, 16];
  const net = new m.nn.Sequential(new m.nn.BatchNorm2d(shape[1]), new m.nn.ReLU({ inplace: true }));
  const x = m.randn(shape).requiresGrad_(), g = m.randn(shape);
  return () => {
    net.forward(x).backward(g);
    x.grad = null;
    for (const p of net.parameters()) p.grad = null;
  };
}

// The MLP 784-512-512-10 of bench/_models.ts (built from that tree's nn), batch 128.
function mlpStep(m: Denn): () => void {
  const { Linear, ReLU, Sequential } = m.nn;
  const net = new Sequential(
    new Linear(784, 512),
    new ReLU(),
    new Linear(512, 512),
    new ReLU(),
    new Linear(512, 10),
  );
  return sgdStep(m, net, m.randn([128, 784]));
}

const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1];
const range = (v: number[]) => `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}`;

console.log(`${rounds} rounds; blas: ${values["no-blas"] ? "off" : "on"}; other: ${dir}`);
console.log(`| model | other ms, median (min–max) | this tree ms | this / other (paired) |`);
console.log(`| --- | --- | --- | --- |`);
for (const model of values.only.split(",")) {
  const steps = [trainer(other, model), trainer(self, model)];
  for (let i = 0; i < 30; i++) steps.forEach((s) => s());
  const t: number[][] = [[], []], r: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? [1, 0] : [0, 1];
    for (const j of order) {
      steps[j]();
      const t0 = performance.now();
      steps[j]();
      t[j].push(performance.now() - t0);
    }
    r.push(t[1][i] / t[0][i]);
  }
  console.log(
    `| ${model} | ${median(t[0]).toFixed(2)} (${range(t[0])}) | ${median(t[1]).toFixed(2)} (${
      range(t[1])
    }) | ${median(r).toFixed(2)} |`,
  );
}
Deno.exit(0);
