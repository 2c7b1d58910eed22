/**
 * A third-party layer plugin for denn: the Swish activation `x·sigmoid(βx)` (SiLU for β = 1) as its
 * own op, `"@example/swish"`, with shape inference, a gradient rule, a decomposition any backend can
 * run, a fused cpu kernel, and a `Swish` module.
 *
 * @example
 * ```ts
 * import { loadPlugin, tensor } from "../../../mod.ts";
 * const swish = await loadPlugin("./examples/plugins/swish/mod.ts");
 * const { Swish } = swish.exports as { Swish: typeof import("./mod.ts").Swish };
 * const y = new Swish().forward(tensor([-1, 0, 2]));
 * ```
 *
 * @module
 */

import { apply1, definePlugin, DTypeError, Module, ValueError } from "../../../mod.ts";
import type { KernelEntry, OpDef, Plugin, Tensor, TensorSpec } from "../../../mod.ts";

/** Attributes of the swish op. */
export interface SwishAttrs {
  /** Slope inside the sigmoid (1 gives SiLU). */
  beta: number;
}

/** The op: defined once, independent of any backend. */
export const swishOp: OpDef<SwishAttrs> = {
  name: "@example/swish",
  infer(inputs): TensorSpec[] {
    const x = inputs[0];
    if (x.dtype !== "float32") {
      throw new DTypeError(`@example/swish: expected a float32 tensor, got ${x.dtype}`);
    }
    return [{ shape: [...x.shape], dtype: "float32" }];
  },
  // d/dx x·σ(βx) = σ(βx) + βx·σ(βx)(1 − σ(βx)), written with core ops so it is itself
  // differentiable and runs on any backend.
  grad(ctx, g) {
    const x = ctx.inputs[0];
    const bx = x.mul(ctx.attrs.beta);
    const s = bx.sigmoid();
    return [g.mul(s.add(bx.mul(s).mul(s.neg().add(1))))];
  },
  // Used on backends without a swish kernel.
  decompose([x], { beta }) {
    return [x.mul(x.mul(beta).sigmoid())];
  },
};

/** The fused cpu kernel: one pass over the host array. */
export const swishCpuKernel: KernelEntry<SwishAttrs> = {
  dtypes: ["float32"],
  run(inputs, { beta }) {
    const x = inputs[0].storage.handle as Float32Array;
    const o = new Float32Array(inputs[0].size);
    for (let i = 0; i < o.length; i++) o[i] = x[i] / (1 + Math.exp(-beta * x[i]));
    return [o];
  },
};

/** Applies swish: `x·sigmoid(beta·x)`. */
export function swish(x: Tensor, beta = 1): Tensor {
  if (!Number.isFinite(beta)) {
    throw new ValueError(`@example/swish: beta must be a finite number, got ${beta}`);
  }
  return apply1(swishOp, [x], { beta });
}

/** The Swish activation as a layer. */
export class Swish extends Module {
  /** Slope inside the sigmoid. */
  readonly beta: number;

  /** Creates the layer (beta defaults to 1, i.e. SiLU). */
  constructor(beta = 1) {
    super();
    this.beta = beta;
  }

  /** Applies swish elementwise. */
  forward(x: Tensor): Tensor {
    return swish(x, this.beta);
  }
}

/** The plugin: its op, its cpu kernel and what it exports to users. */
const plugin: Plugin = definePlugin({
  name: "@example/swish",
  kind: "layer",
  version: "1.0.0",
  apiVersion: 1,
  description: "Swish activation x·sigmoid(βx) with a fused cpu kernel",
  ops: [swishOp],
  kernels: { cpu: { "@example/swish": swishCpuKernel } },
  exports: { Swish, swish },
});

export default plugin;
