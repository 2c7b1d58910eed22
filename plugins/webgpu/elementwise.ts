/**
 * webgpu elementwise kernels: unary math, binary arithmetic and comparisons with broadcasting,
 * ReLU's backward, where, cast, expand and copy. Each op is one WGSL expression; broadcasting walks
 * the output with per-input strides (0 along broadcast dims) after merging contiguous dims, so a
 * same-shape or scalar operand costs one modulo per element.
 *
 * float16 (devices with `shader-f16`): add, sub, mul, div, comparisons, where and moves run on `f16`
 * values directly; the math functions load f16, compute in f32 and round once when stored.
 *
 * @module
 */

import type { DType, Tensor, TensorSpec } from "../../core/mod.ts";
import { broadcastStrides, sizeOf } from "../../core/mod.ts";
import {
  coalesce,
  ELEMENT_MAIN,
  elementGrid,
  floatStore,
  prelude,
  stridedOffsets,
  wgslType,
} from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import { gpuBuffer } from "./kit_launch.ts";
import type { WebGpuKernel, WebGpuKernelTable } from "./kit_launch.ts";
import { copyStrided } from "./movement.ts";

/** Float helpers: WGSL lacks log1p and erf, and tanh may overflow for large inputs. */
export const MATH: string = `
fn nanf() -> f32 { return bitcast<f32>(0x7fc00000u); }
// NaN tested on the bits: compilers may assume no NaNs and fold x != x to false.
fn isnanf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn inff() -> f32 { return bitcast<f32>(0x7f800000u); }
fn log1pf(x: f32) -> f32 {
  if (abs(x) < 1e-2) { return x * (1.0 - x * (0.5 - x * (1.0 / 3.0 - x * 0.25))); }
  return log(1.0 + x);
}
fn tanhf(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn erff(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 0.5) {
    let t = x * x;
    let p = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t +
      377.485237685302021) * t + 3209.37758913846947;
    let q = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t +
      2844.23683343917062;
    return x * p / q;
  }
  if (ax >= 6.0) { return sign(x); }
  let t = 1.0 / (1.0 + 0.5 * ax);
  let y = t * exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
    t * 0.17087277)))))))));
  return select(y - 1.0, 1.0 - y, x > 0.0);
}
fn powf(a: f32, b: f32) -> f32 {
  if (b == 0.0 || a == 1.0) { return 1.0; }
  if (a == -1.0 && abs(b) == inff()) { return 1.0; }
  if (isnanf(a) || isnanf(b)) { return nanf(); }
  if (a == 0.0) { return select(inff(), 0.0, b > 0.0); }
  let r = exp2(b * log2(abs(a)));
  if (a > 0.0) { return r; }
  if (b != floor(b)) { return nanf(); }
  return select(r, -r, abs(b) % 2.0 == 1.0);
}
fn powi(a: i32, b: i32) -> i32 {
  if (b < 0) { return select(select(0, select(1, -1, (b & 1) == 1), a == -1), 1, a == 1); }
  var r = 1; var x = a; var e = b;
  loop { if (e == 0) { break; } if ((e & 1) == 1) { r = r * x; } x = x * x; e = e >> 1u; }
  return r;
}
fn maxf(a: f32, b: f32) -> f32 { if (isnanf(a) || isnanf(b)) { return nanf(); } return max(a, b); }
fn minf(a: f32, b: f32) -> f32 { if (isnanf(a) || isnanf(b)) { return nanf(); } return min(a, b); }
`;

/** WGSL expressions of the float unary ops over `a`. */
export const UNARY_F: Record<string, string> = {
  neg: "-a",
  exp: "exp(a)",
  log: "log(a)",
  log1p: "log1pf(a)",
  sqrt: "sqrt(a)",
  rsqrt: "inverseSqrt(a)",
  abs: "abs(a)",
  sign: "select(select(a, -1.0, a < 0.0), 1.0, a > 0.0)",
  relu: "select(a, 0.0, a < 0.0)",
  sigmoid: "1.0 / (1.0 + exp(-a))",
  tanh: "tanhf(a)",
  erf: "erff(a)",
  sin: "sin(a)",
  cos: "cos(a)",
  reciprocal: "1.0 / a",
  floor: "floor(a)",
  ceil: "ceil(a)",
  round: "round(a)",
};

/** WGSL expressions of the int32 unary ops over `a`. */
export const UNARY_I: Record<string, string> = {
  neg: "-a",
  abs: "abs(a)",
  sign: "sign(a)",
  relu: "max(a, 0)",
  floor: "a",
  ceil: "a",
  round: "a",
  logicalNot: "select(0, 1, a == 0)",
};

const UNARY_OPS = [...Object.keys(UNARY_F), "logicalNot"];

/** WGSL expressions of the arithmetic binary ops over `a`, `b`: [float, int32]. */
export const ARITH: Record<string, [string, string]> = {
  add: ["a + b", "a + b"],
  sub: ["a - b", "a - b"],
  mul: ["a * b", "a * b"],
  div: ["a / b", "select(0, a / b, b != 0)"],
  pow: ["powf(a, b)", "powi(a, b)"],
  maximum: ["maxf(a, b)", "max(a, b)"],
  minimum: ["minf(a, b)", "min(a, b)"],
};

const COMPARE: Record<string, string> = {
  eq: "a == b",
  ne: "a != b",
  lt: "a < b",
  le: "a <= b",
  gt: "a > b",
  ge: "a >= b",
  logicalAnd: "a != T(0) && b != T(0)",
  logicalOr: "a != T(0) || b != T(0)",
};

const NATIVE_F16 = new Set(["add", "sub", "mul", "div"]);

function unaryKernel(gpu: Gpu, op: string): WebGpuKernel<unknown> {
  return {
    supports: (inputs) => withinLimits(gpu, inputs),
    run(inputs: readonly Tensor[], _a: unknown, out: readonly TensorSpec[]): GpuBuffer[] {
      const x = inputs[0];
      const o = gpu.allocFor(out[0].dtype, x.numel());
      if (x.numel() === 0) return [o];
      const t = wgslType(x.dtype);
      if (t === "f16") {
        const pipe = gpu.pipeline(
          `unary/${op}/f16`,
          () =>
            `${prelude([{ name: "X", type: "f16" }, { name: "O", type: "f16", write: true }])}${
              floatStore("f16")
            }${MATH}
${ELEMENT_MAIN}
  let a = f32(X[i]);
  O[i] = toT(${UNARY_F[op]});
}`,
        );
        gpu.dispatch(op, pipe, [gpuBuffer(x), o.buffer], [x.numel()], elementGrid(x.numel()));
        return [o];
      }
      const expr = (t === "f32" ? UNARY_F : UNARY_I)[op];
      const pipe = gpu.pipeline(`unary/${op}/${t}`, () =>
        `${
          prelude([{ name: "X", type: t }, {
            name: "O",
            type: wgslType(out[0].dtype),
            write: true,
          }])
        }${MATH}
${ELEMENT_MAIN}
  let a = X[i];
  O[i] = ${expr};
}`);
      gpu.dispatch(op, pipe, [gpuBuffer(x), o.buffer], [x.numel()], elementGrid(x.numel()));
      return [o];
    },
  };
}

function binaryKernel(gpu: Gpu, op: string): WebGpuKernel<unknown> {
  const compare = op in COMPARE;
  return {
    supports: (inputs) => withinLimits(gpu, inputs),
    run(inputs: readonly Tensor[], _a: unknown, out: readonly TensorSpec[]): GpuBuffer[] {
      const [x, y] = inputs;
      const shape = out[0].shape;
      const n = sizeOf(shape);
      const o = gpu.allocFor(out[0].dtype, n);
      if (n === 0) return [o];
      const t = wgslType(x.dtype);
      const [s, [sa, sb]] = coalesce(shape, [
        broadcastStrides(x.shape, shape),
        broadcastStrides(y.shape, shape),
      ]);
      const r = s.length;
      // f16 math functions (pow, maximum, minimum) load f32 and round the result once.
      const widen = t === "f16" && !compare && !NATIVE_F16.has(op);
      // NaN != x is true (IEEE); compilers may fold a != b for NaN, so test NaN on the bits.
      const cmp = op === "ne" && t !== "i32"
        ? "isnanf(f32(a)) || isnanf(f32(b)) || a != b"
        : COMPARE[op];
      const expr = compare
        ? `select(0, 1, ${cmp})`
        : widen
        ? `toT(${ARITH[op][0]})`
        : ARITH[op][t === "i32" ? 1 : 0];
      const pipe = gpu.pipeline(`binary/${op}/${t}/${r}`, () =>
        `${
          prelude([
            { name: "A", type: t },
            { name: "B", type: t },
            { name: "O", type: compare ? "i32" : t, write: true },
          ])
        }${t === "i32" ? "alias T = i32;\n" : floatStore(t)}${MATH}
${ELEMENT_MAIN}
  ${stridedOffsets(["ia", "ib"], "i", r, 1, [1 + r, 1 + 2 * r])}
  let a = ${widen ? "f32(A[ia])" : "A[ia]"};
  let b = ${widen ? "f32(B[ib])" : "B[ib]"};
  O[i] = ${expr};
}`);
      gpu.dispatch(
        op,
        pipe,
        [gpuBuffer(x), gpuBuffer(y), o.buffer],
        [n, ...s, ...sa, ...sb],
        elementGrid(n),
      );
      return [o];
    },
  };
}

function whereKernel(gpu: Gpu): WebGpuKernel<unknown> {
  return {
    supports: (inputs) => withinLimits(gpu, inputs),
    run(inputs: readonly Tensor[], _a: unknown, out: readonly TensorSpec[]): GpuBuffer[] {
      const [c, x, y] = inputs;
      const shape = out[0].shape;
      const n = sizeOf(shape);
      const o = gpu.allocFor(out[0].dtype, n);
      if (n === 0) return [o];
      const t = wgslType(x.dtype);
      const [s, st] = coalesce(shape, [c, x, y].map((v) => broadcastStrides(v.shape, shape)));
      const r = s.length;
      const pipe = gpu.pipeline(`where/${t}/${r}`, () =>
        `${
          prelude([
            { name: "C", type: "i32" },
            { name: "A", type: t },
            { name: "B", type: t },
            { name: "O", type: t, write: true },
          ])
        }
${ELEMENT_MAIN}
  ${stridedOffsets(["ic", "ia", "ib"], "i", r, 1, [1 + r, 1 + 2 * r, 1 + 3 * r])}
  O[i] = select(B[ib], A[ia], C[ic] != 0);
}`);
      gpu.dispatch(
        "where",
        pipe,
        [gpuBuffer(c), gpuBuffer(x), gpuBuffer(y), o.buffer],
        [n, ...s, ...st.flat()],
        elementGrid(n),
      );
      return [o];
    },
  };
}

// ReLU's backward from its output y, as PyTorch's `y <= 0 ? 0 : g`: g passes where y > 0 or y is
// NaN (so NaNs propagate), tested on y's bits because compilers may fold NaN comparisons away.
// g itself is moved unchanged, so a NaN gradient passes wherever y does.
function reluBackwardKernel(gpu: Gpu): WebGpuKernel<unknown> {
  return {
    dtypes: ["float32", "float16"],
    supports: (inputs) => withinLimits(gpu, inputs),
    run([g, y], _a, out): GpuBuffer[] {
      const n = g.numel();
      const o = gpu.allocFor(out[0].dtype, n);
      if (n === 0) return [o];
      const t = g.dtype === "float16" ? "f16" : "f32";
      const pipe = gpu.pipeline(`reluBackward/${t}`, () =>
        `${
          prelude([
            { name: "G", type: t },
            { name: "Y", type: t },
            { name: "O", type: t, write: true },
          ])
        }${floatStore(t)}
${ELEMENT_MAIN}
  let u = bitcast<u32>(f32(Y[i]));
  let keep = bitcast<i32>(u) > 0 || (u & 0x7fffffffu) > 0x7f800000u;
  O[i] = select(T(0.0), G[i], keep);
}`);
      gpu.dispatch(
        "reluBackward",
        pipe,
        [gpuBuffer(g), gpuBuffer(y), o.buffer],
        [n],
        elementGrid(n),
      );
      return [o];
    },
  };
}

function castExpr(from: DType, to: DType): string {
  const float = from === "float32" || from === "float16";
  if (to === "bool") return float ? "select(0, 1, a != 0.0)" : "select(0, 1, a != 0)";
  if (to === "float32") return "f32(a)";
  if (to === "float16") return "toT(f32(a))";
  return float ? "i32(a)" : "a";
}

function castKernel(gpu: Gpu): WebGpuKernel<{ dtype: DType }> {
  return {
    supports: (inputs) => withinLimits(gpu, inputs),
    run(inputs: readonly Tensor[], a: { dtype: DType }): GpuBuffer[] {
      const x = inputs[0];
      const o = gpu.allocFor(a.dtype, x.numel());
      if (x.numel() === 0) return [o];
      const pipe = gpu.pipeline(
        `cast/${x.dtype}/${a.dtype}`,
        () =>
          `${
            prelude([{ name: "X", type: wgslType(x.dtype) }, {
              name: "O",
              type: wgslType(a.dtype),
              write: true,
            }])
          }${a.dtype === "float16" ? floatStore("f16") : ""}
${ELEMENT_MAIN}
  let a = X[i];
  O[i] = ${castExpr(x.dtype, a.dtype)};
}`,
      );
      gpu.dispatch("cast", pipe, [gpuBuffer(x), o.buffer], [x.numel()], elementGrid(x.numel()));
      return [o];
    },
  };
}

/** Elementwise kernel table of the webgpu backend. */
export function elementwiseKernels(gpu: Gpu): WebGpuKernelTable {
  const supports = (inputs: readonly Tensor[]) => withinLimits(gpu, inputs);
  const table: WebGpuKernelTable = {
    where: whereKernel(gpu),
    cast: castKernel(gpu),
    reluBackward: reluBackwardKernel(gpu),
    copy: {
      supports,
      run: (inputs): GpuBuffer[] => [
        copyStrided(
          gpu,
          "copy",
          gpuBuffer(inputs[0]),
          [inputs[0].numel()],
          0,
          [1],
          inputs[0].dtype,
        ),
      ],
    },
  };
  for (const op of UNARY_OPS) table[op] = unaryKernel(gpu, op);
  for (const op of [...Object.keys(ARITH), ...Object.keys(COMPARE)]) {
    table[op] = binaryKernel(gpu, op);
  }
  return table;
}
