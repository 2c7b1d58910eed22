/**
 * Containers: `Sequential` chains modules (forward feeds each output to the next) and `ModuleList`
 * holds modules without a forward of its own. Children are named "0", "1", ... (or by the keys of
 * an object given to `Sequential`), so state-dict keys such as `features.3.weight` match PyTorch.
 *
 * @example
 * ```ts
 * import { Sequential } from "./sequential.ts";
 * import { Linear } from "./linear.ts";
 * import { ReLU } from "./activations.ts";
 * import { randn } from "../mod.ts";
 * const mlp = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
 * console.log(mlp.forward(randn([3, 4])).shape, Object.keys(mlp.stateDict()));
 * // [3, 2] ["0.weight", "0.bias", "2.weight", "2.bias"]
 * ```
 *
 * @module
 */

import { Module, trustForward, ValueError } from "../core/mod.ts";
import type { AnyModule, Tensor } from "../core/mod.ts";
import {
  bnRelu,
  convReluPool,
  fusesBnRelu,
  fusesConvReluPool,
  swapsReluPool,
} from "./_relu_pool.ts";
import type { BatchNormBase } from "./batch_norm.ts";
import type { Conv2d } from "./conv2d.ts";
import type { ReLU } from "./activations.ts";

function checkModule(layer: string, m: unknown, where: string): AnyModule {
  if (!(m instanceof Module)) {
    throw new ValueError(
      `${layer}: ${where} must be a Module, got ${m === null ? "null" : typeof m}`,
    );
  }
  return m;
}

function checkName(layer: string, owner: Module, name: string): void {
  if (name === "" || name.includes(".") || name in owner) {
    throw new ValueError(
      `${layer}: module name "${name}" is empty, contains ".", or clashes with a property`,
    );
  }
}

function index(layer: string, i: number, n: number): number {
  const j = i < 0 ? i + n : i;
  if (!Number.isInteger(i) || j < 0 || j >= n) {
    throw new RangeError(`${layer}: index ${i} is out of range for ${n} modules`);
  }
  return j;
}

/**
 * Chains modules: `forward(x)` runs them in order. Build it from modules (named "0", "1", ...) or
 * from one object mapping names to modules (PyTorch's OrderedDict form; as with any JS object,
 * integer-like keys come first).
 */
export class Sequential extends Module {
  /** Creates the container from modules, or from one `{ name: module }` object. */
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0] as unknown;
    if (
      modules.length === 1 && !(first instanceof Module) && first !== null &&
      typeof first === "object"
    ) {
      for (const [k, m] of Object.entries(first as Record<string, unknown>)) {
        checkName("Sequential", this, k);
        this.registerModule(k, checkModule("Sequential", m, `module "${k}"`));
      }
    } else {
      (modules as unknown[]).forEach((m) => this.append(m as Module));
    }
  }

  /** Number of modules. */
  get length(): number {
    return this.children().length;
  }

  /** The module at position `i` (negative counts from the end). */
  at(i: number): Module {
    const kids = this.children();
    return kids[index("Sequential", i, kids.length)];
  }

  /** Adds a module at the end, named by its position; returns this. */
  append(module: Module): this {
    const n = this.length;
    checkName("Sequential", this, String(n));
    this.registerModule(String(n), checkModule("Sequential", module, `module ${n}`));
    return this;
  }

  /** Iterates over the modules in order. */
  [Symbol.iterator](): IterableIterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  /**
   * Feeds `x` through every module in order (the identity when empty). A ReLU followed by a
   * MaxPool2d runs as the pooling first and then the ReLU on its 4× (or so) smaller output: max
   * pooling commutes with ReLU, in values and in gradients, so the result is the same bits with
   * fewer passes over memory. A Conv2d before them, with 2 × 2 pooling, runs as one fused
   * conv-and-pool op, and a BatchNorm followed by a ReLU as one op that applies the ReLU as it
   * normalises (layers/_relu_pool.ts says when each applies).
   */
  forward(x: Tensor): Tensor {
    const mods = this.children();
    for (let i = 0; i < mods.length; i++) {
      const m = mods[i];
      if (i + 1 < mods.length && fusesBnRelu(m, mods[i + 1], x)) {
        x = bnRelu(m as BatchNormBase, mods[++i] as ReLU, x);
        continue;
      }
      if (i + 2 < mods.length && fusesConvReluPool(m, mods[i + 1], mods[i + 2], x)) {
        x = convReluPool(m as Conv2d, x);
        i += 2;
        continue;
      }
      // Out of place even for an in-place ReLU: max pooling saves its output for backward.
      const prev = i > 0 ? mods[i - 1] : null;
      if (i + 1 < mods.length && swapsReluPool(prev, m, mods[i + 1])) {
        x = mods[++i].forward(x).relu();
      } else x = m.forward(x);
    }
    return x;
  }
}

/** Holds modules (named "0", "1", ...) so their parameters are registered; it has no forward. */
export class ModuleList<M extends AnyModule = AnyModule> extends Module {
  /** Creates the list. */
  constructor(modules: readonly NoInfer<M>[] = []) {
    super();
    if (!Array.isArray(modules)) {
      throw new ValueError("ModuleList: modules must be an array of Modules");
    }
    for (const m of modules) this.append(m);
  }

  /** Number of modules. */
  get length(): number {
    return this.children().length;
  }

  /** The module at position `i` (negative counts from the end). */
  at(i: number): M {
    const kids = this.children() as M[];
    return kids[index("ModuleList", i, kids.length)];
  }

  /** Adds a module at the end; returns this. */
  append(module: M): this {
    const n = this.length;
    this.registerModule(String(n), checkModule("ModuleList", module, `module ${n}`));
    return this;
  }

  /** Appends several modules; returns this. */
  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Iterates over the modules in order. */
  [Symbol.iterator](): IterableIterator<M> {
    return (this.children() as M[])[Symbol.iterator]();
  }

  /** Always throws: a ModuleList is a container; iterate over it in the parent's forward. */
  forward(): Tensor {
    throw new ValueError("ModuleList: has no forward; call its modules from the parent's forward");
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Sequential, ModuleList);
