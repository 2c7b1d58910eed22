/**
 * Broadcasting elementwise kernels in the cuda kernel kit (import it through `kit.ts`, the entry
 * point): {@linkcode elementwise} runs one C expression per output element over any number of
 * inputs, strided index math over merged dims; {@linkcode elementwiseSource} and
 * {@linkcode launchElementwise} are its two halves, for kernel files that cache their sources.
 *
 * @module
 */

import { broadcastStrides, coalesce, DeviceError, shapeStr, sizeOf } from "../../../core/mod.ts";
import type { DType, Tensor, TensorSpec } from "../../../core/mod.ts";
import type { Cuda, CudaBuffer } from "../types.ts";
import {
  cName,
  computeType,
  cType,
  kernelSource,
  load,
  MAX_DIMS,
  store,
  tag,
} from "./kit_source.ts";
import { allocOutput, launchN, ptr } from "./kit_launch.ts";
import type { Operand } from "./kit_launch.ts";
import { stridedArgs, stridedOffsets, stridedParams } from "./kit_strided.ts";

const LETTERS = "abcdefgh";

/** What {@linkcode elementwiseSource} generates. */
export interface ElementwiseSourceOptions {
  /** The kernel's `extern "C"` name. */
  name: string;
  /** Input dtypes (at most 8); inputs are `a`, `b`, ... in the expression. */
  inputs: readonly DType[];
  /** Output dtype. */
  output: DType;
  /**
   * One C expression of `a`, `b`, ... (loaded as {@linkcode computeType}: `float` for float32 and
   * float16, `int` for int32 and bool; raw storage values with `raw`), the flat output index `i`
   * (`long long`) and the scalars; converted to the output's storage type.
   */
  expr: string;
  /** Load inputs and store the result as raw storage values (moves and `where`). */
  raw?: boolean;
  /** `float` scalar parameter names. */
  scalars?: readonly string[];
  /** `int` scalar parameter names. */
  ints?: readonly string[];
  /** Extra C (device functions) placed before the kernel. */
  helpers?: string;
}

/**
 * The source of a broadcasting elementwise kernel. Parameters: the output pointer, the input
 * pointers, `long long n`, the {@linkcode stridedParams} of the inputs, then the float scalars and
 * the int scalars, in the order given.
 */
export function elementwiseSource(o: ElementwiseSourceOptions): string {
  if (o.inputs.length > LETTERS.length) {
    throw new DeviceError(`${o.name}: elementwise takes at most 8 inputs, got ${o.inputs.length}`);
  }
  const names = o.inputs.map((_, j) => LETTERS[j]);
  const params = [
    `${cType(o.output)}* __restrict__ out`,
    ...o.inputs.map((d, j) => `const ${cType(d)}* __restrict__ ${names[j]}_p`),
    "long long n",
    ...stridedParams(names),
    ...(o.scalars ?? []).map((s) => `float ${s}`),
    ...(o.ints ?? []).map((s) => `int ${s}`),
  ];
  const loads = o.inputs.map((d, j) => {
    const v = `${names[j]}_p[${names[j]}_off]`;
    return o.raw
      ? `    const ${cType(d)} ${names[j]} = ${v};`
      : `    const ${computeType(d)} ${names[j]} = ${load(d, v)};`;
  });
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
  ${stridedOffsets(names, "i")}
${loads.join("\n")}
    out[i] = ${o.raw ? `(${o.expr})` : store(o.output, o.expr)};
  }`;
  return kernelSource(o.name, params, body, o.helpers ?? "");
}

/** What {@linkcode elementwise} computes (see {@linkcode ElementwiseSourceOptions} for `expr`). */
export interface ElementwiseOptions {
  /** Your op's name (`"@acme/swish"`); the kernel name is made from it and the dtypes. */
  name: string;
  /** One C expression of `a`, `b`, ..., `i` and the scalars. */
  expr: string;
  /** Contiguous input tensors (at most 8), each broadcastable to the output's shape. */
  inputs: readonly Tensor[];
  /** The output spec the kernel received. */
  output: TensorSpec;
  /** `float` scalars by C name. */
  scalars?: Readonly<Record<string, number>>;
  /** `int` scalars by C name. */
  ints?: Readonly<Record<string, number>>;
  /** Extra C device functions placed before the kernel. */
  helpers?: string;
  /** Raw storage loads and store (see {@linkcode ElementwiseSourceOptions.raw}). */
  raw?: boolean;
}

/** The kernel name {@linkcode elementwise} gives an op over these dtypes. */
export function elementwiseName(name: string, inputs: readonly DType[], output: DType): string {
  return `${cName(name)}_${inputs.map(tag).join("")}_${tag(output)}`;
}

/**
 * Runs one expression per output element, with broadcasting, and returns the output buffer.
 * Broadcast inputs are read with stride 0; contiguous dims are merged first.
 */
export function elementwise(cuda: Cuda, o: ElementwiseOptions): CudaBuffer {
  const out = allocOutput(cuda, o.output);
  const name = elementwiseName(o.name, o.inputs.map((t) => t.dtype), o.output.dtype);
  const source = elementwiseSource({
    name,
    inputs: o.inputs.map((t) => t.dtype),
    output: o.output.dtype,
    expr: o.expr,
    raw: o.raw,
    scalars: Object.keys(o.scalars ?? {}),
    ints: Object.keys(o.ints ?? {}),
    helpers: o.helpers,
  });
  launchElementwise(cuda, name, source, o.inputs, out, o.output.shape, o.scalars, o.ints);
  return out;
}

/**
 * Launches a kernel from {@linkcode elementwiseSource} over `shape` into `out`, with the inputs
 * broadcast to `shape`.
 */
export function launchElementwise(
  cuda: Cuda,
  name: string,
  source: string,
  inputs: readonly Operand[],
  out: CudaBuffer,
  shape: readonly number[],
  scalars: Readonly<Record<string, number>> = {},
  ints: Readonly<Record<string, number>> = {},
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const [s, st] = coalesce(shape, inputs.map((t) => broadcastStrides(t.shape, shape)));
  if (s.length > MAX_DIMS) {
    throw new DeviceError(
      `${name}: output ${shapeStr(shape)} has ${s.length} dims after merging; at most ${MAX_DIMS}`,
    );
  }
  launchN(cuda, name, source, n, [
    { ptr: out },
    ...inputs.map(ptr),
    { i64: n },
    ...stridedArgs(s, st),
    ...Object.values(scalars).map((v) => ({ f32: v })),
    ...Object.values(ints).map((v) => ({ i32: v | 0 })),
  ]);
}
