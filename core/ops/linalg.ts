/**
 * Matrix multiplication: batched, with NumPy broadcasting of batch dimensions and transpose flags so
 * gradients never materialise a transposed copy.
 *
 * @module
 */

import { isFloating, promoteTypes } from "../dtype.ts";
import { DTypeError, ShapeError, ValueError } from "../errors.ts";
import { cast } from "./elementwise.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef } from "../registry.ts";
import { broadcastShapes, shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { show } from "../args.ts";
import { sumToShape } from "./reduce.ts";
import { squeeze, unsqueeze } from "./views.ts";
import { reshape } from "./reshape.ts";

/** Attributes of matmul: whether each operand's last two dims are read transposed. */
export interface MatmulAttrs {
  /** Read A as [..., K, M]. */
  transA: boolean;
  /** Read B as [..., N, K]. */
  transB: boolean;
}

/** Batch shape, M, N and K of a matmul, checked. */
export function matmulDims(a: Tensor, b: Tensor, attrs: MatmulAttrs): {
  batch: number[];
  m: number;
  n: number;
  k: number;
} {
  if (a.ndim < 2 || b.ndim < 2) {
    throw new ShapeError(
      `matmul: kernel operands must be at least 2-D, got ${shapeStr(a.shape)} and ${
        shapeStr(b.shape)
      }`,
    );
  }
  const m = attrs.transA ? a.shape[a.ndim - 1] : a.shape[a.ndim - 2];
  const ka = attrs.transA ? a.shape[a.ndim - 2] : a.shape[a.ndim - 1];
  const kb = attrs.transB ? b.shape[b.ndim - 1] : b.shape[b.ndim - 2];
  const n = attrs.transB ? b.shape[b.ndim - 2] : b.shape[b.ndim - 1];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: shapes ${shapeStr(a.shape)}${attrs.transA ? "ᵀ" : ""} and ${shapeStr(b.shape)}${
        attrs.transB ? "ᵀ" : ""
      } ` +
        `cannot be multiplied (inner sizes ${ka} and ${kb} differ)`,
    );
  }
  const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { batch, m, n, k: ka };
}

const matmulOp: OpDef<MatmulAttrs> = defineOp<MatmulAttrs>({
  name: "matmul",
  infer(inputs, attrs) {
    const [a, b] = inputs;
    if (!isFloating(a.dtype) || a.dtype !== b.dtype) {
      throw new DTypeError(
        `matmul: expected floating-point operands of one dtype, got ${a.dtype} and ${b.dtype}`,
      );
    }
    const { batch, m, n } = matmulDims(a, b, attrs);
    return [{ shape: [...batch, m, n], dtype: a.dtype }];
  },
  grad(ctx, g) {
    const [a, b] = ctx.inputs;
    const { transA, transB } = ctx.attrs;
    // C = op(A) op(B): dA = g op(B)ᵀ (transposed back if A was read transposed), likewise dB.
    const ga = !ctx.needsInputGrad[0]
      ? null
      : transA
      ? gemm(b, g, transB, true)
      : gemm(g, b, false, !transB);
    const gb = !ctx.needsInputGrad[1]
      ? null
      : transB
      ? gemm(g, a, true, transA)
      : gemm(a, g, !transA, false);
    return [ga && sumToShape(ga, ctx.inputShapes[0]), gb && sumToShape(gb, ctx.inputShapes[1])];
  },
});

/**
 * Matrix product of two 2-D tensors, as PyTorch's `mm`; `transA`/`transB` multiply by a transpose
 * without copying it (`mm(x, w, false, true)` is x·wᵀ). For batches use `matmul`.
 */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  for (const [name, t] of [["first", a], ["second", b]] as const) {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`mm: the ${name} argument must be a Tensor, got ${show(t)}`);
    }
    if (t.ndim !== 2) {
      throw new ShapeError(
        `mm: expected 2-D matrices, got ${shapeStr(a.shape)} and ${
          shapeStr(b.shape)
        } (use matmul for batches)`,
      );
    }
  }
  if (typeof transA !== "boolean" || typeof transB !== "boolean") {
    throw new ValueError(
      `mm: transA and transB must be booleans, got ${show(transA)} and ${show(transB)}`,
    );
  }
  return gemm(a, b, transA, transB);
}

// The matmul op with transpose flags, on operands of at least 2 dims (batch dims broadcast).
function gemm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  if (a.dtype !== b.dtype && isFloating(a.dtype) && isFloating(b.dtype)) {
    const dt = promoteTypes(a.dtype, b.dtype);
    a = cast(a, dt);
    b = cast(b, dt);
  }
  return apply1(matmulOp, [a, b], { transA, transB });
}

/**
 * Matrix product with PyTorch's `matmul` semantics: 1-D operands are promoted and the added
 * dimension removed afterwards; batch dimensions broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  for (const [name, t] of [["first", a], ["second", b]] as const) {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`matmul: the ${name} argument must be a Tensor, got ${show(t)}`);
    }
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(
      `matmul: both arguments need at least 1 dimension, got ${shapeStr(a.shape)} and ${
        shapeStr(b.shape)
      }`,
    );
  }
  const va = a.ndim === 1, vb = b.ndim === 1;
  const x = va ? unsqueeze(a, 0) : a;
  const y = vb ? unsqueeze(b, 1) : b;
  // [.., M, K] @ [K, N] with M folded into the batch: one large GEMM instead of many small ones.
  if (x.ndim > 2 && y.ndim === 2) {
    const lead = x.shape.slice(0, -1);
    const out = gemm(reshape(x, [-1, x.shape[x.ndim - 1]]), y, false, false);
    const r = reshape(out, [...lead, y.shape[1]]);
    return vb ? squeeze(r, -1) : r;
  }
  let out = gemm(x, y, false, false);
  if (va) out = squeeze(out, -2);
  if (vb) out = squeeze(out, -1);
  return out;
}
