/**
 * The WGSL building blocks the webgpu kernels share: the storage type of each dtype and the float
 * store rounding ({@linkcode floatStore}), the storage bindings and the parameter block every
 * kernel declares ({@linkcode prelude}; floats pass through it as {@linkcode fbits}), the device
 * error record's binding and `indexError` ({@linkcode ERROR_BINDING}, {@linkcode INDEX_ERROR_WGSL}),
 * the one-thread-per-element entry point and its grid ({@linkcode ELEMENT_MAIN},
 * {@linkcode elementGrid}), and the offsets of strided walks ({@linkcode stridedOffsets}).
 *
 * @module
 */

import type { DType } from "../../core/mod.ts";
import { coalesce } from "../../core/mod.ts";
import { MAX_PARAMS } from "./device.ts";

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** The bits of a float32 as an int32, for passing floats through the integer parameter block. */
export function fbits(x: number): number {
  f32[0] = x;
  return i32[0];
}

/** WGSL element type of a dtype (bool is stored as i32). */
export function wgslType(dtype: DType): "f32" | "f16" | "i32" {
  return dtype === "float32" ? "f32" : dtype === "float16" ? "f16" : "i32";
}

/**
 * WGSL for float kernels over storage type `t` (f32 or f16): `alias T = t;` and `toT(x: f32)`, which
 * rounds an f32 result to T (to f16 with magnitudes beyond its range becoming ±inf, as on the host).
 * Kernels load `f32(X[i])`, compute and accumulate in f32, and store `toT(...)`.
 */
export function floatStore(t: "f32" | "f16"): string {
  if (t === "f32") return "alias T = f32;\nfn toT(x: f32) -> T { return x; }\n";
  return `alias T = f16;
fn toT(x: f32) -> T {
  if (abs(x) >= 65520.0) {
    let inf = bitcast<f32>(0x7f800000u);
    return T(select(-inf, inf, x > 0.0));
  }
  // NaN, tested on the bits (compilers may fold x != x away); clamp would turn it into -65504.
  if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u) { return T(x); }
  return T(clamp(x, -65504.0, 65504.0));
}
`;
}

/** A storage binding of a generated shader. */
export interface Binding {
  /** Variable name in WGSL. */
  name: string;
  /** Element type (`atomic<u32>` for the error record, {@linkcode ERROR_BINDING}). */
  type: "f32" | "f16" | "i32" | "u32" | "atomic<u32>";
  /** Whether the kernel writes it. */
  write?: boolean;
}

/**
 * WGSL declarations shared by every kernel: the storage bindings in order, then the parameter
 * block at the next binding with accessors `P` (i32), `PU` (u32) and `PF` (f32 bits).
 */
export function prelude(bindings: readonly Binding[]): string {
  const enable = bindings.some((b) => b.type === "f16") ? "enable f16;\n" : "";
  const lines = bindings.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, ${
      b.write ? "read_write" : "read"
    }> ${b.name}: array<${b.type}>;`
  );
  return `${enable}${lines.join("\n")}
struct Params { v: array<vec4<i32>, ${MAX_PARAMS / 4}> };
@group(0) @binding(${bindings.length}) var<uniform> prm: Params;
fn P(i: u32) -> i32 { return prm.v[i >> 2u][i & 3u]; }
fn PU(i: u32) -> u32 { return u32(prm.v[i >> 2u][i & 3u]); }
fn PF(i: u32) -> f32 { return bitcast<f32>(prm.v[i >> 2u][i & 3u]); }
`;
}

/**
 * The storage binding of the device error record: list it in {@linkcode prelude} (last among the
 * storage bindings, by convention) and bind {@linkcode Gpu.errorBuffer} there, in kernels that use
 * {@linkcode INDEX_ERROR_WGSL}.
 */
export const ERROR_BINDING: Binding = { name: "ERR", type: "atomic<u32>", write: true };

/**
 * WGSL `fn indexError(site: u32, v: i32)`, for kernels that bind {@linkcode ERROR_BINDING}: records
 * that index value `v` is out of range for the launch site `site` (from {@linkcode Gpu.indexSite}),
 * unless an error is already recorded; the next readback throws it as an `IndexError`. The kernel
 * must still avoid the out-of-range access itself (store 0, skip the element).
 */
export const INDEX_ERROR_WGSL = `
fn indexError(site: u32, v: i32) {
  if (atomicLoad(&ERR[0]) == 0u && atomicMax(&ERR[0], 1u) == 0u) {
    atomicStore(&ERR[1], site);
    atomicStore(&ERR[2], bitcast<u32>(v));
  }
}
`;

/** Workgroup size of the one-thread-per-element kernels. */
export const WG = 256;

/** Entry point of a one-thread-per-element kernel: defines `i` and returns when `i >= PU(0)`. */
export const ELEMENT_MAIN = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + li;
  if (i >= PU(0u)) { return; }`;

/** Workgroup grid covering `threads` one-thread-per-element invocations (split over x and y). */
export function elementGrid(threads: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / WG));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}

// Defined in core (shape.ts); re-exported for this plugin's kernel files, which import it here.
export { coalesce };

/**
 * WGSL statements declaring i32 offsets `names[j]` of flat index `idx` in strided walks of rank
 * `rank`: the shape starts at parameter `shapeAt`, stride list j at `strideAts[j]` (innermost last).
 */
export function stridedOffsets(
  names: readonly string[],
  idx: string,
  rank: number,
  shapeAt: number,
  strideAts: readonly number[],
): string {
  const lines = [names.map((n) => `var ${n} = 0;`).join(" ") + ` { var r = ${idx};`];
  for (let d = rank - 1; d >= 0; d--) {
    const adds = names.map((n, j) => `${n} += c * P(${strideAts[j] + d}u);`).join(" ");
    lines.push(`  { let sz = PU(${shapeAt + d}u); let c = i32(r % sz); r = r / sz; ${adds} }`);
  }
  lines.push("}");
  return lines.join("\n");
}
