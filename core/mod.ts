/**
 * The denn core: Tensor, the op catalogue, the capability registry and dispatch, the autograd
 * scheduler, and the Module / Loss / Optimizer / Plugin interfaces. It contains no kernels: a
 * backend plugin (the cpu one is `@denn/denn/plugins/cpu`) supplies them.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * x.mul(x).sum().backward();
 * console.log(x.grad!.toArraySync()); // [[2, 4], [6, 8]]
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./dtype.ts";
export { emptyHostPool, hostPoolStats } from "./host_pool.ts";
export type { HostPoolStats } from "./host_pool.ts";
export * from "./shape.ts";
export * from "./random.ts";
export {
  apply,
  apply1,
  defineOp,
  getBackend,
  getOp,
  hasBackend,
  kernelFor,
  listBackends,
  listOps,
  markUnavailable,
  registerBackend,
  registerKernels,
  unregisterBackend,
  validateAttrs,
} from "./registry.ts";
export type {
  AttrSchema,
  Backend,
  BackendDef,
  GradContext,
  Kernel,
  KernelEntry,
  OpDef,
  TensorSpec,
} from "./registry.ts";
export { getRoutes, isStrict, route, setStrict } from "./routes.ts";
export { explain } from "./explain.ts";
export type { Explanation, TraceEntry } from "./explain.ts";
export { backward, enableGrad, isGradEnabled, Node, noGrad, setGradEnabled } from "./autograd.ts";
export type { BackwardOptions, GradEdge } from "./autograd.ts";
export * as autograd from "./grad_api.ts";
export { Tensor } from "./tensor.ts";
export { assignStorage, setStorageRecycler } from "./write.ts";
export type { Layout, NestedArray, NestedResult, TensorOptions } from "./tensor.ts";
export { Storage } from "./storage.ts";
export { keep, scope } from "./scope.ts";
export type { Keepable } from "./scope.ts";
export * from "./creation.ts";
export * from "./ranges.ts";
export * from "./random_creation.ts";
export * from "./plugin.ts";
export { cast, where } from "./ops/elementwise.ts";
export { UNARY_OPS } from "./ops/elementwise_kinds.ts";
export type { TensorLike } from "./ops/elementwise.ts";
export type { UnaryOpName } from "./ops/elementwise_kinds.ts";
export * from "./ops/reduce.ts";
export * from "./ops/views.ts";
export * from "./ops/reshape.ts";
export * from "./ops/movement.ts";
export * from "./ops/linalg.ts";
export * from "./ops/softmax.ts";
export * from "./ops/sort.ts";
export * from "./ops/scan.ts";
export * from "./ops/einsum.ts";
export { Module } from "./module.ts";
export { trustForward } from "./module_frames.ts";
export { Parameter } from "./parameter.ts";
export {
  formatTensorAsync,
  getPrintOptions,
  reprFloat,
  reprTuple,
  setPrintOptions,
} from "./format.ts";
export type { PrintOptions, SetPrintOptions } from "./format.ts";
export type { LoadStateDictOptions, LoadStateDictResult, StateDict } from "./parameter.ts";
export type { AnyModule } from "./module.ts";
export type {
  ForwardHook,
  ForwardPreHook,
  FullBackwardHook,
  HookOptions,
  RemovableHandle,
} from "./module_hooks.ts";
export * from "./optimizer.ts";
export * from "./loss.ts";
export { chunk, split, unbind } from "./ops/indexing.ts";
export { flip, indexSelect, maskedFill, roll, tril, triu } from "./ops/selection.ts";
export type { IndexSpec } from "./ops/basic_indexing.ts";
export { all, any, isfinite, isinf, isnan, nanToNum, norm } from "./ops/numeric.ts";
export type { NanToNumOptions, NormOrder, VarianceOptions } from "./ops/numeric.ts";
