/**
 * When a ReLU followed by a MaxPool2d may run as pool-then-ReLU, a Conv2d, ReLU, MaxPool2d(2)
 * chain as the fused `conv2dMaxPool2x2` op with its ReLU, and a BatchNorm then a ReLU as the one
 * `batchNormRelu` op (internal; used by Sequential and the models).
 *
 * @module
 */

import type { AnyModule, Tensor } from "../core/mod.ts";
import { bnReluForward } from "./_bn_relu.ts";
import { conv2dMaxPool2x2 } from "./ops/conv_pool.ts";
import { windowOutputSize } from "./ops/conv.ts";
import { ReLU } from "./activations.ts";
import { BatchNorm1d, BatchNorm2d } from "./batch_norm.ts";
import type { BatchNormBase } from "./batch_norm.ts";
import { Conv2d } from "./conv2d.ts";
import { MaxPool2d } from "./pooling.ts";

// A module of exactly this class with no hooks (hooks ride on an own `forward`): its forward is the
// class's, so nobody can observe what it was given.
function plain(m: AnyModule, cls: abstract new (...args: never[]) => AnyModule): boolean {
  return m.constructor === cls && !Object.hasOwn(m, "forward");
}

/**
 * Whether `relu` then `pool` may run as `pool` then an out-of-place ReLU: max(relu(x)) =
 * relu(max(x)) for every window, and the gradient reaches the same element (the first maximum, and
 * only where it is positive) either way, so the result is the same bits with the ReLU over a 4×
 * (or so) smaller tensor. Both must be plain modules, so that no hook or subclass sees the swapped
 * input; an in-place ReLU only when `prev`, the module whose output it gets, is a plain Conv2d or
 * BatchNorm2d, whose fresh output nobody else holds (the swapped ReLU runs out of place, because
 * max pooling saves its output for backward, so a caller's tensor would be left unmodified).
 */
export function swapsReluPool(prev: AnyModule | null, relu: AnyModule, pool: AnyModule): boolean {
  if (!plain(relu, ReLU) || !plain(pool, MaxPool2d)) return false;
  if (!(relu as ReLU).inplace) return true;
  return prev !== null && (plain(prev, Conv2d) || plain(prev, BatchNorm2d));
}

/**
 * Whether `conv`, `relu`, `pool` applied to `x` may run as `conv2dMaxPool2x2` with `relu`: ReLU
 * commutes with max pooling (see {@linkcode swapsReluPool}), and the fused op gives exactly
 * relu(maxPool2d(conv2d(x))) into a fresh tensor (so an in-place ReLU changes nobody's). All three must be plain modules; the pooling 2 × 2 with
 * stride 2, no padding or dilation, floor mode; the conv's padding numeric; and x a 4-D cpu input
 * the conv accepts whose conv output holds a window (otherwise the modules run, and report errors,
 * as usual).
 */
export function fusesConvReluPool(
  conv: AnyModule,
  relu: AnyModule,
  pool: AnyModule,
  x: Tensor,
): boolean {
  if (!plain(conv, Conv2d) || !plain(relu, ReLU) || !plain(pool, MaxPool2d)) return false;
  const c = conv as Conv2d, p = pool as MaxPool2d;
  const two = (v: readonly [number, number], n: number) => v[0] === n && v[1] === n;
  if (
    !two(p.kernelSize, 2) || !two(p.stride, 2) || !two(p.padding, 0) || !two(p.dilation, 1) ||
    p.ceilMode || typeof c.padding === "string"
  ) return false;
  // Only the cpu backend has a kernel that gains from the fusion; elsewhere it would decompose.
  if (x?.ndim !== 4 || x.shape[1] !== c.inChannels || x.device !== "cpu") return false;
  const pad = c.padding as readonly [number, number];
  for (const d of [0, 1]) {
    const out = windowOutputSize(
      x.shape[2 + d],
      c.kernelSize[d],
      c.stride[d],
      pad[d],
      c.dilation[d],
    );
    if (!(out >= 2)) return false;
  }
  return true;
}

/** Runs a Conv2d, ReLU, MaxPool2d(2) chain that {@linkcode fusesConvReluPool} accepted. */
export function convReluPool(conv: Conv2d, x: Tensor): Tensor {
  const pad = conv.padding as readonly [number, number];
  const attrs = {
    stride: [conv.stride[0], conv.stride[1]] as [number, number],
    padding: [pad[0], pad[1]] as [number, number],
    dilation: [conv.dilation[0], conv.dilation[1]] as [number, number],
    groups: conv.groups,
  };
  return conv2dMaxPool2x2(x, conv.weight, conv.bias, { ...attrs, relu: true })[0];
}

/**
 * Whether `bn` followed by a ReLU may run on `x` as the one `batchNormRelu` op: `bn` a plain
 * BatchNorm1d or BatchNorm2d and `relu` (when there is a module) a plain ReLU, so that no hook or
 * subclass sees the tensor between them (an in-place ReLU only changes the layer's fresh output,
 * which nobody else holds, so the fused op's fresh tensor is the same to every caller); and `x` a
 * float32 cpu tensor, the case whose kernels gain from it (elsewhere the two ops run as before).
 */
export function fusesBnRelu(bn: AnyModule, relu: AnyModule | null, x: Tensor): boolean {
  if (!plain(bn, BatchNorm2d) && !plain(bn, BatchNorm1d)) return false;
  if (relu !== null && !plain(relu, ReLU)) return false;
  return x?.device === "cpu" && x.dtype === "float32";
}

/**
 * `relu(bn(x))` (with `relu` the module's forward, or `Tensor.relu_` when it is null): as the one
 * `batchNormRelu` op where {@linkcode fusesBnRelu} allows it, else as the two modules.
 */
export function bnRelu(bn: BatchNormBase, relu: ReLU | null, x: Tensor): Tensor {
  if (fusesBnRelu(bn, relu, x)) return bnReluForward.run!(bn, x);
  const y = bn.forward(x);
  return relu ? relu.forward(y) : y.relu_();
}
