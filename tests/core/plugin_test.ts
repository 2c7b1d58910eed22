/**
 * The plugin API: loading the third-party Swish example from a file specifier, its op, kernel,
 * gradient and module; manifest validation; duplicates.
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
