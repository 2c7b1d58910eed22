/**
 * `opt.step()` of this tree against another checkout of denn, in one process: both module graphs
 * are loaded side by side (each with `use(blas())`), SGD (momentum 0.9, weight decay 1e-4), or Adam
 * with `--adam`, over LeNet-5's, ResNet-18's and GoogLeNet's parameters with fixed random gradients, 30 untimed
 * steps each, then 41 rounds alternating which tree goes first. Prints the medians and the median
 * of paired ratios.
 *
 *     git worktree add /tmp/denn-base <commit>
 *     deno run -A bench/optim_step_ab.ts /tmp/denn-base [--adam]
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
type Denn = any;

const dir = Deno.args.find((a) => !a.startsWith("--"));
const adam = Deno.args.includes("--adam");
if (!dir) {
  console.error("usage: deno run -A bench/optim_step_ab.ts <path of another denn checkout>");
  Deno.exit(2);
}

async function load(root: string): Promise<{ m: Denn; models: Denn }> {
  const m = await import(`${root}/mod.ts`);
  const models = await import(`${root}/plugins/models/mod.ts`);
  m.use((await import(`${root}/plugins/blas/mod.ts`)).blas());
  return { m, models };
}

const trees = [
  await load(new URL(`file://${await Deno.realPath(dir)}`).href),
  await load(new URL("..", import.meta.url).href.replace(/\/$/, "")),
];
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
for (const model of ["lenet", "resnet18", "googlenet"]) {
  const steps = trees.map(({ m, models }) => {
    const net = model === "resnet18"
      ? models.resnet(18, { numClasses: 10 })
      : model === "googlenet"
      ? models.googlenet({ numClasses: 10 })
      : models.lenet5();
    const ps = net.parameters();
    for (const p of ps) p.grad = m.randn(p.shape);
    const opt = adam
      ? new m.optim.Adam(ps, { lr: 0.001, weightDecay: 1e-4 })
      : new m.optim.SGD(ps, { lr: 0.001, momentum: 0.9, weightDecay: 1e-4 });
    return () => opt.step();
  });
  for (let i = 0; i < 30; i++) steps.forEach((s) => s());
  const t: number[][] = [[], []], r: number[] = [];
  for (let i = 0; i < 41; i++) {
    for (const j of i % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      steps[j]();
      t[j].push(performance.now() - t0);
    }
    r.push(t[1][i] / t[0][i]);
  }
  console.log(
    `${model}: ${adam ? "Adam" : "SGD"} opt.step() ${median(t[0]).toFixed(3)} ms (other) → ${
      median(t[1]).toFixed(3)
    } ms (this tree), paired ratio ${median(r).toFixed(2)}`,
  );
}
Deno.exit(0);
