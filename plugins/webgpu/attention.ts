/**
 * webgpu kernels of the fused attention (`scaledDotProductAttention` and its backward), one
 * workgroup of 64 threads per query row (per key row for dk and dv). The forward walks the keys 64
 * at a time: each thread scores one key (q·k over E, scaled, masked), the group takes the chunk's
 * maximum, each thread turns its score into exp(s − max), and each thread folds the chunk into
 * the output features it owns, rescaling by exp(old max − new max): the online softmax, with only
 * the row's running maximum and sum kept, so memory is linear in L and S. It also writes the row's
 * log-sum-exp. The backward recomputes the probabilities from it: a first kernel takes
 * D = rowsum(dout ⊙ out) − dlse per query row (stored beside the log-sum-exp), a second gives dq
 * (and the float mask's gradient) per query row, a third dk and dv per key row, so no atomics are
 * needed. float32 and float16
 * (computed in f32, where the adapter has shader-f16); masks bool or of the query's dtype.
 * Special values are passed as parameters and tested on the bits (compilers may fold NaN tests).
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { sdpaBackwardOp, sdpaLayout, sdpaOp } from "../../layers/ops/attention.ts";
import type { SdpaLayout } from "../../layers/ops/attention.ts";
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
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import type { Binding } from "./wgsl.ts";
import { gpuBuffer, workgroupGrid, workgroupMain } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

// Threads per workgroup: keys (or queries) per chunk.
const WGS = 64;

type FloatT = "f32" | "f16";
type MaskT = "none" | "i32" | "f32" | "f16";

const HELPERS = `
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isFin(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn isNegInf(x: f32) -> bool { return bitcast<u32>(x) == 0xff800000u; }
`;

// Parameters every kernel of a call shares (the batch walk starts at 11).
const COMMON = `
  let L = PU(1u); let S = PU(2u); let E = PU(3u); let EV = PU(4u);
  let scale = PF(5u); let mRow = P(6u); let mCol = P(7u); let NAN = PF(8u); let NINF = PF(9u);
  let row = wid.y * nwg.x + wid.x;
  let live = row < PU(10u);`;

const BATCH_AT = 11;

// Offsets qb, kb, vb, mb of batch entry `b` (rank r walk).
function offsets(r: number): string {
  const at = BATCH_AT;
  return stridedOffsets(["qb", "kb", "vb", "mb"], "b", r, at, [
    at + r,
    at + 2 * r,
    at + 3 * r,
    at + 4 * r,
  ]);
}

// WGSL setting s (q_i·k_j·scale plus a float mask), take (the key takes part) and hard (a bool
// mask masks it: no gradient) for query i and key j.
function score(mt: MaskT): string {
  const mask = mt === "none"
    ? ""
    : mt === "i32"
    ? `if (M[mb + i32(i) * mRow + i32(j) * mCol] == 0) { take = false; hard = true; }`
    : `let bv = f32(M[mb + i32(i) * mRow + i32(j) * mCol]);
      s = s + bv;
      if (isNegInf(bv) || isNegInf(s)) { take = false; }`;
  return `{
      let qo = qb + i32(i * E); let ko = kb + i32(j * E);
      var d = 0.0;
      for (var e = 0u; e < E; e++) { d += f32(Q[qo + i32(e)]) * f32(K[ko + i32(e)]); }
      s = d * scale;
      take = true;
      ${mask}
    }`;
}

function inputBindings(t: FloatT, mt: MaskT): Binding[] {
  const b: Binding[] = [
    { name: "Q", type: t },
    { name: "K", type: t },
    { name: "V", type: t },
  ];
  if (mt !== "none") b.push({ name: "M", type: mt });
  return b;
}

// Accumulator slots per thread for `n` features.
const per = (n: number) => Math.max(1, Math.ceil(n / WGS));

function forwardSource(t: FloatT, mt: MaskT, r: number, causal: boolean, nv: number): string {
  const bindings = [
    ...inputBindings(t, mt),
    { name: "O", type: t, write: true },
    { name: "LSE", type: "f32", write: true },
  ] as Binding[];
  return `${prelude(bindings)}${floatStore(t)}${HELPERS}
${workgroupMain({ size: WGS, shared: { sh: `array<f32, ${WGS}>`, tk: `array<u32, ${WGS}>` } })}
  ${COMMON}
  let b = select(0u, row / max(L, 1u), live);
  let i = select(0u, row % max(L, 1u), live);
  ${offsets(r)}
  var jEnd = S;
  ${causal ? "jEnd = min(S, i + 1u);" : ""}
  var m = 0.0; var has = false; var l = 0.0; var bad = false;
  var acc: array<f32, ${nv}>;
  for (var j0 = 0u; j0 < jEnd; j0 += ${WGS}u) {
    let j = j0 + li;
    var s = 0.0; var take = false; var hard = false;
    if (live && j < jEnd) ${score(mt)}
    sh[li] = s;
    tk[li] = select(0u, 1u, take);
    workgroupBarrier();
    let n = min(${WGS}u, jEnd - j0);
    var mx = m; var hx = has;
    for (var c = 0u; c < n; c++) {
      if (tk[c] != 0u) {
        let x = sh[c];
        if (isNan(x)) { bad = true; } else if (!hx || x > mx) { mx = x; hx = true; }
      }
    }
    workgroupBarrier();
    var p = 0.0;
    if (take && hx && !isNan(s)) { p = exp(s - mx); }
    sh[li] = p;
    workgroupBarrier();
    var alpha = 0.0;
    if (has) { alpha = exp(m - mx); }
    var cs = 0.0;
    for (var c = 0u; c < n; c++) { cs += sh[c]; }
    l = l * alpha + cs;
    for (var u = 0u; u < ${nv}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < EV) {
        var a = acc[u] * alpha;
        for (var c = 0u; c < n; c++) { a += sh[c] * f32(V[vb + i32((j0 + c) * EV + e)]); }
        acc[u] = a;
      }
    }
    m = mx; has = hx;
    workgroupBarrier();
  }
  if (live) {
    for (var u = 0u; u < ${nv}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < EV) {
        // A row with keys, all masked, is NaN (softmax's 0/0); a row with no keys is 0.
        var y = 0.0;
        if (bad || (S > 0u && !has)) { y = NAN; } else if (has) { y = acc[u] / l; }
        O[row * EV + e] = toT(y);
      }
    }
    if (li == 0u) {
      var z = NINF;
      if (bad) { z = NAN; } else if (has) { z = m + log(l); }
      LSE[row] = z;
    }
  }
}`;
}

// LD [rows, 2]: each query row's log-sum-exp and D, side by side (one binding for both keeps the
// backward kernels within 8 storage buffers).
function deltaSource(t: FloatT, lseGrad: boolean): string {
  const bindings: Binding[] = [
    { name: "O", type: t },
    { name: "DO", type: t },
    { name: "LSE", type: "f32" },
  ];
  if (lseGrad) bindings.push({ name: "DL", type: "f32" });
  bindings.push({ name: "LD", type: "f32", write: true });
  return `${prelude(bindings)}
${ELEMENT_MAIN}
  let EV = PU(1u);
  var d = 0.0;
  for (var e = 0u; e < EV; e++) { d += f32(DO[i * EV + e]) * f32(O[i * EV + e]); }
  ${lseGrad ? "d -= DL[i];" : ""}
  LD[2u * i] = LSE[i];
  LD[2u * i + 1u] = d;
}`;
}

// P and dS of query i, key j (in scope: s, take, hard from score(), row index `qr` of query i).
const PDS = `
      let z = LD[2u * qr];
      var p = NAN;
      if (isFin(z)) { p = 0.0; if (take) { p = exp(s - z); } }
      let oo = i32(qr * EV); let vo = vb + i32(j * EV);
      var dp = 0.0;
      for (var e = 0u; e < EV; e++) { dp += f32(DO[oo + i32(e)]) * f32(V[vo + i32(e)]); }
      if (!hard) { ds = p * (dp - LD[2u * qr + 1u]); }`;

function dqSource(
  t: FloatT,
  mt: MaskT,
  r: number,
  causal: boolean,
  maskGrad: boolean,
  ne: number,
): string {
  const bindings = [
    ...inputBindings(t, mt),
    { name: "LD", type: "f32" },
    { name: "DO", type: t },
    { name: "DQ", type: t, write: true },
  ] as Binding[];
  if (maskGrad) bindings.push({ name: "DM", type: t, write: true });
  // With the mask's gradient every key is visited, so causally masked entries get their 0.
  const cut = causal && !maskGrad;
  return `${prelude(bindings)}${floatStore(t)}${HELPERS}
${workgroupMain({ size: WGS, shared: { sh: `array<f32, ${WGS}>` } })}
  ${COMMON}
  let b = select(0u, row / max(L, 1u), live);
  let i = select(0u, row % max(L, 1u), live);
  let qr = row;
  ${offsets(r)}
  var jEnd = S;
  ${cut ? "jEnd = min(S, i + 1u);" : ""}
  var acc: array<f32, ${ne}>;
  for (var j0 = 0u; j0 < jEnd; j0 += ${WGS}u) {
    let j = j0 + li;
    var ds = 0.0;
    if (live && j < jEnd) {
      var s = 0.0; var take = false; var hard = false;
      ${score(mt)}
      ${causal ? "if (j > i) { take = false; hard = true; }" : ""}
      ${PDS}
      ${maskGrad ? "DM[row * S + j] = toT(ds);" : ""}
    }
    sh[li] = ds;
    workgroupBarrier();
    let n = min(${WGS}u, jEnd - j0);
    for (var u = 0u; u < ${ne}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < E) {
        var a = acc[u];
        for (var c = 0u; c < n; c++) { a += sh[c] * f32(K[kb + i32((j0 + c) * E + e)]); }
        acc[u] = a;
      }
    }
    workgroupBarrier();
  }
  if (live) {
    for (var u = 0u; u < ${ne}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < E) { DQ[row * E + e] = toT(acc[u] * scale); }
    }
  }
}`;
}

function dkvSource(
  t: FloatT,
  mt: MaskT,
  r: number,
  causal: boolean,
  ne: number,
  nv: number,
): string {
  const bindings = [
    ...inputBindings(t, mt),
    { name: "LD", type: "f32" },
    { name: "DO", type: t },
    { name: "DK", type: t, write: true },
    { name: "DV", type: t, write: true },
  ] as Binding[];
  return `${prelude(bindings)}${floatStore(t)}${HELPERS}
${
    workgroupMain({
      size: WGS,
      shared: { sp: `array<f32, ${WGS}>`, sd: `array<f32, ${WGS}>` },
    })
  }
  ${COMMON}
  let b = select(0u, row / max(S, 1u), live);
  let j = select(0u, row % max(S, 1u), live);
  ${offsets(r)}
  var iStart = 0u;
  ${causal ? "iStart = min(j, L);" : ""}
  var ak: array<f32, ${ne}>;
  var av: array<f32, ${nv}>;
  for (var i0 = iStart; i0 < L; i0 += ${WGS}u) {
    let i = i0 + li;
    var p0 = 0.0; var ds = 0.0;
    if (live && i < L) {
      let qr = b * L + i;
      var s = 0.0; var take = false; var hard = false;
      ${score(mt)}
      ${PDS}
      p0 = p;
    }
    sp[li] = p0;
    sd[li] = ds;
    workgroupBarrier();
    let n = min(${WGS}u, L - i0);
    for (var u = 0u; u < ${nv}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < EV) {
        var a = av[u];
        for (var c = 0u; c < n; c++) { a += sp[c] * f32(DO[(b * L + i0 + c) * EV + e]); }
        av[u] = a;
      }
    }
    for (var u = 0u; u < ${ne}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < E) {
        var a = ak[u];
        for (var c = 0u; c < n; c++) { a += sd[c] * f32(Q[qb + i32((i0 + c) * E + e)]); }
        ak[u] = a;
      }
    }
    workgroupBarrier();
  }
  if (live) {
    for (var u = 0u; u < ${ne}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < E) { DK[row * E + e] = toT(ak[u] * scale); }
    }
    for (var u = 0u; u < ${nv}u; u++) {
      let e = li + u * ${WGS}u;
      if (e < EV) { DV[row * EV + e] = toT(av[u]); }
    }
  }
}`;
}

// The shared parameter block (rows: the workgroups doing work) and the rank of the batch walk.
function params(lay: SdpaLayout, scale: number, rows: number): { params: number[]; r: number } {
  const st = lay.strides;
  const [shape, strides] = coalesce(lay.batch, [st.q, st.k, st.v, st.mask]);
  return {
    params: [
      lay.count,
      lay.l,
      lay.s,
      lay.e,
      lay.ev,
      fbits(lay.e === 0 ? 0 : scale), // E = 0: the scores are 0 (not 0·∞)
      lay.maskRow,
      lay.maskCol,
      fbits(NaN),
      fbits(-Infinity),
      rows,
      ...shape,
      ...strides.flat(),
    ],
    r: shape.length,
  };
}

function types(q: Tensor, mask: Tensor | null): [FloatT, MaskT] {
  const t = wgslType(q.dtype) as FloatT;
  return [t, mask === null ? "none" : mask.dtype === "bool" ? "i32" : t];
}

/** Fused attention kernels of the webgpu backend (float32, and float16 with shader-f16). */
export function attentionKernels(gpu: Gpu): WebGpuKernelTable {
  return {
    ...kernelFor(sdpaOp, {
      dtypes: ["float32", "float16", "bool"],
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run(inputs, a, out): GpuBuffer[] {
        const [q, k, v] = inputs;
        const mask = inputs[3] ?? null;
        const lay = sdpaLayout(q, k, v, mask);
        const rows = lay.count * lay.l;
        const o = gpu.allocFor(out[0].dtype, rows * lay.ev);
        const lse = gpu.allocFor("float32", rows);
        if (rows === 0) return [o, lse];
        const [t, mt] = types(q, mask);
        const p = params(lay, a.scale, rows);
        const nv = per(lay.ev);
        gpu.dispatch(
          sdpaOp.name,
          gpu.pipeline(
            `sdpa/forward/${t}/${mt}/${p.r}/${a.causal}/${nv}`,
            () => forwardSource(t, mt, p.r, a.causal, nv),
          ),
          [...inputs.map(gpuBuffer), o.buffer, lse.buffer],
          p.params,
          workgroupGrid(rows),
        );
        return [o, lse];
      },
    }),
    ...kernelFor(sdpaBackwardOp, {
      dtypes: ["float32", "float16", "bool"],
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run(inputs, a, out): GpuBuffer[] {
        const [q, k, v] = inputs;
        const mask = a.mask ? inputs[3] : null;
        const at = 3 + Number(a.mask);
        const [o, lse, dout] = inputs.slice(at, at + 3);
        const lay = sdpaLayout(q, k, v, mask);
        const grads = out.map((s) => gpu.allocFor(s.dtype, s.shape.reduce((x, y) => x * y, 1)));
        const qRows = lay.count * lay.l, kRows = lay.count * lay.s;
        const [t, mt] = types(q, mask);
        const ins = [q, k, v, ...(mask ? [mask] : [])].map(gpuBuffer);
        const ld = gpu.allocFor("float32", 2 * qRows);
        try {
          if (qRows > 0) {
            const given = [o, dout, lse, ...(a.lseGrad ? [inputs[at + 3]] : [])].map(gpuBuffer);
            gpu.dispatch(
              `${sdpaBackwardOp.name} (delta)`,
              gpu.pipeline(`sdpa/delta/${t}/${a.lseGrad}`, () => deltaSource(t, a.lseGrad)),
              [...given, ld.buffer],
              [qRows, lay.ev],
              elementGrid(qRows),
            );
            const p = params(lay, a.scale, qRows);
            const ne = per(lay.e);
            const dm = a.maskGrad ? [grads[3].buffer] : [];
            gpu.dispatch(
              `${sdpaBackwardOp.name} (dq)`,
              gpu.pipeline(
                `sdpa/dq/${t}/${mt}/${p.r}/${a.causal}/${a.maskGrad}/${ne}`,
                () => dqSource(t, mt, p.r, a.causal, a.maskGrad, ne),
              ),
              [...ins, ld.buffer, gpuBuffer(dout), grads[0].buffer, ...dm],
              p.params,
              workgroupGrid(qRows),
            );
          }
          if (kRows > 0) {
            const p = params(lay, a.scale, kRows);
            const ne = per(lay.e), nv = per(lay.ev);
            gpu.dispatch(
              `${sdpaBackwardOp.name} (dk, dv)`,
              gpu.pipeline(
                `sdpa/dkv/${t}/${mt}/${p.r}/${a.causal}/${ne}/${nv}`,
                () => dkvSource(t, mt, p.r, a.causal, ne, nv),
              ),
              [...ins, ld.buffer, gpuBuffer(dout), grads[1].buffer, grads[2].buffer],
              p.params,
              workgroupGrid(kRows),
            );
          }
        } finally {
          gpu.free(ld);
        }
        return grads;
      },
    }),
  };
}
