/**
 * webgpu movement kernels: one strided-copy kernel (permute, slice, expand, copy), sliceBackward and
 * pad as one-thread-per-output masks, cat as one copy per input, gather, and an atomic-free
 * scatterAdd (one thread per output element looping over the indexed dim). Moves copy raw 32-bit
 * words, so one pipeline serves every 4-byte dtype; float16 gets the same kernels over `f16`.
 *
 * gather and scatterAdd validate their index values: a value outside `[0, size)` of the indexed
 * dimension is recorded in the device's error record (`INDEX_ERROR_WGSL` in wgsl.ts, the
 * protocol of `plugins/device_errors.ts`), and the next readback or `sync()` throws the same
 * `IndexError`, with the same message, as the cpu backend does at once (the first such value
 * since the previous readback wins). The offending element itself is never read or written out of
 * bounds: gather stores 0 there and scatterAdd skips it.
 *
 * @module
 */

import type { DType, Tensor } from "../../core/mod.ts";
import { sizeOf, stridesOf } from "../../core/mod.ts";
import {
  coalesce,
  ELEMENT_MAIN,
  elementGrid,
  ERROR_BINDING,
  fbits,
  INDEX_ERROR_WGSL,
  prelude,
  stridedOffsets,
  wgslType,
} from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import { gpuBuffer, gpuStorage } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

// Raw element type moved by the dtype-agnostic kernels: 32-bit words, or f16 halves.
function word(dtype: DType): "u32" | "f16" {
  return dtype === "float16" ? "f16" : "u32";
}

/**
 * Copies the strided view (`offset`, `strides` over `shape`) of `src` into a new contiguous buffer;
 * strides may be 0 (broadcast) or negative. Elements are 4 bytes unless `dtype` is float16.
 */
export function copyStrided(
  gpu: Gpu,
  op: string,
  src: GPUBuffer,
  shape: readonly number[],
  offset: number,
  strides: readonly number[],
  dtype: DType = "float32",
): GpuBuffer {
  const n = sizeOf(shape);
  const out = gpu.allocFor(dtype, n);
  if (n === 0) return out;
  const [s, [st]] = coalesce(shape, [strides]);
  const r = s.length;
  const w = word(dtype);
  const pipe = gpu.pipeline(
    `strided/${w}/${r}`,
    () =>
      `${prelude([{ name: "X", type: w }, { name: "O", type: w, write: true }])}
${ELEMENT_MAIN}
  ${stridedOffsets(["o"], "i", r, 2, [2 + r])}
  O[i] = X[u32(P(1u) + o)];
}`,
  );
  gpu.dispatch(op, pipe, [src, out.buffer], [n, offset, ...s, ...st], elementGrid(n));
  return out;
}

/**
 * Writes `src`'s elements (any layout) into the elements `dst` addresses through its offset and
 * strides, in `dst`'s own buffer: how in-place ops and `copy_` write through views.
 */
export function writeStrided(gpu: Gpu, src: Tensor, dst: Tensor): void {
  const n = dst.numel();
  if (n === 0) return;
  const [s, [sd, ss]] = coalesce(dst.shape, [dst.strides, src.strides]);
  const r = s.length;
  const w = word(dst.dtype);
  const pipe = gpu.pipeline(
    `writeStrided/${w}/${r}`,
    () =>
      `${prelude([{ name: "X", type: w }, { name: "O", type: w, write: true }])}
${ELEMENT_MAIN}
  ${stridedOffsets(["o", "x"], "i", r, 3, [3 + r, 3 + 2 * r])}
  O[u32(P(1u) + o)] = X[u32(P(2u) + x)];
}`,
  );
  gpu.dispatch(
    "copyInto",
    pipe,
    [gpuStorage(src).buffer, gpuStorage(dst).buffer],
    [n, dst.offset, src.offset, ...s, ...sd, ...ss],
    elementGrid(n),
  );
}

interface SliceAttrs {
  starts: number[];
  steps: number[];
  shape: number[];
}

// One thread per output element of `outShape`: the source coordinate is (c - before) / step along
// each dim; elements off the grid or outside `inShape` get `fill`.
function placeKernel(
  gpu: Gpu,
  op: string,
  src: Tensor,
  outShape: readonly number[],
  before: readonly number[],
  steps: readonly number[],
  fill: number,
): GpuBuffer {
  const n = sizeOf(outShape);
  const out = gpu.allocFor(src.dtype, n);
  if (n === 0) return out;
  const r = outShape.length;
  const t = wgslType(src.dtype);
  const pipe = gpu.pipeline(`place/${t}/${r}`, () => {
    const body: string[] = [];
    for (let d = r - 1; d >= 0; d--) {
      body.push(`{ let sz = PU(${2 + d}u); let c = i32(r % sz); r = r / sz;
        let q = c - P(${2 + r + d}u); let st = P(${2 + 2 * r + d}u);
        let k = q / st;
        if (q % st != 0 || k < 0 || k >= P(${2 + 3 * r + d}u)) { ok = false; }
        o += k * P(${2 + 4 * r + d}u); }`);
    }
    return `${prelude([{ name: "X", type: t }, { name: "O", type: t, write: true }])}
${ELEMENT_MAIN}
  var ok = true; var o = 0; var r = i;
  ${body.join("\n  ")}
  if (ok) { O[i] = X[u32(o)]; } else { O[i] = ${t === "i32" ? "P(1u)" : `${t}(PF(1u))`}; }
}`;
  });
  const params = [
    n,
    t === "i32" ? fill : fbits(fill),
    ...outShape,
    ...before,
    ...steps,
    ...src.shape,
    ...stridesOf(src.shape),
  ];
  gpu.dispatch(op, pipe, [gpuBuffer(src), out.buffer], params, elementGrid(n));
  return out;
}

// One thread per index element: its coordinate with the `dim` entry replaced by the index value.
// An out-of-range value stores 0 and is recorded for the next readback to throw.
function gatherKernel(gpu: Gpu, x: Tensor, index: Tensor, dim: number): GpuBuffer {
  const n = index.numel();
  const out = gpu.allocFor(x.dtype, n);
  if (n === 0) return out;
  const r = index.ndim;
  const w = word(x.dtype);
  const pipe = gpu.pipeline(`gather/${w}/${r}/${dim}`, () => {
    const body: string[] = [];
    for (let d = r - 1; d >= 0; d--) {
      body.push(`{ let sz = PU(${3 + d}u); let c = i32(r % sz); r = r / sz;
        o += ${d === dim ? "v" : "c"} * P(${3 + r + d}u); }`);
    }
    return `${
      prelude([
        { name: "X", type: w },
        { name: "I", type: "i32" },
        { name: "O", type: w, write: true },
        ERROR_BINDING,
      ])
    }${INDEX_ERROR_WGSL}
${ELEMENT_MAIN}
  let v = I[i];
  if (v < 0 || v >= P(1u)) { O[i] = ${w}(0); indexError(PU(2u), v); return; }
  var o = 0; var r = i;
  ${body.join("\n  ")}
  O[i] = X[u32(o)];
}`;
  });
  const site = gpu.indexSite({ op: "gather", dim, shape: x.shape });
  const params = [n, x.shape[dim], site, ...index.shape, ...stridesOf(x.shape)];
  gpu.dispatch(
    "gather",
    pipe,
    [gpuBuffer(x), gpuBuffer(index), out.buffer, gpu.errorBuffer],
    params,
    elementGrid(n),
  );
  return out;
}

function scatterAddKernel(
  gpu: Gpu,
  index: Tensor,
  src: Tensor,
  dim: number,
  shape: readonly number[],
): GpuBuffer {
  const n = sizeOf(shape);
  const m = index.numel();
  const out = gpu.allocFor(src.dtype, n);
  if (n === 0 && m === 0) return out;
  const r = shape.length;
  const t = wgslType(src.dtype);
  // float16 sums accumulate in f32.
  const acc = t === "f16" ? "f32" : t;
  // Thread i validates index element i (when i < m: each value is checked once, even where the
  // output is empty) and computes output element i (when i < n). For output coordinate c, the
  // candidates are index positions p with p_d = c_d off `dim` (which must lie inside the index
  // shape) and any p_dim; each matching index value adds src[p]. Out-of-range values never match.
  const K = 6;
  const pipe = gpu.pipeline(`scatterAdd/${t}/${r}/${dim}`, () => {
    const body: string[] = [];
    for (let d = r - 1; d >= 0; d--) {
      body.push(`{ let sz = PU(${K + d}u); let c = i32(r % sz); r = r / sz;
        ${
        d === dim
          ? "tgt = c;"
          : `if (c >= P(${K + r + d}u)) { inside = false; } base += c * P(${K + 2 * r + d}u);`
      } }`);
    }
    return `${
      prelude([
        { name: "I", type: "i32" },
        { name: "S", type: t },
        { name: "O", type: t, write: true },
        ERROR_BINDING,
      ])
    }${INDEX_ERROR_WGSL}
${ELEMENT_MAIN}
  if (i < PU(3u)) {
    let v = I[i];
    if (v < 0 || v >= P(4u)) { indexError(PU(5u), v); }
  }
  if (i >= PU(2u)) { return; }
  var inside = true; var base = 0; var tgt = 0; var r = i;
  ${body.join("\n  ")}
  var acc = ${acc}(0);
  if (inside) {
    let len = P(1u);
    let step = P(${K + 2 * r + dim}u);
    for (var j = 0; j < len; j++) {
      let p = u32(base + j * step);
      if (I[p] == tgt) { acc += ${acc}(S[p]); }
    }
  }
  O[i] = ${t}(acc);
}`;
  });
  const site = gpu.indexSite({ op: "scatterAdd", dim, shape });
  const params = [
    Math.max(n, m),
    index.shape[dim],
    n,
    m,
    shape[dim],
    site,
    ...shape,
    ...index.shape,
    ...stridesOf(index.shape),
  ];
  gpu.dispatch(
    "scatterAdd",
    pipe,
    [gpuBuffer(index), gpuBuffer(src), out.buffer, gpu.errorBuffer],
    params,
    elementGrid(Math.max(n, m)),
  );
  return out;
}

function catKernel(
  gpu: Gpu,
  inputs: readonly Tensor[],
  dim: number,
  outShape: readonly number[],
): GpuBuffer {
  const n = sizeOf(outShape);
  const dtype = inputs[0].dtype;
  const out = gpu.allocFor(dtype, n);
  if (n === 0) return out;
  const rowOut = sizeOf(outShape.slice(dim));
  const w = word(dtype);
  const pipe = gpu.pipeline(
    `cat/${w}`,
    () =>
      `${prelude([{ name: "X", type: w }, { name: "O", type: w, write: true }])}
${ELEMENT_MAIN}
  let row = PU(1u);
  O[(i / row) * PU(2u) + PU(3u) + i % row] = X[i];
}`,
  );
  let col = 0;
  for (const t of inputs) {
    const row = sizeOf(t.shape.slice(dim));
    if (t.numel()) {
      gpu.dispatch(
        "cat",
        pipe,
        [gpuBuffer(t), out.buffer],
        [t.numel(), row, rowOut, col],
        elementGrid(t.numel()),
      );
    }
    col += row;
  }
  return out;
}

/** Movement kernel table of the webgpu backend. */
export function movementKernels(gpu: Gpu): WebGpuKernelTable {
  const supports = (inputs: readonly Tensor[]) => withinLimits(gpu, inputs);
  return {
    contiguous: {
      supports,
      strided: true,
      run(inputs) {
        const x = inputs[0];
        return [
          copyStrided(
            gpu,
            "contiguous",
            gpuStorage(x).buffer,
            x.shape,
            x.offset,
            x.strides,
            x.dtype,
          ),
        ];
      },
    },
    copyInto: {
      supports,
      strided: true,
      run(inputs) {
        const [dst, src] = inputs;
        writeStrided(gpu, src, dst);
        return [];
      },
    },
    sliceBackward: {
      supports,
      run(inputs, a: SliceAttrs & { inputShape: number[] }) {
        return [placeKernel(gpu, "sliceBackward", inputs[0], a.inputShape, a.starts, a.steps, 0)];
      },
    },
    pad: {
      supports,
      run(inputs, a: { before: number[]; after: number[]; value: number }, out) {
        const ones = a.before.map(() => 1);
        return [placeKernel(gpu, "pad", inputs[0], out[0].shape, a.before, ones, a.value)];
      },
    },
    cat: {
      supports,
      run: (inputs, a: { dim: number }, out) => [catKernel(gpu, inputs, a.dim, out[0].shape)],
    },
    gather: {
      supports,
      run: (inputs, a: { dim: number }) => [gatherKernel(gpu, inputs[0], inputs[1], a.dim)],
    },
    scatterAdd: {
      supports,
      run: (inputs, a: { dim: number; shape: number[] }) => [
        scatterAddKernel(gpu, inputs[0], inputs[1], a.dim, a.shape),
      ],
    },
  };
}
