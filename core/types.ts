/**
 * What an op and a kernel are: the op definition (`OpDef`) with its gradient context, kernels and
 * their entries, and backend definitions. Types only, plus `kernelFor`.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import type { Shape } from "./shape.ts";
import type { Layout, Tensor } from "./tensor.ts";

/** Shape and dtype of an op output, as inferred before any kernel runs. */
export interface TensorSpec {
  /** Output shape. */
  shape: number[];
  /** Output dtype. */
  dtype: DType;
}

/** What a gradient rule is given. */
export interface GradContext<A> {
  /** The op's inputs (saved tensors), or empty when the op saves none. */
  readonly inputs: readonly Tensor[];
  /** The op's outputs, or empty when the op does not save them. */
  readonly outputs: readonly Tensor[];
  /** Shapes of the inputs (always kept). */
  readonly inputShapes: readonly Shape[];
  /** Dtypes of the inputs (always kept). */
  readonly inputDtypes: readonly DType[];
  /** The attributes the op ran with. */
  readonly attrs: A;
  /** Which inputs need a gradient; a rule may skip work for the others. */
  readonly needsInputGrad: readonly boolean[];
  /**
   * True when the rule runs with `createGraph` (its ops are recorded for double backward). A rule
   * that is not written with differentiable ops must then throw an `AutogradError` naming its op.
   */
  readonly createGraph: boolean;
}

/** A validator for op attributes; any zod schema fits. */
export interface AttrSchema<A> {
  /** Parses a value, returning the typed data or the issues found. */
  safeParse(value: unknown):
    | { success: true; data: A }
    | {
      success: false;
      error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
    };
}

/** Definition of an op: everything about it that does not depend on a backend. */
export interface OpDef<A = Record<string, unknown>> {
  /** Unique op name, camelCase (`"conv2d"`); plugin ops are namespaced (`"@acme/swish"`). */
  readonly name: string;
  /** Routing family: a route set for the family also applies to this op (`"conv2d"` covers its backward ops). */
  readonly family?: string;
  /** Zod schema of the attributes, checked by {@linkcode validateAttrs} at API boundaries. */
  readonly attrs?: AttrSchema<A>;
  /** Output shapes and dtypes; throws a clear error for bad input. */
  infer(inputs: readonly Tensor[], attrs: A): TensorSpec[];
  /**
   * Gradient rule written with other ops: the gradients of the inputs (null where none is needed or
   * it is zero) given those of the outputs. `gradOutput` is output 0's gradient, zeros when no
   * consumer sent one, so single-output rules need only it; `gradOutputs[i]` is output i's gradient,
   * or null when no consumer sent one (multi-output rules read it). Written with differentiable ops,
   * a rule also gives second derivatives: with `createGraph` it runs with gradient recording on.
   */
  grad?(
    ctx: GradContext<A>,
    gradOutput: Tensor,
    gradOutputs: readonly (Tensor | null)[],
  ): (Tensor | null)[];
  /** The op written with simpler ops, used where no backend has a kernel for it. */
  decompose?(inputs: readonly Tensor[], attrs: A): Tensor[];
  /** Whether the gradient rule reads the inputs (default true). */
  readonly savesInputs?: boolean;
  /** Whether the gradient rule reads the outputs (default false). */
  readonly savesOutputs?: boolean;
  /**
   * Whether the gradient rule keeps the gradients it receives after it returns (default false),
   * for example by handing them to user callbacks. Backward releases an incoming gradient once the
   * rule that consumed it has returned, unless the rule returned it or this is true.
   */
  readonly keepsGradients?: boolean;
  /**
   * For view ops (reshape, permute, expand, slice): where output 0 reads input 0's storage. No
   * kernel runs; the output shares the input's storage.
   */
  view?(input: Tensor, attrs: A): Layout;
  /** False for ops whose outputs never carry gradients (comparisons, argmax). */
  readonly differentiable?: boolean;
}

/**
 * A backend kernel: computes the outputs' storage handles (`H`, the backend's handle type) from the
 * inputs. `context` is the backend's {@linkcode BackendDef.context} (`C`; for webgpu its device,
 * queue, allocator and pipeline cache), so a kernel from a third-party plugin needs no global
 * lookup. `A` is the op's attributes type; {@linkcode kernelFor} takes it from the op.
 */
// deno-lint-ignore no-explicit-any
export type Kernel<A = any, C = any, H = unknown> = (
  inputs: readonly Tensor[],
  attrs: A,
  outputs: readonly TensorSpec[],
  context: C,
) => H[];

/** A kernel and what it accepts. */
// deno-lint-ignore no-explicit-any
export interface KernelEntry<A = any, C = any, H = unknown> {
  /** The kernel. */
  run: Kernel<A, C, H>;
  /** Input dtypes it accepts (all if omitted). */
  dtypes?: readonly DType[];
  /** Further check: true, or the reason it declines these inputs. */
  supports?(inputs: readonly Tensor[], attrs: A, context: C): true | string;
  /**
   * The kernel reads inputs through their `offset` and `strides` (views). Without it, every input
   * it receives is dense: contiguous, at offset 0, its storage holding exactly its elements.
   */
  strided?: boolean;
  /**
   * Replaces a kernel another provider (the backend itself or another plugin) already registered
   * for this op on this backend. Without it such a registration is a `PluginError`, so a plugin
   * cannot silently replace a built-in kernel; with it, `explain()` and `pluginInfo()` report the
   * override. Harmless where there is nothing to replace.
   */
  override?: boolean;
}

/**
 * Registers one kernel under its op's name, with the attributes type taken from the op, so the
 * kernel's `attrs` need no annotation. The result is a one-entry table: compose a backend's table
 * by spreading several.
 *
 * @example
 * ```ts
 * import { definePlugin, kernelFor } from "./mod.ts";
 * import type { OpDef } from "./mod.ts";
 * import { map } from "../plugins/cpu/kit.ts";
 *
 * const scaleOp: OpDef<{ factor: number }> = {
 *   name: "@acme/scale",
 *   infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
 * };
 * const plugin = definePlugin({
 *   name: "@acme/scale",
 *   kind: "op",
 *   version: "1.0.0",
 *   apiVersion: 1,
 *   ops: [scaleOp],
 *   kernels: {
 *     // `factor` is typed from scaleOp: a misspelt attribute fails to type-check.
 *     cpu: kernelFor(scaleOp, {
 *       run: ([x], { factor }, out) => [map(x, (v) => v * factor, out[0])],
 *     }),
 *   },
 * });
 * ```
 */
export function kernelFor<A, C, H>(
  op: OpDef<A>,
  entry: Kernel<A, C, H> | KernelEntry<A, C, H>,
): Record<string, KernelEntry<A, C, H>> {
  return { [op.name]: typeof entry === "function" ? { run: entry } : entry };
}

/**
 * A device backend: memory management plus a table of kernels. `H` is its storage handle type
 * (what `upload` makes and kernels return: host typed arrays for cpu, `GpuBuffer` for webgpu) and
 * `C` its kernels' context; the registry stores backends type-erased.
 */
// deno-lint-ignore no-explicit-any
export interface BackendDef<H = unknown, C = any> {
  /** Device name tensors carry (`"cpu"`, `"webgpu"`). */
  readonly name: string;
  /** Handles are host typed arrays shared with other host backends, so moves copy nothing. */
  readonly hostMemory?: boolean;
  /** Order among backends tried for cross-backend fallback (lower first; cpu is 0). */
  readonly priority?: number;
  /**
   * Host backends whose tensors this backend's kernels run on in place: a kernel provider, not a
   * device (blas provides for cpu). With no route for an op, an op on such tensors runs here where
   * this backend has a kernel whose `supports` accepts the inputs (where it is faster), else on the
   * tensors' own backend; outputs stay on that backend. Needs `hostMemory`, as do those backends.
   */
  readonly provides?: readonly string[];
  /** Creates storage holding a copy of (or, for host backends, adopting) `data`. */
  upload(data: TypedArray, dtype: DType): H;
  /** Reads storage back to the host. */
  download(handle: H, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read, where the device allows it. */
  downloadSync?(handle: H, dtype: DType, size: number): TypedArray;
  /** Releases storage. */
  free?(handle: H): void;
  /**
   * What every kernel of this backend receives as its last argument: the device, queue, allocator
   * or stream a kernel needs (webgpu: its `Gpu`; cpu: undefined).
   */
  readonly context?: C;
  /**
   * Applied to every kernel this backend gets, its own and those plugins add before or after it
   * registers: where a backend guards all kernels alike (webgpu declines float16 on adapters
   * without shader-f16).
   */
  // deno-lint-ignore no-explicit-any
  wrapKernel?(op: string, entry: KernelEntry<any, C, H>): KernelEntry<any, C, H>;
  /**
   * Number of elements a storage handle holds, or undefined where it cannot tell. Dispatch checks
   * every kernel output against its inferred size with it, so a kernel returning a wrong-sized
   * result is an error naming the op and backend instead of a wrong answer or a NaN later. Only
   * for backends whose handles hold exactly the elements asked for: a backend rounding allocations
   * up (size classes) omits it or returns undefined. Host backends (`hostMemory`) need not
   * define it: their handles are typed arrays, checked by their length.
   */
  handleSize?(handle: H): number | undefined;
  /** Kernels by op name. */
  // deno-lint-ignore no-explicit-any
  kernels: Record<string, Kernel<any, C, H> | KernelEntry<any, C, H>>;
}

/** Backend registry entry, with normalised kernels. */
export interface Backend extends BackendDef {
  /** The kernels' context (see {@linkcode BackendDef.context}). */
  readonly context?: unknown;
  /** Normalised kernel table. */
  readonly table: Map<string, KernelEntry>;
}

/** A kernel that replaced another provider's kernel (registered with `override: true`). */
export interface KernelOverride {
  /** Backend whose kernel table holds it. */
  readonly backend: string;
  /** Op name. */
  readonly op: string;
  /** Who registered the replacing kernel: a plugin name (or `registerKernels()` etc.). */
  readonly plugin: string;
  /** Who had registered the kernel it replaced. */
  readonly replaced: string;
}
