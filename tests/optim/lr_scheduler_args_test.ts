/**
 * Scheduler argument checks: the optimizer, every positional number, milestones, unknown option
 * keys, PyTorch's positional forms (accepted, with the same schedule as the options object),
 * `step`'s epoch argument, `loadStateDict`'s argument and `warmup`'s options. Each wrong call is a
 * ValueError naming the scheduler, the argument and what is expected.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { tensor, ValueError } from "../../core/mod.ts";
import { nn } from "../../mod.ts";
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
import { assertThrowsNamed } from "../../testing/mod.ts";

/** Asserts `f` throws exactly a ValueError with a message containing `text`. */
const rejects = (f: () => unknown, text: string): void => assertThrowsNamed(f, ValueError, text);

const bad = (v: unknown): never => v as never;
const sgd = (): SGD => new SGD([tensor([1, 2], { requiresGrad: true })], { lr: 0.1 });

function lrs(s: LRScheduler, steps: number): number[] {
  const out = [s.getLastLr()[0]];
  for (let k = 0; k < steps; k++) {
    s.step();
    out.push(s.getLastLr()[0]);
  }
  return out;
}

Deno.test("unknown option keys are ValueErrors, not ignored", () => {
  rejects(
    () => new StepLR(sgd(), 2, bad({ gama: 0.5 })),
    'StepLR: unknown option "gama" (expected gamma, lastEpoch)',
  );
  rejects(
    () => new MultiStepLR(sgd(), [2], bad({ gamma: 0.5, last_epoch: -1 })),
    'MultiStepLR: unknown option "last_epoch" (expected gamma, lastEpoch)',
  );
  rejects(
    () => new CosineAnnealingLR(sgd(), 5, bad({ eta_min: 0.01 })),
    'CosineAnnealingLR: unknown option "eta_min" (expected etaMin, lastEpoch)',
  );
  rejects(
    () => new LinearLR(sgd(), bad({ start_factor: 0.5 })),
    'LinearLR: unknown option "start_factor" (expected startFactor, endFactor, totalIters, lastEpoch)',
  );
  rejects(
    () => new StepLR(sgd(), 2, bad("0.5")),
    'StepLR: options must be an object like { gamma: ... }, got "0.5"',
  );
});

Deno.test("PyTorch's positional forms are accepted and equal the options object", () => {
  assert.deepEqual(lrs(new StepLR(sgd(), 2, 0.5), 6), lrs(new StepLR(sgd(), 2, { gamma: 0.5 }), 6));
  assert.equal(new StepLR(sgd(), 2, 0.5).gamma, 0.5);
  assert.equal(new StepLR(sgd(), 2, 0.5, -1).lastEpoch, 0);
  assert.deepEqual(
    lrs(new MultiStepLR(sgd(), [1, 3], 0.3), 5),
    lrs(new MultiStepLR(sgd(), [1, 3], { gamma: 0.3 }), 5),
  );
  assert.deepEqual(
    lrs(new CosineAnnealingLR(sgd(), 4, 0.01), 6),
    lrs(new CosineAnnealingLR(sgd(), 4, { etaMin: 0.01 }), 6),
  );
  assert.deepEqual(
    lrs(new LinearLR(sgd(), 0.5, 1, 4), 6),
    lrs(new LinearLR(sgd(), { startFactor: 0.5, endFactor: 1, totalIters: 4 }), 6),
  );
  rejects(
    () => new StepLR(sgd(), 2, bad({ gamma: 0.5 }), bad(3)),
    "StepLR: got 3 after the options object; pass lastEpoch in it ({ gamma, lastEpoch })",
  );
  rejects(
    () => new (StepLR as unknown as new (...a: unknown[]) => StepLR)(sgd(), 2, 0.5, -1, 9),
    "StepLR: takes at most 4 arguments, got 5",
  );
});

Deno.test("positional numbers are checked: stepSize, gamma, tMax, etaMin, factors, lastEpoch", () => {
  rejects(
    () => new StepLR(sgd(), bad("2")),
    'StepLR: stepSize must be a positive integer, got "2"',
  );
  rejects(() => new StepLR(sgd(), -2), "StepLR: stepSize must be a positive integer, got -2");
  rejects(() => new StepLR(sgd(), 2, 0), "StepLR: gamma must be a finite number > 0, got 0");
  rejects(() => new StepLR(sgd(), 2, { gamma: NaN }), "StepLR: gamma must be a finite number > 0");
  rejects(
    () => new StepLR(sgd(), 2, { gamma: bad("0.5") }),
    'StepLR: gamma must be a finite number > 0, got "0.5"',
  );
  rejects(
    () => new MultiStepLR(sgd(), [2], -0.5),
    "MultiStepLR: gamma must be a finite number > 0, got -0.5",
  );
  rejects(
    () => new CosineAnnealingLR(sgd(), bad(null)),
    "CosineAnnealingLR: tMax must be a positive integer, got null",
  );
  rejects(
    () => new CosineAnnealingLR(sgd(), 5, -0.1),
    "CosineAnnealingLR: etaMin must be a finite number >= 0, got -0.1",
  );
  rejects(
    () => new CosineAnnealingLR(sgd(), 5, { etaMin: Infinity }),
    "CosineAnnealingLR: etaMin must be a finite number >= 0, got Infinity",
  );
  rejects(
    () => new LinearLR(sgd(), { startFactor: bad("0.5") }),
    'LinearLR: startFactor must be in (0, 1], got "0.5"',
  );
  rejects(() => new LinearLR(sgd(), { endFactor: NaN }), "LinearLR: endFactor must be in [0, 1]");
  rejects(
    () => new LinearLR(sgd(), { totalIters: 2.5 }),
    "LinearLR: totalIters must be a positive integer, got 2.5",
  );
  rejects(
    () => new StepLR(sgd(), 2, { lastEpoch: -2 }),
    "StepLR: lastEpoch must be an integer >= -1, got -2",
  );
  rejects(
    () => new LinearLR(sgd(), { lastEpoch: bad("0") }),
    'LinearLR: lastEpoch must be an integer >= -1, got "0"',
  );
});

Deno.test("milestones must be an array of increasing integers", () => {
  const expected = "MultiStepLR: milestones must be an array of increasing non-negative integers";
  rejects(() => new MultiStepLR(sgd(), bad(["2"])), `${expected} (epochs), got ["2"]`);
  rejects(() => new MultiStepLR(sgd(), bad(3)), `${expected} (epochs), got 3`);
  rejects(() => new MultiStepLR(sgd(), [5, 2]), `${expected} (epochs), got [5, 2]`);
  rejects(() => new MultiStepLR(sgd(), [1.5]), expected);
  rejects(() => new MultiStepLR(sgd(), [-1, 2]), expected);
  // Repeats compound, as in PyTorch.
  assert.deepEqual(new MultiStepLR(sgd(), [2, 5, 5]).milestones, [2, 5, 5]);
  const o = sgd();
  rejects(
    () => new SequentialLR(o, [new StepLR(o, 2), new StepLR(o, 3)], bad(["4"])),
    'SequentialLR: milestones must be an array of increasing non-negative integers (epochs), got ["4"]',
  );
});

Deno.test("the optimizer must be an optimizer", () => {
  const expected =
    "optimizer must be an optimizer (an object with paramGroups, such as new SGD(...))";
  rejects(() => new StepLR(bad({}), 2), `StepLR: ${expected}, got Object`);
  rejects(() => new MultiStepLR(bad(null), [2]), `MultiStepLR: ${expected}, got null`);
  rejects(
    () => new CosineAnnealingLR(bad(new nn.Linear(2, 2)), 5),
    `CosineAnnealingLR: ${expected}`,
  );
  rejects(() => new LinearLR(bad({ paramGroups: [] })), `LinearLR: ${expected}`);
  rejects(
    () => new StepLR(bad({ paramGroups: [{ lr: "0.1" }] }), 2),
    'StepLR: parameter group 0 of the optimizer has no numeric lr, got "0.1"',
  );
  // A failed construction leaves the optimizer's groups as they were.
  const o = sgd();
  rejects(() => new StepLR(o, 0), "StepLR: stepSize must be a positive integer, got 0");
  assert.equal((o.paramGroups[0] as { initialLr?: number }).initialLr, undefined);
});

Deno.test("step takes nothing or a non-negative integer epoch (PyTorch's deprecated form)", () => {
  const o = sgd();
  const s = new StepLR(o, 2);
  const expected = "StepLR.step: epoch must be a non-negative integer (PyTorch's deprecated " +
    "step(epoch)), or omitted to advance one epoch";
  for (const v of ["x", 1.5, -1, NaN, null, true]) {
    rejects(() => s.step(bad(v)), expected);
  }
  assert.equal(o.paramGroups[0].lr, 0.1, "a refused step changes no learning rate");
  s.step(4);
  assert.ok(Math.abs(s.getLastLr()[0] - 0.001) < 1e-15);
  rejects(() => (s.step as (...a: unknown[]) => void)(1, 2), "LRScheduler.step: takes at most 1");
  const seq = new SequentialLR(o, [new StepLR(o, 2), new StepLR(o, 3)], [2]);
  rejects(
    () => (seq.step as (...a: unknown[]) => void)(3),
    "SequentialLR.step: takes at most 0 arguments, got 1 (3)",
  );
});

Deno.test("SequentialLR checks its schedulers", () => {
  const o = sgd();
  rejects(
    () => new SequentialLR(o, bad(new StepLR(o, 2)), []),
    "SequentialLR: schedulers must be a non-empty array of schedulers, got StepLR",
  );
  rejects(() => new SequentialLR(o, [], []), "SequentialLR: schedulers must be a non-empty array");
  rejects(
    () => new SequentialLR(o, bad([new StepLR(o, 2), { step() {} }]), [2]),
    "SequentialLR: scheduler 1 is not a scheduler, got Object",
  );
});

Deno.test("loadStateDict takes a state dict of the same kind of scheduler", () => {
  const s = new StepLR(sgd(), 2);
  rejects(
    () => s.loadStateDict(bad(null)),
    "StepLR.loadStateDict: expected a scheduler state dict (from scheduler.stateDict()), got null",
  );
  rejects(
    () => s.loadStateDict(new CosineAnnealingLR(sgd(), 3).stateDict()),
    'StepLR.loadStateDict: unknown key "tMax"',
  );
  rejects(
    () => s.loadStateDict({ ...s.stateDict(), lastEpoch: 3, gamma: "0.5" }),
    'StepLR.loadStateDict: gamma must be a number, got "0.5"',
  );
  assert.equal(s.lastEpoch, 0, "a refused dict changes nothing");
  const o = sgd();
  const seq = new SequentialLR(o, [new StepLR(o, 2), new StepLR(o, 3)], [2]);
  rejects(
    () => seq.loadStateDict({ ...seq.stateDict(), schedulers: 5 }),
    "SequentialLR.loadStateDict: schedulers must be an array of state dicts, got 5",
  );
});

Deno.test("warmup checks its options and the scheduler after it", () => {
  const o = sgd();
  rejects(
    () => warmup(o, new StepLR(o, 2), bad({ iter: 3 })),
    'warmup: unknown option "iter" (expected iters, startFactor)',
  );
  rejects(
    () => warmup(o, bad(3)),
    "warmup: after must be the scheduler to run after the warm-up, got 3",
  );
  rejects(
    () => warmup(o, new StepLR(o, 2), { iters: 0 }),
    "warmup: iters must be a positive integer, got 0",
  );
  rejects(
    () => warmup(o, new StepLR(o, 2), { startFactor: 2 }),
    "warmup: startFactor must be in (0, 1], got 2",
  );
});
