/**
 * Strided layouts in the cuda kernel kit (import it through `kit.ts`, the entry point): a kernel
 * walking merged dims takes `rank`, {@linkcode MAX_DIMS} sizes and, per operand,
 * {@linkcode MAX_DIMS} strides, innermost first. {@linkcode stridedParams} declares them,
 * {@linkcode stridedOffsets} computes each operand's element offset in C, {@linkcode stridedArgs}
 * passes them, and {@linkcode dimsSupported} declines layouts with too many dims.
 *
 * @module
 */

import { coalesce, DeviceError } from "../../../core/mod.ts";
import type { KernelArg } from "../types.ts";
import { MAX_DIMS } from "./kit_source.ts";

// Defined in core (shape.ts); re-exported for this plugin's kernel files, which import it here.
export { coalesce };

/** Why a layout of more than {@linkcode MAX_DIMS} dims (after merging) is declined, else true. */
export function dimsSupported(
  op: string,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): true | string {
  const [s] = coalesce(shape, strides);
  return s.length <= MAX_DIMS ||
    `${op}: ${s.length} dims after merging contiguous ones exceed the cuda kernels' ${MAX_DIMS}`;
}

// Sizes and strides are passed innermost dim first, padded to MAX_DIMS with size 1 / stride 0.
function dimArgs(values: readonly number[], fill: number): KernelArg[] {
  const r = [...values].reverse();
  while (r.length < MAX_DIMS) r.push(fill);
  return r.map((v) => ({ i64: v }));
}

/** Parameter declarations `long long <p>0 ... <p>7` (innermost dim first). */
export function dimParams(prefix: string): string[] {
  return Array.from({ length: MAX_DIMS }, (_, d) => `long long ${prefix}${d}`);
}

/**
 * Arguments for a strided layout: `rank` (i32), then {@linkcode MAX_DIMS} sizes and, per operand,
 * {@linkcode MAX_DIMS} strides (innermost first), the order of {@linkcode stridedParams}.
 */
export function stridedArgs(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): KernelArg[] {
  if (shape.length > MAX_DIMS) {
    throw new DeviceError(`cuda kit: ${shape.length} dims exceed ${MAX_DIMS} (merge them first)`);
  }
  return [{ i32: shape.length }, ...dimArgs(shape, 1), ...strides.flatMap((s) => dimArgs(s, 0))];
}

/** Parameter declarations matching {@linkcode stridedArgs}: `int rank`, sizes `s*`, strides per operand. */
export function stridedParams(operands: readonly string[], rank = "rank", size = "s"): string[] {
  return [`int ${rank}`, ...dimParams(size), ...operands.flatMap((o) => dimParams(`${o}_st`))];
}

/**
 * C statements computing `long long` element offsets `<operand>_off` of flat index `idx` in a
 * layout passed by {@linkcode stridedArgs} (innermost dim first; dims beyond `rank` skipped).
 */
export function stridedOffsets(
  operands: readonly string[],
  idx: string,
  rank = "rank",
  size = "s",
): string {
  const decl = operands.map((o) => `long long ${o}_off = 0;`).join(" ");
  const steps = Array.from(
    { length: MAX_DIMS },
    (_, d) =>
      `    if (${rank} > ${d}) { long long c_ = r_ % ${size}${d}; r_ /= ${size}${d}; ${
        operands.map((o) => `${o}_off += c_ * ${o}_st${d};`).join(" ")
      } }`,
  ).join("\n");
  const fast = operands.map((o) => `${o}_off = ${idx} * ${o}_st0;`).join(" ");
  return `  ${decl}
  if (${rank} <= 1) { ${fast} } else {
    long long r_ = ${idx};
${steps}
  }`;
}
