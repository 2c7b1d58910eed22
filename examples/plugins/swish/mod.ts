/**
 * A third-party layer plugin for denn: the Swish activation `x·sigmoid(βx)` (SiLU for β = 1) as its
 * own op, `"@example/swish"`, with shape inference, a gradient rule, a decomposition any backend can
 * run, fused cpu and webgpu kernels written with the kernel kits, and a `Swish` module. The webgpu
 * kernel waits until a webgpu backend registers, so the plugin may be loaded before or after
 * `use(await webgpu())`.
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

import { apply1, definePlugin, DTypeError, kernelFor, Module, ValueError } from "../../../mod.ts";
import type { OpDef, Plugin, Tensor, TensorSpec } from "../../../mod.ts";
import { map } from "../../../plugins/cpu/kit.ts";
import type { CpuKernel } from "../../../plugins/cpu/kit.ts";
import { elementwise } from "../../../plugins/webgpu/kit.ts";
import type { WebGpuKernel } from "../../../plugins/webgpu/kit.ts";

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
      throw new DTypeError(
        `@example/swish: expected a float32 tensor, got ${x.dtype}`,
      );
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
export const swishCpuKernel: CpuKernel<SwishAttrs> = {
  dtypes: ["float32"],
  run: (
    [x],
    { beta },
    out,
  ) => [map(x, (v) => v / (1 + Math.exp(-beta * v)), out[0])],
};

/**
 * The fused webgpu kernel: one WGSL expression, `a` being the input element; `beta` travels as a
 * uniform, so every β shares one compiled pipeline. `gpu` is the webgpu backend's context.
 */
export const swishWebgpuKernel: WebGpuKernel<SwishAttrs> = {
  dtypes: ["float32"],
  run: (inputs, { beta }, out, gpu) => [
    elementwise(gpu, {
      name: "@example/swish",
      expr: "a / (1.0 + exp(-beta * a))",
      inputs,
      output: out[0],
      scalars: { beta },
    }),
  ],
};

/** Applies swish: `x·sigmoid(beta·x)`. */
export function swish(x: Tensor, beta = 1): Tensor {
  if (!Number.isFinite(beta)) {
    throw new ValueError(
      `@example/swish: beta must be a finite number, got ${beta}`,
    );
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

/** The plugin: its op, its cpu and webgpu kernels and what it exports to users. */
const plugin: Plugin = definePlugin({
  name: "@example/swish",
  kind: "layer",
  version: "1.0.0",
  apiVersion: 1,
  description: "Swish activation x·sigmoid(βx) with fused cpu and webgpu kernels",
  ops: [swishOp],
  // kernelFor keys each kernel by the op's name and checks its attributes type against the op's.
  kernels: {
    cpu: kernelFor(swishOp, swishCpuKernel),
    webgpu: kernelFor(swishOp, swishWebgpuKernel),
  },
  exports: { Swish, swish },
});

export default plugin;
