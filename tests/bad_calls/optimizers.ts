/**
 * The "optimizers" group of the bad-call catalogue (./mod.ts): optimizers.
 *
 * @module
 */

import { nn, optim, ValueError } from "../../mod.ts";
import { bad, leaf, params, sgd } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const optimizers: Omit<BadCall, "group">[] = [
  {
    name: "SGD without options",
    run: (d) => new optim.SGD(params(d), bad(undefined)),
    error: ValueError,
    message: "SGD: lr is required, e.g. new SGD(params, { lr: 0.1 })",
  },
  {
    name: "SGD with a positional lr",
    run: (d) => new optim.SGD(params(d), bad(0.1)),
    error: ValueError,
    message: "SGD: options must be an object like { lr: 0.1 }, got 0.1",
  },
  {
    name: "SGD with a misspelt momentum",
    run: (d) => new optim.SGD(params(d), bad({ lr: 0.1, momentm: 0.9 })),
    error: ValueError,
    message:
      'SGD: unknown option "momentm" (expected lr, momentum, dampening, weightDecay, nesterov, maximize)',
  },
  {
    name: "SGD with a string momentum",
    run: (d) => new optim.SGD(params(d), bad({ lr: 0.1, momentum: "0.9" })),
    error: ValueError,
    message: 'SGD: momentum must be a number, got "0.9"',
  },
  {
    name: "SGD with weight_decay (snake case)",
    run: (d) => new optim.SGD(params(d), bad({ lr: 0.1, weight_decay: 1e-4 })),
    error: ValueError,
    message:
      'SGD: unknown option "weight_decay" (expected lr, momentum, dampening, weightDecay, nesterov, maximize)',
  },
  {
    name: "SGD with a negative lr",
    run: (d) => new optim.SGD(params(d), { lr: -1 }),
    error: ValueError,
    message: "SGD: invalid learning rate -1 (must be >= 0)",
  },
  {
    name: "SGD with lr NaN",
    run: (d) => new optim.SGD(params(d), { lr: NaN }),
    error: ValueError,
    message: "SGD: invalid learning rate NaN (must be >= 0)",
  },
  {
    name: "SGD with a negative momentum",
    run: (d) => new optim.SGD(params(d), { lr: 0.1, momentum: -1 }),
    error: ValueError,
    message: "SGD: invalid momentum -1 (must be >= 0)",
  },
  {
    name: "SGD with a negative weightDecay",
    run: (d) => new optim.SGD(params(d), { lr: 0.1, weightDecay: -1 }),
    error: ValueError,
    message: "SGD: invalid weightDecay -1 (must be >= 0)",
  },
  {
    name: "SGD with nesterov and no momentum",
    run: (d) => new optim.SGD(params(d), { lr: 0.1, nesterov: true }),
    error: ValueError,
    message: "SGD: nesterov momentum requires a momentum and zero dampening",
  },
  {
    name: "SGD with an empty parameter list",
    run: () => new optim.SGD([], { lr: 0.1 }),
    error: ValueError,
    message: "SGD: got an empty parameter list",
  },
  {
    name: "SGD given a module instead of its parameters",
    run: (d) => new optim.SGD(bad(new nn.Linear(2, 2, { device: d })), { lr: 0.1 }),
    error: ValueError,
    message:
      "SGD: params must be an iterable of Tensors or parameter groups, got a Linear (a Module); pass model.parameters()",
  },
  {
    name: "SGD given a single tensor",
    run: (d) => new optim.SGD(bad(leaf(d)), { lr: 0.1 }),
    error: ValueError,
    message:
      "SGD: params must be an iterable of Tensors or parameter groups, got a single [3] Tensor; pass a list: [w]",
  },
  {
    name: "SGD given numbers as parameters",
    run: () => new optim.SGD(bad([1, 2]), { lr: 0.1 }),
    error: ValueError,
    message: "SGD: parameter group 0 must be { params: [...], ...options }",
  },
  {
    name: "SGD with a parameter in two groups",
    run: (d) => {
      const p = params(d);
      return new optim.SGD([{ params: p }, { params: p }], { lr: 0.1 });
    },
    error: ValueError,
    message: "SGD: a parameter appears in more than one group",
  },
  {
    name: "SGD with a non-leaf parameter",
    run: (d) => new optim.SGD([leaf(d).mul(2)], { lr: 0.1 }),
    error: ValueError,
    message: "SGD: can't optimize a non-leaf Tensor (parameter 0, [3] computed by mul)",
  },
  {
    name: "SGD with a misspelt group option",
    run: (d) => new optim.SGD([{ params: params(d), lrr: 1 } as never], { lr: 0.1 }),
    error: ValueError,
    message:
      'SGD: parameter group 0 has unknown option "lrr" (expected momentum, dampening, weightDecay, nesterov',
  },
  {
    name: "SGD with a string group lr",
    run: (d) => new optim.SGD([{ params: params(d), lr: bad("1") }], { lr: 0.1 }),
    error: ValueError,
    message: 'SGD: parameter group 0 option lr must be like 0.1, got "1"',
  },
  {
    name: "SGD with a group lacking params",
    run: () => new optim.SGD([bad({ lr: 1 })], { lr: 0.1 }),
    error: ValueError,
    message: "SGD: parameter group 0 must be { params: [...], ...options }",
  },
  {
    name: "Adam with one beta",
    run: (d) => new optim.Adam(params(d), bad({ betas: [0.9] })),
    error: ValueError,
    message: "Adam: betas must be 2 numbers, got [0.9]",
  },
  {
    name: "Adam with beta2 1",
    run: (d) => new optim.Adam(params(d), { betas: [0.9, 1] }),
    error: ValueError,
    message: "Adam: invalid beta at index 1: 1 (must be in [0, 1))",
  },
  {
    name: "Adam with a negative eps",
    run: (d) => new optim.Adam(params(d), { eps: -1 }),
    error: ValueError,
    message: "Adam: invalid eps -1 (must be >= 0)",
  },
  {
    name: "Adam with a negative lr",
    run: (d) => new optim.Adam(params(d), { lr: -1e-3 }),
    error: ValueError,
    message: "Adam: invalid learning rate -0.001 (must be >= 0)",
  },
  {
    name: "Adam with a positional lr",
    run: (d) => new optim.Adam(params(d), bad(1e-3)),
    error: ValueError,
    message: "Adam: options must be an object like { lr: 0.01 }, got 0.001",
  },
  {
    name: "Adam with a NaN beta",
    run: (d) => new optim.Adam(params(d), { betas: [0.9, NaN] }),
    error: ValueError,
    message: "Adam: invalid beta at index 1: NaN (must be in [0, 1))",
  },
  {
    name: "AdamW with weight_decay (snake case)",
    run: (d) => new optim.AdamW(params(d), bad({ weight_decay: 0.1 })),
    error: ValueError,
    message:
      'AdamW: unknown option "weight_decay" (expected lr, betas, eps, weightDecay, amsgrad, maximize)',
  },
  {
    name: "AdamW with amsgrad 'yes'",
    run: (d) => new optim.AdamW(params(d), bad({ amsgrad: "yes" })),
    error: ValueError,
    message: 'AdamW: amsgrad must be a boolean, got "yes"',
  },
  {
    name: "RMSprop with rho (Keras name)",
    run: (d) => new optim.RMSprop(params(d), bad({ lr: 0.1, rho: 0.9 })),
    error: ValueError,
    message:
      'RMSprop: unknown option "rho" (expected lr, alpha, eps, weightDecay, momentum, centered, maximize)',
  },
  {
    name: "RMSprop with a negative alpha",
    run: (d) => new optim.RMSprop(params(d), { lr: 0.1, alpha: -1 }),
    error: ValueError,
    message: "RMSprop: invalid alpha -1 (must be >= 0)",
  },
  {
    name: "optimizer loadStateDict with another group count",
    run: (d) => {
      const o = sgd(d);
      return o.loadStateDict({ state: {}, paramGroups: [] });
    },
    error: ValueError,
    message: "SGD.loadStateDict: 0 parameter groups saved, 1 here",
  },
  {
    name: "optimizer loadStateDict with another parameter count",
    run: (d) => {
      const o = sgd(d);
      return o.loadStateDict({ state: {}, paramGroups: [{ lr: 0.1, params: [0] }] });
    },
    error: ValueError,
    message: "SGD.loadStateDict: group 0 has 1 parameters saved, 2 here",
  },
  {
    name: "optimizer loadStateDict with state for an unknown parameter",
    run: (d) => {
      const o = sgd(d);
      return o.loadStateDict({
        state: { 7: { step: 1 } },
        paramGroups: [{ lr: 0.1, params: [0, 1] }],
      });
    },
    error: ValueError,
    message: "SGD.loadStateDict: state for unknown parameter 7",
  },
  {
    name: "optimizer loadStateDict of null",
    run: (d) => sgd(d).loadStateDict(bad(null)),
    error: ValueError,
    message:
      "SGD.loadStateDict: expected an optimizer state dict { state, paramGroups } (from optimizer.stateDict()), got null",
  },
  {
    name: "optimizer loadStateDict of a module state dict",
    run: (d) => sgd(d).loadStateDict(bad(new nn.Linear(2, 2, { device: d }).stateDict())),
    error: ValueError,
    message:
      "SGD.loadStateDict: expected an optimizer state dict { state, paramGroups } (from optimizer.stateDict()), got an object with keys weight, bias (a module's state dict: load it with model.loadStateDict)",
  },
  {
    name: "StepLR with stepSize 0",
    run: (d) => new optim.StepLR(sgd(d), 0),
    error: ValueError,
    message: "StepLR: stepSize must be a positive integer, got 0",
  },
  {
    name: "StepLR with a fractional stepSize",
    run: (d) => new optim.StepLR(sgd(d), 1.5),
    error: ValueError,
    message: "StepLR: stepSize must be a positive integer, got 1.5",
  },
  {
    name: "StepLR with a misspelt gamma",
    run: (d) => new optim.StepLR(sgd(d), 2, bad({ gama: 0.5 })),
    error: ValueError,
    message: 'StepLR: unknown option "gama" (expected gamma, lastEpoch)',
  },
  {
    name: "StepLR of something not an optimizer",
    run: () => new optim.StepLR(bad({}), 2),
    error: ValueError,
    message:
      "StepLR: optimizer must be an optimizer (an object with paramGroups, such as new SGD(...)), got Object",
  },
  {
    name: "StepLR resumed without initialLr",
    run: (d) => new optim.StepLR(sgd(d), 2, { lastEpoch: 5 }),
    error: ValueError,
    message: "StepLR: resuming at lastEpoch 5 needs initialLr in parameter group 0",
  },
  {
    name: "MultiStepLR with a string milestone",
    run: (d) => new optim.MultiStepLR(sgd(d), bad(["2"])),
    error: ValueError,
    message:
      'MultiStepLR: milestones must be an array of increasing non-negative integers (epochs), got ["2"]',
  },
  {
    name: "MultiStepLR with a number for milestones",
    run: (d) => new optim.MultiStepLR(sgd(d), bad(3)),
    error: ValueError,
    message:
      "MultiStepLR: milestones must be an array of increasing non-negative integers (epochs), got 3",
  },
  {
    name: "CosineAnnealingLR with tMax 0",
    run: (d) => new optim.CosineAnnealingLR(sgd(d), 0),
    error: ValueError,
    message: "CosineAnnealingLR: tMax must be a positive integer, got 0",
  },
  {
    name: "CosineAnnealingLR with eta_min (snake case)",
    run: (d) => new optim.CosineAnnealingLR(sgd(d), 5, bad({ eta_min: 0.01 })),
    error: ValueError,
    message: 'CosineAnnealingLR: unknown option "eta_min" (expected etaMin, lastEpoch)',
  },
  {
    name: "LinearLR with startFactor 0",
    run: (d) => new optim.LinearLR(sgd(d), { startFactor: 0 }),
    error: ValueError,
    message: "LinearLR: startFactor must be in (0, 1], got 0",
  },
  {
    name: "LinearLR with endFactor 2",
    run: (d) => new optim.LinearLR(sgd(d), { endFactor: 2 }),
    error: ValueError,
    message: "LinearLR: endFactor must be in [0, 1], got 2",
  },
  {
    name: "LinearLR with totalIters 0",
    run: (d) => new optim.LinearLR(sgd(d), { totalIters: 0 }),
    error: ValueError,
    message: "LinearLR: totalIters must be a positive integer, got 0",
  },
  {
    name: "SequentialLR with too many milestones",
    run: (d) => {
      const o = sgd(d);
      return new optim.SequentialLR(o, [new optim.StepLR(o, 2)], [1]);
    },
    error: ValueError,
    message:
      "SequentialLR: expected one milestone fewer than schedulers, got 1 schedulers and 1 milestones",
  },
  {
    name: "SequentialLR with a scheduler of another optimizer",
    run: (d) => {
      const o = sgd(d);
      return new optim.SequentialLR(o, [new optim.StepLR(sgd(d), 2)], []);
    },
    error: ValueError,
    message: "SequentialLR: scheduler 0 drives a different optimizer than the one given",
  },
  {
    name: "scheduler step with a string epoch",
    run: (d) => {
      const o = sgd(d);
      new optim.StepLR(o, 2).step(bad("x"));
      return o.paramGroups[0].lr;
    },
    error: ValueError,
    message:
      'StepLR.step: epoch must be a non-negative integer (PyTorch\'s deprecated step(epoch)), or omitted to advance one epoch; got "x"',
  },
];
