/**
 * webgpu reductions: sum, max and min over any set of dims, argmax/argmin and fused softmax /
 * logSoftmax. Kept and reduced dims are each merged where contiguous; an output whose reduction is
 * long gets a workgroup (strided loop plus a tree in workgroup memory), otherwise one thread.
 * float16 inputs are read as f16 and reduced in f32, the result rounded once to f16.
 *
 * @module
 */

import type { Tensor, TensorSpec } from "../../core/mod.ts";
import { sizeOf, stridesOf } from "../../core/mod.ts";
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

type Mode = "sum" | "max" | "min";

const RWG = 256;

function identity(mode: Mode, t: string): string {
  if (mode === "sum") return `${t}(0)`;
  if (t === "f32") return mode === "max" ? "-inff()" : "inff()";
  return mode === "max" ? "(-2147483647 - 1)" : "2147483647";
}

// NaN wins a max/min, as on cpu: once acc is NaN no comparison replaces it.
// NaN is tested on the bits (compilers may assume no NaNs and fold v != v away).
function combine(mode: Mode, acc: string, v: string): string {
  if (mode === "sum") return `${acc} = ${acc} + ${v};`;
  const cmp = mode === "max" ? ">" : "<";
  return `if (${v} ${cmp} ${acc} || isnanv(${v})) { ${acc} = ${v}; }`;
}

function helpers(t: string): string {
  const nan = t === "i32"
    ? "return false;"
    : `return (bitcast<u32>(f32(x)) & 0x7fffffffu) > 0x7f800000u;`;
  return `fn inff() -> f32 { return bitcast<f32>(0x7f800000u); }
fn isnanv(x: ${t}) -> bool { ${nan} }
`;
}

function reduceKernel(
  gpu: Gpu,
  mode: Mode,
  x: Tensor,
  dims: readonly number[],
  outSize: number,
): GpuBuffer {
  const out = gpu.allocFor(x.dtype, outSize);
  if (outSize === 0) return out;
  const st = stridesOf(x.shape);
  const keptDims = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const [ks, [kst]] = coalesce(keptDims.map((d) => x.shape[d]), [keptDims.map((d) => st[d])]);
  const [rs, [rst]] = coalesce(dims.map((d) => x.shape[d]), [dims.map((d) => st[d])]);
  const red = sizeOf(rs);
  const kr = ks.length, rr = rs.length;
  const t = wgslType(x.dtype);
  // Accumulator type: f16 data is reduced in f32 and rounded once when stored.
  const at = t === "f16" ? "f32" : t;
  const load = t === "f16" ? "f32(X[u32(base + ro)])" : "X[u32(base + ro)]";
  const store = (v: string) => (t === "f16" ? `toT(${v})` : v);
  const params = [outSize, red, ...ks, ...kst, ...rs, ...rst];
  const base = stridedOffsets(["base"], "i", kr, 2, [2 + kr]);
  const elem = stridedOffsets(["ro"], "j", rr, 2 + 2 * kr, [2 + 2 * kr + rr]);
  const head = `${prelude([{ name: "X", type: t }, { name: "O", type: t, write: true }])}${
    helpers(at)
  }${t === "f16" ? floatStore("f16") : ""}`;
  if (red >= 128 && outSize < 8192) {
    // A workgroup per output: strided partial reductions, then a tree in workgroup memory.
    const pipe = gpu.pipeline(`reduceWg/${mode}/${t}/${kr}/${rr}`, () =>
      `${head}
var<workgroup> part: array<${at}, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = wid.y * nwg.x + wid.x;
  let live = i < PU(0u);
  ${base}
  var acc = ${identity(mode, at)};
  if (live) {
    for (var j = li; j < PU(1u); j += ${RWG}u) {
      ${elem}
      let v = ${load};
      ${combine(mode, "acc", "v")}
    }
  }
  part[li] = acc;
  workgroupBarrier();
  for (var s = ${RWG / 2}u; s > 0u; s >>= 1u) {
    if (li < s) { let v = part[li + s]; var a = part[li]; ${combine(mode, "a", "v")} part[li] = a; }
    workgroupBarrier();
  }
  if (live && li == 0u) { O[i] = ${store("part[0]")}; }
}`);
    const x0 = Math.min(outSize, 65535);
    gpu.dispatch(mode, pipe, [gpuBuffer(x), out.buffer], params, [x0, Math.ceil(outSize / x0), 1]);
    return out;
  }
  const pipe = gpu.pipeline(`reduce/${mode}/${t}/${kr}/${rr}`, () =>
    `${head}
${ELEMENT_MAIN}
  ${base}
  var acc = ${identity(mode, at)};
  for (var j = 0u; j < PU(1u); j++) {
    ${elem}
    let v = ${load};
    ${combine(mode, "acc", "v")}
  }
  O[i] = ${store("acc")};
}`);
  gpu.dispatch(mode, pipe, [gpuBuffer(x), out.buffer], params, elementGrid(outSize));
  return out;
}

function blocks(shape: readonly number[], dim: number): [number, number, number] {
  return [sizeOf(shape.slice(0, dim)), shape[dim], sizeOf(shape.slice(dim + 1))];
}

function argKernel(gpu: Gpu, x: Tensor, dim: number | null, max: boolean): GpuBuffer {
  const [outer, red, inner] = dim === null ? [1, x.numel(), 1] : blocks(x.shape, dim);
  const n = outer * inner;
  const out = gpu.allocFor("int32", n);
  if (n === 0) return out;
  const t = wgslType(x.dtype);
  const cmp = max ? ">" : "<";
  const pipe = gpu.pipeline(
    `arg/${max}/${t}`,
    () =>
      `${prelude([{ name: "X", type: t }, { name: "O", type: "i32", write: true }])}${helpers(t)}
${ELEMENT_MAIN}
  let red = PU(1u); let inner = PU(2u);
  let b = (i / inner) * red * inner + i % inner;
  var best = X[b]; var bi = 0u;
  for (var r = 1u; r < red && !isnanv(best); r++) {
    let v = X[b + r * inner];
    if (v ${cmp} best || isnanv(v)) { best = v; bi = r; }
  }
  O[i] = i32(bi);
}`,
  );
  gpu.dispatch(
    max ? "argmax" : "argmin",
    pipe,
    [gpuBuffer(x), out.buffer],
    [n, red, inner],
    elementGrid(n),
  );
  return out;
}

function softmaxKernel(gpu: Gpu, x: Tensor, dim: number, log: boolean): GpuBuffer {
  const [outer, n, inner] = blocks(x.shape, dim);
  const rows = outer * inner;
  const out = gpu.allocFor(x.dtype, x.numel());
  if (x.numel() === 0) return out;
  const op = log ? "logSoftmax" : "softmax";
  const t = x.dtype === "float16" ? "f16" : "f32";
  const pipe = gpu.pipeline(
    `${op}/${t}`,
    () =>
      `${prelude([{ name: "X", type: t }, { name: "O", type: t, write: true }])}${helpers("f32")}${
        floatStore(t)
      }
${ELEMENT_MAIN}
  let n = PU(1u); let inner = PU(2u);
  let b = (i / inner) * n * inner + i % inner;
  var m = -inff();
  for (var r = 0u; r < n; r++) { let v = f32(X[b + r * inner]); if (v > m || isnanv(v)) { m = v; } }
  if (m == -inff()) { m = 0.0; }
  var s = 0.0;
  for (var r = 0u; r < n; r++) { s += exp(f32(X[b + r * inner]) - m); }
  ${
        log
          ? "let ls = m + log(s);\n  for (var r = 0u; r < n; r++) { let k = b + r * inner; O[k] = toT(f32(X[k]) - ls); }"
          : "let inv = 1.0 / s;\n  for (var r = 0u; r < n; r++) { let k = b + r * inner; O[k] = toT(exp(f32(X[k]) - m) * inv); }"
      }
}`,
  );
  gpu.dispatch(op, pipe, [gpuBuffer(x), out.buffer], [rows, n, inner], elementGrid(rows));
  return out;
}

/** Reduction kernel table of the webgpu backend. */
export function reduceKernels(gpu: Gpu): WebGpuKernelTable {
  const supports = (inputs: readonly Tensor[]) => withinLimits(gpu, inputs);
  const red = (mode: Mode): WebGpuKernel<{ dims: number[] }> => ({
    supports,
    run: (i, a: { dims: number[] }, out: readonly TensorSpec[]) => [
      reduceKernel(gpu, mode, i[0], a.dims, sizeOf(out[0].shape)),
    ],
  });
  return {
    sum: red("sum"),
    max: red("max"),
    min: red("min"),
    argmax: {
      supports,
      run: (i, a: { dim: number | null }) => [argKernel(gpu, i[0], a.dim, true)],
    },
    argmin: {
      supports,
      run: (i, a: { dim: number | null }) => [argKernel(gpu, i[0], a.dim, false)],
    },
    softmax: {
      supports,
      dtypes: ["float32", "float16"],
      run: (i, a: { dim: number }) => [softmaxKernel(gpu, i[0], a.dim, false)],
    },
    logSoftmax: {
      supports,
      dtypes: ["float32", "float16"],
      run: (i, a: { dim: number }) => [softmaxKernel(gpu, i[0], a.dim, true)],
    },
  };
}
