/**
 * Kernel providers (`BackendDef.provides`): a host backend whose kernels run on another host
 * backend's tensors without a route, where its `supports` accepts the inputs, with the outputs
 * left on the tensors' backend; routes still override, and `explain()` says which ran and why.
 * The provider here is a test double counting its calls, so no FFI library is needed.
 */

import assert from "node:assert/strict";
import {
  explain,
  PluginError,
  randn,
  registerBackend,
  route,
  unregisterBackend,
} from "../../mod.ts";
import type { BackendDef, KernelEntry, Tensor } from "../../mod.ts";
import { cpuBackend } from "../../plugins/cpu/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

// A provider for cpu: a relu that negates nothing but counts its calls, declining inputs of fewer
// than `min` elements (as blas declines small convs).
function counting(min: number): { def: BackendDef; calls: () => number } {
  let n = 0;
  const relu: KernelEntry = {
    dtypes: ["float32"],
    supports: ([x]: readonly Tensor[]) =>
      x.numel() >= min ? true : `${x.numel()} elements is below ${min}`,
    run: ([x]: readonly Tensor[]) => {
      n++;
      const a = x.storage.handle as Float32Array;
      return [a.map((v) => (v > 0 ? v : 0))];
    },
  };
  return {
    def: { ...cpuBackend, name: "fastrelu", priority: 5, provides: ["cpu"], kernels: { relu } },
    calls: () => n,
  };
}

function withProvider(min: number, fn: (calls: () => number) => void): () => void {
  return () => {
    const p = counting(min);
    registerBackend(p.def);
    try {
      fn(p.calls);
    } finally {
      unregisterBackend("fastrelu");
    }
  };
}

Deno.test(
  "a provider runs cpu tensors' op without a route; the output stays on cpu",
  withProvider(4, (calls) => {
    const x = randn([3, 4]);
    const { result, trace } = explain(() => x.relu());
    assert.equal(calls(), 1);
    assert.deepEqual([trace[0].backend, trace[0].via, trace[0].moved], [
      "fastrelu",
      "provider",
      [],
    ]);
    assert.equal(result.device, "cpu");
    assert.deepEqual(result.toArraySync(), x.clamp({ min: 0 }).toArraySync());
    // Ops the provider has no kernel for run on cpu, with nothing declined to report.
    const add = explain(() => x.add(1)).trace[0];
    assert.deepEqual([add.backend, add.via, add.declined], ["cpu", "device", undefined]);
  }),
);

Deno.test(
  "where the provider declines, cpu runs the op and explain() gives the reason",
  withProvider(100, (calls) => {
    const e = explain(() => randn([3, 4]).relu());
    assert.equal(calls(), 0);
    assert.deepEqual([e.trace[0].backend, e.trace[0].via], ["cpu", "device"]);
    assert.deepEqual(e.trace[0].declined, ["fastrelu: 12 elements is below 100"]);
    assert.match(e.toString(), /relu \[3, 4\] → cpu \(device\) \(declined: fastrelu: 12 elements/);
  }),
);

Deno.test(
  "a route to cpu keeps the op on cpu; a route to the provider runs it there",
  withProvider(1, (calls) => {
    const x = randn([5]);
    const e = explain(() => route({ relu: "cpu" }, () => x.relu())).trace[0];
    assert.deepEqual([e.backend, e.via], ["cpu", "route"]);
    assert.equal(calls(), 0);
    const r = explain(() => route({ relu: "fastrelu" }, () => x.relu())).trace[0];
    assert.deepEqual([r.backend, r.via], ["fastrelu", "route"]);
    assert.equal(calls(), 1);
  }),
);

Deno.test(
  "gradients through a provider's kernel reach cpu leaves",
  withProvider(1, (calls) => {
    const x = randn([6], { requiresGrad: true });
    x.relu().sum().backward();
    assert.equal(calls(), 1);
    assert.equal(x.grad!.device, "cpu");
    const want = (x.dataSync() as Float32Array).map((v) => (v > 0 ? 1 : 0));
    assert.deepEqual(Array.from(x.grad!.dataSync()), Array.from(want));
  }),
);

Deno.test("provides is checked: backend names, and host memory on the provider", () => {
  assertThrowsNamed(
    () => registerBackend({ ...cpuBackend, name: "p1", provides: "cpu" as unknown as string[] }),
    PluginError,
    'backend "p1": provides must be an array of backend names',
  );
  assertThrowsNamed(
    () => registerBackend({ ...cpuBackend, name: "p2", hostMemory: false, provides: ["cpu"] }),
    PluginError,
    'backend "p2" provides kernels for cpu, which needs hostMemory: true',
  );
  // Nothing was registered by the failed calls.
  assert.equal(explain().backends["p1"], undefined);
  assert.equal(explain().backends["p2"], undefined);
});
