/**
 * float16 on the cpu backend: storage in `Float16Array`, arithmetic in float32. Elementwise and
 * movement kernels read and write `Float16Array` directly (each element is computed in double
 * precision and rounded once when stored); every other kernel with a float32 version is wrapped:
 * its float16 inputs are widened to `Float32Array`, the float32 kernel runs, and its float16 outputs
 * are rounded back. float32 calls go straight to the original kernel.
 *
 * @module
 */

import { Storage, Tensor } from "../../core/mod.ts";
import type { BackendDef, DType, TensorSpec, TypedArray } from "../../core/mod.ts";
import { elementwiseKernels } from "./elementwise.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernel, CpuKernelTable } from "./kit.ts";

/** cpu kernels that read and write `Float16Array` directly (elementwise ops and data movement). */
export const HALF_NATIVE: ReadonlySet<string> = new Set([
  ...Object.keys(elementwiseKernels),
  "contiguous",
  "copyInto",
  "sliceBackward",
  "pad",
  "cat",
  "gather",
]);

/** Widens a float16 tensor to a float32 copy (other dtypes are returned as they are). */
export function widenHalf(t: Tensor): Tensor {
  if (t.dtype !== "float16") return t;
  const h = hostArray(t, "float16").subarray(0, t.numel());
  return Tensor.fromStorage(
    new Storage(new Float32Array(h), t.storage.backend, t.numel()),
    t.shape,
    "float32",
    t.device,
  );
}

function hasHalf(inputs: readonly Tensor[], outputs: readonly TensorSpec[]): boolean {
  for (let i = 0; i < inputs.length; i++) if (inputs[i].dtype === "float16") return true;
  for (let i = 0; i < outputs.length; i++) if (outputs[i].dtype === "float16") return true;
  return false;
}

function withHalfDType(dtypes: readonly DType[] | undefined): readonly DType[] | undefined {
  if (!dtypes || !dtypes.includes("float32") || dtypes.includes("float16")) return dtypes;
  return [...dtypes, "float16"];
}

/** Wraps one float32 kernel so it also serves float16 (widen inputs, run, round outputs). */
export function halfViaFloat32<A>(entry: CpuKernel<A>): CpuKernel<A> {
  const run = entry.run;
  return {
    ...entry,
    dtypes: withHalfDType(entry.dtypes),
    run(inputs, attrs, outputs, context): TypedArray[] {
      if (!hasHalf(inputs, outputs)) return run(inputs, attrs, outputs, context);
      const specs = outputs.map((s) => (s.dtype === "float16" ? { ...s, dtype: "float32" } : s));
      const handles = run(inputs.map(widenHalf), attrs, specs as TensorSpec[], context);
      return handles.map((h, i) =>
        outputs[i].dtype === "float16" && !(h instanceof Float16Array) ? new Float16Array(h) : h
      );
    },
  };
}

/**
 * Gives a kernel table float16 support: kernels named in `native` (default
 * {@linkcode HALF_NATIVE}) handle `Float16Array` themselves (only their dtype lists gain float16);
 * every other kernel that accepts float32 is wrapped with {@linkcode halfViaFloat32}. Kernels that
 * do not accept float32 are left as they are.
 */
export function withFloat16(
  kernels: BackendDef<TypedArray, undefined>["kernels"],
  native: ReadonlySet<string> = HALF_NATIVE,
): CpuKernelTable {
  const out: CpuKernelTable = {};
  for (const [name, k] of Object.entries(kernels)) {
    const entry = typeof k === "function" ? { run: k } : k;
    if (entry.dtypes && !entry.dtypes.includes("float32")) out[name] = entry;
    else if (native.has(name)) out[name] = { ...entry, dtypes: withHalfDType(entry.dtypes) };
    else out[name] = halfViaFloat32(entry);
  }
  return out;
}
