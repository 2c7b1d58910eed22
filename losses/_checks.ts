/**
 * The argument checks the functional losses share (private to losses/; used by functional.ts):
 * the reduction, tensor arguments, floating-point targets and weights of the right shape, class
 * index targets, and the binary losses' probabilities and per-element weight. Each throws an error
 * naming the loss.
 *
 * @module
 */

import {
  DTypeError,
  isFloating,
  sameShape,
  ShapeError,
  shapeStr,
  ValueError,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { tensorArg } from "./_options.ts";

export function checkReduction(op: string, r: string, extra: readonly string[] = []): void {
  if (!["mean", "sum", "none", ...extra].includes(r)) {
    throw new ValueError(
      `${op}: unknown reduction "${r}" (expected ${["mean", "sum", "none", ...extra].join(", ")})`,
    );
  }
}

// A loss's input and target must be tensors: a plain array or null is a named ValueError, not a
// TypeError from inside an op.
export function tensors(op: string, input: Tensor, target: Tensor): void {
  tensorArg(op, "input", input);
  tensorArg(op, "target", target);
}

export function floatingWeight(op: string, name: string, w: Tensor): void {
  if (!isFloating(w.dtype)) {
    throw new DTypeError(`${op}: ${name} must be floating-point, got ${w.dtype}`);
  }
}

// A per-class weight: floating-point of shape [C], as PyTorch requires.
export function classWeight(op: string, w: Tensor, c: number): void {
  floatingWeight(op, "weight", w);
  if (w.ndim !== 1 || w.shape[0] !== c) {
    throw new ShapeError(`${op}: weight ${shapeStr(w.shape)} must have shape [${c}]`);
  }
}

// `t` is the product with a broadcast weight: it must keep the input's shape (PyTorch requires the
// weight to broadcast to the input; a weight of more dimensions would grow the loss silently).
export function keptShape(op: string, name: string, w: Tensor, t: Tensor, input: Tensor): void {
  if (!sameShape(t.shape, input.shape)) {
    throw new ShapeError(
      `${op}: ${name} ${shapeStr(w.shape)} must broadcast to the input's shape ${
        shapeStr(input.shape)
      }`,
    );
  }
}

export function sameShapes(op: string, input: Tensor, target: Tensor): void {
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(
      `${op}: target ${shapeStr(target.shape)} must have the input's shape ${
        shapeStr(input.shape)
      }`,
    );
  }
  if (!isFloating(target.dtype)) {
    throw new DTypeError(`${op}: target must be floating-point, got ${target.dtype}`);
  }
}

export function checkClassTarget(op: string, input: Tensor, target: Tensor): void {
  if (target.dtype !== "int32") {
    throw new DTypeError(
      `${op}: class-index target must be int32, got ${target.dtype} (for probabilities pass a float32 target of the input's shape)`,
    );
  }
  const expected = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (!sameShape(expected, target.shape)) {
    throw new ShapeError(
      `${op}: input ${shapeStr(input.shape)} expects target of shape ${shapeStr(expected)}, got ${
        shapeStr(target.shape)
      }`,
    );
  }
}

// The binary losses' per-element weight: floating-point, broadcast to the input's shape.
export function weighted(op: string, l: Tensor, w: Tensor, input: Tensor): Tensor {
  floatingWeight(op, "weight", w);
  const out = l.mul(w);
  keptShape(op, "weight", w, out, input);
  return out;
}

// bceLoss takes probabilities: as PyTorch does, an input outside [0, 1] is an error, not a NaN
// loss. Checked where the values are in host memory (cpu); device backends give NaN there.
export function checkProbabilities(input: Tensor): void {
  if (!input.storage.backend.hostMemory) return;
  const v = input.detach().dataSync();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] > 1) {
      throw new ValueError(
        `bceLoss: all elements of input should be between 0 and 1, got ${v[i]} at element ${i} ` +
          `of ${shapeStr(input.shape)}; pass logits to bceWithLogits instead`,
      );
    }
  }
}
