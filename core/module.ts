/**
 * `Module`, the base of layers and models, with PyTorch's traversal and state-dict semantics:
 * parameters, buffers and child modules are found among the instance's own properties in
 * declaration order, so `stateDict()` keys (`features.3.bias`, `bn1.running_mean`) match PyTorch.
 *
 * @module
 */

import { withGradSync } from "./autograd.ts";
import { isFloating } from "./dtype.ts";
import type { DType } from "./dtype.ts";
import { ShapeError, ValueError } from "./errors.ts";
import { sameShape, shapeStr } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { keep } from "./scope.ts";
import { guardArity, options as optionsOf, show } from "./args.ts";

// Subclass prototypes already guarded (each class's own methods are wrapped once, on first use).
const guarded = new WeakSet<object>();

function guardSubclass(proto: object): void {
  while (proto && proto !== Module.prototype && !guarded.has(proto)) {
    guarded.add(proto);
    guardArity(proto, proto.constructor.name);
    proto = Object.getPrototypeOf(proto);
  }
}

/** Marks a tensor as a trainable parameter (a leaf that requires grad) and returns it. */
export function Parameter(t: Tensor): Tensor {
  const p = t.isLeaf ? t : t.detach();
  p.requiresGrad = true;
  p.isParameter = true;
  return p;
}

/** Options of {@linkcode Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). */
  strict?: boolean;
}

/** Result of {@linkcode Module.loadStateDict}. */
export interface LoadStateDictResult {
  /** Keys the module has but the state dict lacked. */
  missingKeys: string[];
  /** Keys in the state dict the module does not have. */
  unexpectedKeys: string[];
}

/** An ordered map from PyTorch-style keys to tensors. */
export type StateDict = Record<string, Tensor>;

/**
 * Base class of every layer and model. Subclasses assign parameters (via {@linkcode Parameter}),
 * buffers (via {@linkcode Module.registerBuffer}) and child modules as properties, and implement
 * `forward`.
 *
 * @example
 * ```ts
 * import { Module, Parameter, randn, Tensor } from "./mod.ts";
 * import "../plugins/cpu/mod.ts";
 * class Affine extends Module {
 *   weight = Parameter(randn([3]));
 *   forward(x: Tensor): Tensor {
 *     return x.mul(this.weight);
 *   }
 * }
 * console.log(Object.keys(new Affine().stateDict())); // ["weight"]
 * ```
 */
export abstract class Module {
  /** Training mode (affects dropout and batch norm). */
  training = true;
  #buffers = new Set<string>();
  #nonPersistent = new Set<string>();

  /** Creates the module; its class's methods refuse arguments beyond their parameters. */
  constructor() {
    guardSubclass(new.target.prototype);
  }

  /** Computes the module's output. */
  abstract forward(...args: Tensor[]): Tensor;

  /** Calls `forward` (PyTorch's `module(x)`). */
  call(...args: Tensor[]): Tensor {
    return this.forward(...args);
  }

  /** Registers a buffer (state saved in the state dict but not trained), e.g. running statistics. */
  registerBuffer(name: string, t: Tensor | null, persistent = true): void {
    (this as unknown as Record<string, unknown>)[name] = t;
    this.#buffers.add(name);
    if (!persistent) this.#nonPersistent.add(name);
  }

  /** Registers a child module under a name (for names that are not identifiers, like "0"). */
  registerModule(name: string, m: Module | null): void {
    (this as unknown as Record<string, unknown>)[name] = m;
  }

  /** Registers a parameter under a name. */
  registerParameter(name: string, t: Tensor | null): void {
    (this as unknown as Record<string, unknown>)[name] = t ? Parameter(t) : null;
  }

  /** Direct children with their names, in declaration order. */
  *namedChildren(): IterableIterator<[string, Module]> {
    for (const [k, v] of Object.entries(this)) if (v instanceof Module) yield [k, v];
  }

  /** Direct children. */
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and all descendants with dotted names ("" for this one). */
  *namedModules(prefix = ""): IterableIterator<[string, Module]> {
    const stack: [string, Module][] = [[prefix, this]];
    const seen = new Set<Module>();
    while (stack.length) {
      const [name, m] = stack.shift()!;
      if (seen.has(m)) continue;
      seen.add(m);
      yield [name, m];
      const kids = [...m.namedChildren()].map((
        [k, c],
      ): [string, Module] => [name ? `${name}.${k}` : k, c]);
      stack.unshift(...kids);
    }
  }

  /** This module and all descendants. */
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  #ownParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Tensor && v.isParameter) out.push([k, v]);
    }
    return out;
  }

  #ownBuffers(persistentOnly: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const self = this as unknown as Record<string, unknown>;
    for (const k of this.#buffers) {
      const v = self[k];
      if (v instanceof Tensor && !(persistentOnly && this.#nonPersistent.has(k))) out.push([k, v]);
    }
    return out;
  }

  /** All parameters with dotted names, each once. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [k, p] of m.#ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([name ? `${name}.${k}` : k, p]);
      }
    }
    return out;
  }

  /** All parameters. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** All buffers with dotted names. */
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [k, b] of m.#ownBuffers(false)) out.push([name ? `${name}.${k}` : k, b]);
    }
    return out;
  }

  /** All buffers. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Sets training mode on this module and all descendants; returns this. */
  train(mode = true): this {
    if (typeof mode !== "boolean") {
      throw new ValueError(
        `${this.constructor.name}.train: mode must be a boolean, got ${show(mode)}`,
      );
    }
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode; returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Clears the gradients of all parameters (PyTorch's `set_to_none=True`), releasing their memory
   * at once rather than leaving it to the garbage collector.
   */
  zeroGrad(): void {
    for (const p of this.parameters()) releaseGrad(p);
  }

  /** Parameters and persistent buffers by PyTorch key, in PyTorch's order. */
  stateDict(): StateDict {
    const sd: StateDict = {};
    const walk = (m: Module, prefix: string): void => {
      for (const [k, p] of m.#ownParameters()) sd[prefix + k] = p;
      for (const [k, b] of m.#ownBuffers(true)) sd[prefix + k] = b;
      for (const [k, c] of m.namedChildren()) walk(c, `${prefix}${k}.`);
    };
    walk(this, "");
    return sd;
  }

  /** Copies tensors from a state dict into this module's parameters and buffers. */
  loadStateDict(sd: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    options = optionsOf("loadStateDict", options, ["strict"]);
    if (options.strict !== undefined && typeof options.strict !== "boolean") {
      throw new ValueError(`loadStateDict: strict must be a boolean, got ${show(options.strict)}`);
    }
    if (sd === null || typeof sd !== "object") {
      throw new ValueError(`loadStateDict: expected a state dict (name → Tensor), got ${show(sd)}`);
    }
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !(k in own));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      throw new ValueError(
        `loadStateDict: ${this.constructor.name}: ` +
          (missingKeys.length ? `missing keys: ${missingKeys.join(", ")}` : "") +
          (missingKeys.length && unexpectedKeys.length ? "; " : "") +
          (unexpectedKeys.length ? `unexpected keys: ${unexpectedKeys.join(", ")}` : ""),
      );
    }
    const problems: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = sd[k];
      if (src !== undefined && !(src instanceof Tensor)) {
        throw new ValueError(
          `loadStateDict: ${this.constructor.name}: "${k}" is ${show(src)}, expected a Tensor ` +
            `(wrap arrays with tensor(...))`,
        );
      }
      if (src && !sameShape(src.shape, t.shape)) {
        problems.push(
          `${k}: checkpoint has ${shapeStr(src.shape)}, module has ${shapeStr(t.shape)}`,
        );
      }
    }
    if (problems.length) {
      throw new ShapeError(
        `loadStateDict: ${this.constructor.name}: size mismatch: ${problems.join("; ")}`,
      );
    }
    withGradSync(false, () => {
      for (const [k, t] of Object.entries(own)) if (sd[k]) t.copy_(sd[k]);
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Moves every parameter, buffer and gradient to a device in place: the tensor objects keep their
   * identities, so an optimizer built before still updates them and tied weights stay tied.
   * Synchronous where the source device can be read synchronously; from webgpu use
   * {@linkcode Module.toAsync}. Returns this.
   *
   * @example
   * ```ts
   * import { Module, Parameter, randn } from "./mod.ts";
   * import "../plugins/cpu/mod.ts";
   * class Affine extends Module {
   *   weight = Parameter(randn([3]));
   *   forward() {
   *     return this.weight;
   *   }
   * }
   * const m = new Affine();
   * const w = m.weight;
   * console.log(m.to("cpu").weight === w); // true
   * ```
   */
  to(device: string): this {
    withGradSync(false, () => {
      for (const t of this.#tensors()) {
        if (t.device !== device) moveInPlace(t, t.to(device));
        const g = t.grad;
        if (g && g.device !== device) moveInPlace(g, g.to(device));
      }
    });
    return this;
  }

  /**
   * {@linkcode Module.to} for moves that need an asynchronous readback (e.g. webgpu → cpu); the
   * tensors keep their identities.
   */
  async toAsync(device: string): Promise<this> {
    for (const t of this.#tensors()) {
      if (t.device !== device) moveInPlace(t, await t.toAsync(device));
      const g = t.grad;
      if (g && g.device !== device) moveInPlace(g, await g.toAsync(device));
    }
    return this;
  }

  // Every tensor held by this module tree (parameters, buffers, other tensor properties), once.
  #tensors(): Tensor[] {
    const out = new Set<Tensor>();
    for (const m of this.modules()) {
      for (const v of Object.values(m)) if (v instanceof Tensor) out.add(v);
    }
    return [...out];
  }

  /**
   * Converts every floating-point parameter and buffer to float16 in place: the tensors keep their
   * identities (an optimizer built before still updates them) and gradients are converted too.
   * Integer buffers (`num_batches_tracked`) are untouched. Returns this.
   */
  half(): this {
    return this.#convertFloats("float16");
  }

  /** Converts every floating-point parameter and buffer to float32 in place (see {@linkcode Module.half}). */
  float(): this {
    return this.#convertFloats("float32");
  }

  #convertFloats(dtype: DType): this {
    withGradSync(false, () => {
      const seen = new Set<Tensor>();
      for (const m of this.modules()) {
        for (const [, t] of [...m.#ownParameters(), ...m.#ownBuffers(false)]) {
          if (seen.has(t) || !isFloating(t.dtype) || t.dtype === dtype) continue;
          seen.add(t);
          const converted = t.cast(dtype);
          t.setData_(converted);
          converted.dispose();
          if (t.grad && t.grad.dtype !== dtype) t.grad = keep(t.grad.cast(dtype));
        }
      }
    });
    return this;
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }
}

/** Points `t` at `moved`'s storage and device, keeping the tensor object; `moved` is released. */
export function moveInPlace(t: Tensor, moved: Tensor): void {
  t.setData_(moved);
  moved.dispose();
}

/** Drops a parameter's gradient and releases its memory now. */
export function releaseGrad(p: Tensor): void {
  const g = p.grad;
  p.grad = null;
  g?.dispose();
}

guardArity(Module.prototype, "Module");
