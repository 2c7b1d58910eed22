/**
 * cuda kernels of the fused LSTM and GRU cells (`lstmCell`, `lstmCellBackward`, `gruCell`,
 * `gruCellBackward`), a thread per element of the `[R, H]` state, ported from the webgpu kernels.
 * The LSTM forward reads the element's four gate preactivations and c and writes h', c' and the
 * activated gates (the workspace); its backward reads the workspace, c, c' and the gradients of h'
 * and/or c' (a source per combination). The GRU kernels read the element's three gates of each
 * projection and h; the backward recomputes the gates. σ is 1/(1 + e^−x) and tanh is CUDA's
 * `tanhf` (±1 at ±∞, NaN kept). float16 is computed in float; h' is taken from c' and σ(o) as
 * stored, as the ops' decompositions compute it.
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import type { LstmCellBackwardAttrs } from "../../../layers/ops/rnn_cell.ts";
import { allocOutput, launchN, ptr } from "./kit_launch.ts";
import { cType, FLOATS, kernelSource, load, sourceCache, store, tag } from "./kit_source.ts";
import type { CudaBuffer, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

const MATH = `
__device__ __forceinline__ float denn_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
`;

// The element's state index i in [0, R·H) and its first gate's index a in the [R, k·H] gates.
const LOOP = (k: number) =>
  `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    const long long a = (i / H) * ${k} * H + i % H;`;

/** A value as the storage of `dtype` keeps it (rounded to half for float16). */
function stored(dtype: DType, e: string): string {
  return dtype === "float16" ? `denn_h2f(denn_f2h(${e}))` : `(${e})`;
}

function lstmForward(dtype: DType): KernelSource {
  const name = `denn_lstmCell_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const st = (e: string) => store(dtype, e);
  const params = [
    `${T}* __restrict__ HO`,
    `${T}* __restrict__ CO`,
    `${T}* __restrict__ WS`,
    `const ${T}* __restrict__ G`,
    `const ${T}* __restrict__ C`,
    "long long n",
    "long long H",
  ];
  const body = `${LOOP(4)}
    const float ig = denn_sigmoid(${ld("G[a]")});
    const float fg = denn_sigmoid(${ld("G[a + H]")});
    const float gg = tanhf(${ld("G[a + 2 * H]")});
    const float og = denn_sigmoid(${ld("G[a + 3 * H]")});
    WS[a] = ${st("ig")};
    WS[a + H] = ${st("fg")};
    WS[a + 2 * H] = ${st("gg")};
    WS[a + 3 * H] = ${st("og")};
    const float cn = ${stored(dtype, `fg * ${ld("C[i]")} + ig * gg`)};
    CO[i] = ${st("cn")};
    HO[i] = ${st(`${stored(dtype, "og")} * tanhf(cn)`)};
  }`;
  return { name, ops: ["lstmCell"], source: kernelSource(name, params, body, MATH) };
}

type Given = "dh" | "dc" | "both";
const GIVEN: readonly Given[] = ["dh", "dc", "both"];

function lstmBackward(dtype: DType, given: Given): KernelSource {
  const name = `denn_lstmCellBackward_${given}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const st = (e: string) => store(dtype, e);
  const dh = given !== "dc", dc = given !== "dh";
  const params = [
    `${T}* __restrict__ DG`,
    `${T}* __restrict__ DC`,
    `const ${T}* __restrict__ WS`,
    `const ${T}* __restrict__ C`,
    `const ${T}* __restrict__ C1`,
    ...(dh ? [`const ${T}* __restrict__ GH`] : []),
    ...(dc ? [`const ${T}* __restrict__ GC`] : []),
    "long long n",
    "long long H",
  ];
  const body = `${LOOP(4)}
    const float ig = ${ld("WS[a]")}, fg = ${ld("WS[a + H]")};
    const float gg = ${ld("WS[a + 2 * H]")}, og = ${ld("WS[a + 3 * H]")};
    const float tc = tanhf(${ld("C1[i]")});
    const float gh = ${dh ? ld("GH[i]") : "0.0f"};
    const float dct = ${dc ? ld("GC[i]") : "0.0f"} + gh * og * (1.0f - tc * tc);
    DG[a] = ${st("dct * gg * ig * (1.0f - ig)")};
    DG[a + H] = ${st(`dct * ${ld("C[i]")} * fg * (1.0f - fg)`)};
    DG[a + 2 * H] = ${st("dct * ig * (1.0f - gg * gg)")};
    DG[a + 3 * H] = ${st("gh * tc * og * (1.0f - og)")};
    DC[i] = ${st("dct * fg")};
  }`;
  return { name, ops: ["lstmCellBackward"], source: kernelSource(name, params, body) };
}

// r, z, n of the element from xi, hh (in scope: a, H).
const GRU_GATES = (ld: (e: string) => string) =>
  `    const float r = denn_sigmoid(${ld("XI[a]")} + ${ld("HH[a]")});
    const float z = denn_sigmoid(${ld("XI[a + H]")} + ${ld("HH[a + H]")});
    const float hn = ${ld("HH[a + 2 * H]")};
    const float nn = tanhf(${ld("XI[a + 2 * H]")} + r * hn);`;

function gruForward(dtype: DType): KernelSource {
  const name = `denn_gruCell_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    `${T}* __restrict__ HO`,
    `const ${T}* __restrict__ XI`,
    `const ${T}* __restrict__ HH`,
    `const ${T}* __restrict__ Hs`,
    "long long n",
    "long long H",
  ];
  const body = `${LOOP(3)}
${GRU_GATES(ld)}
    HO[i] = ${store(dtype, `nn + z * (${ld("Hs[i]")} - nn)`)};
  }`;
  return { name, ops: ["gruCell"], source: kernelSource(name, params, body, MATH) };
}

function gruBackward(dtype: DType): KernelSource {
  const name = `denn_gruCellBackward_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const st = (e: string) => store(dtype, e);
  const params = [
    `${T}* __restrict__ DXI`,
    `${T}* __restrict__ DHH`,
    `${T}* __restrict__ DH`,
    `const ${T}* __restrict__ XI`,
    `const ${T}* __restrict__ HH`,
    `const ${T}* __restrict__ Hs`,
    `const ${T}* __restrict__ GH`,
    "long long n",
    "long long H",
  ];
  const body = `${LOOP(3)}
${GRU_GATES(ld)}
    const float g = ${ld("GH[i]")};
    const float dpn = g * (1.0f - z) * (1.0f - nn * nn);
    const float dpz = g * (${ld("Hs[i]")} - nn) * z * (1.0f - z);
    const float dpr = dpn * hn * r * (1.0f - r);
    DXI[a] = ${st("dpr")};
    DHH[a] = ${st("dpr")};
    DXI[a + H] = ${st("dpz")};
    DHH[a + H] = ${st("dpz")};
    DXI[a + 2 * H] = ${st("dpn")};
    DHH[a + 2 * H] = ${st("dpn * r")};
    DH[i] = ${st("g * z")};
  }`;
  return { name, ops: ["gruCellBackward"], source: kernelSource(name, params, body, MATH) };
}

/** Every source the LSTM and GRU cell kernels launch. */
export function rnnCellSources(): KernelSource[] {
  return FLOATS.flatMap((d) => [
    lstmForward(d),
    ...GIVEN.map((g) => lstmBackward(d, g)),
    gruForward(d),
    gruBackward(d),
  ]);
}

const cached = sourceCache();

// Elements n of the state [..., H] and its hidden size H.
function dims(state: Tensor): [number, number] {
  return [state.numel(), state.shape[state.ndim - 1]];
}

/** Fused LSTM and GRU cell kernel table of the cuda backend (float32 and float16). */
export function rnnCellKernels(): CudaKernelTable {
  return {
    lstmCell: {
      dtypes: FLOATS,
      run([gates, c], _a, out, cuda): CudaBuffer[] {
        const outs = out.map((s) => allocOutput(cuda, s));
        const [n, h] = dims(c);
        if (n === 0) return outs;
        const k = cached(`lf/${c.dtype}`, () => lstmForward(c.dtype));
        launchN(cuda, k.name, k.source, n, [
          ...outs.map((o) => ({ ptr: o })),
          ptr(gates),
          ptr(c),
          { i64: n },
          { i64: h },
        ]);
        return outs;
      },
    },
    lstmCellBackward: {
      dtypes: FLOATS,
      run(inputs, a: LstmCellBackwardAttrs, out, cuda): CudaBuffer[] {
        const outs = out.map((s) => allocOutput(cuda, s));
        const c = inputs[1];
        const [n, h] = dims(c);
        if (n === 0) return outs;
        const given: Given = a.dh && a.dc ? "both" : a.dh ? "dh" : "dc";
        const k = cached(`lb/${c.dtype}/${given}`, () => lstmBackward(c.dtype, given));
        launchN(cuda, k.name, k.source, n, [
          ...outs.map((o) => ({ ptr: o })),
          ...inputs.map(ptr),
          { i64: n },
          { i64: h },
        ]);
        return outs;
      },
    },
    gruCell: {
      dtypes: FLOATS,
      run(inputs, _a, out, cuda): CudaBuffer[] {
        const o = allocOutput(cuda, out[0]);
        const [n, h] = dims(inputs[2]);
        if (n === 0) return [o];
        const k = cached(`gf/${o.dtype}`, () => gruForward(inputs[2].dtype));
        launchN(cuda, k.name, k.source, n, [{ ptr: o }, ...inputs.map(ptr), { i64: n }, {
          i64: h,
        }]);
        return [o];
      },
    },
    gruCellBackward: {
      dtypes: FLOATS,
      run(inputs, _a, out, cuda): CudaBuffer[] {
        const outs = out.map((s) => allocOutput(cuda, s));
        const [n, h] = dims(inputs[2]);
        if (n === 0) return outs;
        const k = cached(`gb/${inputs[2].dtype}`, () => gruBackward(inputs[2].dtype));
        launchN(cuda, k.name, k.source, n, [
          ...outs.map((o) => ({ ptr: o })),
          ...inputs.map(ptr),
          { i64: n },
          { i64: h },
        ]);
        return outs;
      },
    },
  };
}
