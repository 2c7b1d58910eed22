/**
 * cpu elementwise kernels. Each op's loop is generated once from a one-line expression, so the hot
 * loop has no per-element closure call or switch; broadcasting walks strides with an odometer over
 * the outer dimensions and a tight inner loop. ReLU and its backward are in relu.ts.
 *
 * @module
 */

import type { DType, Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import { allocHost, broadcastStrides, sizeOf } from "../../core/mod.ts";
import { outputF32 } from "../../core/host_pool.ts";
import { hostArray, hostStorage } from "./kit.ts";
import { denseCopy } from "./movement.ts";
import { reluBackwardKernel, reluKernel } from "./relu.ts";
import type { CpuKernel, CpuKernelTable } from "./kit.ts";

// Abramowitz–Stegun 7.1.26 is too coarse for float32 tests; this is a rational approximation
// accurate to ~1e-7 (W. J. Cody's erf), enough for float32.
/** erf as the cpu kernels compute it (the `erf` the expression tables call). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 0.5) {
    const t = x * x;
    const p = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t +
          377.485237685302021) * t + 3209.37758913846947;
    const q =
      (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t +
      2844.23683343917062;
    return x * p / q;
  }
  if (ax >= 6) return x > 0 ? 1 : -1;
  // erfc via a continued-fraction-free rational fit for 0.5 <= |x| < 6.
  const t = 1 / (1 + 0.5 * ax);
  const y = t * Math.exp(
    -ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
                      t *
                        (0.27886807 +
                          t *
                            (-1.13520398 +
                              t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x > 0 ? 1 - y : y - 1;
}

// Round half to even, as PyTorch's round does.
/** Rounds half to even (the `rint` the expression tables call). */
export function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** JS expression of each unary op over `a` (calls `erf`, `rint`); shared with fused kernels. */
export const UNARY: Record<string, string> = {
  neg: "-a",
  exp: "Math.exp(a)",
  log: "Math.log(a)",
  log1p: "Math.log1p(a)",
  sqrt: "Math.sqrt(a)",
  rsqrt: "1 / Math.sqrt(a)",
  abs: "Math.abs(a)",
  sign: "(+(a > 0) - +(a < 0)) || a",
  sigmoid: "1 / (1 + Math.exp(-a))",
  tanh: "Math.tanh(a)",
  erf: "erf(a)",
  sin: "Math.sin(a)",
  cos: "Math.cos(a)",
  reciprocal: "1 / a",
  floor: "Math.floor(a)",
  ceil: "Math.ceil(a)",
  round: "rint(a)",
  logicalNot: "+(a === 0)",
};

/** JS expression of each binary op over `a` and `b`; shared with fused kernels. */
export const BINARY: Record<string, string> = {
  add: "a + b",
  sub: "a - b",
  mul: "a * b",
  div: "a / b",
  // C's pow (PyTorch's): 1 to any power, even NaN, and (-1) to ±Infinity are 1; Math.pow gives NaN.
  pow: "(a === 1 || (a === -1 && (b === Infinity || b === -Infinity)) ? 1 : Math.pow(a, b))",
  maximum: "(a !== a || b !== b ? NaN : a > b ? a : b)",
  minimum: "(a !== a || b !== b ? NaN : a < b ? a : b)",
  eq: "+(a === b)",
  ne: "+(a !== b)",
  lt: "+(a < b)",
  le: "+(a <= b)",
  gt: "+(a > b)",
  ge: "+(a >= b)",
  logicalAnd: "+(a !== 0 && b !== 0)",
  logicalOr: "+(a !== 0 || b !== 0)",
};

type UnaryLoop = (a: TypedArray, o: TypedArray, n: number) => void;
type BinaryLoop = (
  a: TypedArray,
  b: TypedArray,
  o: TypedArray,
  shape: readonly number[],
  sa: readonly number[],
  sb: readonly number[],
) => void;

function compileUnary(expr: string): UnaryLoop {
  const f = new Function(
    "erf",
    "rint",
    `return function (A, O, n) { for (let i = 0; i < n; i++) { const a = A[i]; O[i] = ${expr}; } };`,
  );
  return f(erf, rint) as UnaryLoop;
}

// A broadcast operand that is constant along the trailing `inner` elements and repeats with period
// `period` blocks along the leading ones ([1, C, 1, 1] against [N, C, H, W]: period C, inner H·W;
// a bias [C] against [N, C]: period C, inner 1). Returns [period, inner], or null when the strides
// follow another pattern.
function blockPattern(
  shape: readonly number[],
  s: readonly number[],
): [number, number] | null {
  let t = shape.length, inner = 1, period = 1;
  while (t > 0 && (s[t - 1] === 0 || shape[t - 1] === 1)) inner *= shape[--t];
  let stride = 1;
  while (t > 0 && s[t - 1] === stride && shape[t - 1] !== 1) {
    period *= shape[t - 1];
    stride *= shape[--t];
  }
  while (t > 0 && (s[t - 1] === 0 || shape[t - 1] === 1)) t--;
  return t === 0 && (inner > 1 || period > 1) ? [period, inner] : null;
}

// The general loop walks strides with an odometer; the block loops serve the per-channel
// broadcasts of batch norm and conv bias, whose innermost broadcast dims are too short for it, and
// the row broadcasts of a linear layer's bias (inner 1).
function compileBinary(expr: string): BinaryLoop {
  const body = `
  const d = shape.length;
  let n = 1;
  for (let i = 0; i < d; i++) n *= shape[i];
  if (n === 0) return;
  if (d === 0) {
    const a = A[0], b = B[0];
    O[0] = ${expr};
    return;
  }
  if (A.length === n && B.length === n) {
    for (let i = 0; i < n; i++) { const a = A[i], b = B[i]; O[i] = ${expr}; }
    return;
  }
  if (B.length === 1 && A.length === n) {
    const b = B[0];
    for (let i = 0; i < n; i++) { const a = A[i]; O[i] = ${expr}; }
    return;
  }
  if (A.length === 1 && B.length === n) {
    const a = A[0];
    for (let i = 0; i < n; i++) { const b = B[i]; O[i] = ${expr}; }
    return;
  }
  if (A.length === n) {
    const pat = blockPattern(shape, sb);
    if (pat !== null && pat[1] === 1) {
      const period = pat[0];
      for (let o = 0; o < n; o += period) {
        for (let c = 0; c < period; c++) { const a = A[o + c], b = B[c]; O[o + c] = ${expr}; }
      }
      return;
    }
    if (pat !== null) {
      const period = pat[0], inner = pat[1];
      for (let o = 0; o < n; o += period * inner) {
        for (let c = 0; c < period; c++) {
          const b = B[c], base = o + c * inner, end = base + inner;
          for (let i = base; i < end; i++) { const a = A[i]; O[i] = ${expr}; }
        }
      }
      return;
    }
  } else if (B.length === n) {
    const pat = blockPattern(shape, sa);
    if (pat !== null && pat[1] === 1) {
      const period = pat[0];
      for (let o = 0; o < n; o += period) {
        for (let c = 0; c < period; c++) { const a = A[c], b = B[o + c]; O[o + c] = ${expr}; }
      }
      return;
    }
    if (pat !== null) {
      const period = pat[0], inner = pat[1];
      for (let o = 0; o < n; o += period * inner) {
        for (let c = 0; c < period; c++) {
          const a = A[c], base = o + c * inner, end = base + inner;
          for (let i = base; i < end; i++) { const b = B[i]; O[i] = ${expr}; }
        }
      }
      return;
    }
  }
  const last = d - 1, inner = shape[last], ia = sa[last], ib = sb[last];
  const idx = new Array(d).fill(0);
  let pa = 0, pb = 0, o = 0;
  while (o < n) {
    for (let j = 0; j < inner; j++) { const a = A[pa + j * ia], b = B[pb + j * ib]; O[o + j] = ${expr}; }
    o += inner;
    let k = last - 1;
    for (; k >= 0; k--) {
      idx[k]++;
      pa += sa[k]; pb += sb[k];
      if (idx[k] < shape[k]) break;
      pa -= sa[k] * shape[k]; pb -= sb[k] * shape[k];
      idx[k] = 0;
    }
    if (k < 0) break;
  }`;
  return new Function("blockPattern", `return function (A, B, O, shape, sa, sb) {${body}};`)(
    blockPattern,
  ) as BinaryLoop;
}

// Each dtype gets its own compiled copy of a loop, so the element accesses in the hot loop stay
// monomorphic (one loop shared by Float32Array and Int32Array runs markedly slower on both).
function perDType<L>(compile: () => L): (dtype: string) => L {
  const loops = new Map<string, L>();
  return (dtype) => {
    let l = loops.get(dtype);
    if (!l) loops.set(dtype, l = compile());
    return l;
  };
}

// The elementwise loops write every element of their output: float32 ones need no zeroing.
const output = (dtype: DType, n: number): TypedArray =>
  dtype === "float32" ? outputF32(n) : allocHost(dtype, n);

function unaryKernel(op: string): CpuKernel<unknown> {
  const loopFor = perDType(() => compileUnary(UNARY[op]));
  return {
    run(inputs: readonly Tensor[], _a: unknown, out: readonly TensorSpec[]): TypedArray[] {
      const x = inputs[0];
      const o = output(out[0].dtype, x.numel());
      loopFor(x.dtype)(hostArray(x), o, x.numel());
      return [o];
    },
  };
}

// The array and per-dim strides (over the output shape) a binary loop reads for one operand. The
// loop takes an array whose length is the output's size as dense and one of length 1 as a scalar;
// a view (an expanded gradient, a transposed weight) is walked through its own strides in its
// storage, unless the rest of its storage happens to have the output's size: then it is copied.
function operand(
  t: Tensor,
  shape: readonly number[],
  n: number,
): [TypedArray, readonly number[]] {
  if (t.isDense) return [hostArray(t), broadcastStrides(t.shape, shape)];
  // A one-element view (a 0-d select, x[i][j]) is a scalar to the loop, wherever it sits.
  if (t.numel() === 1) {
    return [hostStorage(t).subarray(t.offset, t.offset + 1), shape.map(() => 0)];
  }
  const a = hostStorage(t).subarray(t.offset);
  // One element left in the storage: every element of the view is that one (a broadcast scalar).
  if (a.length === 1) return [a, shape.map(() => 0)];
  if (a.length === n) return [denseCopy(t), broadcastStrides(t.shape, shape)];
  return [a, broadcastStrides(t.shape, shape, t.strides)];
}

function binaryKernel(op: string): CpuKernel<unknown> {
  const loopFor = perDType(() => compileBinary(BINARY[op]));
  return {
    strided: true,
    run(inputs: readonly Tensor[], _a: unknown, out: readonly TensorSpec[]): TypedArray[] {
      const [x, y] = inputs;
      const shape = out[0].shape;
      const n = sizeOf(shape);
      const o = output(out[0].dtype, n);
      const [a, sa] = operand(x, shape, n);
      const [b, sb] = operand(y, shape, n);
      loopFor(x.dtype)(a, b, o, shape, sa, sb);
      return [o];
    },
  };
}

/** Reads `t` broadcast to `shape` into a fresh contiguous array (expand's kernel). */
export function broadcastTo(t: Tensor, shape: readonly number[], dtype = t.dtype): TypedArray {
  const n = sizeOf(shape);
  const o = allocHost(dtype, n);
  const src = hostArray(t);
  if (t.numel() === 1) {
    o.fill(src[0]);
    return o;
  }
  const st = broadcastStrides(t.shape, shape);
  const pat = blockPattern(shape, st);
  if (pat) {
    const [period, inner] = pat;
    for (let b = 0; b < n; b += period * inner) {
      for (let c = 0; c < period; c++) {
        const v = src[c], base = b + c * inner, end = base + inner;
        for (let i = base; i < end; i++) o[i] = v;
      }
    }
    return o;
  }
  COPY(src, src.subarray(0, 1), o, shape, st, shape.map(() => 0));
  return o;
}

const COPY = compileBinary("a");

function whereKernel(
  inputs: readonly Tensor[],
  _a: unknown,
  out: readonly TensorSpec[],
): TypedArray[] {
  const shape = out[0].shape;
  const c = broadcastTo(inputs[0], shape) as Uint8Array;
  const a = broadcastTo(inputs[1], shape);
  const b = broadcastTo(inputs[2], shape);
  if (a instanceof Uint8Array) {
    for (let i = 0; i < c.length; i++) a[i] = (a[i] & -c[i]) | (b[i] & (c[i] - 1));
    return [a];
  }
  if (a instanceof Float16Array) {
    const ah = new Int16Array(a.buffer, a.byteOffset, a.length);
    const bh = new Int16Array(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < c.length; i++) {
      const m = -c[i];
      ah[i] = (ah[i] & m) | (bh[i] & ~m);
    }
    return [a];
  }
  // Select through integer views with a mask: no unpredictable branch, and exact for every value.
  const ai = a instanceof Int32Array ? a : new Int32Array(a.buffer, a.byteOffset, a.length);
  const bi = b instanceof Int32Array ? b : new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < c.length; i++) {
    const m = -c[i];
    ai[i] = (ai[i] & m) | (bi[i] & ~m);
  }
  return [a];
}

function castKernel(
  inputs: readonly Tensor[],
  _a: unknown,
  out: readonly TensorSpec[],
): TypedArray[] {
  const x = inputs[0];
  const src = hostArray(x);
  const o = allocHost(out[0].dtype, x.numel());
  if (out[0].dtype === "bool") { for (let i = 0; i < x.numel(); i++) o[i] = src[i] !== 0 ? 1 : 0; }
  else for (let i = 0; i < x.numel(); i++) o[i] = src[i];
  return [o];
}

/** Elementwise kernel table of the cpu backend. */
export const elementwiseKernels: CpuKernelTable = {
  ...Object.fromEntries(Object.keys(UNARY).map((k) => [k, unaryKernel(k)])),
  ...Object.fromEntries(Object.keys(BINARY).map((k) => [k, binaryKernel(k)])),
  relu: { run: reluKernel, dtypes: ["float32", "float16", "int32"] },
  reluBackward: { run: reluBackwardKernel, dtypes: ["float32", "float16"] },
  where: { run: whereKernel },
  cast: { run: castKernel },
  copy: { run: ([x]) => [hostArray(x).slice(0, x.numel())] },
};
