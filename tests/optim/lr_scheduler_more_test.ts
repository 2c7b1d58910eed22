/**
 * ExponentialLR, LambdaLR, OneCycleLR and ReduceLROnPlateau against PyTorch's learning-rate (and,
 * for OneCycleLR, momentum) sequences from tools/gen_training_utils_fixtures.py: an SGD (momentum
 * 0.9) or Adam with two groups (lr 0.1 and 0.02), the rates after construction and after each of
 * 30 steps, within 1e-12 + 1e-9 relative. Also stateDict round trips that resume the sequence, the
 * closed forms, and every argument check (a ValueError naming the scheduler and the argument).
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { tensor, ValueError } from "../../core/mod.ts";
import {
  Adagrad,
  Adam,
  ExponentialLR,
  LambdaLR,
  type LrLambda,
  OneCycleLR,
  type OneCycleLROptions,
  ReduceLROnPlateau,
  type ReduceLROnPlateauOptions,
  SequentialLR,
  SGD,
  StepLR,
} from "../../optim/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

type Spec = Record<string, unknown> & { type: string };
interface SchedCase {
  name: string;
  spec: Spec;
  optimizer: "SGD" | "Adam";
  lrs: number[][];
  momentums?: number[][];
  metrics?: number[];
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/training_utils.json", import.meta.url)),
) as { schedulers: SchedCase[] };

const LAMBDAS: Record<string, LrLambda> = {
  pow95: (e) => 0.95 ** e,
  invSqrt: (e) => 1 / Math.sqrt(e + 1),
  step10: (e) => 0.5 ** Math.floor(e / 10),
};

type Opt = SGD | Adam;

function makeOpt(kind: "SGD" | "Adam" = "SGD"): Opt {
  const a = tensor([0, 0], { requiresGrad: true }), b = tensor([0, 0], { requiresGrad: true });
  const groups = [{ params: [a] }, { params: [b], lr: 0.02 }];
  return kind === "SGD"
    ? new SGD(groups, { lr: 0.1, momentum: 0.9 })
    : new Adam(groups, { lr: 0.1, betas: [0.9, 0.999] });
}

type AnyScheduler = ExponentialLR | LambdaLR | OneCycleLR | ReduceLROnPlateau;

function build(opt: Opt, s: Spec): AnyScheduler {
  const { type, ...rest } = s;
  switch (type) {
    case "ExponentialLR":
      return new ExponentialLR(opt, rest.gamma as number);
    case "LambdaLR": {
      const fns = (rest.lambdas as string[]).map((n) => LAMBDAS[n]);
      return new LambdaLR(opt, fns.length === 1 ? fns[0] : fns);
    }
    case "OneCycleLR": {
      const { maxLr, ...options } = rest;
      return new OneCycleLR(opt, maxLr as number | number[], options as OneCycleLROptions);
    }
    case "ReduceLROnPlateau":
      return new ReduceLROnPlateau(opt, rest as ReduceLROnPlateauOptions);
  }
  throw new Error(`unknown scheduler ${type}`);
}

function stepOnce(s: AnyScheduler, c: SchedCase, k: number): void {
  if (s instanceof ReduceLROnPlateau) s.step(c.metrics![k]);
  else s.step();
}

function momentumOf(opt: Opt): number[] {
  return opt.paramGroups.map((g) => ("betas" in g ? g.betas[0] : g.momentum));
}

function assertNums(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) =>
    assert.ok(
      Math.abs(a - expected[i]) <= 1e-12 + 1e-9 * Math.abs(expected[i]),
      `${what} group ${i}: ${a} vs ${expected[i]}`,
    )
  );
}

for (const c of fixture.schedulers) {
  Deno.test(`${c.name}: 30 steps match PyTorch`, () => {
    const opt = makeOpt(c.optimizer);
    const s = build(opt, c.spec);
    assertNums(s.getLastLr(), c.lrs[0], "epoch 0");
    if (c.momentums) assertNums(momentumOf(opt), c.momentums[0], "momentum at 0");
    for (let k = 1; k < c.lrs.length; k++) {
      opt.step();
      stepOnce(s, c, k - 1);
      assertNums(s.getLastLr(), c.lrs[k], `epoch ${k}`);
      assertNums(opt.paramGroups.map((g) => g.lr), c.lrs[k], `group lr at epoch ${k}`);
      if (c.momentums) assertNums(momentumOf(opt), c.momentums[k], `momentum at ${k}`);
    }
  });

  Deno.test(`${c.name}: stateDict round trip resumes the sequence`, () => {
    const opt = makeOpt(c.optimizer);
    const s = build(opt, c.spec);
    for (let k = 0; k < 11; k++) stepOnce(s, c, k);
    // Through JSON, as a checkpoint would store it (ReduceLROnPlateau's best is finite by now).
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    const opt2 = makeOpt(c.optimizer);
    opt2.loadStateDict(opt.stateDict());
    const s2 = build(opt2, c.spec);
    s2.loadStateDict(sd);
    opt2.paramGroups.forEach((g, i) => (g.lr = opt.paramGroups[i].lr));
    for (let k = 12; k < c.lrs.length; k++) {
      stepOnce(s2, c, k - 1);
      assertNums(s2.getLastLr(), c.lrs[k], `resumed epoch ${k}`);
      if (c.momentums) assertNums(momentumOf(opt2), c.momentums[k], `resumed momentum ${k}`);
    }
  });
}

Deno.test("ExponentialLR and LambdaLR jump with step(epoch) (closed form)", () => {
  const e = new ExponentialLR(makeOpt(), 0.5);
  e.step(3);
  assertNums(e.getLastLr(), [0.0125, 0.0025], "exponential at 3");
  const l = new LambdaLR(makeOpt(), (ep) => ep + 1);
  l.step(4);
  assertNums(l.getLastLr(), [0.5, 0.1], "lambda at 4");
});

Deno.test("OneCycleLR: the cycle lives in the groups; one step past totalSteps is an error", () => {
  const opt = makeOpt();
  const s = new OneCycleLR(opt, [1, 0.1], { totalSteps: 4 });
  const g = opt.paramGroups[1] as unknown as Record<string, number>;
  assert.deepEqual(
    [g.initialLr, g.maxLr, g.minLr, g.maxMomentum, g.baseMomentum],
    [0.004, 0.1, 4e-7, 0.95, 0.85],
  );
  const sd = opt.stateDict();
  assert.equal(sd.paramGroups[1].maxLr, 0.1);
  for (let k = 0; k < 4; k++) s.step();
  const before = s.stateDict();
  assertThrowsNamed(
    () => s.step(),
    ValueError,
    "OneCycleLR.step: tried to step 6 times; the cycle has totalSteps 4",
  );
  assert.deepEqual(s.stateDict(), before, "nothing changes on the refused step");
  assertThrowsNamed(() => s.step(5), ValueError, "tried to step 6 times");
});

Deno.test("OneCycleLR resumes with lastEpoch from the optimizer's groups", () => {
  const c = fixture.schedulers.find((x) => x.name === "OneCycleLR cos")!;
  const opt = makeOpt();
  build(opt, c.spec);
  const opt2 = makeOpt();
  assertThrowsNamed(
    () => new OneCycleLR(opt2, 1, { totalSteps: 30, lastEpoch: 9 }),
    ValueError,
    "OneCycleLR: resuming at lastEpoch 9 needs initialLr, maxLr, minLr, maxMomentum, baseMomentum " +
      "in parameter group 0 (load the optimizer's state dict first)",
  );
  opt2.loadStateDict(opt.stateDict());
  const s2 = new OneCycleLR(opt2, 1, { totalSteps: 30, lastEpoch: 9 });
  assertNums(s2.getLastLr(), c.lrs[10], "resumed at 10");
  assertNums(momentumOf(opt2), c.momentums![10], "momentum at 10");
});

Deno.test("ReduceLROnPlateau: cooldown, inCooldown, NaN metrics and the positional mode", () => {
  const opt = makeOpt();
  const s = new ReduceLROnPlateau(opt, "max", { patience: 0, cooldown: 1, factor: 0.5 });
  assert.equal(s.mode, "max");
  s.step(1);
  s.step(0.5); // bad: reduce, cooldown 1
  assertNums(s.getLastLr(), [0.05, 0.01], "reduced");
  assert.equal(s.inCooldown, true);
  s.step(0.5); // cooldown eats the bad epoch
  assertNums(s.getLastLr(), [0.05, 0.01], "cooldown");
  s.step(NaN); // NaN is no improvement, as in PyTorch
  assertNums(s.getLastLr(), [0.025, 0.005], "NaN counts as bad");
  assert.equal(s.best, 1);
  assert.equal(s.lastEpoch, 4);
});

Deno.test("ReduceLROnPlateau state dicts: ±Infinity survives structuredClone; JSON's null is named", () => {
  const s = new ReduceLROnPlateau(makeOpt());
  const sd = s.stateDict();
  assert.equal(sd.best, Infinity);
  const s2 = new ReduceLROnPlateau(makeOpt(), { mode: "max" });
  s2.loadStateDict(sd);
  assert.equal(s2.mode, "min");
  assert.equal(s2.best, Infinity);
  assertThrowsNamed(
    () => s2.loadStateDict(JSON.parse(JSON.stringify(sd))),
    ValueError,
    "ReduceLROnPlateau.loadStateDict: best must be a number, got null (JSON turns NaN and " +
      "±Infinity into null",
  );
  assertThrowsNamed(
    () => s2.loadStateDict({ ...sd, mode: "maximum" }),
    ValueError,
    'ReduceLROnPlateau.loadStateDict: mode must be "min" or "max", got "maximum"',
  );
  assertThrowsNamed(
    () => s2.loadStateDict({ ...sd, minLrs: [0] }),
    ValueError,
    "ReduceLROnPlateau.loadStateDict: minLrs must be 2 numbers (one per parameter group), got [0]",
  );
  assertThrowsNamed(
    () => s2.loadStateDict({ ...sd, gamma: 0.5 }),
    ValueError,
    'ReduceLROnPlateau.loadStateDict: unknown key "gamma"',
  );
  assertThrowsNamed(
    () => s2.loadStateDict(null as never),
    ValueError,
    "ReduceLROnPlateau.loadStateDict: expected a scheduler state dict",
  );
  assert.equal(s2.mode, "min", "a refused state dict changes nothing");
});

Deno.test("LambdaLR state dicts leave the functions out", () => {
  const s = new LambdaLR(makeOpt(), [LAMBDAS.pow95, LAMBDAS.step10]);
  s.step();
  const sd = s.stateDict();
  assert.equal("lrLambdas" in sd, false);
  assert.doesNotThrow(() => structuredClone(sd));
  const s2 = new LambdaLR(makeOpt(), [LAMBDAS.pow95, LAMBDAS.step10]);
  s2.loadStateDict(sd);
  s2.step();
  assertNums(s2.getLastLr(), [0.1 * 0.95 ** 2, 0.02], "resumed");
});

const rejects = (f: () => unknown, text: string): void => assertThrowsNamed(f, ValueError, text);
const bad = (v: unknown): never => v as never;

Deno.test("ExponentialLR and LambdaLR arguments are checked", () => {
  rejects(
    () => new ExponentialLR(makeOpt(), 0),
    "ExponentialLR: gamma must be a finite number > 0, got 0",
  );
  rejects(
    () => new ExponentialLR(makeOpt(), NaN),
    "ExponentialLR: gamma must be a finite number > 0, got NaN",
  );
  rejects(
    () => new ExponentialLR(makeOpt(), bad(undefined)),
    "ExponentialLR: gamma must be a finite number > 0, got undefined",
  );
  rejects(
    () => new ExponentialLR(makeOpt(), 0.9, bad({ gama: 1 })),
    'ExponentialLR: unknown option "gama" (expected lastEpoch)',
  );
  rejects(
    () => new ExponentialLR(makeOpt(), 0.9, { lastEpoch: -2 }),
    "ExponentialLR: lastEpoch must be an integer >= -1, got -2",
  );
  rejects(
    () => new ExponentialLR(makeOpt(), 0.9, 3),
    "ExponentialLR: resuming at lastEpoch 3 needs initialLr in parameter group 0",
  );
  rejects(
    () => new (ExponentialLR as unknown as new (...a: unknown[]) => unknown)(makeOpt(), 0.9, {}, 1),
    "ExponentialLR: takes at most 3 arguments, got 4",
  );
  rejects(
    () => new ExponentialLR(bad({ lr: 0.1 }), 0.9),
    "ExponentialLR: optimizer must be an optimizer",
  );
  rejects(
    () => new LambdaLR(makeOpt(), bad(0.5)),
    "LambdaLR: lrLambda must be a function of the epoch or an array of them (one per parameter group), got 0.5",
  );
  rejects(
    () => new LambdaLR(makeOpt(), [LAMBDAS.pow95]),
    "LambdaLR: expected 2 lrLambda functions (one per parameter group), got 1",
  );
  rejects(
    () => new LambdaLR(makeOpt(), bad([LAMBDAS.pow95, 2])),
    "LambdaLR: lrLambda must be a function of the epoch or an array of them",
  );
  rejects(
    () => new LambdaLR(makeOpt(), () => NaN),
    "LambdaLR: lrLambda of parameter group 0 returned NaN at epoch 0 (expected a finite number >= 0, the factor of the base lr)",
  );
  const s = new LambdaLR(makeOpt(), [LAMBDAS.pow95, (e) => (e < 2 ? 1 : -1)]);
  s.step();
  rejects(() => s.step(), "LambdaLR: lrLambda of parameter group 1 returned -1 at epoch 2");
  rejects(
    () => new LambdaLR(makeOpt(), bad(() => "1")),
    'LambdaLR: lrLambda of parameter group 0 returned "1" at epoch 0',
  );
  rejects(() => s.step(1.5), "LambdaLR.step: epoch must be a non-negative integer");
  rejects(
    () => (s.getLastLr as (...a: unknown[]) => unknown)(1),
    "getLastLr: takes at most 0 arguments, got 1",
  );
});

Deno.test("OneCycleLR arguments are checked", () => {
  const one = (o: unknown, maxLr: unknown = 0.1, kind: "SGD" | "Adam" = "SGD") =>
    new OneCycleLR(makeOpt(kind), bad(maxLr), bad(o));
  rejects(
    () => one({}),
    "OneCycleLR: the cycle's length is required: give totalSteps, or epochs and stepsPerEpoch",
  );
  rejects(
    () => one({ totalSteps: 10, epochs: 2 }),
    "OneCycleLR: give totalSteps, or epochs and stepsPerEpoch, not both (got totalSteps 10 and epochs 2)",
  );
  rejects(
    () => one({ epochs: 2 }),
    "OneCycleLR: epochs and stepsPerEpoch go together (totalSteps = epochs × stepsPerEpoch); got only epochs",
  );
  rejects(() => one({ totalSteps: 0 }), "OneCycleLR: totalSteps must be a positive integer, got 0");
  rejects(() => one(10.5), "OneCycleLR: totalSteps must be a positive integer, got 10.5");
  rejects(
    () => one({ epochs: 2, stepsPerEpoch: -1 }),
    "OneCycleLR: stepsPerEpoch must be a positive integer, got -1",
  );
  rejects(
    () => one({ totalSteps: 10, pctStart: 1.5 }),
    "OneCycleLR: pctStart must be in [0, 1], got 1.5",
  );
  rejects(
    () => one({ totalSteps: 10, pctStart: 0.1 }),
    "OneCycleLR: pctStart 0.1 × totalSteps 10 = 1 makes the rising phase end at step 0",
  );
  rejects(
    () => one({ totalSteps: 10, pctStart: 1 }),
    "OneCycleLR: pctStart 1 leaves no annealing phase",
  );
  rejects(
    () => one({ totalSteps: 10, pctStart: 0.6, threePhase: true }),
    "OneCycleLR: threePhase needs pctStart <= 0.5",
  );
  rejects(
    () => one({ totalSteps: 10, annealStrategy: "cosine" }),
    'OneCycleLR: annealStrategy must be "cos" or "linear", got "cosine"',
  );
  rejects(
    () => one({ totalSteps: 10, threePhase: 1 }),
    "OneCycleLR: threePhase must be a boolean, got 1",
  );
  rejects(() => one({ totalSteps: 10 }, 0), "OneCycleLR: maxLr must be a finite number > 0, got 0");
  rejects(
    () => one({ totalSteps: 10 }, [0.1]),
    "OneCycleLR: expected 2 values for maxLr (one per parameter group), got 1",
  );
  rejects(
    () => one({ totalSteps: 10 }, [0.1, Infinity]),
    "OneCycleLR: maxLr[1] must be a finite number > 0, got Infinity",
  );
  rejects(
    () => one({ totalSteps: 10, divFactor: 0 }),
    "OneCycleLR: divFactor must be a finite number > 0, got 0",
  );
  rejects(
    () => one({ totalSteps: 10, finalDivFactor: -1 }),
    "OneCycleLR: finalDivFactor must be a finite number > 0, got -1",
  );
  rejects(
    () => one({ totalSteps: 10, maxMomentum: 1 }, 0.1, "Adam"),
    "OneCycleLR: maxMomentum must be in [0, 1) (Adam's betas[0]), got 1",
  );
  rejects(
    () => one({ totalSteps: 10, baseMomentum: -0.1 }),
    "OneCycleLR: baseMomentum must be a finite number >= 0, got -0.1",
  );
  rejects(
    () => one({ totalSteps: 10, cycleMomentum: false, baseMomentum: 0.8 }),
    "OneCycleLR: baseMomentum is only used with cycleMomentum (it is false)",
  );
  rejects(
    () => one({ totalSteps: 10, total_steps: 10 }),
    'OneCycleLR: unknown option "total_steps"',
  );
  const ada = new Adagrad([tensor([1], { requiresGrad: true })]);
  rejects(
    () => new OneCycleLR(ada, 0.1, { totalSteps: 10 }),
    "OneCycleLR: cycleMomentum needs an optimizer with momentum or betas (SGD, RMSprop, Adam, AdamW), got Adagrad; pass cycleMomentum: false",
  );
  const s = new OneCycleLR(ada, 0.1, { totalSteps: 10, cycleMomentum: false });
  assertNums(s.getLastLr(), [0.004], "Adagrad without cycleMomentum");
  // PyTorch's positional totalSteps.
  assert.equal(new OneCycleLR(makeOpt(), 0.1, 20).totalSteps, 20);
});

Deno.test("ReduceLROnPlateau arguments are checked", () => {
  const plateau = (o: unknown) => new ReduceLROnPlateau(makeOpt(), bad(o));
  rejects(
    () => plateau({ mode: "minimum" }),
    'ReduceLROnPlateau: mode must be "min" or "max", got "minimum"',
  );
  rejects(() => plateau("up"), 'ReduceLROnPlateau: mode must be "min" or "max", got "up"');
  rejects(() => plateau({ factor: 1 }), "ReduceLROnPlateau: factor must be in [0, 1), got 1");
  rejects(() => plateau({ factor: -0.5 }), "ReduceLROnPlateau: factor must be in [0, 1), got -0.5");
  rejects(
    () => plateau({ patience: -1 }),
    "ReduceLROnPlateau: patience must be an integer >= 0, got -1",
  );
  rejects(
    () => plateau({ patience: 2.5 }),
    "ReduceLROnPlateau: patience must be an integer >= 0, got 2.5",
  );
  rejects(
    () => plateau({ cooldown: bad("1") }),
    'ReduceLROnPlateau: cooldown must be an integer >= 0, got "1"',
  );
  rejects(
    () => plateau({ threshold: 1 }),
    'ReduceLROnPlateau: threshold must be in [0, 1) with thresholdMode "rel", got 1',
  );
  rejects(
    () => plateau({ threshold: -1, thresholdMode: "abs" }),
    "ReduceLROnPlateau: threshold must be a finite number >= 0, got -1",
  );
  rejects(
    () => plateau({ thresholdMode: "relative" }),
    'ReduceLROnPlateau: thresholdMode must be "rel" or "abs", got "relative"',
  );
  rejects(
    () => plateau({ minLr: -1 }),
    "ReduceLROnPlateau: minLr must be a finite number >= 0, got -1",
  );
  rejects(
    () => plateau({ minLr: [0.1] }),
    "ReduceLROnPlateau: expected 2 values for minLr (one per parameter group), got 1",
  );
  rejects(
    () => plateau({ eps: NaN }),
    "ReduceLROnPlateau: eps must be a finite number >= 0, got NaN",
  );
  rejects(
    () => plateau({ min_lr: 0.1 }),
    'ReduceLROnPlateau: unknown option "min_lr" (expected mode, factor, patience, threshold, thresholdMode, cooldown, minLr, eps)',
  );
  rejects(
    () => new ReduceLROnPlateau(makeOpt(), "max", bad({ mode: "min" })),
    'ReduceLROnPlateau: unknown option "mode"',
  );
  rejects(
    () => new ReduceLROnPlateau(makeOpt(), bad({}), bad({ patience: 1 })),
    "ReduceLROnPlateau: got Object after the options object",
  );
  rejects(
    () => new ReduceLROnPlateau(bad(null)),
    "ReduceLROnPlateau: optimizer must be an optimizer",
  );
  const s = new ReduceLROnPlateau(makeOpt());
  rejects(
    () => s.step(bad(tensor(1))),
    "ReduceLROnPlateau.step: metric must be a number (the epoch's validation loss or accuracy), got Tensor; read a tensor with await t.item()",
  );
  rejects(() => s.step(bad(undefined)), "ReduceLROnPlateau.step: metric must be a number");
  rejects(
    () => (s.step as (...a: unknown[]) => unknown)(0.5, 3),
    "ReduceLROnPlateau.step: takes at most 1 argument, got 2",
  );
  assert.equal(s.lastEpoch, 0, "refused steps change nothing");
  // Not an LRScheduler: SequentialLR refuses it.
  const opt = makeOpt();
  rejects(
    () => new SequentialLR(opt, [new StepLR(opt, 2), bad(new ReduceLROnPlateau(opt))], [3]),
    "SequentialLR: scheduler 1 is not a scheduler",
  );
});
