/**
 * The webgpu kernel kit: what a plugin author needs to write a WGSL kernel for denn's webgpu
 * backend without reaching into its internals. A webgpu kernel receives the backend's
 * {@linkcode Gpu} context as its fourth argument; every function here takes that context, so a
 * kernel needs nothing global and works whether the plugin was loaded before or after
 * `use(await webgpu())`.
 *
 * - {@linkcode elementwise}: one WGSL expression over any number of inputs, with broadcasting.
 * - {@linkcode reduceAxis}: a reduction along one axis (a workgroup tree for long rows).
 * - {@linkcode workgroupMain}, {@linkcode sharedReduce}, {@linkcode workgroupGrid}: the tiled
 *   pattern, a workgroup cooperating through `var<workgroup>` memory.
 * - {@linkcode launch}: compile once through the context's pipeline cache, then dispatch;
 *   {@linkcode gpuBuffer}, {@linkcode gpuStorage}, {@linkcode allocOutput},
 *   {@linkcode uploadArray}, {@linkcode readArray}, {@linkcode f32Param} for buffers and parameters.
 * - {@linkcode INDEX_ERROR_WGSL} with {@linkcode ERROR_BINDING}: a kernel that reads index values
 *   reports an out-of-range one (bind `gpu.errorBuffer`, pass the id from `gpu.indexSite(...)`),
 *   and the next readback throws the cpu backend's `IndexError`.
 *
 * @example
 * ```ts
 * import { definePlugin } from "../../mod.ts";
 * import { elementwise } from "./kit.ts";
 * import type { WebGpuKernel } from "./kit.ts";
 *
 * // softplus(x) = log(1 + exp(βx)) / β on the webgpu backend.
 * const softplus: WebGpuKernel<{ beta: number }> = {
 *   dtypes: ["float32"],
 *   run: (inputs, { beta }, out, gpu) => [
 *     elementwise(gpu, {
 *       name: "@acme/softplus",
 *       expr: "log(1.0 + exp(beta * a)) / beta",
 *       inputs,
 *       output: out[0],
 *       scalars: { beta },
 *     }),
 *   ],
 * };
 * const plugin = definePlugin({
 *   name: "@acme/softplus-kernels",
 *   kind: "op",
 *   version: "1.0.0",
 *   apiVersion: 1,
 *   kernels: { webgpu: { softplus } },
 * });
 * ```
 *
 * @module
 */

import { broadcastStrides, DeviceError, normalizeAxis, sizeOf } from "../../core/mod.ts";
import type { DType, Tensor, TensorSpec } from "../../core/mod.ts";
import { MAX_PARAMS } from "./device.ts";
import {
  coalesce,
  ELEMENT_MAIN,
  elementGrid,
  fbits,
  floatStore,
  prelude,
  stridedOffsets,
  wgslType,
} from "./wgsl.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import type { Binding } from "./wgsl.ts";
import { allocOutput, launch, sharedReduce, workgroupGrid, workgroupMain } from "./kit_launch.ts";

export { MAX_PARAMS } from "./device.ts";
export {
  ELEMENT_MAIN,
  elementGrid,
  ERROR_BINDING,
  floatStore,
  INDEX_ERROR_WGSL,
  prelude,
  WG,
  wgslType,
} from "./wgsl.ts";
export type { Gpu, GpuBuffer } from "./device.ts";
export type { Binding } from "./wgsl.ts";
// What an index-validating kernel reports through `gpu.indexSite(...)` (the device error record).
export type { IndexSite } from "../device_errors.ts";
export * from "./kit_launch.ts";

/** Scalars passed to a generated kernel: floats become `f32` and integers `i32` WGSL constants. */
export interface Scalars {
  /** f32 values by WGSL name (`{ beta: 1.5 }` gives `let beta: f32`). */
  scalars?: Readonly<Record<string, number>>;
  /** i32 values by WGSL name. */
  ints?: Readonly<Record<string, number>>;
  /** Extra WGSL declarations (helper functions) placed before `main`. */
  helpers?: string;
}

function scalarLets(s: Scalars, at: number): [string, number[]] {
  const lines: string[] = [], vals: number[] = [];
  for (const [k, v] of Object.entries(s.scalars ?? {})) {
    lines.push(`let ${k} = PF(${at + vals.length}u);`);
    vals.push(fbits(v));
  }
  for (const [k, v] of Object.entries(s.ints ?? {})) {
    lines.push(`let ${k} = P(${at + vals.length}u);`);
    vals.push(v | 0);
  }
  return [lines.join(" "), vals];
}

function isFloat(d: DType): boolean {
  return d === "float32" || d === "float16";
}

const LETTERS = "abcdefgh";

/** What {@linkcode elementwise} computes. */
export interface ElementwiseOptions extends Scalars {
  /** Pipeline key prefix and error label: your op's name (`"@acme/swish"`). */
  name: string;
  /**
   * One WGSL expression. Inputs are `a`, `b`, `c`... (float inputs, f32 or f16, are loaded as
   * `f32`; int32 and bool as `i32`); `i` is the output index. The value is converted to the
   * output's type: `f32(...)` for floats, `i32(...)` for int32 and bool (give a bool or 0/1).
   */
  expr: string;
  /** Contiguous input tensors (at most 8), each broadcastable to the output's shape. */
  inputs: readonly Tensor[];
  /** The output spec the kernel received. */
  output: TensorSpec;
}

/**
 * Runs one expression per output element and returns the output buffer. Broadcast inputs are read
 * with stride 0 along their size-1 dims; contiguous dims are merged first, so same-shape inputs
 * cost one index computation per element.
 */
export function elementwise(gpu: Gpu, options: ElementwiseOptions): GpuBuffer {
  const { name, inputs, output } = options;
  const n = sizeOf(output.shape);
  const o = allocOutput(gpu, output);
  if (n === 0) return o;
  if (inputs.length > LETTERS.length) {
    throw new DeviceError(`${name}: elementwise takes at most 8 inputs, got ${inputs.length}`);
  }
  const [shape, strides] = coalesce(
    output.shape,
    inputs.map((t) => broadcastStrides(t.shape, output.shape)),
  );
  const r = shape.length;
  const [lets, vals] = scalarLets(options, 1);
  const params = [n, ...vals, ...shape, ...strides.flat()];
  if (params.length > MAX_PARAMS) {
    throw new DeviceError(
      `${name}: ${params.length} kernel parameters for ${inputs.length} inputs of rank ${r} ` +
        `exceed ${MAX_PARAMS}`,
    );
  }
  const types = inputs.map((t) => wgslType(t.dtype));
  const outType = wgslType(output.dtype);
  const at = 1 + vals.length;
  const offs = inputs.map((_, j) => `o${j}`);
  const loads = inputs.map((t, j) =>
    `let ${LETTERS[j]} = ${isFloat(t.dtype) ? `f32(X${j}[o${j}])` : `X${j}[o${j}]`};`
  );
  const store = isFloat(output.dtype) ? "toT(f32(v))" : "i32(v)";
  const key = `${name}/elementwise/${types.join(",")}>${outType}/${r}/${options.expr}/` +
    `${Object.keys(options.scalars ?? {})}/${Object.keys(options.ints ?? {})}/${
      options.helpers ?? ""
    }`;
  launch(gpu, {
    key,
    op: name,
    code: () =>
      `${
        prelude([
          ...types.map((type, j): Binding => ({ name: `X${j}`, type })),
          { name: "O", type: outType, write: true },
        ])
      }${isFloat(output.dtype) ? floatStore(outType as "f32" | "f16") : ""}${options.helpers ?? ""}
${ELEMENT_MAIN}
  ${lets}
  ${stridedOffsets(offs, "i", r, at, inputs.map((_, j) => at + r + j * r))}
  ${loads.join("\n  ")}
  let v = ${options.expr};
  O[i] = ${store};
}`,
    buffers: [...inputs, o],
    params,
    grid: elementGrid(n),
  });
  return o;
}

/** What {@linkcode reduceAxis} computes. */
export interface ReduceAxisOptions extends Scalars {
  /** Pipeline key prefix and error label: your op's name. */
  name: string;
  /** The contiguous float input (f32 or f16; values are loaded and reduced as `f32`). */
  input: Tensor;
  /** The axis reduced (negative counts from the end). */
  axis: number;
  /** The output spec: the input's shape with `axis` removed or kept as 1 (same element count). */
  output: TensorSpec;
  /** WGSL f32 starting value, an identity of `combine` (`"0.0"`). */
  init: string;
  /** WGSL f32 expression of `acc` and `v`, associative (`"acc + v"`). */
  combine: string;
  /** WGSL f32 expression applied to each element `v` before combining (default `"v"`). */
  map?: string;
  /** WGSL f32 expression of `acc` and the axis length `n: u32` for the result (default `"acc"`). */
  finish?: string;
}

const RWG = 256;

/**
 * Reduces a float tensor along one axis and returns the output buffer. Each output gets one thread
 * looping over the axis, or, when the axis is long and outputs are few, a workgroup of 256 threads
 * whose partial results meet in a {@linkcode sharedReduce} tree.
 */
export function reduceAxis(gpu: Gpu, options: ReduceAxisOptions): GpuBuffer {
  const { name, input: x } = options;
  if (!isFloat(x.dtype) || !isFloat(options.output.dtype)) {
    throw new DeviceError(
      `${name}: reduceAxis takes a float input and output, got ${x.dtype} and ` +
        `${options.output.dtype}`,
    );
  }
  const axis = normalizeAxis(name, options.axis, x.ndim);
  const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1));
  const n = x.ndim ? x.shape[axis] : 1;
  const rows = outer * inner;
  const o = allocOutput(gpu, options.output);
  if (sizeOf(options.output.shape) !== rows) {
    throw new DeviceError(
      `${name}: output of ${sizeOf(options.output.shape)} elements for a reduction of ` +
        `[${x.shape.join(", ")}] along axis ${axis} (expected ${rows})`,
    );
  }
  if (rows === 0) return o;
  const [lets, vals] = scalarLets(options, 3);
  const t = wgslType(x.dtype), ot = wgslType(options.output.dtype);
  const wide = n >= 2 * RWG && rows < 4096;
  const fns = `${floatStore(ot as "f32" | "f16")}${options.helpers ?? ""}
fn combine(acc: f32, v: f32) -> f32 { ${lets} return ${options.combine}; }
fn pre(v: f32) -> f32 { ${lets} return ${options.map ?? "v"}; }
fn finish(acc: f32, n: u32) -> f32 { ${lets} return ${options.finish ?? "acc"}; }`;
  const head = `${prelude([{ name: "X", type: t }, { name: "O", type: ot, write: true }])}${fns}`;
  const key = `${name}/reduceAxis/${t}>${ot}/${wide}/${options.init}/${options.combine}/` +
    `${options.map}/${options.finish}/${Object.keys(options.scalars ?? {})}/` +
    `${Object.keys(options.ints ?? {})}/${options.helpers ?? ""}`;
  const loop = (start: string, step: string) =>
    `let n = PU(1u); let inner = PU(2u);
  let b = (row / inner) * n * inner + row % inner;
  var acc: f32 = ${options.init};
  for (var r = ${start}; r < n; r += ${step}) { acc = combine(acc, pre(f32(X[b + r * inner]))); }`;
  const code = wide
    ? () =>
      `${head}
${workgroupMain({ size: RWG, shared: { part: `array<f32, ${RWG}>` } })}
  let row = wid.y * nwg.x + wid.x;
  let live = row < PU(0u);
  var total: f32 = ${options.init};
  if (live) {
    ${loop("li", `${RWG}u`)}
    total = acc;
  }
  part[li] = total;
  workgroupBarrier();
  ${sharedReduce("part", RWG, "combine(part[li], part[li + s])")}
  if (live && li == 0u) { O[row] = toT(finish(part[0], PU(1u))); }
}`
    : () =>
      `${head}
${ELEMENT_MAIN}
  let row = i;
  ${loop("0u", "1u")}
  O[row] = toT(finish(acc, n));
}`;
  launch(gpu, {
    key,
    op: name,
    code,
    buffers: [x, o],
    params: [rows, n, inner, ...vals],
    grid: wide ? workgroupGrid(rows) : elementGrid(rows),
  });
  return o;
}
