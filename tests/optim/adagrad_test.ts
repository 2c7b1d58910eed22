/**
 * Adagrad against torch.optim.Adagrad (tools/gen_training_utils_fixtures.py): ten steps on
 * loss = Σ(w·v − t)² + Σ c·w², parameters and accumulators compared after every step within
 * 1e-6 + 1e-6·|expected| (float32 on both sides; the goldens carry 7 significant digits), on the
 * cpu backend's fused kernel and on the op's decomposition (a host backend without the kernel).
 * Also the state layout against PyTorch's `state_dict()`, stateDict round trips, the fused kernel
 * against the decomposition op by op, and option validation.
 */

import assert from "node:assert/strict";
import { cpuBackend } from "../../plugins/cpu/mod.ts";
import {
  explain,
  getOp,
  noGrad,
  registerBackend,
  scope,
  tensor,
  ValueError,
} from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { Adagrad, adagradUpdate } from "../../optim/mod.ts";
import type { AdagradOptions } from "../../optim/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

interface AdagradCase {
  name: string;
  options: AdagradOptions;
  groups: (AdagradOptions & { params: number[] })[] | null;
  trajectory: { params: number[][]; sums: number[][] }[];
  stateKeys: string[];
  groupKeys: string[];
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/training_utils.json", import.meta.url)),
) as { problem: Record<string, number[]>; adagrad: AdagradCase[] };

// A host backend with every cpu kernel but the fused Adagrad ones: the ops run as decompositions.
registerBackend({
  ...cpuBackend,
  name: "adagrad-nofuse",
  priority: 50,
  kernels: Object.fromEntries(
    Object.entries(cpuBackend.kernels).filter(([k]) => !k.startsWith("adagradUpdate")),
  ),
});

const P = fixture.problem;

function setup(c: AdagradCase, device = "cpu"): { params: Tensor[]; opt: Adagrad } {
  const params = [
    tensor(Float32Array.from(P.w), { shape: [3, 4], device, requiresGrad: true }),
    tensor(Float32Array.from(P.v), { device, requiresGrad: true }),
  ];
  const input = c.groups
    ? c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]) }))
    : params;
  return { params, opt: new Adagrad(input, c.options) };
}

function trainStep(params: Tensor[], opt: Adagrad): void {
  scope(() => {
    const [w, v] = params;
    const dev = w.device;
    const T = tensor(Float32Array.from(P.t), { device: dev });
    const C = tensor(Float32Array.from(P.c), { shape: [3, 4], device: dev });
    opt.zeroGrad();
    const r = w.matmul(v).sub(T);
    r.mul(r).sum().add(C.mul(w).mul(w).sum()).backward();
    opt.step();
  });
}

function assertNear(a: ArrayLike<number>, e: ArrayLike<number>, what: string, tol = 1e-6): void {
  assert.equal(a.length, e.length, `${what}: length`);
  for (let i = 0; i < e.length; i++) {
    assert.ok(
      Math.abs(a[i] - e[i]) <= tol + tol * Math.abs(e[i]),
      `${what}[${i}]: got ${a[i]}, expected ${e[i]}`,
    );
  }
}

for (const c of fixture.adagrad) {
  for (const device of ["cpu", "adagrad-nofuse"]) {
    Deno.test(`Adagrad ${c.name} follows PyTorch for 10 steps (${device})`, () => {
      const { params, opt } = setup(c, device);
      c.trajectory.forEach((expected, k) => {
        const { trace } = explain(() => trainStep(params, opt));
        // One adagradUpdateForeach per parameter group: a cpu kernel, or decomposed into one
        // (decomposed) adagradUpdate per parameter.
        const ran = trace.filter((e) => e.op.startsWith("adagradUpdate"));
        const fe = ran.filter((e) => e.op === "adagradUpdateForeach");
        const one = ran.filter((e) => e.op === "adagradUpdate");
        assert.ok(fe.length >= 1 && fe.length <= 2, `${fe.length} foreach ops`);
        if (device === "cpu") {
          assert.deepEqual(fe.map((e) => e.backend), fe.map(() => "cpu"));
          assert.equal(one.length, 0);
        } else {
          assert.deepEqual(ran.map((e) => e.backend), ran.map(() => "decomposition"));
          assert.equal(one.length, 2);
        }
        params.forEach((p, i) => {
          assertNear(p.dataSync(), expected.params[i], `step ${k + 1} param ${i}`);
          const sum = opt.state.get(p)!.sum as Tensor;
          assertNear(sum.dataSync(), expected.sums[i], `step ${k + 1} sum ${i}`);
          assert.equal(opt.state.get(p)!.step, k + 1);
        });
      });
      // Layout: PyTorch's state keys and group keys in camelCase (PyTorch also has foreach).
      const sd = opt.stateDict();
      assert.deepEqual(Object.keys(sd.state[0]).sort(), c.stateKeys);
      assert.deepEqual(
        Object.keys(sd.paramGroups[0]).sort(),
        c.groupKeys.filter((k) => k !== "foreach"),
      );
    });
  }
}

Deno.test("Adagrad creates its state when built, as PyTorch does", () => {
  const w = tensor([1, 2, 3], { requiresGrad: true });
  const opt = new Adagrad([w], { initialAccumulatorValue: 0.25 });
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state), ["0"]);
  assert.equal(sd.state[0].step, 0);
  assert.deepEqual((sd.state[0].sum as Tensor).toArraySync(), [0.25, 0.25, 0.25]);
  // A parameter without a gradient is left alone, state included.
  opt.step();
  assert.deepEqual(w.toArraySync(), [1, 2, 3]);
  assert.equal(opt.state.get(w)!.step, 0);
});

Deno.test("Adagrad stateDict/loadStateDict round trip continues the same trajectory", () => {
  const c = fixture.adagrad.find((x) => x.name === "groups")!;
  const a = setup(c);
  for (let k = 0; k < 4; k++) trainStep(a.params, a.opt);
  const sd = a.opt.stateDict();
  const b = setup({ ...c, options: { ...c.options, lr: 123 } });
  noGrad(() => b.params.forEach((p, i) => p.copy_(a.params[i])));
  b.opt.loadStateDict(sd);
  assert.equal(b.opt.paramGroups[0].lr, c.options.lr);
  assert.equal(b.opt.paramGroups[1].lr, c.groups![1].lr);
  // The loaded state is a copy: stepping A must not move B's accumulators.
  for (let k = 0; k < 6; k++) trainStep(a.params, a.opt);
  for (let k = 0; k < 6; k++) trainStep(b.params, b.opt);
  b.params.forEach((p, i) => {
    assertNear(p.dataSync(), a.params[i].dataSync(), `param ${i}`, 0);
    assertNear(p.dataSync(), c.trajectory[9].params[i], `param ${i} vs PyTorch`);
    assertNear(
      (b.opt.state.get(p)!.sum as Tensor).dataSync(),
      c.trajectory[9].sums[i],
      `sum ${i} vs PyTorch`,
    );
  });
});

Deno.test("adagradUpdate: the cpu kernel matches the decomposition for every attribute combination", () => {
  const n = 37;
  const data = (seed: number, f: (x: number) => number) =>
    tensor(Float32Array.from({ length: n }, (_, i) => f(Math.sin(seed * 97 + i * 13.7))));
  const p = data(1, (x) => x), g = data(2, (x) => 2 * x), s = data(3, (x) => x * x);
  for (const weightDecay of [0, 0.05]) {
    for (const lrDecay of [0, 0.1]) {
      for (const maximize of [false, true]) {
        for (const step of [1, 6]) {
          const attrs = { lr: 0.03, lrDecay, weightDecay, eps: 1e-6, maximize, step };
          const { result: got, trace } = explain(() => adagradUpdate(p, g, s, attrs));
          assert.deepEqual(trace.map((e) => e.backend), ["cpu"]);
          const want = noGrad(() => getOp("adagradUpdate")!.decompose!([p, g, s], attrs));
          assert.equal(got.length, 2);
          got.forEach((x, i) =>
            assertNear(x.dataSync(), want[i].dataSync(), `${JSON.stringify(attrs)} out ${i}`, 1e-6)
          );
        }
      }
    }
  }
});

Deno.test("Adagrad options are validated with the optimizer's name", () => {
  const p = () => [tensor([1], { requiresGrad: true })];
  const rejects = (f: () => unknown, text: string) => assertThrowsNamed(f, ValueError, text);
  rejects(
    () => new Adagrad(p(), { lr: -1 }),
    "Adagrad: invalid lr -1 (must be a finite number >= 0)",
  );
  rejects(() => new Adagrad(p(), { lrDecay: -0.1 }), "Adagrad: invalid lrDecay -0.1");
  rejects(() => new Adagrad(p(), { weightDecay: NaN }), "Adagrad: invalid weightDecay NaN");
  rejects(
    () => new Adagrad(p(), { initialAccumulatorValue: -1 }),
    "Adagrad: invalid initialAccumulatorValue -1",
  );
  rejects(() => new Adagrad(p(), { eps: Infinity }), "Adagrad: invalid eps Infinity");
  rejects(
    () => new Adagrad(p(), { lr_decay: 0.1 } as never),
    'Adagrad: unknown option "lr_decay"',
  );
  rejects(() => new Adagrad(p(), { maximize: 1 } as never), "Adagrad: maximize must be a boolean");
  rejects(
    () => new Adagrad([{ params: p(), lr: -0.5 }]),
    "Adagrad: parameter group 0: invalid lr -0.5",
  );
  rejects(
    () => new (Adagrad as unknown as new (...a: unknown[]) => Adagrad)(p(), {}, 3),
    "Adagrad: takes at most 2 arguments (params, options), got 3",
  );
  rejects(
    () => new Adagrad(p(), 0.1 as never),
    "Adagrad: options must be an object like { lr: 0.01 }, got 0.1",
  );
  rejects(() => new Adagrad(p()).step(1 as never), "Adagrad.step: closure must be a function");
  const int = tensor([1], { dtype: "int32" });
  assert.throws(() => new Adagrad([int]), /Adagrad: can only optimize floating-point tensors/);
  assert.throws(
    () => adagradUpdate(tensor([1, 2]), tensor([1]), tensor([1, 2]), { lr: 0.1, step: 1 }),
    /adagradUpdate: input 1 is float32 \[1\], expected float32 \[2\]/,
  );
  assert.throws(
    () => adagradUpdate(tensor([1]), tensor([1]), tensor([1]), { lr: 0.1, step: 0 }),
    /adagradUpdate/,
  );
});
