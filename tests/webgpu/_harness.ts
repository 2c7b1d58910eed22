// The head of a webgpu test file: why its tests are skipped, said once, and the registrar of its
// tests (skipped where no adapter exists; the device outlives a test, so no op/resource sanitizers).

import type { AnyModule } from "../../mod.ts";

/** Registers one test of a webgpu test file. */
export type WebGpuTest = (name: string, fn: () => Promise<void> | void) => void;

/**
 * Says why a file's webgpu tests are skipped (`reason` non-null): prints `skipping <label> tests:
 * <reason>`, or with `requireInCi` under CI=true registers a failing test
 * `<label>: an adapter is available (required when CI=true)` instead.
 */
export function reportSkip(reason: string | null, label: string, requireInCi = false): void {
  if (reason === null) return;
  if (requireInCi && Deno.env.get("CI") === "true") {
    Deno.test(`${label}: an adapter is available (required when CI=true)`, () => {
      throw new Error(`webgpu backend unavailable in CI: ${reason}`);
    });
  } else console.log(`skipping ${label} tests: ${reason}`);
}

/** The registrar of tests named `<prefix>: <name>`, ignored where `reason` is non-null. */
export function webgpuTest(reason: string | null, prefix = "webgpu"): WebGpuTest {
  return (name, fn) =>
    Deno.test({
      name: `${prefix}: ${name}`,
      ignore: reason !== null,
      sanitizeOps: false,
      sanitizeResources: false,
      fn,
    });
}

/**
 * Two copies of the module `make` builds, by device: `cpu` as built, `webgpu` with the same
 * parameters and buffers (loaded from the cpu copy's state dict) moved to webgpu.
 */
export function cpuAndWebgpu<M extends AnyModule>(make: () => M): Record<string, M> {
  const a = make(), b = make();
  b.loadStateDict(a.stateDict());
  b.to("webgpu");
  return { cpu: a, webgpu: b };
}
