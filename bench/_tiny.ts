// Tiny conv and pooling inputs with ready attributes, shared by the per-call overhead benchmarks:
// the kernels cost almost nothing, so what is timed is the call path.
import { getOp, randn } from "../mod.ts";
import type { OpDef, Tensor } from "../mod.ts";
import type { Conv2dAttrs, Pool2dAttrs } from "../layers/mod.ts";
import { maxPool2x2Attrs } from "../layers/ops/conv_pool.ts";

export const x: Tensor = randn([1, 1, 4, 4]);
export const w: Tensor = randn([1, 1, 3, 3]);
export const conv: OpDef<unknown> = getOp("conv2d")!;
export const pool: OpDef<unknown> = getOp("maxPool2d")!;
export const convAttrs: Conv2dAttrs = {
  stride: [1, 1],
  padding: [1, 1],
  dilation: [1, 1],
  groups: 1,
};
export const poolAttrs: Pool2dAttrs = maxPool2x2Attrs();
