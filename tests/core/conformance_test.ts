/**
 * checkBackendConformance from the testing kit: it passes where the backend's kernels run, and
 * fails where dispatch went through a decomposition or a fallback, or where a required kernel never
 * ran, even though the numbers agree.
 */

import assert from "node:assert/strict";
import { getBackend, randn, registerBackend, unregisterBackend } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { cpuBackend } from "../../plugins/cpu/mod.ts";
import { AssertionError, checkBackendConformance } from "../../testing/mod.ts";

// A host backend with cpu's kernels except softmax (which decomposes) and sin (which, having no
// decomposition, falls back to cpu unless strict).
function withLean(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const kernels = Object.fromEntries(
      [...getBackend("cpu").table].filter(([op]) => op !== "softmax" && op !== "sin"),
    );
    registerBackend({ ...cpuBackend, name: "lean", priority: 70, kernels });
    try {
      await fn();
    } finally {
      unregisterBackend("lean");
    }
  };
}

const rejectsWith = (p: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof AssertionError && pattern.test(e.message));

Deno.test(
  "conformance: passes where the backend's kernels run, forward and backward",
  withLean(async () => {
    const r = await checkBackendConformance("lean", "mul", [randn([3, 4]), randn([4])]);
    assert.ok(r.trace.some((e) => e.op === "mul" && e.backend === "lean" && e.via === "device"));
    assert.ok(r.trace.some((e) => e.op === "sum"), "the backward pass is traced too");
    await checkBackendConformance("lean", (a: Tensor, b: Tensor) => a.matmul(b).relu(), [
      randn([3, 5]),
      randn([5, 2]),
    ]);
  }),
);

Deno.test(
  "conformance: fails when the op ran as its decomposition",
  withLean(async () => {
    await rejectsWith(
      checkBackendConformance("lean", "softmax", [randn([2, 5])], { attrs: { dim: 1 } }),
      /softmax on lean: op softmax \[2, 5\] ran as its decomposition \(lean has no kernel for it\); list it in allowDecomposition/,
    );
    // Intended decompositions can be allowed; then the named op need not run as a kernel.
    await checkBackendConformance("lean", (x: Tensor) => x.softmax(1), [randn([2, 5])], {
      allowDecomposition: ["softmax"],
    });
  }),
);

Deno.test(
  "conformance: fails when an op ran on another backend",
  withLean(async () => {
    // Strict (the default): the dispatch error lists why each backend declined.
    await assert.rejects(
      checkBackendConformance("lean", (x: Tensor) => x.sin(), [randn([3])]),
      /lean: no kernel for sin/,
    );
    // Not strict: other ops may fall back, but a required kernel must still run on the backend.
    await checkBackendConformance("lean", (x: Tensor) => x.sin().mul(x), [randn([3])], {
      strict: false,
      kernels: ["mul"],
    });
    await rejectsWith(
      checkBackendConformance("lean", "sin", [randn([3])], { strict: false }),
      /sin on lean: the sin kernel did not run \(lean has no kernel for it; ops that ran: sin → cpu/,
    );
  }),
);

Deno.test("conformance: a required kernel that never ran fails, naming what did run", async () => {
  await rejectsWith(
    checkBackendConformance("cpu", (x: Tensor) => x.add(1), [randn([3])], { kernels: ["exp"] }),
    /function on cpu: the exp kernel did not run \(it was never dispatched; ops that ran: add → cpu/,
  );
});
