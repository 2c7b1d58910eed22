// Third-party plugins with webgpu kernels, on a real adapter (lavapipe in CI): the swish example
// loaded before the webgpu backend registers (its kernel waits, then attaches), a second webgpu
// backend registered before a plugin adds the kernel, the kernel kit's patterns, and
// checkBackendConformance on webgpu — passing where the kernels run, failing where dispatch went
// through a decomposition. Last, the plugin written in docs/PLUGINS.md is extracted to a temp dir
// and loaded after webgpu. Skipped without an adapter, except under CI=true, where a missing
// adapter is a failure.

import assert from "node:assert/strict";
import {
  definePlugin,
  explain,
  fromData,
  loadPlugin,
  randn,
  registerBackend,
  tensor,
  unregisterBackend,
  use,
} from "../../mod.ts";
import type { Module, Tensor } from "../../mod.ts";
import { webgpu, webgpuBackend } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import {
  allocOutput,
  elementwise,
  freeBuffer,
  gpuBuffer,
  readArray,
  reduceAxis,
  uploadArray,
} from "../../plugins/webgpu/kit.ts";
import type { Gpu, GpuBuffer } from "../../plugins/webgpu/kit.ts";
import { assertClose, AssertionError, checkBackendConformance } from "../../testing/mod.ts";
import { swishWebgpuKernel } from "../../examples/plugins/swish/mod.ts";

const SWISH = new URL("../../examples/plugins/swish/mod.ts", import.meta.url).href;

// The plugin first, the backend second: its webgpu kernel has to wait.
const swishPlugin = await loadPlugin(SWISH);
const pendingBefore = explain().pending.webgpu ?? [];
const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
const { swish } = swishPlugin.exports as { swish: (x: Tensor, beta?: number) => Tensor };

if (reason !== null) {
  if (Deno.env.get("CI") === "true") {
    Deno.test("webgpu plugins: an adapter is available (required when CI=true)", () => {
      throw new Error(`webgpu backend unavailable in CI: ${reason}`);
    });
  } else console.log(`skipping webgpu plugin tests: ${reason}`);
}

function test(name: string, fn: (gpu: Gpu) => Promise<void> | void): void {
  Deno.test({
    name: `webgpu plugins: ${name}`,
    ignore: reason !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => fn(plugin.gpu!),
  });
}

const TOL = { atol: 1e-4, rtol: 1e-4 };

async function read(gpu: Gpu, b: GpuBuffer, size: number): Promise<number[]> {
  return [...await readArray(gpu, b, { dtype: "float32", size })];
}

test("swish loaded before webgpu: its kernel waited, attached, and runs", async () => {
  assert.deepEqual(pendingBefore, ["@example/swish (from @example/swish)"]);
  assert.equal(explain().pending.webgpu, undefined);
  const x = randn([3, 50]);
  const ex = explain(() => swish(x.to("webgpu"), 1.3));
  assert.deepEqual(ex.trace.map((e) => [e.op, e.backend, e.via]), [
    ["@example/swish", "webgpu", "device"],
  ]);
  assertClose(await ex.result.data(), swish(x, 1.3), TOL);
  // Forward and backward against cpu, with the webgpu kernel required to run.
  const r = await checkBackendConformance("webgpu", "@example/swish", [randn([4, 33])], {
    attrs: { beta: 1.3 },
    ...TOL,
  });
  assert.ok(r.trace.some((e) => e.op === "@example/swish" && e.backend === "webgpu"));
  // The Swish layer runs the kernel too, and its gradient matches cpu.
  await checkBackendConformance("webgpu", (t: Tensor) => swish(swish(t)).mul(t), [randn([65])], {
    kernels: ["@example/swish"],
    ...TOL,
  });
});

test("checkBackendConformance passes for webgpu kernels, forward and backward", async () => {
  const cases: [string, (...x: Tensor[]) => Tensor, Tensor[]][] = [
    ["add (broadcast)", (a, b) => a.add(b), [randn([4, 5]), randn([5])]],
    ["mul", (a, b) => a.mul(b), [randn([4, 5]), randn([4, 1])]],
    ["matmul", (a, b) => a.matmul(b), [randn([4, 6]), randn([6, 3])]],
    ["sum", (a) => a.sum(1), [randn([4, 5])]],
    ["softmax", (a) => a.softmax(1), [randn([4, 5])]],
    ["exp", (a) => a.exp(), [randn([7])]],
    ["tanh", (a) => a.tanh(), [randn([7])]],
  ];
  for (const [label, fn, inputs] of cases) {
    const r = await checkBackendConformance("webgpu", fn, inputs, TOL);
    assert.ok(r.trace.length > 1, `${label}: forward and backward traced`);
    assert.ok(r.trace.every((e) => e.backend === "webgpu"), label);
  }
  await checkBackendConformance("webgpu", "mul", [randn([3, 4]), randn([3, 4])], TOL);
});

test("checkBackendConformance fails where the kernel under test did not run", async () => {
  // A second webgpu backend over the same device, without the swish kernel: swish decomposes.
  registerBackend({ ...webgpuBackend(plugin.gpu!), name: "webgpu-b", priority: 60 });
  try {
    await assert.rejects(
      checkBackendConformance("webgpu-b", "@example/swish", [randn([5])], { attrs: { beta: 1 } }),
      (e: unknown) =>
        e instanceof AssertionError &&
        /@example\/swish on webgpu-b: op @example\/swish \[5\] ran as its decomposition \(webgpu-b has no kernel for it\)/
          .test(e.message),
    );
    // The numbers agree, but the kernels list names an op that never ran.
    await assert.rejects(
      checkBackendConformance("webgpu-b", (x: Tensor) => x.exp(), [randn([5])], {
        kernels: ["@example/swish"],
      }),
      (e: unknown) =>
        e instanceof AssertionError && /the @example\/swish kernel did not run/.test(e.message),
    );
    // The reverse load order: a plugin adding the kernel after the backend registered.
    use(definePlugin({
      name: "@test/swish-on-b",
      kind: "layer",
      version: "1.0.0",
      apiVersion: 1,
      kernels: { "webgpu-b": { "@example/swish": swishWebgpuKernel } },
    }));
    const r = await checkBackendConformance("webgpu-b", "@example/swish", [randn([5])], {
      attrs: { beta: 1 },
      ...TOL,
    });
    assert.ok(r.trace.some((e) => e.op === "@example/swish" && e.backend === "webgpu-b"));
  } finally {
    unregisterBackend("webgpu-b");
  }
});

test("kit: elementwise broadcasts, takes scalars, ints and helpers", async (gpu) => {
  const a = randn([2, 3, 4]), b = randn([3, 1]), c = randn([4]);
  const out = { shape: [2, 3, 4], dtype: "float32" as const };
  const o = elementwise(gpu, {
    name: "@test/fma",
    expr: "fma3(a, b, c) * k + f32(m)",
    inputs: [a, b, c].map((t) => t.to("webgpu")),
    output: out,
    scalars: { k: 0.5 },
    ints: { m: 2 },
    helpers: "fn fma3(x: f32, y: f32, z: f32) -> f32 { return x * y + z; }",
  });
  assertClose(await read(gpu, o, 24), a.mul(b).add(c).mul(0.5).add(2), TOL);
  freeBuffer(gpu, o);
  // An int32 output from a comparison on a same-shape input.
  const g = elementwise(gpu, {
    name: "@test/positive",
    expr: "a > 0.0",
    inputs: [a.to("webgpu")],
    output: { shape: [24], dtype: "int32" },
  });
  const got = await readArray(gpu, g, { dtype: "int32", size: 24 });
  assert.deepEqual([...got], [...a.dataSync()].map((v) => (v > 0 ? 1 : 0)));
  freeBuffer(gpu, g);
});

test("kit: reduceAxis on short and long rows, any axis", async (gpu) => {
  for (const [shape, axis] of [[[3, 5, 4], 1], [[2, 1000], -1], [[700, 3], 0]] as const) {
    const x = randn([...shape]);
    const outShape = shape.filter((_, i) => i !== (axis < 0 ? shape.length + axis : axis));
    const o = reduceAxis(gpu, {
      name: "@test/rms",
      input: x.to("webgpu"),
      axis,
      output: { shape: outShape, dtype: "float32" },
      init: "0.0",
      combine: "acc + v",
      map: "v * v",
      finish: "sqrt(acc / f32(n)) * scale",
      scalars: { scale: 2 },
    });
    const want = x.square().mean(axis).sqrt().mul(2);
    assertClose(await read(gpu, o, want.numel()), want, TOL);
    freeBuffer(gpu, o);
  }
});

test("kit: buffers upload, read back, and name what is wrong", async (gpu) => {
  const b = uploadArray(gpu, Float32Array.from([1, 2, 3]), "float32");
  assert.deepEqual(await read(gpu, b, 3), [1, 2, 3]);
  freeBuffer(gpu, b);
  const t = tensor([1, 2]).to("webgpu");
  assert.equal(gpuBuffer(t), (t.storage.handle as GpuBuffer).buffer);
  const o = allocOutput(gpu, { shape: [5], dtype: "float32" });
  assert.ok(o.bytes >= 20);
  freeBuffer(gpu, o);
  assert.throws(
    () => gpuBuffer(tensor([[1, 2]])),
    /webgpu kit: a float32 tensor of shape \[1, 2\] on cpu has no device buffer/,
  );
  assert.throws(
    () => gpuBuffer(tensor([1, 2, 3]).to("webgpu").narrow(0, 1, 2)),
    /webgpu kit: the \[2\] tensor is a view \(offset 1\)/,
  );
});

// docs/PLUGINS.md builds a plugin outside the repo: its `// mod.ts` blocks, joined, are the file.
// The plugin imports "@denn/denn" by name, which this package resolves to itself.
test("the plugin from docs/PLUGINS.md loads after webgpu and passes conformance", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/PLUGINS.md", import.meta.url));
  const blocks = [...doc.matchAll(/```ts\n\/\/ mod\.ts\b[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 4, `found ${blocks.length} mod.ts blocks in docs/PLUGINS.md`);
  const dir = await Deno.makeTempDir({ prefix: "denn-acme-" });
  try {
    await Deno.writeTextFile(`${dir}/mod.ts`, blocks.join("\n"));
    const acme = await loadPlugin(`${dir}/mod.ts`);
    assert.equal(acme.name, "@acme/rmsnorm");
    assert.equal(explain().pending.webgpu, undefined);
    const { rmsNorm, RMSNorm } = acme.exports as {
      rmsNorm: (x: Tensor, eps?: number) => Tensor;
      RMSNorm: new (n: number) => Module;
    };
    // Rows long enough for the workgroup's strided loop, and more rows than one workgroup.
    for (const shape of [[4, 700], [300, 7]]) {
      await checkBackendConformance("webgpu", "@acme/rmsnorm", [randn(shape)], {
        attrs: { eps: 1e-5 },
        ...TOL,
      });
    }
    await checkBackendConformance(
      "webgpu",
      (x: Tensor, w: Tensor) => rmsNorm(x).mul(w),
      [randn([2, 3, 6]), fromData(Float32Array.from([1, 2, 3, 4, 5, 6]), [6])],
      { kernels: ["@acme/rmsnorm"], ...TOL },
    );
    const layer = new RMSNorm(6).to("webgpu");
    const x = randn([2, 6]);
    const y = explain(() => layer.forward(x.to("webgpu")));
    assert.deepEqual(y.trace.map((e) => `${e.op} → ${e.backend}`), [
      "@acme/rmsnorm → webgpu",
      "mul → webgpu",
    ]);
    assertClose(await y.result.data(), rmsNorm(x), TOL);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Last test of the file.
releaseDeviceAtEnd(plugin, "webgpu plugins");
