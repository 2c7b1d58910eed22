/**
 * The plugin API: loading the third-party Swish example from a file specifier, its op, kernel,
 * gradient and module; manifest validation; duplicates; the cpu kernel kit.
 */

import assert from "node:assert/strict";
import {
  API_VERSION,
  definePlugin,
  explain,
  getOp,
  listPlugins,
  loadPlugin,
  Module,
  PluginError,
  registerBackend,
  route,
  tensor,
  unregisterBackend,
  use,
} from "../../mod.ts";
import type { Plugin, Tensor, TypedArray } from "../../mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { swishOp } from "../../examples/plugins/swish/mod.ts";
import { axisBlocks, hostArray, map, outputArray, reduceAxis, zip } from "../../plugins/cpu/kit.ts";

const SWISH = new URL("../../examples/plugins/swish/mod.ts", import.meta.url).href;
const X = [-3, -0.5, 0, 0.7, 2.5];
const swishRef = (v: number, beta = 1) => v / (1 + Math.exp(-beta * v));

function rejects(manifest: unknown, pattern: RegExp): void {
  assert.throws(
    () => definePlugin(manifest as Plugin),
    (e: unknown) => e instanceof PluginError && pattern.test(e.message),
  );
}

Deno.test("plugin: loadPlugin imports the swish example from a file specifier", async () => {
  const p = await loadPlugin(SWISH);
  assert.equal(p.name, "@example/swish");
  assert.ok(listPlugins().includes(p));
  assert.ok(getOp("@example/swish"));
  // Loading the same plugin object again is a no-op.
  assert.equal(await loadPlugin(SWISH), p);
  assert.equal(use(p), p);
});

Deno.test("plugin: the swish op runs its cpu kernel and matches x·sigmoid(βx)", async () => {
  const p = await loadPlugin(SWISH);
  const { swish } = p.exports as { swish: (x: Tensor, beta?: number) => Tensor };
  const ex = explain(() => swish(tensor(X), 1.5));
  assert.deepEqual(
    ex.trace.map((e) => [e.op, e.backend, e.via]),
    [["@example/swish", "cpu", "device"]],
  );
  assertClose(ex.result, X.map((v) => swishRef(v, 1.5)));
  // The decomposition agrees with the fused kernel.
  assertClose(swishOp.decompose!([tensor(X)], { beta: 1.5 })[0], ex.result);
});

Deno.test("plugin: the swish gradient rule passes gradcheck (and its double backward)", async () => {
  const p = await loadPlugin(SWISH);
  const { swish } = p.exports as { swish: (x: Tensor, beta?: number) => Tensor };
  gradcheck((x) => swish(x, 0.8), [tensor(X)]);
  gradcheck((x) => swish(swish(x)).mul(x), [tensor(X)]);
});

Deno.test("plugin: the exported Swish module is a Module", async () => {
  const p = await loadPlugin(SWISH);
  const Swish = p.exports!.Swish as new (beta?: number) => Module;
  const m = new Swish();
  assert.ok(m instanceof Module);
  assert.deepEqual(m.parameters(), []);
  assertClose(m.forward(tensor(X)), X.map((v) => swishRef(v)));
  assert.throws(
    () => m.forward(tensor([1], { dtype: "int32" })),
    /@example\/swish: expected a float32/,
  );
});

Deno.test("plugin: a malformed manifest is rejected with the field named", () => {
  const ok = { name: "@acme/thing", kind: "layer", version: "1.0.0", apiVersion: API_VERSION };
  rejects(
    { ...ok, version: "1.0" },
    /plugin "@acme\/thing": invalid manifest: version: must be a semver version/,
  );
  rejects({ ...ok, kind: "widget" }, /plugin "@acme\/thing": invalid manifest: kind: /);
  rejects({ ...ok, name: "Bad Name" }, /invalid manifest: name: must be a lowercase/);
  rejects({ ...ok, apiVersion: "1" }, /invalid manifest: apiVersion: /);
  rejects({ ...ok, ops: [{ name: "" }] }, /invalid manifest: ops\.0\./);
  rejects({ kind: "layer", version: "1.0.0", apiVersion: 1 }, /plugin \(unnamed\).*name: /);
  rejects(
    { ...ok, apiVersion: 2 },
    /plugin "@acme\/thing": written for plugin API version 2, but this denn implements version 1/,
  );
  rejects(
    { ...ok, kind: "backend" },
    /plugin "@acme\/thing": a backend plugin must provide "backend"/,
  );
});

Deno.test("plugin: duplicate names are rejected naming the plugin", async () => {
  await loadPlugin(SWISH);
  const impostor = definePlugin({
    name: "@example/swish",
    kind: "layer",
    version: "2.0.0",
    apiVersion: 1,
  });
  assert.throws(
    () => use(impostor),
    (e: unknown) =>
      e instanceof PluginError &&
      /plugin "@example\/swish": a plugin with this name \(version 1\.0\.0\) is already loaded/
        .test(
          e.message,
        ),
  );
  const dupOp = definePlugin({
    name: "@test/dup-op",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    ops: [{ name: "add", infer: () => [] }],
  });
  assert.throws(
    () => use(dupOp),
    (e: unknown) =>
      e instanceof PluginError &&
      /plugin "@test\/dup-op": op "add" is already defined/.test(e.message),
  );
});

Deno.test("plugin: kernels for a backend registered later wait, show in explain() and attach", () => {
  const p = definePlugin({
    name: "@test/early-kernels",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    kernels: {
      later: { add: (inputs: readonly Tensor[]) => [inputs[0].dataSync().map((v) => v + 100)] },
    },
  });
  use(p);
  const before = explain();
  assert.deepStrictEqual(before.pending.later, ["add (from @test/early-kernels)"]);
  assert.match(before.toString(), /pending for later \(not registered\): add/);
  // A backend written as a class: its methods live on the prototype.
  class Later {
    name = "later";
    hostMemory = true;
    priority = 90;
    context = { tag: "ctx" };
    kernels = {};
    upload(data: TypedArray): TypedArray {
      return data;
    }
    download(h: unknown): Promise<TypedArray> {
      return Promise.resolve(h as TypedArray);
    }
    downloadSync(h: unknown): TypedArray {
      return h as TypedArray;
    }
  }
  registerBackend(new Later());
  try {
    assert.equal(explain().pending.later, undefined);
    const y = route({ add: "later" }, () => tensor([1, 2]).add(tensor([0, 0])));
    assert.deepStrictEqual(y.toArraySync(), [101, 102]);
  } finally {
    unregisterBackend("later");
  }
});

Deno.test("plugin: kernels receive their backend's context", () => {
  let seen: unknown = null;
  registerBackend({
    name: "ctxdev",
    hostMemory: true,
    priority: 91,
    context: { queue: "q" },
    upload: (d: TypedArray) => d,
    download: (h: unknown) => Promise.resolve(h as TypedArray),
    downloadSync: (h: unknown) => h as TypedArray,
    kernels: {
      neg: (inputs: readonly Tensor[], _a: unknown, _o: unknown, ctx: unknown) => {
        seen = ctx;
        return [inputs[0].dataSync().map((v) => -v)];
      },
    },
  });
  try {
    route({ neg: "ctxdev" }, () => tensor([1]).neg());
    assert.deepStrictEqual(seen, { queue: "q" });
  } finally {
    unregisterBackend("ctxdev");
  }
});

Deno.test("plugin: loadPlugin errors name the specifier", async () => {
  await assert.rejects(
    loadPlugin("./does/not/exist.ts"),
    (e: unknown) =>
      e instanceof PluginError && /cannot import "\.\/does\/not\/exist\.ts"/.test(e.message),
  );
  await assert.rejects(
    loadPlugin("data:application/javascript,export const x = 1;"),
    (e: unknown) => e instanceof PluginError && /exports no plugin/.test(e.message),
  );
});

Deno.test("cpu kit: hostArray and outputArray are typed and check dtype and device", () => {
  const x = tensor([1.5, -2]);
  const a: Float32Array = hostArray(x, "float32");
  assert.equal(a, x.storage.handle);
  assert.throws(() => hostArray(x, "int32"), /cpu kit: expected a int32 tensor, got float32/);
  assert.throws(
    () => hostArray(tensor([[1, 2], [3, 4]]).t()),
    /cpu kit: the \[2, 2\] tensor is a view \(offset 0, strides \[1, 2\]\)/,
  );
  const o: Int32Array = outputArray({ shape: [2, 3], dtype: "int32" }, "int32");
  assert.ok(o instanceof Int32Array && o.length === 6);
  assert.throws(
    () => outputArray({ shape: [1], dtype: "float32" }, "bool"),
    /cpu kit: the output is float32, not bool/,
  );
  registerBackend({
    name: "offhost",
    priority: 92,
    upload: (d: TypedArray) => ({ d }),
    download: (h: unknown) => Promise.resolve((h as { d: TypedArray }).d),
    kernels: {},
  });
  try {
    assert.throws(
      () => hostArray(tensor([1, 2]).to("offhost")),
      /cpu kit: the \[2\] float32 tensor is on offhost, not in host memory/,
    );
  } finally {
    unregisterBackend("offhost");
  }
});

Deno.test("cpu kit: map, zip with broadcasting, reduceAxis and axisBlocks", () => {
  const x = tensor([[1, -2, 3], [4, 5, -6]]);
  assertClose(map(x, (v) => v * 2), [2, -4, 6, 8, 10, -12]);
  const pos = map(x, (v) => +(v > 0), { shape: [2, 3], dtype: "bool" });
  assert.ok(pos instanceof Uint8Array);
  assert.deepEqual([...pos], [1, 0, 1, 1, 1, 0]);
  assert.throws(() => map(x, (v) => v, { shape: [5], dtype: "float32" }), /map over \[2, 3\]/);
  const col = tensor([[10], [20]]), row = tensor([1, 2, 3]);
  for (const [a, b] of [[x, col], [col, row], [x, row], [x, tensor(7)], [tensor(7), x], [x, x]]) {
    assertClose(zip([a, b], (p, q) => p - q), a.sub(b));
  }
  assert.throws(() => zip([x, tensor([1, 2])], (p) => p), /cannot be broadcast/);
  const sq = { init: 0, combine: (acc: number, v: number) => acc + v * v };
  assertClose(reduceAxis(x, { axis: 1, ...sq }), [14, 77]);
  assertClose(reduceAxis(x, { axis: 0, ...sq }), [17, 29, 45]);
  const mean = reduceAxis(x, {
    axis: -1,
    init: 0,
    combine: (a, v) => a + v,
    keepdim: true,
    finish: (a, n) => a / n,
  });
  assertClose(mean, [2 / 3, 1]);
  assert.deepEqual(axisBlocks([2, 3, 4], 1), [2, 3, 4]);
  assert.deepEqual(axisBlocks([2, 3, 4], -1), [6, 4, 1]);
  assert.throws(() => axisBlocks([2, 3], 2), /axisBlocks: dimension 2 is out of range/);
});
