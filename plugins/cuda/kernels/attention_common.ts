/**
 * What the fused attention kernels (attention.ts) share: the block size {@linkcode SDPA_BLOCK} and
 * the shared-memory budget, the mask kinds, the parameters every kernel takes after its pointers
 * and the batch offsets computed from them, with the matching arguments; the C fragments that
 * score a query against a key and give P and dS from it; and the checks that decline inputs the
 * kernels do not fit (feature sizes over the shared memory, too many batch dims, rows past int32,
 * dtypes other than the forward made).
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import { sdpaLayout } from "../../../layers/ops/attention.ts";
import type { SdpaAttrs, SdpaBackwardAttrs, SdpaLayout } from "../../../layers/ops/attention.ts";
import { launchRows } from "./kit_launch.ts";
import { coalesce, stridedArgs, stridedOffsets, stridedParams } from "./kit_strided.ts";
import { load, MAX_DIMS } from "./kit_source.ts";
import type { Cuda, KernelArg } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

/** Threads per block: keys (or queries) per chunk. */
export const SDPA_BLOCK = 128;
/** Dynamic shared memory a block may use without opting in (bytes). */
export const SHARED_LIMIT = 48 * 1024;

export type MaskKind = "none" | "bool" | "float";
export const MASKS: readonly MaskKind[] = ["none", "bool", "float"];

// Parameters every kernel of a call shares, after the pointers.
export const COMMON = [
  "long long rows",
  "int L",
  "int S",
  "int E",
  "int EV",
  "float scale",
  "long long mRow",
  "long long mCol",
  "int causal",
  ...stridedParams(["q", "k", "v", "m"], "brank", "bs"),
];

// Pointers of q, k, v and the mask.
export function inputParams(T: string, mk: MaskKind): string[] {
  const p = [
    `const ${T}* __restrict__ Q`,
    `const ${T}* __restrict__ K`,
    `const ${T}* __restrict__ V`,
  ];
  if (mk !== "none") p.push(`const ${mk === "bool" ? "unsigned char" : T}* __restrict__ M`);
  return p;
}

export const HELPERS = `
__device__ __forceinline__ bool denn_is_nan(float x) { return x != x; }
`;

// C setting s (q_i·k_j·scale plus a float mask), take (the key takes part) and hard (a bool mask
// masks it: no gradient) for query i and key j; `qrow` is where q_i is read (shared or global),
// `krow` where k_j is (each a C expression of the feature index, loading as float).
export function score(
  dtype: DType,
  mk: MaskKind,
  qrow: (e: string) => string,
  krow: (e: string) => string,
): string {
  const ld = (e: string) => load(dtype, e);
  const at = "m_off + (long long)i * mRow + (long long)j * mCol";
  const mask = mk === "none"
    ? ""
    : mk === "bool"
    ? `if (M[${at}] == 0) { take = false; hard = true; }`
    : `{
        const float bv = ${ld(`M[${at}]`)};
        s = s + bv;
        if (bv == -denn_inf() || s == -denn_inf()) take = false;
      }`;
  return `{
        float d = 0.0f;
        for (int e = 0; e < E; e++) d += ${qrow("e")} * ${krow("e")};
        s = d * scale;
        take = true;
        ${mask}
      }`;
}

// Offsets q_off, k_off, v_off, m_off of batch entry b.
export const OFFSETS = stridedOffsets(["q", "k", "v", "m"], "b", "brank", "bs");

// P and dS of query i (row qr), key j (in scope: s, take, hard from score(), the dout row `dorow`
// and the v row `vrow`, C expressions of the feature index loading as float).
export function pds(dorow: (e: string) => string, vrow: (e: string) => string): string {
  return `
        // P = exp(s − lse), a masked score being −∞: 0 where masked, NaN throughout a row with
        // no key (lse −∞) or a NaN log-sum-exp, as the cpu kernel computes it.
        const float z = LSE[qr];
        const float p = expf((take ? s : -denn_inf()) - z);
        float dp = 0.0f;
        for (int e = 0; e < EV; e++) dp += ${dorow("e")} * ${vrow("e")};
        if (!hard) ds = p * (dp - D[qr]);`;
}

export const maskKind = (mask: Tensor | null): MaskKind =>
  mask === null ? "none" : mask.dtype === "bool" ? "bool" : "float";

// Dynamic shared bytes of each kernel for feature sizes E and Ev.
export const sharedBytes = {
  forward: (e: number, ev: number) => 4 * (e + ev),
  dq: (e: number, ev: number) => 4 * (2 * e + ev),
  dkv: (e: number, ev: number) => 4 * 2 * (e + ev),
};
// Static shared memory of the kernels (chunk arrays), under the limit too.
const STATIC_BYTES = 2 * 4 * SDPA_BLOCK;

// Why q, k, v and the mask do not fit these kernels, or true.
export function fits(
  op: string,
  inputs: readonly Tensor[],
  mask: Tensor | null,
  backward: boolean,
) {
  const [q, k, v] = inputs;
  const lay = sdpaLayout(q, k, v, mask);
  const need = backward
    ? Math.max(sharedBytes.dq(lay.e, lay.ev), sharedBytes.dkv(lay.e, lay.ev))
    : sharedBytes.forward(lay.e, lay.ev);
  if (need + STATIC_BYTES > SHARED_LIMIT) {
    return `${op}: E=${lay.e} and Ev=${lay.ev} need ${need} bytes of shared memory per block, ` +
      `over the ${SHARED_LIMIT - STATIC_BYTES} the cuda kernels use`;
  }
  const st = lay.strides;
  const [shape] = coalesce(lay.batch, [st.q, st.k, st.v, st.mask]);
  if (shape.length > MAX_DIMS) {
    return `${op}: the batch dims ${JSON.stringify(lay.batch)} need more than ${MAX_DIMS} ` +
      `merged dims`;
  }
  for (const n of [lay.count * lay.l, lay.count * lay.s, lay.l, lay.s]) {
    if (n >= 2 ** 31) return `${op}: ${n} rows exceed the kernels' int32 row index`;
  }
  return true;
}

// The arguments of COMMON for `rows` blocks.
export function common(lay: SdpaLayout, a: SdpaAttrs, rows: number): KernelArg[] {
  const st = lay.strides;
  const [shape, strides] = coalesce(lay.batch, [st.q, st.k, st.v, st.mask]);
  return [
    { i64: rows },
    { i32: lay.l },
    { i32: lay.s },
    { i32: lay.e },
    { i32: lay.ev },
    { f32: lay.e === 0 ? 0 : a.scale }, // E = 0: the scores are 0 (not 0·∞)
    { i64: lay.maskRow },
    { i64: lay.maskCol },
    { i32: a.causal ? 1 : 0 },
    ...stridedArgs(shape, strides),
  ];
}

export function blocks(
  cuda: Cuda,
  k: KernelSource,
  rows: number,
  shared: number,
  args: KernelArg[],
) {
  launchRows(cuda, k, rows, args, { block: SDPA_BLOCK, sharedBytes: shared });
}

// The backward's inputs q and out, lse, dout must be q's dtype (out, dout) and float32 (lse,
// dlse), as the forward made them.
export function backwardDtypes(inputs: readonly Tensor[], a: SdpaBackwardAttrs): true | string {
  const q = inputs[0];
  const at = 3 + Number(a.mask);
  const want: [string, Tensor, DType][] = [
    ["out", inputs[at], q.dtype],
    ["lse", inputs[at + 1], "float32"],
    ["dout", inputs[at + 2], q.dtype],
  ];
  if (a.lseGrad) want.push(["dlse", inputs[at + 3], "float32"]);
  for (const [name, t, d] of want) {
    if (t.dtype !== d) {
      return `scaledDotProductAttentionBackward: ${name} is ${t.dtype}; the cuda kernels take ${d}`;
    }
  }
  return true;
}
