/**
 * cuda kernels of the fused attention (`scaledDotProductAttention` and its backward), ported from
 * the webgpu kernels: a block of {@linkcode SDPA_BLOCK} threads per query row (per key row for dk
 * and dv). The forward walks the keys SDPA_BLOCK at a time: each thread scores one key (q·k over
 * E, the query row held in shared memory, scaled, masked), every thread takes the chunk's maximum,
 * each turns its score into exp(s − max), and each folds the chunk into the output features it
 * owns, rescaling by exp(old max − new max): the online softmax, with only the row's running
 * maximum and sum kept, so memory is linear in L and S. It also writes the row's log-sum-exp
 * (float32). The backward recomputes the probabilities from it: a thread per query row takes
 * D = rowsum(dout ⊙ out) − dlse, a block per query row gives dq (and the float mask's gradient),
 * a block per key row dk and dv, so no atomics are needed.
 *
 * Semantics are the cpu kernel's: masked entries (bool false, causal j > i, float −∞) take no
 * part; a NaN score makes the row NaN; a row whose keys are all masked is NaN with log-sum-exp −∞;
 * a row with no keys (S = 0) is 0. float32 and float16 (computed in float); masks bool or of the
 * query's dtype. The accumulators and the rows read repeatedly live in dynamic shared memory,
 * which bounds E and Ev: larger feature sizes decline with the reason (the op then runs as its
 * decomposition).
 *
 * This file holds the kernel sources and the table that launches them; what every kernel shares
 * (the block size, the common parameters and their arguments, the score and gradient fragments,
 * the shared-memory budget and the checks that decline an input) is in attention_common.ts.
 *
 * @module
 */

import type { DType } from "../../../core/mod.ts";
import { sdpaLayout } from "../../../layers/ops/attention.ts";
import type { SdpaAttrs, SdpaBackwardAttrs } from "../../../layers/ops/attention.ts";
import { allocOutput, launchN, ptr } from "./kit_launch.ts";
import { cType, FLOATS, kernelSource, load, sourceCache, store, tag } from "./kit_source.ts";
import type { CudaBuffer, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";
import {
  backwardDtypes,
  blocks,
  COMMON,
  common,
  fits,
  HELPERS,
  inputParams,
  maskKind,
  MASKS,
  OFFSETS,
  pds,
  score,
  SDPA_BLOCK,
  sharedBytes,
} from "./attention_common.ts";
import type { MaskKind } from "./attention_common.ts";

function forwardSource(dtype: DType, mk: MaskKind): KernelSource {
  const name = `denn_sdpa_fwd_${mk}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    `${T}* __restrict__ O`,
    "float* __restrict__ LSE",
    ...inputParams(T, mk),
    ...COMMON,
  ];
  const body = `  extern __shared__ float dyn[];
  float* qs = dyn;          // q_i [E]
  float* acc = dyn + E;     // output accumulator [EV], each thread owns e ≡ tid (mod blockDim)
  __shared__ float sc[${SDPA_BLOCK}];
  __shared__ int tk[${SDPA_BLOCK}];
  const int t = threadIdx.x, nt = blockDim.x;
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const long long b = row / L;
    const int i = (int)(row % L);
${OFFSETS}
    (void)v_off; (void)m_off;
    for (int e = t; e < E; e += nt) qs[e] = ${ld("Q[q_off + (long long)i * E + e]")};
    for (int e = t; e < EV; e += nt) acc[e] = 0.0f;
    __syncthreads();
    const int jEnd = causal ? min(S, i + 1) : S;
    float m = 0.0f, l = 0.0f;
    bool has = false, bad = false;
    for (int j0 = 0; j0 < jEnd; j0 += nt) {
      const int j = j0 + t;
      float s = 0.0f;
      bool take = false, hard = false;
      if (j < jEnd) ${
    score(dtype, mk, (e) => `qs[${e}]`, (e) => ld(`K[k_off + (long long)j * E + ${e}]`))
  }
      if (hard) take = false; // (a bool mask clears take already)
      sc[t] = s;
      tk[t] = take ? 1 : 0;
      __syncthreads();
      const int n = min(nt, jEnd - j0);
      float mx = m;
      bool hx = has;
      for (int c = 0; c < n; c++) {
        if (tk[c]) {
          const float x = sc[c];
          if (denn_is_nan(x)) bad = true;
          else if (!hx || x > mx) { mx = x; hx = true; }
        }
      }
      __syncthreads();
      sc[t] = (take && hx && !denn_is_nan(s)) ? expf(s - mx) : 0.0f;
      __syncthreads();
      const float alpha = has ? expf(m - mx) : 0.0f;
      float cs = 0.0f;
      for (int c = 0; c < n; c++) cs += sc[c];
      l = l * alpha + cs;
      for (int e = t; e < EV; e += nt) {
        float a = acc[e] * alpha;
        const ${T}* vp = V + v_off + (long long)j0 * EV + e;
        for (int c = 0; c < n; c++) a += sc[c] * ${ld("vp[(long long)c * EV]")};
        acc[e] = a;
      }
      m = mx;
      has = hx;
      __syncthreads();
    }
    for (int e = t; e < EV; e += nt) {
      // A row with keys, all masked, is NaN (softmax's 0/0); a row with no keys is 0.
      const float y = (bad || (S > 0 && !has)) ? denn_nan() : has ? acc[e] / l : 0.0f;
      O[row * EV + e] = ${store(dtype, "y")};
    }
    if (t == 0) LSE[row] = bad ? denn_nan() : has ? m + logf(l) : -denn_inf();
    __syncthreads();
  }`;
  return {
    name,
    ops: ["scaledDotProductAttention"],
    source: kernelSource(name, params, body, HELPERS),
  };
}

// D[row] = Σ dout ⊙ out − dlse, a thread per query row.
function deltaSource(dtype: DType, lseGrad: boolean): KernelSource {
  const name = `denn_sdpa_delta${lseGrad ? "_dlse" : ""}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    "float* __restrict__ D",
    `const ${T}* __restrict__ O`,
    `const ${T}* __restrict__ DO`,
    ...(lseGrad ? ["const float* __restrict__ DL"] : []),
    "long long rows",
    "int EV",
  ];
  const body = `  for (long long r = denn_gid(); r < rows; r += denn_gsize()) {
    float d = 0.0f;
    for (int e = 0; e < EV; e++) d += ${ld("DO[r * EV + e]")} * ${ld("O[r * EV + e]")};
    D[r] = d${lseGrad ? " - DL[r]" : ""};
  }`;
  return {
    name,
    ops: ["scaledDotProductAttentionBackward"],
    source: kernelSource(name, params, body),
  };
}

function dqSource(dtype: DType, mk: MaskKind, maskGrad: boolean): KernelSource {
  const name = `denn_sdpa_dq_${mk}${maskGrad ? "_dmask" : ""}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    `${T}* __restrict__ DQ`,
    ...(maskGrad ? [`${T}* __restrict__ DM`] : []),
    ...inputParams(T, mk),
    "const float* __restrict__ LSE",
    "const float* __restrict__ D",
    `const ${T}* __restrict__ DO`,
    ...COMMON,
  ];
  // With the mask's gradient every key is visited, so causally masked entries get their 0.
  const jEnd = maskGrad ? "S" : "causal ? min(S, i + 1) : S";
  const body = `  extern __shared__ float dyn[];
  float* qs = dyn;              // q_i [E]
  float* dos = dyn + E;         // dout_i [EV]
  float* acc = dyn + E + EV;    // dq accumulator [E]
  __shared__ float sh[${SDPA_BLOCK}];
  const int t = threadIdx.x, nt = blockDim.x;
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const long long b = row / L, qr = row;
    const int i = (int)(row % L);
${OFFSETS}
    (void)m_off;
    for (int e = t; e < E; e += nt) {
      qs[e] = ${ld("Q[q_off + (long long)i * E + e]")};
      acc[e] = 0.0f;
    }
    for (int e = t; e < EV; e += nt) dos[e] = ${ld("DO[row * EV + e]")};
    __syncthreads();
    const int jEnd = ${jEnd};
    for (int j0 = 0; j0 < jEnd; j0 += nt) {
      const int j = j0 + t;
      float ds = 0.0f;
      if (j < jEnd) {
        float s = 0.0f;
        bool take = false, hard = false;
        ${score(dtype, mk, (e) => `qs[${e}]`, (e) => ld(`K[k_off + (long long)j * E + ${e}]`))}
        if (causal && j > i) { take = false; hard = true; }
        ${pds((e) => `dos[${e}]`, (e) => ld(`V[v_off + (long long)j * EV + ${e}]`))}
        ${maskGrad ? `DM[row * S + j] = ${store(dtype, "ds")};` : ""}
      }
      sh[t] = ds;
      __syncthreads();
      const int n = min(nt, jEnd - j0);
      for (int e = t; e < E; e += nt) {
        float a = acc[e];
        const ${T}* kp = K + k_off + (long long)j0 * E + e;
        for (int c = 0; c < n; c++) a += sh[c] * ${ld("kp[(long long)c * E]")};
        acc[e] = a;
      }
      __syncthreads();
    }
    for (int e = t; e < E; e += nt) DQ[row * E + e] = ${store(dtype, "acc[e] * scale")};
    __syncthreads();
  }`;
  return {
    name,
    ops: ["scaledDotProductAttentionBackward"],
    source: kernelSource(name, params, body, HELPERS),
  };
}

function dkvSource(dtype: DType, mk: MaskKind): KernelSource {
  const name = `denn_sdpa_dkv_${mk}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    `${T}* __restrict__ DK`,
    `${T}* __restrict__ DV`,
    ...inputParams(T, mk),
    "const float* __restrict__ LSE",
    "const float* __restrict__ D",
    `const ${T}* __restrict__ DO`,
    ...COMMON,
  ];
  const body = `  extern __shared__ float dyn[];
  float* ks = dyn;                  // k_j [E]
  float* vs = dyn + E;              // v_j [EV]
  float* ak = dyn + E + EV;         // dk accumulator [E]
  float* av = dyn + 2 * E + EV;     // dv accumulator [EV]
  __shared__ float sp[${SDPA_BLOCK}];
  __shared__ float sd[${SDPA_BLOCK}];
  const int t = threadIdx.x, nt = blockDim.x;
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const long long b = row / S;
    const int j = (int)(row % S);
${OFFSETS}
    (void)m_off;
    for (int e = t; e < E; e += nt) {
      ks[e] = ${ld("K[k_off + (long long)j * E + e]")};
      ak[e] = 0.0f;
    }
    for (int e = t; e < EV; e += nt) {
      vs[e] = ${ld("V[v_off + (long long)j * EV + e]")};
      av[e] = 0.0f;
    }
    __syncthreads();
    // Causally, only queries i ≥ j see key j.
    const int iStart = causal ? min(j, L) : 0;
    for (int i0 = iStart; i0 < L; i0 += nt) {
      const int i = i0 + t;
      float p0 = 0.0f, ds = 0.0f;
      if (i < L) {
        const long long qr = b * L + i;
        const ${T}* qp = Q + q_off + (long long)i * E;
        const ${T}* dop = DO + qr * EV;
        float s = 0.0f;
        bool take = false, hard = false;
        ${score(dtype, mk, (e) => ld(`qp[${e}]`), (e) => `ks[${e}]`)}
        ${pds((e) => ld(`dop[${e}]`), (e) => `vs[${e}]`)}
        p0 = p;
      }
      sp[t] = p0;
      sd[t] = ds;
      __syncthreads();
      const int n = min(nt, L - i0);
      for (int e = t; e < EV; e += nt) {
        float a = av[e];
        const ${T}* dp = DO + (b * L + i0) * EV + e;
        for (int c = 0; c < n; c++) a += sp[c] * ${ld("dp[(long long)c * EV]")};
        av[e] = a;
      }
      for (int e = t; e < E; e += nt) {
        float a = ak[e];
        const ${T}* qp = Q + q_off + (long long)i0 * E + e;
        for (int c = 0; c < n; c++) a += sd[c] * ${ld("qp[(long long)c * E]")};
        ak[e] = a;
      }
      __syncthreads();
    }
    for (int e = t; e < E; e += nt) DK[row * E + e] = ${store(dtype, "ak[e] * scale")};
    for (int e = t; e < EV; e += nt) DV[row * EV + e] = ${store(dtype, "av[e]")};
    __syncthreads();
  }`;
  return {
    name,
    ops: ["scaledDotProductAttentionBackward"],
    source: kernelSource(name, params, body, HELPERS),
  };
}

/** Every source the fused attention kernels launch. */
export function attentionSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const d of FLOATS) {
    for (const mk of MASKS) {
      out.push(forwardSource(d, mk), dqSource(d, mk, false), dkvSource(d, mk));
      if (mk === "float") out.push(dqSource(d, mk, true));
    }
    out.push(deltaSource(d, false), deltaSource(d, true));
  }
  return out;
}

const cached = sourceCache();

/** Fused attention kernel table of the cuda backend (float32 and float16; bool or float masks). */
export function attentionKernels(): CudaKernelTable {
  const dtypes: readonly DType[] = ["float32", "float16", "bool"];
  return {
    scaledDotProductAttention: {
      dtypes,
      supports: (inputs) => fits("scaledDotProductAttention", inputs, inputs[3] ?? null, false),
      run(inputs, a: SdpaAttrs, out, cuda): CudaBuffer[] {
        const [q, k, v] = inputs;
        const mask = inputs[3] ?? null;
        const lay = sdpaLayout(q, k, v, mask);
        const o = allocOutput(cuda, out[0]), lse = allocOutput(cuda, out[1]);
        const rows = lay.count * lay.l;
        if (rows === 0) return [o, lse];
        const mk = maskKind(mask);
        const src = cached(`fwd/${q.dtype}/${mk}`, () => forwardSource(q.dtype, mk));
        blocks(cuda, src, rows, sharedBytes.forward(lay.e, lay.ev), [
          { ptr: o },
          { ptr: lse },
          ...inputs.map(ptr),
          ...common(lay, a, rows),
        ]);
        return [o, lse];
      },
    },
    scaledDotProductAttentionBackward: {
      dtypes,
      supports(inputs, a: SdpaBackwardAttrs) {
        const ok = backwardDtypes(inputs, a);
        if (ok !== true) return ok;
        return fits(
          "scaledDotProductAttentionBackward",
          inputs,
          a.mask ? inputs[3] : null,
          true,
        );
      },
      run(inputs, a: SdpaBackwardAttrs, out, cuda): CudaBuffer[] {
        const [q, k, v] = inputs;
        const mask = a.mask ? inputs[3] : null;
        const at = 3 + Number(a.mask);
        const [o, lse, dout] = inputs.slice(at, at + 3);
        const lay = sdpaLayout(q, k, v, mask);
        const grads = out.map((s) => allocOutput(cuda, s));
        const qRows = lay.count * lay.l, kRows = lay.count * lay.s;
        const mk = maskKind(mask);
        const ins = [q, k, v, ...(mask ? [mask] : [])].map(ptr);
        const d = cuda.alloc(Math.max(qRows, 1), "float32");
        if (qRows > 0) {
          const dk = cached(`delta/${q.dtype}/${a.lseGrad}`, () => deltaSource(q.dtype, a.lseGrad));
          launchN(cuda, dk.name, dk.source, qRows, [
            { ptr: d },
            ptr(o),
            ptr(dout),
            ...(a.lseGrad ? [ptr(inputs[at + 3])] : []),
            { i64: qRows },
            { i32: lay.ev },
          ]);
          const src = cached(
            `dq/${q.dtype}/${mk}/${a.maskGrad}`,
            () => dqSource(q.dtype, mk, a.maskGrad),
          );
          blocks(cuda, src, qRows, sharedBytes.dq(lay.e, lay.ev), [
            { ptr: grads[0] },
            ...(a.maskGrad ? [{ ptr: grads[3] }] : []),
            ...ins,
            ptr(lse),
            { ptr: d },
            ptr(dout),
            ...common(lay, a, qRows),
          ]);
        }
        if (kRows > 0) {
          const src = cached(`dkv/${q.dtype}/${mk}`, () => dkvSource(q.dtype, mk));
          blocks(cuda, src, kRows, sharedBytes.dkv(lay.e, lay.ev), [
            { ptr: grads[1] },
            { ptr: grads[2] },
            ...ins,
            ptr(lse),
            { ptr: d },
            ptr(dout),
            ...common(lay, a, kRows),
          ]);
        }
        cuda.free(d);
        return grads;
      },
    },
  };
}
