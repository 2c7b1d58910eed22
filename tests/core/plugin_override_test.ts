/**
 * No plugin silently changes what another registered: replacing a kernel needs `override: true`
 * (and then shows in explain() and pluginInfo()), errors from plugin kernels and backend factories
 * name the plugin, op and backend, and kernel outputs are checked for count and size.
 */

import assert from "node:assert/strict";
import {
  apply1,
  definePlugin,
  explain,
  gather,
  getBackend,
  IndexError,
  listPlugins,
  PluginError,
  pluginInfo,
  registerKernels,
  route,
  ShapeError,
  tensor,
  use,
} from "../../mod.ts";
import type { BackendDef, KernelEntry, OpDef, Tensor, TypedArray } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";

const host = (t: Tensor) => t.storage.handle as TypedArray;
const same: OpDef = { name: "", infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }] };
const opNamed = (name: string): OpDef => ({ ...same, name });

function hostBackend(name: string, kernels: BackendDef["kernels"] = {}): BackendDef {
  return {
    name,
    hostMemory: true,
    priority: 80,
    upload: (d: TypedArray) => d,
    download: (h: unknown) => Promise.resolve(h as TypedArray),
    downloadSync: (h: unknown) => h as TypedArray,
    kernels,
  };
}

function fails(
  fn: () => unknown,
  cls: new (message: string) => Error,
  ...parts: (string | RegExp)[]
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught}`);
  const msg = (caught as Error).message;
  for (const p of parts) {
    if (typeof p === "string") assert.ok(msg.includes(p), `"${msg}" lacks "${p}"`);
    else assert.match(msg, p);
  }
  return caught as Error;
}

Deno.test("override: a plugin cannot replace a built-in cpu kernel without override: true", () => {
  const evil = definePlugin({
    name: "@test/evil-relu",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    kernels: { cpu: { relu: (_i, _a, out) => [new Float32Array(out[0].shape[0]).fill(42)] } },
  });
  const before = getBackend("cpu").table.get("relu");
  fails(
    () => use(evil),
    PluginError,
    'plugin "@test/evil-relu"',
    'backend "cpu" already has a kernel for relu',
    'registered by plugin "@denn/cpu"',
    "override: true",
  );
  assert.equal(getBackend("cpu").table.get("relu"), before);
  assert.ok(!listPlugins().includes(evil));
  assertClose(tensor([-1, 2]).relu(), [0, 2]);
  // The same holds for registerKernels called directly, with or without a provider name.
  fails(
    () => registerKernels("cpu", { relu: { run: () => [] } }, "@test/evil-relu-2"),
    PluginError,
    'plugin "@test/evil-relu-2": backend "cpu" already has a kernel for relu',
    '"@denn/cpu"',
  );
  fails(
    () => registerKernels("cpu", { relu: () => [] }),
    PluginError,
    'registerKernels(): backend "cpu" already has a kernel for relu',
  );
  assert.equal(getBackend("cpu").table.get("relu"), before);
});

Deno.test("override: with override: true the kernel replaces, and explain()/pluginInfo() say so", () => {
  let ownRuns = 0;
  use(definePlugin({
    name: "@test/ovr-backend",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    backend: hostBackend("ovr", {
      neg: (inputs) => {
        ownRuns++;
        return [host(inputs[0]).map((v) => -v)];
      },
    }),
  }));
  const fast: KernelEntry = {
    override: true,
    run: (inputs) => [host(inputs[0]).map((v) => -v)],
  };
  use(definePlugin({
    name: "@test/ovr-neg",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    kernels: { ovr: { neg: fast } },
  }));
  const ex = explain(() => route({ neg: "ovr" }, () => tensor([1, -2]).neg()));
  assertClose(ex.result, [-1, 2]);
  assert.equal(ownRuns, 0);
  const e = ex.trace[0];
  assert.deepEqual([e.op, e.backend, e.kernel, e.overrides], [
    "neg",
    "ovr",
    "@test/ovr-neg",
    "@test/ovr-backend",
  ]);
  const o = { backend: "ovr", op: "neg", plugin: "@test/ovr-neg", replaced: "@test/ovr-backend" };
  assert.deepEqual(ex.overrides.filter((x) => x.backend === "ovr"), [o]);
  const text = ex.toString();
  assert.match(
    text,
    /override: ovr neg: plugin "@test\/ovr-neg" replaces plugin "@test\/ovr-backend"/,
  );
  assert.match(
    text,
    /neg \[2\] → ovr \(route\) .*\[kernel from @test\/ovr-neg, overriding @test\/ovr-backend\]/,
  );
  // A kernel that replaced nothing records its provider but no override.
  const plain = explain(() => tensor([1]).neg()).trace[0];
  assert.deepEqual([plain.kernel, plain.overrides], ["@denn/cpu", undefined]);
  const info = Object.fromEntries(pluginInfo().map((p) => [p.name, p]));
  assert.deepEqual(info["@test/ovr-neg"].overrides, [o]);
  assert.deepEqual(info["@test/ovr-neg"].kernels, { ovr: ["neg"] });
  assert.deepEqual(info["@test/ovr-backend"].overriddenBy, [o]);
  assert.equal(info["@test/ovr-backend"].backend, "ovr");
  assert.equal(info["@denn/cpu"].backend, "cpu");
  assert.ok(info["@denn/cpu"].kernels.cpu.includes("relu"));
  assert.deepEqual(info["@denn/cpu"].overriddenBy, []);
});

Deno.test("override: kernels waiting for a backend are checked when it registers", () => {
  const waits = (name: string, entry: KernelEntry) =>
    use(definePlugin({
      name,
      kind: "op",
      version: "1.0.0",
      apiVersion: 1,
      kernels: { late: { neg: entry } },
    }));
  waits("@test/late-neg", { run: (inputs) => [host(inputs[0]).map((v) => -v * 10)] });
  assert.deepEqual(explain().pending.late, ["neg (from @test/late-neg)"]);
  // A second waiting kernel for the same op conflicts at once...
  fails(
    () => waits("@test/late-neg-2", { run: () => [] }),
    PluginError,
    '"@test/late-neg-2"',
    'backend "late"',
    "neg",
    '"@test/late-neg"',
  );
  assert.deepEqual(explain().pending.late, ["neg (from @test/late-neg)"]);
  // ...and the backend's own kernel conflicts with the waiting one when the backend arrives:
  const backend = definePlugin({
    name: "@test/late-backend",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    ops: [opNamed("@test/late-op")],
    backend: hostBackend("late", { neg: (inputs) => [host(inputs[0]).map((v) => -v)] }),
  });
  fails(
    () => use(backend),
    PluginError,
    'plugin "@test/late-backend": cannot register backend "late"',
    'plugin "@test/late-neg" registered a late kernel for neg before the backend existed',
    "override: true",
  );
  // ...which leaves no half-registered backend behind.
  assert.throws(() => getBackend("late"), /device "late" is not available/);
  assert.deepEqual(explain().pending.late, ["neg (from @test/late-neg)"]);
  assert.ok(!listPlugins().includes(backend));
});

Deno.test("override: a waiting kernel with override: true replaces the backend's own on arrival", () => {
  use(definePlugin({
    name: "@test/later-neg",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    kernels: {
      later2: { neg: { override: true, run: (inputs) => [host(inputs[0]).map((v) => -v * 10)] } },
    },
  }));
  use(definePlugin({
    name: "@test/later2-backend",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    backend: hostBackend("later2", { neg: (inputs) => [host(inputs[0]).map((v) => -v)] }),
  }));
  const ex = explain(() => route({ neg: "later2" }, () => tensor([1, 2]).neg()));
  assertClose(ex.result, [-10, -20]);
  assert.deepEqual([ex.trace[0].kernel, ex.trace[0].overrides], [
    "@test/later-neg",
    "@test/later2-backend",
  ]);
});

Deno.test("kernel errors: raw throws become PluginErrors naming plugin, op and backend; DennErrors keep their class", () => {
  const op = opNamed("@test/buggy");
  const shapeOp = opNamed("@test/shapey");
  const supOp = opNamed("@test/bad-supports");
  use(definePlugin({
    name: "@test/buggy",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    ops: [op, shapeOp, supOp],
    kernels: {
      cpu: {
        "@test/buggy": (inputs) => [(inputs as unknown as { nope: { x: TypedArray } }).nope.x],
        "@test/shapey": () => {
          throw new ShapeError("@test/shapey: rows must be even");
        },
        "@test/bad-supports": {
          supports: () => {
            throw new RangeError("bad limit");
          },
          run: (inputs) => [host(inputs[0])],
        },
      },
    },
  }));
  const e = fails(
    () => apply1(op, [tensor([1, 2])], {}),
    PluginError,
    '@test/buggy: the cpu kernel from plugin "@test/buggy" threw TypeError',
    "inputs: [2] float32",
  );
  assert.ok(e.cause instanceof TypeError);
  const s = fails(() => apply1(shapeOp, [tensor([1])], {}), ShapeError, "rows must be even");
  assert.ok(!(s instanceof PluginError));
  const r = fails(
    () => apply1(supOp, [tensor([1])], {}),
    PluginError,
    '@test/bad-supports: the supports() check of the cpu kernel from plugin "@test/buggy" threw RangeError: bad limit',
  );
  assert.ok(r.cause instanceof RangeError);
  // Built-in kernels' deliberate errors keep their class too.
  fails(() => gather(tensor([1, 2, 3]), 0, tensor([5], { dtype: "int32" })), IndexError, "gather");
});

Deno.test("kernel errors: a backend factory's error is a PluginError naming the plugin, with the cause", () => {
  const boom = new TypeError("cannot read properties of undefined (reading 'dlopen')");
  const p = definePlugin({
    name: "@test/throwing-factory",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    ops: [opNamed("@test/factory-op")],
    backend: () => {
      throw boom;
    },
  });
  const e = fails(
    () => use(p),
    PluginError,
    'plugin "@test/throwing-factory": its backend factory threw TypeError: cannot read',
  );
  assert.equal(e.cause, boom);
  assert.ok(!listPlugins().includes(p));
});

Deno.test("kernel outputs: a wrong output count or size is an error naming the op, backend and sizes", () => {
  const ops = ["none", "two", "short", "long", "bare", "plain"].map((n) =>
    opNamed(`@test/out-${n}`)
  );
  const k = (f: (x: TypedArray) => unknown) => (inputs: readonly Tensor[]) =>
    f(host(inputs[0])) as TypedArray[];
  use(definePlugin({
    name: "@test/outputs",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    ops,
    kernels: {
      cpu: {
        "@test/out-none": k(() => []),
        "@test/out-two": k((x) => [x.slice(), x.slice()]),
        "@test/out-short": k((x) => [x.slice(1)]),
        "@test/out-long": k((x) => [new Float32Array(x.length + 2)]),
        "@test/out-bare": k((x) => x.slice()),
        "@test/out-plain": k((x) => [[...x]]),
      },
    },
  }));
  const x = tensor([[1, 2], [3, 4]]);
  const run = (i: number) => () => apply1(ops[i], [x], {});
  const who = 'the cpu kernel from plugin "@test/outputs"';
  fails(run(0), PluginError, `@test/out-none: ${who} returned 0 outputs, expected an array of 1`);
  fails(run(1), PluginError, "returned 2 outputs, expected an array of 1", "[2, 2] float32");
  fails(
    run(2),
    PluginError,
    `@test/out-short: ${who} returned output 0 with 3 elements, expected 4 ([2, 2] float32`,
  );
  fails(run(3), PluginError, "returned output 0 with 6 elements, expected 4");
  fails(run(4), PluginError, "returned a Float32Array of 4, expected an array of 1");
  fails(run(5), PluginError, "output 0 with a handle that is not a typed array (an array of 4)");
});

Deno.test("kernel outputs: a non-host backend's handleSize hook checks output sizes", () => {
  type Box = { d: TypedArray };
  const boxed = (name: string, withHook: boolean): BackendDef<Box> => ({
    name,
    priority: 81,
    upload: (d) => ({ d }),
    download: (h) => Promise.resolve(h.d),
    downloadSync: (h) => h.d,
    ...(withHook ? { handleSize: (h: Box) => h.d?.length } : {}),
    kernels: { neg: (inputs) => [{ d: (inputs[0].storage.handle as Box).d.slice(1) }] },
  });
  use(definePlugin({
    name: "@test/boxed",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    backend: boxed("boxed", true),
  }));
  fails(
    () => tensor([1, 2, 3], { device: "boxed" }).neg(),
    PluginError,
    'neg: the boxed kernel from plugin "@test/boxed" returned output 0 with 2 elements, expected 3',
  );
  // Without the hook the size cannot be told, and nothing is checked.
  use(definePlugin({
    name: "@test/boxed-nohook",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    backend: boxed("boxed2", false),
  }));
  assert.equal(tensor([1, 2, 3], { device: "boxed2" }).neg().device, "boxed2");
});
