/**
 * Registration is all or nothing: a use() (or registerBackend / registerKernels) that fails leaves
 * the ops, backends, plugins, routes, kernel tables and explain() exactly as before; and bad
 * arguments are PluginErrors, never raw TypeErrors.
 */

import assert from "node:assert/strict";
import {
  definePlugin,
  explain,
  getBackend,
  getRoutes,
  listBackends,
  listOps,
  listPlugins,
  PluginError,
  pluginInfo,
  registerBackend,
  registerKernels,
  route,
  tensor,
  use,
} from "../../mod.ts";
import type { BackendDef, KernelEntry, OpDef, Plugin, TypedArray } from "../../mod.ts";

const same = (name: string): OpDef => ({
  name,
  infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
});
const copy = (inputs: readonly { storage: { handle: unknown } }[]) => [
  (inputs[0].storage.handle as TypedArray).slice(),
];

function hostBackend(name: string, extra: Partial<BackendDef> = {}): BackendDef {
  return {
    name,
    hostMemory: true,
    priority: 85,
    upload: (d: TypedArray) => d,
    download: (h: unknown) => Promise.resolve(h as TypedArray),
    downloadSync: (h: unknown) => h as TypedArray,
    kernels: { neg: copy, exp: copy },
    ...extra,
  };
}

function plugin(name: string, rest: Partial<Plugin>): Plugin {
  return { name, kind: "op", version: "1.0.0", apiVersion: 1, ...rest } as Plugin;
}

// Everything a failed registration must not change, with kernel entries compared by identity.
function snapshot() {
  const ex = explain(() => tensor([1, -2]).neg().exp());
  const entries = new Map<unknown, number>();
  const id = (e: unknown) => {
    if (!entries.has(e)) entries.set(e, entries.size);
    return entries.get(e);
  };
  return {
    ops: listOps(),
    backends: listBackends(),
    plugins: listPlugins().map((p) => p.name),
    info: pluginInfo(),
    routes: getRoutes(),
    tables: Object.fromEntries(
      listBackends().map((b) => [b, [...getBackend(b).table].map(([op, e]) => [op, id(e)])]),
    ),
    explain: {
      backends: ex.backends,
      unavailable: ex.unavailable,
      routes: ex.routes,
      pending: ex.pending,
      overrides: ex.overrides,
      trace: ex.trace,
      text: ex.toString(),
    },
  };
}

// The call fails with a PluginError matching every part, and changes nothing.
function failsCleanly(fn: () => unknown, ...parts: (string | RegExp)[]): PluginError {
  const before = snapshot();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PluginError, `expected a PluginError, got ${caught}`);
  for (const p of parts) {
    if (typeof p === "string") assert.ok(caught.message.includes(p), `${caught.message} ∌ ${p}`);
    else assert.match(caught.message, p);
  }
  assert.deepStrictEqual(snapshot(), before);
  return caught;
}

// Waiting kernels and a route, so the snapshots cover pending lists and routes too.
use(plugin("@test/tx-waiting", { kernels: { "tx-later": { neg: copy } } }));
route({ matmul: "cpu" });

Deno.test("transaction: a backend definition without a kernels table changes nothing", () => {
  const { kernels: _, ...noKernels } = hostBackend("tx-nokernels");
  failsCleanly(
    () =>
      use(plugin("@test/tx-nokernels", {
        kind: "backend",
        ops: [same("@test/tx-op-a")],
        backend: noKernels as BackendDef,
      })),
    'plugin "@test/tx-nokernels": backend "tx-nokernels" needs a kernels table',
  );
  failsCleanly(
    () => registerBackend({ ...noKernels, kernels: [] } as unknown as BackendDef),
    'backend "tx-nokernels" needs a kernels table',
  );
});

Deno.test("transaction: a backend factory that throws changes nothing", () => {
  const cause = new RangeError("no device 7");
  const e = failsCleanly(
    () =>
      use(plugin("@test/tx-factory", {
        kind: "backend",
        ops: [same("@test/tx-op-b")],
        kernels: { cpu: { "@test/tx-op-b": copy } },
        backend: () => {
          throw cause;
        },
      })),
    'plugin "@test/tx-factory": its backend factory threw RangeError: no device 7',
  );
  assert.equal(e.cause, cause);
});

Deno.test("transaction: a kernel table naming an unknown op, or an op defined twice, changes nothing", () => {
  failsCleanly(
    () =>
      use(plugin("@test/tx-unknown", {
        ops: [same("@test/tx-op-c")],
        kernels: { cpu: { "@test/tx-op-c": copy, "@test/tx-typo": copy } },
      })),
    'plugin "@test/tx-unknown": its cpu kernel is for op "@test/tx-typo", which is not defined',
  );
  // An op defined twice (in the plugin, or already built in) was rejected before this too.
  failsCleanly(
    () =>
      use(plugin("@test/tx-twice", {
        kind: "backend",
        ops: [same("@test/tx-op-d"), same("@test/tx-op-d")],
        backend: hostBackend("tx-twice"),
        kernels: { cpu: { "@test/tx-op-d": copy } },
      })),
    'plugin "@test/tx-twice": op "@test/tx-op-d" is already defined',
  );
  failsCleanly(
    () => use(plugin("@test/tx-builtin", { ops: [same("add")], backend: hostBackend("tx-b") })),
    'op "add" is already defined',
  );
});

Deno.test("transaction: a conflict with a registered kernel changes nothing", () => {
  failsCleanly(
    () =>
      use(plugin("@test/tx-conflict", {
        ops: [same("@test/tx-op-e")],
        kernels: { cpu: { "@test/tx-op-e": copy, exp: copy } },
      })),
    'plugin "@test/tx-conflict": backend "cpu" already has a kernel for exp',
  );
  // registerKernels directly: the valid entries before the conflicting one are not added either.
  failsCleanly(
    () => registerKernels("cpu", { "@test/tx-k1": copy, neg: copy }, "@test/tx-direct"),
    'plugin "@test/tx-direct": backend "cpu" already has a kernel for neg',
  );
});

Deno.test("transaction: a conflict found in waiting kernels leaves no half-registered backend", () => {
  failsCleanly(
    () =>
      use(plugin("@test/tx-later-backend", {
        kind: "backend",
        ops: [same("@test/tx-op-f")],
        backend: hostBackend("tx-later"),
        kernels: { cpu: { "@test/tx-op-f": copy } },
      })),
    'cannot register backend "tx-later": plugin "@test/tx-waiting" registered a tx-later kernel ' +
      "for neg before the backend existed",
  );
  failsCleanly(
    () => registerBackend(hostBackend("tx-later")),
    'registerBackend("tx-later"): cannot register backend "tx-later"',
  );
});

Deno.test("transaction: a backend whose wrapKernel throws changes nothing", () => {
  const cause = new Error("unsupported");
  const e = failsCleanly(
    () =>
      use(plugin("@test/tx-wrap", {
        kind: "backend",
        ops: [same("@test/tx-op-g")],
        backend: hostBackend("tx-wrap", {
          wrapKernel: (op: string, entry: KernelEntry) => {
            if (op === "exp") throw cause;
            return entry;
          },
        }),
      })),
    'plugin "@test/tx-wrap": backend "tx-wrap" rejected its kernel for exp (wrapKernel threw Error: unsupported)',
  );
  assert.equal(e.cause, cause);
});

Deno.test("transaction: kernel entries that are not kernels are rejected on every path", () => {
  const bad = { "@test/tx-good": copy, "@test/tx-bad": 42 } as unknown as Record<
    string,
    KernelEntry
  >;
  failsCleanly(
    () => registerKernels("cpu", bad),
    "registerKernels(): its cpu kernel for @test/tx-bad",
  );
  failsCleanly(
    () => registerKernels("cpu", { x: { run: "no" } as unknown as KernelEntry }),
    "is neither a function nor an entry with a run() function (got an object (Object))",
  );
  failsCleanly(
    () => registerKernels("cpu", null as unknown as Record<string, KernelEntry>),
    'its kernel table for backend "cpu" must be an object',
  );
  failsCleanly(
    () => registerKernels("cpu", { x: { run: copy, override: "yes" } as unknown as KernelEntry }),
    "override the string",
  );
  failsCleanly(
    () => registerBackend(hostBackend("tx-badk", { kernels: { neg: 42 } as never })),
    'registerBackend("tx-badk"): backend "tx-badk": the kernel for neg is neither a function',
  );
  failsCleanly(
    () =>
      use(
        plugin("@test/tx-badk", {
          kind: "backend",
          backend: hostBackend("tx-badk2", { kernels: { neg: null } as never }),
        }),
      ),
    'plugin "@test/tx-badk": backend "tx-badk2": the kernel for neg is neither a function',
  );
  for (const k of [42, null, "relu", { run: 1 }]) {
    const p = plugin("@test/tx-badentry", { kernels: { cpu: { neg: k } } as never });
    for (const f of [() => definePlugin(p), () => use(p)]) {
      failsCleanly(
        f,
        'plugin "@test/tx-badentry": invalid manifest: kernels.cpu.neg: must be a kernel function',
      );
    }
  }
});

Deno.test("transaction: use() of something that is not a plugin is a PluginError", () => {
  for (const v of [null, undefined, 42, "@acme/x", () => {}]) {
    failsCleanly(() => use(v as unknown as Plugin), /^use: expected a plugin|invalid manifest/);
  }
  failsCleanly(() => use(null as unknown as Plugin), "use: expected a plugin", "got null");
  failsCleanly(() => use({} as Plugin), "plugin (unnamed): invalid manifest");
  failsCleanly(
    () =>
      use(plugin("@test/tx-noname", {
        kind: "backend",
        backend: { ...hostBackend("x"), name: undefined } as unknown as BackendDef,
      })),
    'plugin "@test/tx-noname": a backend needs a non-empty string name, got undefined',
  );
  for (const made of [null, 7, Promise.resolve(hostBackend("tx-async"))]) {
    failsCleanly(
      () =>
        use(
          plugin("@test/tx-made", {
            kind: "backend",
            backend: () => made as unknown as BackendDef,
          }),
        ),
      /plugin "@test\/tx-made": its backend (must be a backend definition|factory returned a promise)/,
    );
  }
  failsCleanly(
    () => registerBackend(null as unknown as BackendDef),
    "registerBackend(): a backend must be an object, got null",
  );
});

Deno.test("transaction: after all those failures, a valid plugin still registers", () => {
  const p = use(plugin("@test/tx-ok", {
    kind: "backend",
    ops: [same("@test/tx-op-a")],
    backend: hostBackend("tx-ok", { kernels: { "@test/tx-op-a": copy } }),
    kernels: { cpu: { "@test/tx-op-a": copy } },
  }));
  assert.ok(listPlugins().includes(p));
  assert.ok(listBackends().includes("tx-ok"));
  const info = pluginInfo().find((i) => i.name === "@test/tx-ok")!;
  assert.deepEqual(info.kernels, { "tx-ok": ["@test/tx-op-a"], cpu: ["@test/tx-op-a"] });
});
