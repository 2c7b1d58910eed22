/**
 * Cross-entropy with class-index targets as fused ops: `crossEntropy` takes logits [N, C], an int32
 * target [N] and an optional float32 class weight [C], and gives the loss (reduced as the
 * attributes say) with each row's log-sum-exp and the total weight of the non-ignored targets;
 * `crossEntropyBackward` gives dx = (softmax(x) − onehot(target))·scale per row in one op. Row n's
 * loss is w[t_n]·(lse_n − x[n, t_n]), 0 where t_n is `ignoreIndex`; "mean" divides the sum by the
 * summed weights of the non-ignored targets (NaN when there are none, as PyTorch's 0/0). A target
 * outside [0, C) that is not `ignoreIndex` is an `IndexError` naming the op, the value and C.
 *
 * Both ops decompose into core ops (computed in float32), so a backend without the kernels, or a
 * dtype a kernel declines, still runs them, and with `createGraph` the backward runs as its
 * decomposition, so second derivatives work. `crossEntropyPlugin` defines them; importing this
 * module registers it.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { tensor } from "../../core/mod.ts";
 * import { crossEntropyFused } from "./cross_entropy.ts";
 * const x = tensor([[2, 0, 0], [0, 0, 0]]);
 * const t = tensor([0, -100], { dtype: "int32" });
 * const loss = crossEntropyFused(x, t, null, { reduction: "mean", ignoreIndex: -100, weight: false });
 * console.log(loss.itemSync().toFixed(4)); // 0.2395
 * ```
 *
 * @module
 */

import {
  apply,
  arange,
  cast,
  definePlugin,
  DTypeError,
  gather,
  getBackend,
  hasBackend,
  isFloating,
  isGradEnabled,
  ShapeError,
  shapeStr,
  use,
  ValueError,
  where,
} from "../../core/mod.ts";
import type { OpDef, Plugin, Reduction, Tensor, TensorSpec } from "../../core/mod.ts";

/** Attributes of `crossEntropy` and `crossEntropyBackward`. */
export interface CrossEntropyAttrs {
  /** "mean", "sum" or "none" (per-row losses [N]). */
  reduction: Reduction;
  /** Target value that contributes nothing (PyTorch's default is −100). */
  ignoreIndex: number;
  /** Whether a float32 class weight [C] is an input (after the target). */
  weight: boolean;
}

const REDUCTIONS: readonly string[] = ["mean", "sum", "none"];

function checkAttrs(op: string, a: CrossEntropyAttrs): void {
  if (!REDUCTIONS.includes(a.reduction)) {
    throw new ValueError(`${op}: unknown reduction "${a.reduction}" (expected mean, sum, none)`);
  }
  if (!Number.isInteger(a.ignoreIndex)) {
    throw new ValueError(`${op}: ignoreIndex must be an integer, got ${a.ignoreIndex}`);
  }
  if (typeof a.weight !== "boolean") {
    throw new ValueError(`${op}: attrs.weight must be true or false, got ${a.weight}`);
  }
}

function checkArity(op: string, inputs: readonly Tensor[], want: number, what: string): void {
  if (inputs.length !== want) {
    throw new ValueError(`${op}: expected ${want} inputs (${what}), got ${inputs.length}`);
  }
}

// Checks logits [N, C], target [N] int32 and the weight [C] float32; returns [N, C].
function layout(op: string, x: Tensor, t: Tensor, w: Tensor | undefined): [number, number] {
  if (!isFloating(x.dtype)) {
    throw new DTypeError(`${op}: expected floating-point logits, got ${x.dtype}`);
  }
  if (x.ndim !== 2) {
    throw new ShapeError(`${op}: logits must have shape [N, C], got ${shapeStr(x.shape)}`);
  }
  const [n, c] = x.shape;
  if (t.dtype !== "int32" || t.ndim !== 1 || t.shape[0] !== n) {
    throw new ShapeError(
      `${op}: target must be int32 of shape [${n}] for logits ${shapeStr(x.shape)}, got ` +
        `${shapeStr(t.shape)} ${t.dtype}`,
    );
  }
  if (w && (w.dtype !== "float32" || w.ndim !== 1 || w.shape[0] !== c)) {
    throw new ShapeError(
      `${op}: weight must be float32 of shape [${c}], got ${shapeStr(w.shape)} ${w.dtype}`,
    );
  }
  return [n, c];
}

const f32 = (t: Tensor): Tensor => (t.dtype === "float32" ? t : t.cast("float32"));

// Each row's log-sum-exp [N, 1] of x (float32), max-subtracted.
function rowLse(x: Tensor): Tensor {
  const m = x.amax(1, { keepdim: true }).detach();
  return x.sub(m).exp().sum(1, { keepdim: true }).log().add(m);
}

// The non-ignored rows' weights [N] (float32: 0 for ignored rows, w[t] or 1 otherwise) and the
// targets with ignored rows sent to class 0 (gather checks the others against [0, C)).
function rowWeights(t: Tensor, w: Tensor | undefined, a: CrossEntropyAttrs): [Tensor, Tensor] {
  const valid = t.ne(a.ignoreIndex);
  const safe = where(valid, t, 0);
  let wv = cast(valid, "float32");
  if (w) wv = wv.mul(gather(w, 0, safe));
  return [wv, safe];
}

/**
 * Fused cross-entropy (`"crossEntropy"`): inputs logits x [N, C] (floating), target [N] (int32)
 * and, where `attrs.weight`, the class weight [C] (float32); outputs the loss (x's dtype; [] for
 * "mean" and "sum", [N] for "none"), each row's log-sum-exp ([N], float32) and the summed weights
 * of the non-ignored targets ([], float32). Its gradient is one `crossEntropyBackward`.
 */
export const crossEntropyOp: OpDef<CrossEntropyAttrs> = {
  name: "crossEntropy",
  savesOutputs: true,
  infer(inputs, a): TensorSpec[] {
    checkAttrs("crossEntropy", a);
    checkArity("crossEntropy", inputs, 2 + Number(a.weight), "x, target, weight?");
    const [x, t, w] = inputs;
    const [n] = layout("crossEntropy", x, t, w);
    return [
      { shape: a.reduction === "none" ? [n] : [], dtype: x.dtype },
      { shape: [n], dtype: "float32" },
      { shape: [], dtype: "float32" },
    ];
  },
  grad(ctx, g, gouts) {
    const a = ctx.attrs;
    if (!ctx.needsInputGrad[0]) return ctx.inputs.map(() => null);
    const [x, t, ...w] = ctx.inputs;
    const [, lse, wsum] = ctx.outputs;
    let dx = apply(crossEntropyBackwardOp, [g, x, t, lse, wsum, ...w], a)[0];
    const glse = gouts[1];
    if (glse) {
      // d lse_n / dx[n, :] = softmax(x[n, :]), for the rare caller that uses the statistics.
      const p = f32(x).softmax(1).mul(glse.reshape([-1, 1]));
      dx = dx.add(p.cast(x.dtype));
    }
    return [dx, null, ...w.map(() => null)];
  },
  decompose(inputs, a) {
    const [x, t, w] = inputs;
    const xf = f32(x);
    const lse = rowLse(xf);
    const [wv, safe] = rowWeights(t, w, a);
    const picked = gather(xf, 1, safe.unsqueeze(1));
    const rows = lse.sub(picked).squeeze(1).mul(wv);
    const wsum = wv.sum();
    const loss = a.reduction === "none"
      ? rows
      : a.reduction === "sum"
      ? rows.sum()
      : rows.sum().div(wsum);
    return [loss.cast(x.dtype), lse.reshape([-1]), wsum];
  },
};

// No gradient rule: under grad mode (double backward) dispatch differentiates the decomposition.
/**
 * Fused cross-entropy's gradient (`"crossEntropyBackward"`): inputs g (the loss's gradient, [] or
 * [N] as the loss), x, target, the forward's lse [N] and total weight [] (float32), and the
 * weight where `attrs.weight`; output dx = (softmax(x) − onehot(target))·s per row, with
 * s_n = w[t_n]·g (sum), w[t_n]·g_n (none) or w[t_n]·(g / total weight) (mean), 0 for ignored rows.
 */
export const crossEntropyBackwardOp: OpDef<CrossEntropyAttrs> = {
  name: "crossEntropyBackward",
  family: "crossEntropy",
  infer(inputs, a): TensorSpec[] {
    const op = "crossEntropyBackward";
    checkAttrs(op, a);
    checkArity(op, inputs, 5 + Number(a.weight), "g, x, target, lse, total weight, weight?");
    const [g, x, t, lse, wsum, w] = inputs;
    const [n] = layout(op, x, t, w);
    const gShape = a.reduction === "none" ? [n] : [];
    if (g.dtype !== x.dtype || g.ndim !== gShape.length || (g.ndim === 1 && g.shape[0] !== n)) {
      throw new ShapeError(
        `${op}: gradient ${shapeStr(g.shape)} ${g.dtype} must be ${x.dtype} of shape ` +
          `${shapeStr(gShape)}`,
      );
    }
    if (lse.dtype !== "float32" || lse.ndim !== 1 || lse.shape[0] !== n) {
      throw new ShapeError(
        `${op}: lse must be float32 of shape [${n}], got ${shapeStr(lse.shape)} ${lse.dtype}`,
      );
    }
    if (wsum.dtype !== "float32" || wsum.ndim !== 0) {
      throw new ShapeError(
        `${op}: the total weight must be a float32 scalar, got ${shapeStr(wsum.shape)} ` +
          `${wsum.dtype}`,
      );
    }
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  decompose(inputs, a) {
    const [g, x, t, , , w] = inputs;
    let [, , , lse, wsum] = inputs;
    const xf = f32(x);
    const [wv, safe] = rowWeights(t, w, a);
    if (isGradEnabled()) {
      // Differentiated: the statistics must be traced back to x.
      lse = rowLse(xf);
      wsum = wv.sum();
    } else lse = lse.reshape([-1, 1]);
    const gf = f32(g);
    const s = a.reduction === "none"
      ? gf.mul(wv)
      : a.reduction === "sum"
      ? wv.mul(gf)
      : wv.mul(gf.div(wsum));
    const onehot = cast(
      safe.unsqueeze(1).eq(arange(x.shape[1], { dtype: "int32", device: x.device })),
      "float32",
    );
    const dx = xf.sub(lse).exp().sub(onehot).mul(s.unsqueeze(1));
    return [dx.cast(x.dtype)];
  },
};

/**
 * What a kernel's out-of-range target names (the webgpu device error record's site, and the cpu
 * message built from it): `crossEntropy: class index out of range [0, C): gather: index v is out
 * of bounds for dimension 1 with size C (tensor [N, C])` once the value is filled in — the message
 * the composite (logSoftmax + nllLoss, whose gather checks the targets) gave, after the op's name.
 */
export function crossEntropyIndexSite(
  shape: readonly number[],
): { op: string; dim: number; shape: readonly number[] } {
  return { op: `crossEntropy: class index out of range [0, ${shape[1]}): gather`, dim: 1, shape };
}

/**
 * Whether tensors on `device` have a `crossEntropy` kernel: `F.crossEntropy` takes the fused op
 * there and elsewhere keeps the composite (logSoftmax + nllLoss), which such a backend runs with
 * its own kernels (the op's decomposition is about as many core ops).
 */
export function hasFusedCrossEntropy(device: string): boolean {
  return hasBackend(device) && getBackend(device).table.has(crossEntropyOp.name);
}

/** The fused cross-entropy ops, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const crossEntropyOps: readonly OpDef<any>[] = [crossEntropyOp, crossEntropyBackwardOp];

/**
 * The plugin defining the fused cross-entropy ops (registered when this module is imported, so
 * `F.crossEntropy` and the backends' kernels find the ops defined whichever module loads first).
 */
export const crossEntropyPlugin: Plugin = use(definePlugin({
  name: "@denn/cross-entropy",
  kind: "loss",
  version: "0.1.0",
  apiVersion: 1,
  ops: crossEntropyOps,
}));

/**
 * Runs the fused `crossEntropy` op and returns the loss: logits x [N, C], int32 target [N], and the
 * float32 class weight [C] exactly where `attrs.weight` says.
 */
export function crossEntropyFused(
  x: Tensor,
  target: Tensor,
  weight: Tensor | null,
  attrs: CrossEntropyAttrs,
): Tensor {
  if (!!weight !== attrs.weight) {
    throw new ValueError(
      `crossEntropy: a weight must be given exactly where attrs.weight (${attrs.weight}) says`,
    );
  }
  const inputs = weight ? [x, target, weight] : [x, target];
  return apply(crossEntropyOp, inputs, attrs)[0];
}
