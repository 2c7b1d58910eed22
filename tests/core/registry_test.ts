/**
 * The capability registry through the public plugin API: a second host backend ("toy") with three
 * kernels, one declining some shapes via supports() and one restricted by dtype. Checks routing,
 * decomposition, cross-backend fallback, strict mode, explain() and unavailable backends.
 */

import assert from "node:assert/strict";
import {
  allocHost,
  definePlugin,
  DeviceError,
  DispatchError,
  explain,
  fromData,
  getRoutes,
  listBackends,
  randn,
  route,
  setStrict,
  tensor,
  use,
} from "../../mod.ts";
import type { BackendDef, MatmulAttrs, Tensor, TensorSpec, TypedArray } from "../../mod.ts";
import { assertClose, AssertionError, checkBackendConformance } from "../../testing/mod.ts";

const calls: Record<string, number> = { add: 0, mul: 0, matmul: 0 };
const host = (t: Tensor) => t.storage.handle as TypedArray;

const toyBackend: BackendDef = {
  name: "toy",
  hostMemory: true,
  priority: 5,
  upload: (data) => data,
  download: (h, _d, size) => Promise.resolve((h as TypedArray).slice(0, size)),
  downloadSync: (h, _d, size) => (h as TypedArray).slice(0, size),
  kernels: {
    add: {
      dtypes: ["float32"],
      supports: (inputs) =>
        inputs[0].numel() === inputs[1].numel() || "add only handles inputs of the same size",
      run(inputs, _a, out: readonly TensorSpec[]) {
        calls.add++;
        const [a, b] = inputs.map(host);
        const o = allocHost(out[0].dtype, a.length);
        for (let i = 0; i < a.length; i++) o[i] = a[i] + b[i];
        return [o];
      },
    },
    mul: {
      supports: (inputs) =>
        inputs[0].numel() === inputs[1].numel() || inputs[1].numel() === 1 ||
        "mul only handles equal sizes or a scalar right operand",
      run(inputs, _a, out: readonly TensorSpec[]) {
        calls.mul++;
        const [a, b] = inputs.map(host);
        const o = allocHost(out[0].dtype, a.length);
        for (let i = 0; i < a.length; i++) o[i] = a[i] * b[b.length === 1 ? 0 : i];
        return [o];
      },
    },
    matmul: {
      dtypes: ["float32"],
      supports(inputs, a: MatmulAttrs) {
        if (inputs.some((t) => t.ndim !== 2) || a.transA || a.transB) {
          return "matmul only handles plain 2-D operands";
        }
        if (inputs[0].shape[1] > 8) return `matmul inner size ${inputs[0].shape[1]} exceeds 8`;
        return true;
      },
      run(inputs, _a, out: readonly TensorSpec[]) {
        calls.matmul++;
        const [x, y] = inputs;
        const [m, k] = x.shape, n = y.shape[1];
        const a = host(x), b = host(y);
        const o = new Float32Array(out[0].shape[0] * out[0].shape[1]);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
            o[i * n + j] = s;
          }
        }
        return [o];
      },
    },
  },
};

use(definePlugin({
  name: "@test/toy",
  kind: "backend",
  version: "1.0.0",
  apiVersion: 1,
  backend: toyBackend,
}));

use(definePlugin({
  name: "@test/ghost",
  kind: "backend",
  version: "1.0.0",
  apiVersion: 1,
  backend: () => "no ghost device on this machine",
}));

function strictly<T>(fn: () => T): T {
  setStrict(true);
  try {
    return fn();
  } finally {
    setStrict(false);
  }
}

const A = [[1, 2, 3], [4, 5, 6]];
const B = [[1, 0], [0, 1], [2, 2]];
const AB = [[7, 8], [16, 17]];

Deno.test("registry: the toy backend is registered, the ghost one is reported unavailable", () => {
  assert.ok(listBackends().includes("toy"));
  assert.ok(!listBackends().includes("ghost"));
  const ex = explain();
  assert.equal(ex.backends.toy, 3);
  assert.equal(ex.unavailable.ghost, "no ghost device on this machine");
  assert.match(ex.toString(), /toy \(3 kernels\)/);
  assert.match(ex.toString(), /unavailable: ghost: no ghost device on this machine/);
  assert.throws(
    () => tensor([1], { device: "ghost" }),
    (e: unknown) =>
      e instanceof DeviceError &&
      /device "ghost" is not available: no ghost device/.test(e.message),
  );
});

Deno.test("registry: route({ matmul: 'toy' }) sends matmul to toy and moves data", () => {
  const before = calls.matmul;
  route({ matmul: "toy" });
  try {
    const ex = explain(() => tensor(A).matmul(tensor(B)));
    assert.equal(calls.matmul, before + 1);
    assert.equal(ex.result.device, "cpu");
    assertClose(ex.result, AB);
    const e = ex.trace.find((t) => t.op === "matmul")!;
    assert.equal(e.backend, "toy");
    assert.equal(e.via, "route");
    assert.deepEqual(e.moved, ["input 0: cpu→toy", "input 1: cpu→toy", "output 0: toy→cpu"]);
    assert.deepEqual(getRoutes(), { matmul: "toy" });
    assert.match(ex.toString(), /routes: \{"matmul":"toy"\}/);
    assert.match(
      ex.toString(),
      /matmul \[2, 3\] \[3, 2\] → toy \(route\) moved input 0: cpu→toy, input 1: cpu→toy, output 0: toy→cpu/,
    );
  } finally {
    route({ matmul: null });
  }
  assert.deepEqual(getRoutes(), {});
  const ex = explain(() => tensor(A).matmul(tensor(B)));
  assert.equal(ex.trace[0].backend, "cpu");
  assert.equal(ex.trace[0].via, "device");
});

Deno.test("registry: a per-call route applies only while the function runs", () => {
  const before = calls.matmul;
  const ex = explain(() => route({ matmul: "toy" }, () => tensor(A).matmul(tensor(B))));
  assert.equal(ex.trace.find((t) => t.op === "matmul")!.backend, "toy");
  assert.equal(calls.matmul, before + 1);
  assert.deepEqual(getRoutes(), {});
  // Routes are restored even when the function throws.
  assert.throws(() => route({ matmul: "toy" }, () => tensor([1, 2, 3]).matmul(tensor([[1, 2]]))));
  assert.deepEqual(getRoutes(), {});
});

Deno.test("registry: a routed backend that declines via supports() falls back, or throws when strict", () => {
  const big = [randn([2, 9]), randn([9, 2])];
  route({ matmul: "toy" }, () => {
    const ex = explain(() => big[0].matmul(big[1]));
    assert.equal(ex.trace[0].backend, "cpu");
    assert.equal(ex.trace[0].via, "device");
    assert.throws(
      () => strictly(() => big[0].matmul(big[1])),
      (e: unknown) =>
        e instanceof DispatchError &&
        e.message.includes(
          "matmul: routed to toy, which declined (strict mode): toy: matmul inner size 9 exceeds 8",
        ),
    );
  });
});

Deno.test("registry: a tensor on toy uses toy's kernels where they accept the inputs", () => {
  const a = tensor([1, 2, 3], { device: "toy" });
  const before = calls.add;
  const ex = explain(() => a.add(tensor([10, 20, 30], { device: "toy" })));
  assert.equal(calls.add, before + 1);
  assert.equal(ex.result.device, "toy");
  assert.deepEqual(ex.trace.map((t) => [t.op, t.backend, t.via]), [["add", "toy", "device"]]);
  assertClose(ex.result, [11, 22, 33]);
});

Deno.test("registry: an op toy lacks runs on cpu via fallback, with moves recorded", () => {
  const x = tensor([0, 1, 2], { device: "toy" });
  const ex = explain(() => x.exp());
  assert.equal(ex.result.device, "toy");
  assertClose(ex.result, [1, Math.E, Math.exp(2)]);
  const e = ex.trace[0];
  assert.deepEqual([e.op, e.backend, e.via], ["exp", "cpu", "fallback"]);
  assert.deepEqual(e.moved, ["input 0: toy→cpu", "output 0: cpu→toy"]);
  assert.match(
    ex.toString(),
    /exp \[3\] → cpu \(fallback\) moved input 0: toy→cpu, output 0: cpu→toy/,
  );
});

Deno.test("registry: a dtype toy does not accept falls back, and strict mode lists each reason", () => {
  const a = tensor([1, 2], { device: "toy", dtype: "int32" });
  const b = tensor([3, 4], { device: "toy", dtype: "int32" });
  const ex = explain(() => a.add(b));
  assert.deepEqual([ex.trace[0].backend, ex.trace[0].via], ["cpu", "fallback"]);
  assert.deepEqual(ex.result.toArraySync(), [4, 6]);
  assert.throws(
    () => strictly(() => a.add(b)),
    (e: unknown) =>
      e instanceof DispatchError &&
      e.message.includes(
        "add: no backend can run it for inputs [2] int32 on toy, [2] int32 on toy",
      ) &&
      e.message.includes("(strict mode)") &&
      e.message.includes("toy: add does not accept dtype int32 (accepts float32)") &&
      e.message.includes("cpu: could run it, but strict mode forbids moving data from toy") &&
      e.message.includes("ghost: not available (no ghost device on this machine)"),
  );
});

Deno.test("registry: strict mode reports a missing kernel for an op without decomposition", () => {
  const x = tensor([1, 2], { device: "toy" });
  assert.throws(
    () => strictly(() => x.exp()),
    (e: unknown) =>
      e instanceof DispatchError && /toy: no kernel for exp/.test(e.message) &&
      /cpu: could run it, but strict mode forbids/.test(e.message),
  );
});

Deno.test("registry: softmax on a backend lacking it decomposes", () => {
  const data = [[1, 2, 3], [-1, 0, 1000]];
  const x = tensor(data, { device: "toy" });
  const ex = explain(() => x.softmax(1));
  assert.equal(ex.trace[0].op, "softmax");
  assert.equal(ex.trace[0].backend, "decomposition");
  assert.equal(ex.trace[0].via, "decomposition");
  // Its parts (max, sub, exp, sum, div) either ran on toy or fell back to cpu, never silently.
  for (const e of ex.trace.slice(1)) assert.ok(["toy", "cpu"].includes(e.backend), e.op);
  assert.equal(ex.result.device, "toy");
  assertClose(ex.result, tensor(data).softmax(1));
});

Deno.test("registry: gradients flow through toy kernels and fallbacks", () => {
  const w = tensor([1, 2, 3], { device: "toy", requiresGrad: true });
  const y = w.mul(w).mul(2).sum();
  y.backward();
  assert.equal(w.grad!.device, "toy");
  assertClose(w.grad!, [4, 8, 12]);
});

Deno.test("registry: mixing devices without a route is an error naming the op and devices", () => {
  const a = tensor([[1, 2]]);
  const b = tensor([[3, 4]], { device: "toy" });
  assert.throws(
    () => a.add(b),
    (e: unknown) =>
      e instanceof DeviceError &&
      e.message.includes("add: inputs are on different devices") &&
      e.message.includes("input 0 [1, 2] on cpu") && e.message.includes("input 1 [1, 2] on toy") &&
      e.message.includes('route({ add: "cpu" })'),
  );
  // With a route the op runs where routed and the result lives there.
  const r = route({ add: "toy" }, () => explain(() => a.add(b)));
  assert.equal(r.result.device, "toy");
  assert.deepEqual(r.trace[0].moved, ["input 0: cpu→toy"]);
  assertClose(r.result, [[4, 6]]);
});

Deno.test("registry: .to() moves between host backends without copying and keeps gradients", () => {
  const x = fromData(Float32Array.from([1, 2]), [2], { requiresGrad: true });
  const t = x.to("toy");
  assert.equal(t.device, "toy");
  assert.equal(t.storage.handle, x.storage.handle);
  t.mul(t).sum().backward();
  assert.equal(x.grad!.device, "cpu");
  assertClose(x.grad!, [2, 4]);
});

Deno.test("registry: checkBackendConformance compares a backend with cpu", async () => {
  const a = randn([3, 4]), b = randn([4, 2]);
  const mm = (x: Tensor, y: Tensor) => x.matmul(y);
  const r = await checkBackendConformance("toy", mm, [a, b], { grad: false });
  assert.ok(r.trace.some((e) => e.op === "matmul" && e.backend === "toy"));
  // matmul's gradient uses transposed operands, which toy declines: strict mode says so...
  await assert.rejects(
    checkBackendConformance("toy", mm, [a, b]),
    (e: unknown) =>
      e instanceof DispatchError && /toy: matmul only handles plain 2-D operands/.test(e.message),
  );
  // ...and without strict mode those gradient matmuls fall back to cpu and still agree.
  const loose = await checkBackendConformance("toy", mm, [a, b], { strict: false });
  assert.ok(loose.trace.some((e) => e.op === "matmul" && e.via === "fallback"));
  await checkBackendConformance("toy", "mul", [randn([5]), randn([5])]);
  // Strict mode is on during the backend run: an op toy lacks is not silently run on cpu.
  await assert.rejects(
    checkBackendConformance("toy", (x) => x.exp(), [randn([3])]),
    (e: unknown) => e instanceof DispatchError && /toy: no kernel for exp/.test(e.message),
  );
  use(definePlugin({
    name: "@test/broken",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    backend: {
      ...toyBackend,
      name: "broken",
      kernels: {
        mul(inputs) {
          const [x, y] = inputs.map(host);
          return [x.map((v, i) => v * y[i] + (i === 2 ? 1e-3 : 0))];
        },
      },
    },
  }));
  await assert.rejects(
    checkBackendConformance("broken", "mul", [randn([4]), randn([4])], { grad: false }),
    (e: unknown) =>
      e instanceof AssertionError &&
      /mul on broken: output 0: 1 of 4 elements differ .* worst at flat index 2/.test(e.message),
  );
});
