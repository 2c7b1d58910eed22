/**
 * Schedulers against PyTorch's learning-rate sequences (tools/gen_optim_fixtures.py): an SGD with
 * two groups (lr 0.1 and 0.02), the rates after construction and after each of 20 steps, within
 * 1e-12 relative. Also stateDict round trips, the closed form and the warm-up helper.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { tensor } from "../../core/mod.ts";
import {
  CosineAnnealingLR,
  LinearLR,
  type LRScheduler,
  MultiStepLR,
  SequentialLR,
  SGD,
  StepLR,
  warmup,
} from "../../optim/mod.ts";

type Spec = Record<string, unknown> & { type: string };
interface SchedCase {
  name: string;
  spec: Spec;
  lrs: number[][];
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/optim.json", import.meta.url)),
) as { schedulers: SchedCase[] };

function makeOpt(): SGD {
  const a = tensor([0, 0], { requiresGrad: true }), b = tensor([0, 0], { requiresGrad: true });
  return new SGD([{ params: [a] }, { params: [b], lr: 0.02 }], { lr: 0.1 });
}

function build(opt: SGD, s: Spec): LRScheduler {
  const n = (k: string): number | undefined => s[k] as number | undefined;
  switch (s.type) {
    case "StepLR":
      return new StepLR(opt, n("stepSize")!, { gamma: n("gamma") });
    case "MultiStepLR":
      return new MultiStepLR(opt, s.milestones as number[], { gamma: n("gamma") });
    case "CosineAnnealingLR":
      return new CosineAnnealingLR(opt, n("tMax")!, { etaMin: n("etaMin") });
    case "LinearLR":
      return new LinearLR(opt, {
        startFactor: n("startFactor"),
        endFactor: n("endFactor"),
        totalIters: n("totalIters"),
      });
    case "SequentialLR": {
      const subs = (s.schedulers as Spec[]).map((x) => build(opt, x));
      return new SequentialLR(opt, subs, s.milestones as number[]);
    }
  }
  throw new Error(`unknown scheduler ${s.type}`);
}

function assertLrs(actual: number[], expected: number[], what: string): void {
  actual.forEach((a, i) =>
    assert.ok(
      Math.abs(a - expected[i]) <= 1e-12 + 1e-9 * Math.abs(expected[i]),
      `${what} group ${i}: ${a} vs ${expected[i]}`,
    )
  );
}

for (const c of fixture.schedulers) {
  Deno.test(`${c.name}: 20 steps match PyTorch`, () => {
    const opt = makeOpt();
    const s = build(opt, c.spec);
    assertLrs(s.getLastLr(), c.lrs[0], "epoch 0");
    for (let k = 1; k <= 20; k++) {
      opt.step();
      s.step();
      assertLrs(s.getLastLr(), c.lrs[k], `epoch ${k}`);
      assertLrs(opt.paramGroups.map((g) => g.lr), c.lrs[k], `group lr at epoch ${k}`);
    }
  });

  Deno.test(`${c.name}: stateDict round trip resumes the sequence`, () => {
    const opt = makeOpt();
    const s = build(opt, c.spec);
    for (let k = 1; k <= 7; k++) s.step();
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    const optSd = opt.stateDict();
    const opt2 = makeOpt();
    opt2.loadStateDict(optSd);
    const s2 = build(opt2, c.spec);
    s2.loadStateDict(sd);
    opt2.paramGroups.forEach((g, i) => (g.lr = opt.paramGroups[i].lr));
    for (let k = 8; k <= 20; k++) {
      s2.step();
      assertLrs(s2.getLastLr(), c.lrs[k], `resumed epoch ${k}`);
    }
  });
}

Deno.test("step(epoch) uses the closed form", () => {
  const opt = makeOpt();
  const cos = new CosineAnnealingLR(opt, 10, { etaMin: 0.01 });
  cos.step(5);
  assertLrs(cos.getLastLr(), [0.055, 0.015], "cosine at 5");
  const opt2 = makeOpt();
  const ms = new MultiStepLR(opt2, [3, 3, 6]);
  ms.step(7);
  assertLrs(ms.getLastLr(), [1e-4, 2e-5], "multistep at 7");
});

Deno.test("warmup(after) equals SequentialLR([LinearLR, after])", () => {
  const c = fixture.schedulers.find((x) => x.name === "warmup then cosine")!;
  const opt = makeOpt();
  const s = warmup(opt, new CosineAnnealingLR(opt, 12), { iters: 4, startFactor: 0.25 });
  for (let k = 0; k <= 20; k++) {
    if (k) s.step();
    assertLrs(s.getLastLr(), c.lrs[k], `epoch ${k}`);
  }
});

Deno.test("scheduler arguments are validated with the scheduler's name", () => {
  assert.throws(() => new StepLR(makeOpt(), 0), /StepLR: stepSize/);
  assert.throws(() => new LinearLR(makeOpt(), { startFactor: 0 }), /LinearLR: startFactor/);
  assert.throws(() => new CosineAnnealingLR(makeOpt(), 1.5), /CosineAnnealingLR: tMax/);
  assert.throws(() => new StepLR(makeOpt(), 2, { lastEpoch: 3 }), /StepLR: resuming/);
  const opt = makeOpt();
  assert.throws(
    () => new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(makeOpt(), 2)], [3]),
    /SequentialLR: scheduler 1/,
  );
  assert.throws(() => new SequentialLR(opt, [new StepLR(opt, 2)], [3]), /one milestone fewer/);
});
