/**
 * The fused optimizer-update ops (`sgdUpdate`, `adamUpdate`, `rmspropUpdate`) against their
 * decompositions: op by op for every attribute combination, and whole optimizer trajectories on
 * the cpu backend's fused kernels against the same optimizers on a toy host backend that has every
 * cpu kernel except the fused ones (so the ops run as their decompositions). Also the storage swap
 * that writes the results back in place.
 */

import assert from "node:assert/strict";
import { cpuBackend } from "../../plugins/cpu/mod.ts";
import {
  apply,
  explain,
  fromData,
  getOp,
  noGrad,
  registerBackend,
  tensor,
} from "../../core/mod.ts";
import type { Optimizer, Tensor } from "../../core/mod.ts";
import {
  Adam,
  adamUpdate,
  AdamW,
  assignStorage,
  RMSprop,
  rmspropUpdate,
  SGD,
  sgdUpdate,
} from "../../optim/mod.ts";
import { rand } from "./_rand.ts";

const FUSED = [
  "sgdUpdate",
  "sgdUpdateForeach",
  "adamUpdate",
  "adamUpdateForeach",
  "rmspropUpdate",
  "rmspropUpdateForeach",
];
registerBackend({
  ...cpuBackend,
  name: "nofuse",
  priority: 50,
  kernels: Object.fromEntries(
    Object.entries(cpuBackend.kernels).filter(([k]) => !FUSED.includes(k)),
  ),
});

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${what}[${i}]: fused ${got[i]}, decomposed ${want[i]}`,
    );
  }
}

const SHAPE = [6, 7];
const N = 42;

function decomposed(name: string, inputs: Tensor[], attrs: unknown): Tensor[] {
  const op = getOp(name)!;
  return noGrad(() => op.decompose!(inputs, attrs));
}

function fusedOnCpu<T>(fn: () => T): T {
  const { result, trace } = explain(fn);
  for (const e of trace) {
    if (FUSED.includes(e.op)) assert.equal(`${e.op}:${e.backend}:${e.via}`, `${e.op}:cpu:device`);
  }
  return result;
}

const t = (seed: number, scale = 1) => tensor(rand(N, seed, scale), { shape: SHAPE });
const positive = (seed: number) => tensor(rand(N, seed).map((x) => x * x * 0.1), { shape: SHAPE });

Deno.test("sgdUpdate: the cpu kernel matches the decomposition for every attribute combination", () => {
  const p = t(1), g = t(2), b = t(3);
  for (const momentum of [0, 0.9]) {
    for (const dampening of [0, 0.3]) {
      for (const weightDecay of [0, 0.01]) {
        for (const nesterov of momentum && !dampening ? [false, true] : [false]) {
          for (const maximize of [false, true]) {
            for (const first of momentum ? [false, true] : [false]) {
              const attrs = {
                lr: 0.1,
                momentum,
                dampening,
                weightDecay,
                nesterov,
                maximize,
                first,
              };
              const buf = momentum && !first ? b : null;
              const got = fusedOnCpu(() => sgdUpdate(p, g, buf, attrs));
              const want = decomposed("sgdUpdate", buf ? [p, g, buf] : [p, g], attrs);
              assert.equal(got.length, momentum ? 2 : 1);
              got.forEach((x, i) =>
                assertClose(x.dataSync(), want[i].dataSync(), `${JSON.stringify(attrs)} out ${i}`)
              );
            }
          }
        }
      }
    }
  }
});

Deno.test("adamUpdate: the cpu kernel matches the decomposition for every attribute combination", () => {
  const p = t(4), g = t(5), m = t(6, 0.1), v = positive(7), vmax = positive(8);
  for (const weightDecay of [0, 0.05]) {
    for (const decoupled of [false, true]) {
      for (const amsgrad of [false, true]) {
        for (const maximize of [false, true]) {
          for (const step of [1, 7]) {
            const attrs = {
              lr: 0.01,
              beta1: 0.8,
              beta2: 0.99,
              eps: 1e-6,
              weightDecay,
              decoupled,
              amsgrad,
              maximize,
              step,
            };
            const got = fusedOnCpu(() => adamUpdate(p, g, m, v, amsgrad ? vmax : null, attrs));
            const want = decomposed(
              "adamUpdate",
              amsgrad ? [p, g, m, v, vmax] : [p, g, m, v],
              attrs,
            );
            assert.equal(got.length, amsgrad ? 4 : 3);
            got.forEach((x, i) =>
              assertClose(x.dataSync(), want[i].dataSync(), `${JSON.stringify(attrs)} out ${i}`)
            );
          }
        }
      }
    }
  }
});

Deno.test("rmspropUpdate: the cpu kernel matches the decomposition for every attribute combination", () => {
  const p = t(9), g = t(10), sq = positive(11), buf = t(12, 0.1), ga = t(13, 0.01);
  for (const weightDecay of [0, 0.05]) {
    for (const momentum of [0, 0.9]) {
      for (const centered of [false, true]) {
        for (const maximize of [false, true]) {
          const attrs = {
            lr: 0.01,
            alpha: 0.9,
            eps: 1e-6,
            weightDecay,
            momentum,
            centered,
            maximize,
          };
          const inputs = [p, g, sq];
          if (momentum) inputs.push(buf);
          if (centered) inputs.push(ga);
          const got = fusedOnCpu(() =>
            rmspropUpdate(p, g, sq, momentum ? buf : null, centered ? ga : null, attrs)
          );
          const want = decomposed("rmspropUpdate", inputs, attrs);
          assert.equal(got.length, inputs.length - 1);
          got.forEach((x, i) =>
            assertClose(x.dataSync(), want[i].dataSync(), `${JSON.stringify(attrs)} out ${i}`)
          );
        }
      }
    }
  }
});

Deno.test("fused ops check their inputs", () => {
  const p = t(1);
  assert.throws(() => sgdUpdate(p, tensor([1, 2]), null, { lr: 0.1 }), /sgdUpdate: input 1/);
  assert.throws(
    () => sgdUpdate(p, p, null, { lr: 0.1, momentum: 0.9, first: false }),
    /sgdUpdate: expected 3 input tensors/,
  );
  assert.throws(
    () => adamUpdate(p, p, p, p, null, { lr: 0.1, step: 1, amsgrad: true }),
    /amsgrad needs/,
  );
  assert.throws(
    () => rmspropUpdate(p, p, p, null, null, { lr: 0.1, momentum: 0.5 }),
    /momentum needs/,
  );
  const i = tensor([1, 2], { dtype: "int32" });
  assert.throws(() => sgdUpdate(i, i, null, { lr: 1 }), /floating-point/);
});

Deno.test("sgdUpdateForeach: one op over parameters of several shapes equals one sgdUpdate each", () => {
  const op = getOp("sgdUpdateForeach")!;
  const shapes = [[3, 4], [5], [2, 2, 2]];
  const make = (seed: number) =>
    shapes.map((s, i) => tensor(rand(s.reduce((a, b) => a * b), seed + i), { shape: s }));
  for (const momentum of [0, 0.9]) {
    for (const first of momentum ? [true, false] : [false]) {
      for (const extra of [{}, { nesterov: true }, { dampening: 0.2, weightDecay: 0.1 }]) {
        if ("nesterov" in extra && !momentum) continue;
        const attrs = {
          lr: 0.1,
          momentum,
          dampening: 0,
          weightDecay: 0,
          nesterov: false,
          maximize: false,
          first,
          ...extra,
        };
        const ps = make(1), gs = make(10), bs = make(20);
        const withBuf = momentum !== 0 && !first;
        const got = fusedOnCpu(() =>
          apply(op, [...ps, ...gs, ...(withBuf ? bs : [])], { ...attrs, count: 3 })
        );
        assert.equal(got.length, momentum ? 6 : 3);
        ps.forEach((p, i) => {
          const want = sgdUpdate(p, gs[i], withBuf ? bs[i] : null, attrs);
          assert.deepEqual(got[i].dataSync(), want[0].dataSync(), `parameter ${i}`);
          if (momentum) assert.deepEqual(got[3 + i].dataSync(), want[1].dataSync(), `buffer ${i}`);
        });
      }
    }
  }
  const p = t(1);
  const attrs = { lr: 0.1, momentum: 0.9, first: false, count: 2 };
  assert.throws(() => apply(op, [p, p, p, p], attrs), /sgdUpdateForeach: expected 6 input/);
  assert.throws(
    () => apply(op, [p, p, p, tensor([1, 2]), p, p], attrs),
    /sgdUpdateForeach \(parameter 1\): sgdUpdate: input 1/,
  );
});

Deno.test("SGD: one sgdUpdateForeach a step over every parameter, and float16 parameters too", () => {
  const ps = [tensor(rand(12, 3), { shape: [3, 4] }), tensor(rand(5, 4), { dtype: "float16" })];
  const opt = new SGD(ps, { lr: 0.1, momentum: 0.9 });
  for (let k = 0; k < 3; k++) {
    ps.forEach((p, i) => p.grad = tensor(rand(p.numel(), 7 * k + i), { shape: [...p.shape] }));
    ps[1].grad = ps[1].grad!.cast("float16");
    const { trace } = explain(() => opt.step());
    assert.deepEqual(trace.filter((e) => e.op.startsWith("sgdUpdate")).map((e) => e.op), [
      "sgdUpdateForeach",
    ]);
  }
  assert.equal(ps[1].dtype, "float16");
  assert.equal((opt.state.get(ps[1])!.momentumBuffer as Tensor).dtype, "float16");
});

// Five steps of each optimizer on synthetic gradients, on cpu (fused kernels) and on "nofuse"
// (decompositions), comparing parameters and every state tensor after each step.
const CASES: [string, (ps: Tensor[]) => Optimizer<object>][] = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.1 })],
  ["SGD momentum dampening", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.2 })],
  [
    "SGD nesterov weightDecay",
    (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  ],
  ["SGD maximize momentum", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.5, maximize: true })],
  ["Adam", (ps) => new Adam(ps, { lr: 0.01 })],
  ["Adam weightDecay amsgrad", (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.1, amsgrad: true })],
  ["Adam maximize", (ps) => new Adam(ps, { lr: 0.01, maximize: true, betas: [0.5, 0.9] })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 })],
  ["AdamW amsgrad", (ps) => new AdamW(ps, { lr: 0.01, amsgrad: true })],
  ["RMSprop", (ps) => new RMSprop(ps, { lr: 0.01 })],
  [
    "RMSprop centered momentum weightDecay",
    (ps) => new RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.9, weightDecay: 0.1 }),
  ],
  ["RMSprop maximize", (ps) => new RMSprop(ps, { lr: 0.01, maximize: true, alpha: 0.9 })],
];

function trajectory(make: (ps: Tensor[]) => Optimizer<object>, device: string): number[][][] {
  const ps = [
    tensor(rand(12, 21), { shape: [3, 4], device }),
    tensor(rand(5, 22), { device }),
  ];
  const opt = make(ps);
  const out: number[][][] = [];
  for (let k = 0; k < 5; k++) {
    ps.forEach((p, i) =>
      p.grad = tensor(rand(p.numel(), 100 * k + i), { shape: [...p.shape], device })
    );
    const { trace } = explain(() => opt.step());
    const fused = trace.filter((e) => FUSED.includes(e.op));
    // The optimizers update every parameter in one foreach op; where it has no kernel (nofuse) it
    // decomposes into one update op per parameter.
    const foreach = fused.some((e) => e.op.endsWith("Foreach"));
    const want = foreach ? (device === "cpu" ? 1 : 1 + ps.length) : ps.length;
    assert.equal(fused.length, want, fused.map((e) => e.op).join());
    for (const e of fused) assert.equal(e.via, device === "cpu" ? "device" : "decomposition");
    const snap = ps.map((p) => [...p.dataSync()]);
    for (const p of ps) {
      for (const s of Object.values(opt.state.get(p) ?? {})) {
        if (typeof s !== "number") snap.push([...s.dataSync()]);
      }
    }
    out.push(snap);
  }
  return out;
}

for (const [name, make] of CASES) {
  Deno.test(`${name}: fused cpu kernels follow the decomposed trajectory for 5 steps`, () => {
    const fused = trajectory(make, "cpu");
    const plain = trajectory(make, "nofuse");
    fused.forEach((step, k) =>
      step.forEach((x, i) => assertClose(x, plain[k][i], `step ${k + 1} tensor ${i}`))
    );
  });
}

Deno.test("assignStorage swaps the data in, keeping identity, views and the version counter", () => {
  const p = tensor([1, 2, 3, 4]);
  const view = p.reshape([2, 2]);
  const storage = p.storage, version = storage.version;
  const r = tensor([5, 6, 7, 8]);
  assignStorage(p, r);
  assert.equal(p.storage, storage);
  assert.equal(storage.version, version + 1);
  assert.deepEqual([...p.dataSync()], [5, 6, 7, 8]);
  assert.deepEqual(view.toArraySync(), [[5, 6], [7, 8]]);
  assert.ok(r.disposed);
  // A result sharing its storage with another tensor is copied, not swapped.
  const shared = tensor([9, 9, 9, 9]);
  const alias = shared.reshape([2, 2]);
  assignStorage(p, shared);
  assert.deepEqual([...p.dataSync()], [9, 9, 9, 9]);
  assert.notEqual(p.storage.handle, shared.storage.handle);
  assert.deepEqual(alias.toArraySync(), [[9, 9], [9, 9]]);
  assert.equal(storage.version, version + 2);
});

Deno.test("optimizer steps keep parameter and state identities", () => {
  const w = tensor([1, 2, 3], { requiresGrad: true });
  const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
  const storage = w.storage;
  w.grad = tensor([1, 1, 1]);
  opt.step();
  const buf = opt.state.get(w)!.momentumBuffer as Tensor;
  const bufStorage = buf.storage;
  opt.step();
  assert.equal(w.storage, storage);
  assert.equal(opt.state.get(w)!.momentumBuffer, buf);
  assert.equal(buf.storage, bufStorage);
  assertClose(w.dataSync(), [1 - 0.1 - 0.19, 2 - 0.29, 3 - 0.29], "w");
  assertClose(buf.dataSync(), [1.9, 1.9, 1.9], "buf");
});

Deno.test("cpu reuses the arrays swapped out of parameters and state, never user data", () => {
  const data = Float32Array.from([1, 2, 3]);
  const w = fromData(data, [3]); // adopted: w's storage holds the user's array
  assert.equal(w.storage.handle, data);
  const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
  const seen = new Set<unknown>();
  const want = new Float32Array([1, 2, 3]), buf = new Float32Array(3);
  for (let k = 0; k < 8; k++) {
    w.grad = tensor([1, -1, 0.5]);
    opt.step();
    for (let i = 0; i < 3; i++) {
      const g = [1, -1, 0.5][i];
      buf[i] = k === 0 ? g : 0.9 * buf[i] + g;
      want[i] -= 0.1 * buf[i];
    }
    assertClose(w.dataSync(), want, `step ${k + 1}`);
    seen.add(w.storage.handle);
    seen.add((opt.state.get(w)!.momentumBuffer as Tensor).storage.handle);
  }
  assert.deepEqual([...data], [1, 2, 3]);
  assert.ok(!seen.has(data));
  assert.ok(seen.size <= 4, `${seen.size} arrays used over 8 steps`);
});

Deno.test("Adam and AdamW: one adamUpdateForeach a step over every parameter", () => {
  // (The trajectories above check its values against one decomposed update per parameter.)
  for (const [Opt, amsgrad] of [[Adam, false], [Adam, true], [AdamW, false]] as const) {
    const ps = [tensor(rand(12, 5), { shape: [3, 4] }), tensor(rand(5, 6))];
    const opt = new Opt(ps, { lr: 0.01, weightDecay: 0.1, amsgrad });
    for (let k = 0; k < 3; k++) {
      ps.forEach((p, i) => p.grad = tensor(rand(p.numel(), 9 * k + i), { shape: [...p.shape] }));
      const { trace } = explain(() => opt.step());
      const ops = trace.filter((e) => e.op.startsWith("adamUpdate"));
      assert.deepEqual(ops.map((e) => `${e.op}:${e.backend}:${e.via}`), [
        "adamUpdateForeach:cpu:device",
      ]);
    }
    // A parameter that skipped a step is at another step count: its own op.
    ps[0].grad = tensor(rand(12, 99), { shape: [3, 4] });
    ps[1].grad = null;
    opt.step();
    ps.forEach((p, i) => p.grad = tensor(rand(p.numel(), 50 + i), { shape: [...p.shape] }));
    const { trace } = explain(() => opt.step());
    assert.equal(trace.filter((e) => e.op === "adamUpdateForeach").length, 2);
  }
});
