/**
 * Normalisation layers beside batch norm: `LayerNorm`, `GroupNorm`, `InstanceNorm1d`,
 * `InstanceNorm2d` and `RMSNorm`, with PyTorch's constructor arguments, defaults, parameter names
 * and state-dict keys (`weight`, `bias`, and for instance norm with `trackRunningStats`
 * `running_mean`, `running_var`, `num_batches_tracked`), and their functional forms
 * (`F.layerNorm`, `F.groupNorm`, `F.instanceNorm`, `F.rmsNorm`).
 *
 * Layer and group norm run as this plugin's fused `normRows` op (`ops/layer_norm.ts`): the
 * statistics, the normalisation and the affine weight and bias are one kernel, and the gradient
 * (dx with the statistics' dependence on the input, dweight and dbias) one `normRowsBackward`,
 * where a backend has them; elsewhere they decompose into core ops. Instance norm normalises each
 * channel of one sample with the batch-norm plugin's fused ops (the input seen as
 * [1, blocks, values per block] is a batch norm whose channels are the blocks) and applies the
 * affine weight and bias afterwards. RMSNorm (PyTorch 2.4) is written with elementwise ops and a
 * mean; its `eps` defaults to the machine epsilon of the input's dtype. Each is in its own file
 * (`_norm_layer.ts`, `_norm_group.ts`, `_norm_instance.ts`, `_norm_rms.ts`, with what they share in
 * `_norm_shared.ts`); this module re-exports them and registers the norm plugin.
 *
 * @example
 * ```ts
 * import { GroupNorm, LayerNorm, RMSNorm } from "./norm.ts";
 * import { randn } from "../mod.ts";
 * const x = randn([2, 6, 4, 4]);
 * console.log(new LayerNorm([4, 4]).forward(x).shape); // [2, 6, 4, 4]
 * console.log(Object.keys(new GroupNorm(3, 6).stateDict())); // ["weight", "bias"]
 * console.log(new RMSNorm(4).forward(randn([3, 4])).shape); // [3, 4]
 * ```
 *
 * @module
 */

import { definePlugin, use } from "../core/mod.ts";
import type { Plugin } from "../core/mod.ts";
import { layerNormOps } from "./ops/layer_norm.ts";
import { LayerNorm } from "./_norm_layer.ts";
import { GroupNorm } from "./_norm_group.ts";
import { InstanceNorm1d, InstanceNorm2d } from "./_norm_instance.ts";
import { RMSNorm } from "./_norm_rms.ts";

export type { NormalizedShape } from "./_norm_shared.ts";
export { LayerNorm, layerNorm } from "./_norm_layer.ts";
export type { LayerNormLayerOptions, LayerNormOptions } from "./_norm_layer.ts";
export { GroupNorm, groupNorm } from "./_norm_group.ts";
export type { GroupNormLayerOptions, GroupNormOptions } from "./_norm_group.ts";
export {
  instanceNorm,
  InstanceNorm1d,
  InstanceNorm2d,
  InstanceNormBase,
} from "./_norm_instance.ts";
export type { InstanceNormLayerOptions, InstanceNormOptions } from "./_norm_instance.ts";
export { RMSNorm, rmsNorm } from "./_norm_rms.ts";
export type { RMSNormLayerOptions, RMSNormOptions } from "./_norm_rms.ts";

/** The norm plugin (registered on import): its manifest defines the fused `normRows` ops. */
export const normPlugin: Plugin = use(definePlugin({
  name: "@denn/norm",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: layerNormOps,
  exports: { LayerNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d, RMSNorm },
}));
