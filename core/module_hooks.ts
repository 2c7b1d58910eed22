/**
 * Module hooks: the types of the forward pre-hooks, forward hooks and full backward hooks that
 * `Module.register*Hook` take and the handle they return, and the machinery of full backward
 * hooks: the identity op whose gradient rule calls them and the per-call record that packs the
 * gradients (PyTorch's BackwardHook). The registration methods are `Module`'s, in module.ts.
 *
 * @module
 */

import { defineOp } from "./catalogue.ts";
import { apply as applyOp } from "./dispatch.ts";
import type { OpDef } from "./types.ts";
import { AutogradError, ValueError } from "./errors.ts";
import { sameShape, shapeStr } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { show } from "./args.ts";
import type { AnyModule, Module } from "./module.ts";

/** What a hook registration returns: `remove()` unregisters the hook (again is a no-op). */
export interface RemovableHandle {
  /** A number identifying the registration. */
  readonly id: number;
  /** Unregisters the hook. */
  remove(): void;
  /** `remove()`, so `using h = m.registerForwardHook(...)` unregisters at the end of the block. */
  [Symbol.dispose](): void;
}

/**
 * Runs before `forward` with the module and its arguments. A Tensor or an array it returns
 * replaces the arguments (a Tensor as the only one); undefined or null keeps them.
 */
export type ForwardPreHook<A extends unknown[] = Tensor[], R = Tensor> = (
  module: Module<A, R>,
  args: A,
) => Tensor | A | void | null;

/**
 * Runs after `forward` with the module, its arguments and its output; a value other than
 * undefined or null replaces the output.
 */
export type ForwardHook<A extends unknown[] = Tensor[], R = Tensor> = (
  module: Module<A, R>,
  args: A,
  output: R,
) => R | void | null;

/**
 * Runs during backward once the gradients with respect to the module's tensor arguments are
 * known: `gradInput[i]` is argument i's gradient (null for a non-tensor argument or one that needs
 * none) and `gradOutput[j]` output j's (null where no gradient reached it). An array it returns
 * (of `gradInput`'s length) replaces `gradInput` for the rest of backward.
 */
export type FullBackwardHook = (
  module: AnyModule,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | void | null;

/** Options of the hook registrations. */
export interface HookOptions {
  /** Run this hook before those already registered (default false: after them). */
  prepend?: boolean;
}

// Stored untyped: a module's hooks are typed by its registration methods.
type StoredHook = (module: AnyModule, ...rest: unknown[]) => unknown;
export interface HookTables {
  pre: Map<number, StoredHook>;
  fwd: Map<number, StoredHook>;
  bwd: Map<number, FullBackwardHook>;
}

interface HookAttrs {
  side: "input" | "output";
  call: BackwardHookCall;
}

// The identity nodes full backward hooks listen on: one over the arguments that require grad, one
// over the outputs. Its forward is a copy (no backend needs a kernel); its gradient rule passes the
// gradients through, calling the hooks at the input side.
const backwardHookOp: OpDef<HookAttrs> = defineOp<HookAttrs>({
  name: "moduleBackwardHook",
  savesInputs: false,
  // The hooks receive the gradients and may keep them.
  keepsGradients: true,
  infer: (inputs) => inputs.map((t) => ({ shape: [...t.shape], dtype: t.dtype })),
  decompose: (inputs) => inputs.map((t) => t.clone()),
  grad(ctx, _g, gradOutputs) {
    const { side, call } = ctx.attrs;
    if (side === "output") {
      call.onOutputGrad(gradOutputs);
      return [...gradOutputs];
    }
    return call.onInputGrad(gradOutputs);
  },
});

// One forward call of a module with full backward hooks: where its tensors sit among the arguments
// and outputs, and the output gradients until the input gradients arrive (PyTorch's BackwardHook).
export class BackwardHookCall {
  readonly #module: AnyModule;
  readonly #hooks: FullBackwardHook[];
  #nInputs = 0;
  #nOutputs = 0;
  #inputIndex: number[] | null = null;
  #outputIndex: number[] = [];
  #gradOutputs: (Tensor | null)[] | null = null;

  constructor(module: AnyModule, hooks: FullBackwardHook[]) {
    this.#module = module;
    this.#hooks = hooks;
  }

  #wrap(values: readonly unknown[], side: "input" | "output"): [unknown[], number[]] {
    const index = values.flatMap((v, i) => (v instanceof Tensor && v.requiresGrad ? [i] : []));
    const copy = [...values];
    if (index.length) {
      const outs = applyOp(backwardHookOp, index.map((i) => values[i] as Tensor), {
        side,
        call: this,
      });
      index.forEach((i, k) => (copy[i] = outs[k]));
    }
    return [copy, index];
  }

  wrapInputs(args: readonly unknown[]): unknown[] {
    this.#nInputs = args.length;
    const [copy, index] = this.#wrap(args, "input");
    this.#inputIndex = index.length ? index : null;
    return copy;
  }

  wrapOutputs(out: unknown): unknown {
    const list: unknown = out instanceof Tensor ? [out] : out;
    if (!Array.isArray(list) || !list.every((t) => t instanceof Tensor)) {
      throw new ValueError(
        `${this.#module.constructor.name}: full backward hooks need forward to return a Tensor ` +
          `or an array of Tensors, got ${show(out)}`,
      );
    }
    this.#nOutputs = list.length;
    const [copy, index] = this.#wrap(list, "output");
    this.#outputIndex = index;
    return out instanceof Tensor ? copy[0] : copy;
  }

  #pack(index: readonly number[], grads: readonly (Tensor | null)[], n: number): (Tensor | null)[] {
    const packed = new Array<Tensor | null>(n).fill(null);
    index.forEach((i, k) => (packed[i] = grads[k] ?? null));
    return packed;
  }

  onOutputGrad(grads: readonly (Tensor | null)[]): void {
    this.#gradOutputs = this.#pack(this.#outputIndex, grads, this.#nOutputs);
    if (this.#inputIndex !== null) return;
    // No argument needs a gradient: the hooks run now, with gradInput all null.
    const gradInput = new Array<Tensor | null>(this.#nInputs).fill(null);
    for (const hook of this.#hooks) {
      const r = hook(this.#module, [...gradInput], this.#gradOutputs);
      if (r !== undefined && r !== null && !(Array.isArray(r) && r.every((g) => g == null))) {
        throw new AutogradError(
          `${this.#module.constructor.name}: a full backward hook returned gradients, but no ` +
            `argument of the module requires grad; return undefined or nulls`,
        );
      }
    }
    this.#gradOutputs = null;
  }

  onInputGrad(grads: readonly (Tensor | null)[]): (Tensor | null)[] {
    const index = this.#inputIndex!;
    // A gradient reached the arguments without passing through the outputs (double backward).
    if (!this.#gradOutputs) return [...grads];
    let gradInput = this.#pack(index, grads, this.#nInputs);
    const name = this.#module.constructor.name;
    for (const hook of this.#hooks) {
      const r = hook(this.#module, [...gradInput], this.#gradOutputs) as unknown;
      if (r === undefined || r === null) continue;
      if (!Array.isArray(r) || r.length !== this.#nInputs) {
        throw new AutogradError(
          `${name}: a full backward hook returned ${show(r)}; expected undefined or an array of ` +
            `${this.#nInputs} gradients (Tensor or null), one per argument`,
        );
      }
      r.forEach((g, i) => {
        const was = gradInput[i];
        if (g === null || g === undefined) return;
        if (!(g instanceof Tensor) || (was && !sameShape(g.shape, was.shape))) {
          throw new AutogradError(
            `${name}: a full backward hook returned ${
              g instanceof Tensor ? `a ${shapeStr(g.shape)} gradient` : show(g)
            } for argument ${i}; expected a Tensor of shape ${
              was ? shapeStr(was.shape) : "the argument's"
            } or null`,
          );
        }
      });
      gradInput = r.map((g) => g ?? null);
    }
    this.#gradOutputs = null;
    return index.map((i) => gradInput[i]);
  }
}
