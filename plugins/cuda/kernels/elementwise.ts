/**
 * cuda elementwise kernels: unary math, binary arithmetic and comparisons with broadcasting, where,
 * cast and ReLU's backward. One `extern "C"` kernel per op and dtype (`denn_add_f32`,
 * `denn_cast_f16_i32`, ...), each a grid-stride loop over the output with per-input strides
 * (stride 0 along broadcast dims, contiguous dims merged first; see the kit's `elementwise`).
 * float16 values are loaded as float, computed in float and rounded once when stored; bool
 * values load as int (0/1) and store as `unsigned char` 0/1.
 *
 * @module
 */

import type { DType, Tensor, TensorSpec } from "../../../core/mod.ts";
import { broadcastStrides, sizeOf } from "../../../core/mod.ts";
import { ALL_DTYPES, FLOATS, sourceCache, tag } from "./kit_source.ts";
import { allocOutput } from "./kit_launch.ts";
import { dimsSupported } from "./kit_strided.ts";
import { elementwiseSource, launchElementwise } from "./kit_elementwise.ts";
import type { Cuda, CudaBuffer, CudaKernel, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";
import type { Operand } from "./kit_launch.ts";

const MATH = `
__device__ __forceinline__ int denn_powi(int a, int b) {
  if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
  unsigned int r = 1u, x = (unsigned int)a;
  while (b) { if (b & 1) r *= x; x *= x; b >>= 1; }
  return (int)r;
}
__device__ __forceinline__ float denn_maxf(float a, float b) {
  return (a != a || b != b) ? denn_nan() : fmaxf(a, b);
}
__device__ __forceinline__ float denn_minf(float a, float b) {
  return (a != a || b != b) ? denn_nan() : fminf(a, b);
}
`;

/** Unary ops: [float expression, int expression or null]. `a` is the input. */
const UNARY: Record<string, [string, string | null]> = {
  neg: ["-a", "(int)(0u - (unsigned int)a)"],
  exp: ["expf(a)", null],
  log: ["logf(a)", null],
  log1p: ["log1pf(a)", null],
  sqrt: ["sqrtf(a)", null],
  rsqrt: ["rsqrtf(a)", null],
  abs: ["fabsf(a)", "(a < 0 ? (int)(0u - (unsigned int)a) : a)"],
  sign: ["(a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : a))", "((a > 0) - (a < 0))"],
  relu: ["(a < 0.0f ? 0.0f : a)", "(a < 0 ? 0 : a)"],
  sigmoid: ["1.0f / (1.0f + expf(-a))", null],
  tanh: ["tanhf(a)", null],
  erf: ["erff(a)", null],
  sin: ["sinf(a)", null],
  cos: ["cosf(a)", null],
  reciprocal: ["1.0f / a", null],
  floor: ["floorf(a)", "a"],
  ceil: ["ceilf(a)", "a"],
  round: ["rintf(a)", "a"],
};

/** Binary arithmetic: [float expression, int expression, accepts bool]. */
const ARITH: Record<string, [string, string, boolean]> = {
  add: ["a + b", "(int)((unsigned int)a + (unsigned int)b)", false],
  sub: ["a - b", "(int)((unsigned int)a - (unsigned int)b)", false],
  mul: ["a * b", "(int)((unsigned int)a * (unsigned int)b)", false],
  div: ["a / b", "((b == 0 || (b == -1 && a == (-2147483647 - 1))) ? 0 : a / b)", false],
  pow: ["powf(a, b)", "denn_powi(a, b)", false],
  maximum: ["denn_maxf(a, b)", "(a > b ? a : b)", true],
  minimum: ["denn_minf(a, b)", "(a < b ? a : b)", true],
};

/** Comparisons (bool results): [expression, dtypes]. */
const COMPARE: Record<string, [string, readonly DType[]]> = {
  eq: ["a == b", ALL_DTYPES],
  ne: ["a != b", ALL_DTYPES],
  lt: ["a < b", ALL_DTYPES],
  le: ["a <= b", ALL_DTYPES],
  gt: ["a > b", ALL_DTYPES],
  ge: ["a >= b", ALL_DTYPES],
  logicalAnd: ["(a != 0) && (b != 0)", ["bool"]],
  logicalOr: ["(a != 0) || (b != 0)", ["bool"]],
};

function unaryDtypes(op: string): readonly DType[] {
  if (op === "logicalNot") return ["bool"];
  return UNARY[op][1] === null ? FLOATS : ["float32", "float16", "int32"];
}

function arithDtypes(op: string): readonly DType[] {
  return ARITH[op][2] ? ALL_DTYPES : ["float32", "float16", "int32"];
}

/** The source of unary `op` on `dtype`. */
function unarySource(op: string, dtype: DType): KernelSource {
  const name = `denn_${op}_${tag(dtype)}`;
  const expr = op === "logicalNot" ? "a == 0" : dtype === "int32" ? UNARY[op][1]! : UNARY[op][0];
  const out: DType = op === "logicalNot" ? "bool" : dtype;
  return {
    name,
    ops: [op],
    source: elementwiseSource({ name, inputs: [dtype], output: out, expr }),
  };
}

function binarySource(op: string, dtype: DType): KernelSource {
  const name = `denn_${op}_${tag(dtype)}`;
  const compare = op in COMPARE;
  const expr = compare ? COMPARE[op][0] : ARITH[op][computeIsFloat(dtype) ? 0 : 1];
  return {
    name,
    ops: [op],
    source: elementwiseSource({
      name,
      inputs: [dtype, dtype],
      output: compare ? "bool" : dtype,
      expr,
      helpers: MATH,
    }),
  };
}

function computeIsFloat(d: DType): boolean {
  return d === "float32" || d === "float16";
}

function whereSource(dtype: DType): KernelSource {
  const name = `denn_where_${tag(dtype)}`;
  return {
    name,
    ops: ["where"],
    source: elementwiseSource({
      name,
      inputs: ["bool", dtype, dtype],
      output: dtype,
      expr: "a ? b : c",
      raw: true,
    }),
  };
}

/** The source of the cast from `from` to `to` (float → int truncates; saturates out of range). */
export function castSource(from: DType, to: DType): KernelSource {
  const name = `denn_cast_${tag(from)}_${tag(to)}`;
  return {
    name,
    ops: ["cast"],
    source: elementwiseSource({ name, inputs: [from], output: to, expr: "a" }),
  };
}

/** Casts dense `x` (a tensor or a scratch buffer) into `out`, a buffer of as many elements. */
export function castInto(cuda: Cuda, x: Operand, out: CudaBuffer): void {
  const s = cached(`cast/${x.dtype}/${out.dtype}`, () => castSource(x.dtype, out.dtype));
  launchElementwise(cuda, s.name, s.source, [x], out, x.shape);
}

/** A new float32 buffer holding dense `x` (float16 operands of cuBLAS and the conv scratch). */
export function widen(cuda: Cuda, x: Operand): CudaBuffer {
  const out = cuda.alloc(sizeOf(x.shape), "float32");
  castInto(cuda, x, out);
  return out;
}

function reluBackwardSource(dtype: DType): KernelSource {
  const name = `denn_reluBackward_${tag(dtype)}`;
  // As PyTorch's threshold_backward: g passes where y > 0 or y is NaN.
  return {
    name,
    ops: ["reluBackward"],
    source: elementwiseSource({
      name,
      inputs: [dtype, dtype],
      output: dtype,
      expr: "(b > 0.0f || b != b) ? a : 0.0f",
    }),
  };
}

// Every variant, in a stable order.
function variants(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const op of [...Object.keys(UNARY), "logicalNot"]) {
    for (const d of unaryDtypes(op)) out.push(unarySource(op, d));
  }
  for (const op of Object.keys(ARITH)) {
    for (const d of arithDtypes(op)) out.push(binarySource(op, d));
  }
  for (const op of Object.keys(COMPARE)) {
    for (const d of COMPARE[op][1]) out.push(binarySource(op, d));
  }
  for (const d of ALL_DTYPES) out.push(whereSource(d));
  for (const f of ALL_DTYPES) {
    for (const t of ALL_DTYPES) if (f !== t) out.push(castSource(f, t));
  }
  for (const d of FLOATS) out.push(reluBackwardSource(d));
  return out;
}

/** Every source the elementwise kernels launch. */
export function elementwiseSources(): KernelSource[] {
  return variants();
}

const cached = sourceCache();

// Inputs broadcast to the output; declines layouts with more than MAX_DIMS merged dims.
function broadcastSupports(op: string) {
  return (inputs: readonly Tensor[]): true | string => {
    let shape: readonly number[] = [];
    for (const t of inputs) if (t.ndim > shape.length) shape = t.shape;
    // The output shape is the broadcast of all inputs: take per-dim maxima.
    const out = [...shape];
    for (const t of inputs) {
      const lead = out.length - t.ndim;
      t.shape.forEach((s, i) => (out[lead + i] = Math.max(out[lead + i], s)));
    }
    return dimsSupported(op, out, inputs.map((t) => broadcastStrides(t.shape, out)));
  };
}

function run(
  source: KernelSource,
  inputs: readonly Tensor[],
  spec: TensorSpec,
  cuda: Parameters<CudaKernel["run"]>[3],
): CudaBuffer[] {
  const out = allocOutput(cuda, spec);
  launchElementwise(cuda, source.name, source.source, inputs, out, spec.shape);
  return [out];
}

/** Elementwise kernel table of the cuda backend. */
export function elementwiseKernels(): CudaKernelTable {
  const table: CudaKernelTable = {};
  for (const op of [...Object.keys(UNARY), "logicalNot"]) {
    table[op] = {
      dtypes: unaryDtypes(op),
      supports: broadcastSupports(op),
      run: (inputs, _a, out, cuda) =>
        run(
          cached(`${op}/${inputs[0].dtype}`, () => unarySource(op, inputs[0].dtype)),
          inputs,
          out[0],
          cuda,
        ),
    };
  }
  for (const op of [...Object.keys(ARITH), ...Object.keys(COMPARE)]) {
    table[op] = {
      dtypes: op in ARITH ? arithDtypes(op) : COMPARE[op][1],
      supports: broadcastSupports(op),
      run: (inputs, _a, out, cuda) =>
        run(
          cached(`${op}/${inputs[0].dtype}`, () => binarySource(op, inputs[0].dtype)),
          inputs,
          out[0],
          cuda,
        ),
    };
  }
  table.where = {
    supports: broadcastSupports("where"),
    run: (inputs, _a, out, cuda) =>
      run(
        cached(`where/${inputs[1].dtype}`, () => whereSource(inputs[1].dtype)),
        inputs,
        out[0],
        cuda,
      ),
  };
  table.cast = {
    supports: (inputs, a: { dtype: DType }) =>
      inputs[0].dtype === a.dtype
        ? `cast: ${a.dtype} to ${a.dtype} is the identity (core's cast() returns the tensor itself)`
        : broadcastSupports("cast")(inputs),
    run: (inputs, a: { dtype: DType }, out, cuda) => {
      const from = inputs[0].dtype;
      return run(
        cached(`cast/${from}/${a.dtype}`, () => castSource(from, a.dtype)),
        inputs,
        out[0],
        cuda,
      );
    },
  };
  table.reluBackward = {
    dtypes: FLOATS,
    supports: broadcastSupports("reluBackward"),
    run: (inputs, _a, out, cuda) =>
      run(
        cached(`reluBackward/${inputs[0].dtype}`, () => reluBackwardSource(inputs[0].dtype)),
        inputs,
        out[0],
        cuda,
      ),
  };
  return table;
}
