/**
 * Optimizers against PyTorch trajectories from tools/gen_optim_fixtures.py: five steps on
 * loss = Σ(w·v − t)² + Σ c·w², parameters compared after every step within 1e-6 + 1e-6·|expected|
 * (both sides run in float32; the goldens carry 7 significant digits). Also the state layout
 * against PyTorch's `state_dict()` keys, a stateDict round trip and option validation.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { noGrad, scope, tensor, ValueError } from "../../core/mod.ts";
import type { Optimizer } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { Adam, AdamW, RMSprop, SGD } from "../../optim/mod.ts";

interface OptimCase {
  name: string;
  optimizer: string;
  options: Record<string, unknown>;
  groups: (Record<string, unknown> & { params: number[] })[] | null;
  trajectory: number[][][];
  stateKeys: string[];
  groupKeys: string[];
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/optim.json", import.meta.url)),
) as { problem: Record<string, number[]>; optimizers: OptimCase[] };

const P = fixture.problem;
const T = tensor(Float32Array.from(P.t));
const C = tensor(Float32Array.from(P.c), { shape: [3, 4] });
const ctors: Record<string, new (params: never, options: never) => Optimizer<object>> = {
  SGD,
  Adam,
  AdamW,
  RMSprop,
} as never;

function setup(c: OptimCase): { params: Tensor[]; opt: Optimizer<object> } {
  const params = [
    tensor(Float32Array.from(P.w), { shape: [3, 4], requiresGrad: true }),
    tensor(Float32Array.from(P.v), { requiresGrad: true }),
  ];
  const input = c.groups
    ? c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]) }))
    : params;
  return { params, opt: new ctors[c.optimizer](input as never, c.options as never) };
}

function lossOf([w, v]: Tensor[]): Tensor {
  const r = w.matmul(v).sub(T);
  return r.mul(r).sum().add(C.mul(w).mul(w).sum());
}

function trainStep(params: Tensor[], opt: Optimizer<object>): void {
  scope(() => {
    opt.zeroGrad();
    lossOf(params).backward();
    opt.step();
  });
}

function assertNear(a: ArrayLike<number>, e: ArrayLike<number>, what: string, tol = 1e-6): void {
  assert.equal(a.length, e.length);
  for (let i = 0; i < e.length; i++) {
    assert.ok(
      Math.abs(a[i] - e[i]) <= tol + tol * Math.abs(e[i]),
      `${what}[${i}]: got ${a[i]}, expected ${e[i]}`,
    );
  }
}

for (const c of fixture.optimizers) {
  Deno.test(`${c.optimizer}: ${c.name} follows PyTorch for 5 steps`, () => {
    const { params, opt } = setup(c);
    c.trajectory.forEach((expected, k) => {
      trainStep(params, opt);
      params.forEach((p, i) => assertNear(p.dataSync(), expected[i], `step ${k + 1} param ${i}`));
    });
    // Layout: state and group keys are PyTorch's, in camelCase (PyTorch has a few more group keys:
    // foreach, capturable, differentiable, fused).
    const sd = opt.stateDict();
    for (const s of Object.values(sd.state)) {
      for (const k of Object.keys(s)) assert.ok(c.stateKeys.includes(k), `state key ${k}`);
    }
    const mine = Object.keys(sd.state[0] ?? {}).sort();
    if (c.optimizer !== "SGD" || mine.length) assert.deepEqual(mine, c.stateKeys);
    for (const k of Object.keys(sd.paramGroups[0])) {
      assert.ok(c.groupKeys.includes(k), `group key ${k}`);
    }
  });
}

Deno.test("stateDict/loadStateDict round trip continues the same trajectory", () => {
  for (const name of ["sgd nesterov weightDecay", "adam amsgrad", "rmsprop centered momentum"]) {
    const c = fixture.optimizers.find((o) => o.name.startsWith(name))!;
    const a = setup(c);
    for (let k = 0; k < 3; k++) trainStep(a.params, a.opt);
    const sd = a.opt.stateDict();
    const b = setup({ ...c, options: { ...c.options, lr: 123 } });
    noGrad(() => b.params.forEach((p, i) => p.copy_(a.params[i])));
    b.opt.loadStateDict(sd);
    assert.equal((b.opt.paramGroups[0] as unknown as { lr: number }).lr, c.options.lr);
    // The loaded state is a copy: stepping A must not move B's buffers.
    for (let k = 0; k < 2; k++) trainStep(a.params, a.opt);
    for (let k = 0; k < 2; k++) trainStep(b.params, b.opt);
    a.params.forEach((p, i) =>
      assertNear(b.params[i].dataSync(), p.dataSync(), `${name} param ${i}`, 0)
    );
    assertNear(b.params[0].dataSync(), c.trajectory[4][0], `${name} vs PyTorch`);
  }
});

Deno.test("loadStateDict rejects a mismatched layout", () => {
  const c = fixture.optimizers.find((o) => o.name === "adam default")!;
  const a = setup(c);
  trainStep(a.params, a.opt);
  const one = new Adam([tensor([1, 2], { requiresGrad: true })]);
  assert.throws(() => one.loadStateDict(a.opt.stateDict()), /Adam.loadStateDict: group 0/);
});

Deno.test("options are validated with the optimizer's name", () => {
  const p = [tensor([1], { requiresGrad: true })];
  assert.throws(() => new SGD(p, { lr: -1 }), /SGD: invalid learning rate/);
  assert.throws(() => new SGD(p, { lr: 0.1, nesterov: true }), /SGD: nesterov/);
  assert.throws(() => new Adam(p, { betas: [1, 0.9] }), /Adam: invalid beta at index 0/);
  assert.throws(() => new AdamW(p, { eps: -1 }), /AdamW: invalid eps/);
  assert.throws(() => new RMSprop(p, { alpha: -0.1 }), /RMSprop: invalid alpha/);
  assert.throws(() => new Adam([]), ValueError);
  assert.equal(new AdamW(p).paramGroups[0].weightDecay, 1e-2);
  assert.equal(new Adam(p).paramGroups[0].weightDecay, 0);
});

Deno.test("step runs under noGrad, updates in place and skips parameters without gradients", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const frozen = tensor([3], { requiresGrad: true });
  const storage = w.storage;
  const opt = new Adam([w, frozen], { lr: 0.1 });
  w.mul(w).sum().backward();
  opt.step();
  assert.equal(w.storage, storage);
  assert.ok(w.isLeaf && w.requiresGrad && w.gradFn === null);
  assert.deepEqual([...frozen.dataSync()], [3]);
  assert.equal(opt.state.has(frozen), false);
  opt.zeroGrad();
  assert.equal(w.grad, null);
});
