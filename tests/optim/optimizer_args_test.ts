/**
 * Optimizer argument checks: what is accepted as parameters (leaf floating-point tensors, lists,
 * groups; not a Module or a single Tensor), PyTorch's `step(closure)` for every optimizer, and
 * `loadStateDict` of something that is not an optimizer state dict. Each wrong call is a named
 * error (ValueError, DTypeError) whose message names the optimizer, the argument and what is
 * expected.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { DTypeError, isGradEnabled, noGrad, tensor, ValueError } from "../../core/mod.ts";
import type { Optimizer, Tensor } from "../../core/mod.ts";
import { nn } from "../../mod.ts";
import { Adam, AdamW, RMSprop, SGD } from "../../optim/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

type ErrorClass = new (...args: never[]) => Error;

/** Asserts `f` throws exactly `cls` with a message containing `text`. */
const throwsNamed = assertThrowsNamed;

const bad = (v: unknown): never => v as never;
const leaf = (v: number[] = [1, 2, 3]): Tensor => tensor(v, { requiresGrad: true });

const makers: [string, (ps: Tensor[]) => Optimizer<object>][] = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 })],
  ["Adam", (ps) => new Adam(ps, { lr: 0.1 })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 0.1 })],
  ["RMSprop", (ps) => new RMSprop(ps, { lr: 0.1 })],
];

Deno.test("a non-leaf tensor cannot be optimized (PyTorch: can't optimize a non-leaf Tensor)", () => {
  for (const [name, make] of makers) {
    throwsNamed(
      () => make([leaf().mul(2)]),
      ValueError,
      `${name}: can't optimize a non-leaf Tensor (parameter 0, [3] computed by mul)`,
    );
  }
  throwsNamed(
    () => new SGD([{ params: [leaf()] }, { params: [leaf(), leaf().exp()] }], { lr: 0.1 }),
    ValueError,
    "SGD: can't optimize a non-leaf Tensor (parameter 1 of group 1, [3] computed by exp)",
  );
});

Deno.test("parameters must be floating point", () => {
  throwsNamed(
    () => new Adam([tensor([1, 2], { dtype: "int32" })]),
    DTypeError,
    "Adam: can only optimize floating-point tensors, but parameter 0 is int32",
  );
  throwsNamed(
    () => new SGD([leaf(), tensor([true])], { lr: 0.1 }),
    DTypeError,
    "SGD: can only optimize floating-point tensors, but parameter 1 is bool",
  );
});

Deno.test("a Module, a single Tensor or named parameters instead of a parameter list", () => {
  const model = new nn.Linear(2, 2);
  throwsNamed(
    () => new SGD(bad(model), { lr: 0.1 }),
    ValueError,
    "SGD: params must be an iterable of Tensors or parameter groups, got a Linear (a Module); " +
      "pass model.parameters()",
  );
  throwsNamed(
    () => new Adam(bad(leaf())),
    ValueError,
    "Adam: params must be an iterable of Tensors or parameter groups, got a single [3] Tensor; " +
      "pass a list: [w]",
  );
  throwsNamed(
    () => new RMSprop(bad(model.namedParameters())),
    ValueError,
    "RMSprop: got [name, Tensor] pairs (namedParameters()); pass model.parameters()",
  );
  for (const v of [null, 5, "abc", { lr: 1 }]) {
    throwsNamed(
      () => new SGD(bad(v), { lr: 0.1 }),
      ValueError,
      "SGD: params must be an iterable of Tensors or parameter groups",
    );
  }
  throwsNamed(
    () => new SGD(bad([leaf(), { params: [leaf()] }]), { lr: 0.1 }),
    ValueError,
    "SGD: parameters must be Tensors, but parameter 1 is an object with keys params",
  );
  // What PyTorch accepts still works: model.parameters(), any iterable, a group with one tensor.
  assert.equal(new SGD(model.parameters(), { lr: 0.1 }).paramGroups[0].params.length, 2);
  assert.equal(new SGD(new Set([leaf()]), { lr: 0.1 }).paramGroups[0].params.length, 1);
  const w = leaf();
  assert.deepEqual(new SGD([{ params: w }], { lr: 0.1 }).paramGroups[0].params, [w]);
});

Deno.test("group option values are checked like the defaults, naming the group", () => {
  const g = (o: object) => [{ params: [leaf()] }, { params: [leaf()], ...o }];
  throwsNamed(
    () => new SGD(g({ lr: -1 }), { lr: 0.1 }),
    ValueError,
    "SGD: parameter group 1: invalid learning rate -1 (must be >= 0)",
  );
  throwsNamed(
    () => new Adam(g({ betas: [0.9, 1] })),
    ValueError,
    "Adam: parameter group 1: invalid beta at index 1: 1 (must be in [0, 1))",
  );
  throwsNamed(
    () => new RMSprop(g({ alpha: NaN })),
    ValueError,
    "RMSprop: parameter group 1: invalid alpha NaN (must be >= 0)",
  );
});

for (const [name, make] of makers) {
  Deno.test(`${name}.step(closure) calls the closure once per step and returns its loss`, () => {
    const w = leaf([1, -2]);
    const opt = make([w]);
    let calls = 0;
    const closure = (): Tensor => {
      calls++;
      assert.ok(isGradEnabled(), "the closure runs with gradient recording on");
      opt.zeroGrad();
      const loss = w.mul(w).sum();
      loss.backward();
      return loss;
    };
    const before = [...w.dataSync()];
    for (let k = 1; k <= 3; k++) {
      // Inside noGrad too: PyTorch runs the closure under enable_grad.
      const loss = k === 2 ? noGrad(() => opt.step(closure)) : opt.step(closure);
      assert.equal(calls, k);
      assert.ok(loss.requiresGrad);
      assert.equal(loss.shape.length, 0);
    }
    assert.notDeepEqual([...w.dataSync()], before, "the parameters were updated");
    // The returned value is whatever the closure returned (PyTorch returns the loss as is).
    assert.equal(opt.step(() => 42), 42);
    assert.equal(opt.step(), undefined);
    assert.equal(calls, 3);
  });
}

Deno.test("step(closure) gives the same update as backward then step()", () => {
  const a = leaf([1, -2]), b = leaf([1, -2]);
  const oa = new Adam([a], { lr: 0.1 }), ob = new Adam([b], { lr: 0.1 });
  for (let k = 0; k < 3; k++) {
    oa.zeroGrad();
    a.mul(a).sum().backward();
    oa.step();
    ob.step(() => {
      ob.zeroGrad();
      const l = b.mul(b).sum();
      l.backward();
      return l;
    });
  }
  assert.deepEqual([...b.dataSync()], [...a.dataSync()]);
});

Deno.test("step with something other than a closure is a ValueError; nothing is updated", () => {
  const w = leaf();
  const opt = new SGD([w], { lr: 0.1 });
  w.sum().backward();
  for (const v of [5, "x", true, { loss: 1 }]) {
    throwsNamed(
      () => opt.step(bad(v)),
      ValueError,
      "SGD.step: closure must be a function that re-evaluates the model and returns the loss",
    );
  }
  throwsNamed(
    () =>
      opt.step(bad(async () => {
        await Promise.resolve();
        return 1;
      })),
    ValueError,
    "SGD.step: closure must be synchronous, got an async function",
  );
  throwsNamed(
    () => opt.step(() => Promise.resolve(1)),
    ValueError,
    "SGD.step: closure returned a promise; it must be synchronous",
  );
  assert.deepEqual([...w.dataSync()], [1, 2, 3]);
  throwsNamed(
    () => (opt.step as (...a: unknown[]) => unknown)(() => 1, 2),
    ValueError,
    "Optimizer.step: takes at most 1 argument, got 2",
  );
  throwsNamed(
    () => (opt.zeroGrad as (...a: unknown[]) => unknown)(false),
    ValueError,
    "Optimizer.zeroGrad: takes at most 0 arguments, got 1 (false)",
  );
});

Deno.test("loadStateDict of null, a module's state dict or a malformed dict names what it expects", () => {
  const model = new nn.Linear(2, 2);
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const expected = "SGD.loadStateDict: expected an optimizer state dict { state, paramGroups } " +
    "(from optimizer.stateDict())";
  throwsNamed(() => opt.loadStateDict(bad(null)), ValueError, `${expected}, got null`);
  throwsNamed(() => opt.loadStateDict(bad(undefined)), ValueError, `${expected}, got undefined`);
  throwsNamed(
    () => opt.loadStateDict(bad(model.stateDict())),
    ValueError,
    `${expected}, got an object with keys weight, bias (a module's state dict: load it with ` +
      "model.loadStateDict)",
  );
  throwsNamed(() => opt.loadStateDict(bad({ paramGroups: [] })), ValueError, expected);
  throwsNamed(
    () => opt.loadStateDict(bad({ state: {}, paramGroups: [5] })),
    ValueError,
    "SGD.loadStateDict: parameter group 0 must be { params: [indices], ...options }, got 5",
  );
  throwsNamed(
    () => opt.loadStateDict(bad({ state: {}, paramGroups: [{ params: ["a", "b"] }] })),
    ValueError,
    'SGD.loadStateDict: group 0 params must be parameter indices (non-negative integers), got "a"',
  );
  throwsNamed(
    () => opt.loadStateDict(bad({ state: {}, paramGroups: [{ params: [0, 1], lr: "0.1" }] })),
    ValueError,
    'SGD.loadStateDict: parameter group 0 option lr must be like 0.1, got "0.1"',
  );
  throwsNamed(
    () => opt.loadStateDict(bad({ state: {}, paramGroups: [{ params: [0, 1], lr: -1 }] })),
    ValueError,
    "SGD: parameter group 0: invalid learning rate -1 (must be >= 0)",
  );
  throwsNamed(
    () =>
      opt.loadStateDict(
        bad({ state: { 0: { momentumBuffer: [1, 2] } }, paramGroups: [{ params: [0, 1] }] }),
      ),
    ValueError,
    "SGD.loadStateDict: state momentumBuffer of parameter 0 must be a Tensor or a number, got an " +
      "array of 2",
  );
  // A refused dict changes nothing (checked before anything is assigned).
  throwsNamed(
    () =>
      opt.loadStateDict(
        bad({ state: { 0: 5 }, paramGroups: [{ params: [0, 1], lr: 0.5 }] }),
      ),
    ValueError,
    "SGD.loadStateDict: state of parameter 0 must be an object of tensors and numbers, got 5",
  );
  assert.equal(opt.paramGroups[0].lr, 0.1);
  // A real one still loads, with a scheduler's extra group keys kept.
  const sd = opt.stateDict();
  sd.paramGroups[0].initialLr = 0.1;
  sd.paramGroups[0].lr = 0.05;
  opt.loadStateDict(sd);
  assert.equal(opt.paramGroups[0].lr, 0.05);
});
