/**
 * `Module`, the base of layers and models, with PyTorch's traversal and state-dict semantics:
 * parameters, buffers and child modules are found among the instance's own properties in
 * declaration order, so `stateDict()` keys (`features.3.bias`, `bn1.running_mean`) match PyTorch.
 * `Parameter` and the state-dict types are in parameter.ts; the hook types and the machinery of
 * full backward hooks in module_hooks.ts.
 *
 * @module
 */

import { isGradEnabled, withGradSync } from "./autograd.ts";
import { isFloating } from "./dtype.ts";
import type { DType } from "./dtype.ts";
import { ShapeError, ValueError } from "./errors.ts";
import { sameShape, shapeStr } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { keep } from "./scope.ts";
import { guardArity, guardSubclass, options as optionsOf, show } from "./args.ts";
import { formatModule } from "./format.ts";
import { moveInPlace, Parameter, releaseGrad } from "./parameter.ts";
import type { LoadStateDictOptions, LoadStateDictResult, StateDict } from "./parameter.ts";
import { BackwardHookCall } from "./module_hooks.ts";
import { handedOut } from "./module_frames.ts";
import type {
  ForwardHook,
  ForwardPreHook,
  FullBackwardHook,
  HookOptions,
  HookTables,
  RemovableHandle,
} from "./module_hooks.ts";

/**
 * Any module, whatever its `forward` takes and returns: the type of a module's children and of
 * what containers hold. Its `forward` is untyped (PyTorch's `Module.__call__` returns `Any`):
 * narrow with `instanceof` to call it typed.
 */
// deno-lint-ignore no-explicit-any
export type AnyModule = Module<any[], any>;

/**
 * Base class of every layer and model. Subclasses assign parameters (via {@linkcode Parameter}),
 * buffers (via {@linkcode Module.registerBuffer}) and child modules as properties, and implement
 * `forward`. The type parameters are `forward`'s arguments and result: a plain layer is a
 * `Module` (Tensors in, a Tensor out); one that takes or returns more says so, e.g.
 * `Module<[Tensor, Tensor], { output: Tensor; weights: Tensor }>`.
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
export abstract class Module<A extends unknown[] = Tensor[], R = Tensor> {
  /** Training mode (affects dropout and batch norm). */
  training = true;
  #buffers = new Set<string>();
  #nonPersistent = new Set<string>();
  #hooks: HookTables | null = null;
  // The forward the hooks wrap while any is registered (see #addHook).
  #inner: { fn: (...args: never[]) => unknown; own?: PropertyDescriptor } | null = null;

  /** Creates the module; its class's methods refuse arguments beyond their parameters. */
  constructor() {
    guardSubclass(new.target.prototype, Module.prototype);
  }

  /** Computes the module's output. */
  abstract forward(...args: A): R;

  /**
   * Calls `forward` (PyTorch's `module(x)`). Hooks run whether a module is called this way or
   * through `forward`, which is how denn's containers and models call their children.
   */
  call(...args: A): R {
    return this.forward(...args);
  }

  /**
   * Calls `fn` on every descendant, each child's subtree before the child itself, and last on this
   * module (PyTorch's post-order `apply`, e.g. to initialise weights); returns this.
   *
   * @example
   * ```ts
   * import { Module } from "./mod.ts";
   * import { nn } from "../mod.ts";
   * const net = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
   * const seen: string[] = [];
   * net.apply((m: Module) => seen.push(m.constructor.name));
   * console.log(seen); // ["Linear", "ReLU", "Sequential"]
   * ```
   */
  apply(fn: (module: AnyModule) => void): this {
    if (typeof fn !== "function") {
      throw new ValueError(`${this.constructor.name}.apply: expected a function, got ${show(fn)}`);
    }
    for (const child of new Set(this.children())) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Registers a hook run before every `forward` (or `call`) of this module with the module and its
   * arguments; returning a Tensor or an array replaces the arguments (PyTorch's
   * `register_forward_pre_hook`).
   *
   * @example
   * ```ts
   * import { nn, tensor } from "../mod.ts";
   * const relu = new nn.ReLU();
   * const h = relu.registerForwardPreHook((_m, [x]) => x.neg());
   * console.log(relu.forward(tensor([1, -2])).toArraySync()); // [0, 2]
   * h.remove();
   * ```
   */
  registerForwardPreHook(hook: ForwardPreHook<A, R>, options: HookOptions = {}): RemovableHandle {
    return this.#addHook("registerForwardPreHook", "pre", hook, options);
  }

  /**
   * Registers a hook run after every `forward` (or `call`) of this module with the module, its
   * arguments and its output; returning a value replaces the output (PyTorch's
   * `register_forward_hook`).
   *
   * @example
   * ```ts
   * import { nn, randn } from "../mod.ts";
   * const fc = new nn.Linear(4, 2);
   * const shapes: number[][] = [];
   * const h = fc.registerForwardHook((_m, _args, y) => void shapes.push(y.shape as number[]));
   * fc.forward(randn([3, 4]));
   * h.remove();
   * console.log(shapes); // [[3, 2]]
   * ```
   */
  registerForwardHook(hook: ForwardHook<A, R>, options: HookOptions = {}): RemovableHandle {
    return this.#addHook("registerForwardHook", "fwd", hook, options);
  }

  /**
   * Registers a hook run during backward with the gradients of this module's tensor arguments
   * (`gradInput`) and outputs (`gradOutput`) once both are known; returning an array replaces
   * `gradInput` (PyTorch's `register_full_backward_hook`). The output must be a Tensor or an
   * array of Tensors. While the hook is registered, each call copies the arguments and outputs
   * that require grad once (the identity nodes the hook listens on), as PyTorch wraps them.
   *
   * @example
   * ```ts
   * import { nn, randn } from "../mod.ts";
   * const fc = new nn.Linear(4, 2);
   * fc.registerFullBackwardHook((_m, gradIn, gradOut) => {
   *   console.log(gradIn[0]!.shape, gradOut[0]!.shape); // [3, 4] [3, 2]
   * });
   * fc.forward(randn([3, 4], { requiresGrad: true })).sum().backward();
   * ```
   */
  registerFullBackwardHook(hook: FullBackwardHook, options: HookOptions = {}): RemovableHandle {
    return this.#addHook("registerFullBackwardHook", "bwd", hook, options);
  }

  #addHook(
    method: string,
    kind: keyof HookTables,
    hook: unknown,
    options: HookOptions,
  ): RemovableHandle {
    const where = `${this.constructor.name}.${method}`;
    if (typeof hook !== "function") {
      throw new ValueError(`${where}: expected a hook function, got ${show(hook)}`);
    }
    const o = optionsOf(where, options, ["prepend"]);
    if (o.prepend !== undefined && typeof o.prepend !== "boolean") {
      throw new ValueError(`${where}: prepend must be a boolean, got ${show(o.prepend)}`);
    }
    const tables = (this.#hooks ??= { pre: new Map(), fwd: new Map(), bwd: new Map() });
    const table = tables[kind] as Map<number, unknown>;
    const id = nextHookId++;
    if (o.prepend) {
      const rest = [...table];
      table.clear();
      table.set(id, hook);
      for (const [k, v] of rest) table.set(k, v);
    } else table.set(id, hook);
    if (!this.#inner) {
      // Hooks ride on an own, non-enumerable `forward` wrapping the class's: no cost without
      // hooks, and a subclass's super.forward() inside it does not run them twice.
      const own = Object.getOwnPropertyDescriptor(this, "forward");
      this.#inner = { fn: this.forward, own };
      Object.defineProperty(this, "forward", {
        value: (...args: A) => this.#runHooked(args),
        configurable: true,
        writable: true,
        enumerable: false,
      });
    }
    let removed = false;
    const remove = (): void => {
      if (removed) return;
      removed = true;
      table.delete(id);
      if (tables.pre.size + tables.fwd.size + tables.bwd.size === 0 && this.#inner) {
        const own = this.#inner.own;
        if (own) Object.defineProperty(this, "forward", own);
        else delete (this as unknown as Record<string, unknown>).forward;
        this.#inner = null;
        this.#hooks = null;
      }
    };
    return { id, remove, [Symbol.dispose]: remove };
  }

  #runHooked(args: A): R {
    const tables = this.#hooks!, inner = this.#inner!.fn;
    for (const hook of [...tables.pre.values()]) {
      const r = hook(this, [...args]) as unknown;
      if (r === undefined || r === null) continue;
      if (!(r instanceof Tensor) && !Array.isArray(r)) {
        throw new ValueError(
          `${this.constructor.name}: a forward pre-hook returned ${
            show(r)
          }; expected a Tensor, an ` +
            `array of arguments, or undefined`,
        );
      }
      args = (r instanceof Tensor ? [r] : [...r]) as A;
    }
    const bw = tables.bwd.size && isGradEnabled()
      ? new BackwardHookCall(this, [...tables.bwd.values()])
      : null;
    if (bw) args = bw.wrapInputs(args) as A;
    let out = inner.apply(this, args as unknown as never[]) as R;
    for (const hook of [...tables.fwd.values()]) {
      const r = hook(this, [...args], out);
      if (r !== undefined && r !== null) out = r as R;
    }
    return bw ? bw.wrapOutputs(out) as R : out;
  }

  /** Registers a buffer (state saved in the state dict but not trained), e.g. running statistics. */
  registerBuffer(name: string, t: Tensor | null, persistent = true): void {
    if (t) handedOut(t);
    (this as unknown as Record<string, unknown>)[name] = t;
    this.#buffers.add(name);
    if (!persistent) this.#nonPersistent.add(name);
  }

  /** Registers a child module under a name (for names that are not identifiers, like "0"). */
  registerModule(name: string, m: AnyModule | null): void {
    (this as unknown as Record<string, unknown>)[name] = m;
  }

  /** Registers a parameter under a name. */
  registerParameter(name: string, t: Tensor | null): void {
    (this as unknown as Record<string, unknown>)[name] = t ? Parameter(t) : null;
  }

  /** Direct children with their names, in declaration order. */
  *namedChildren(): IterableIterator<[string, AnyModule]> {
    for (const [k, v] of Object.entries(this)) if (v instanceof Module) yield [k, v];
  }

  /** Direct children. */
  children(): AnyModule[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and all descendants with dotted names ("" for this one). */
  *namedModules(prefix = ""): IterableIterator<[string, AnyModule]> {
    const stack: [string, AnyModule][] = [[prefix, this]];
    const seen = new Set<AnyModule>();
    while (stack.length) {
      const [name, m] = stack.shift()!;
      if (seen.has(m)) continue;
      seen.add(m);
      yield [name, m];
      const kids = [...m.namedChildren()].map((
        [k, c],
      ): [string, AnyModule] => [name ? `${name}.${k}` : k, c]);
      stack.unshift(...kids);
    }
  }

  /** This module and all descendants. */
  modules(): AnyModule[] {
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
    const walk = (m: AnyModule, prefix: string): void => {
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
    return this.parameters().reduce((s, p) => s + p.numel(), 0);
  }

  /**
   * The text inside this module's parentheses when it prints, as PyTorch's `extra_repr`: override
   * it to describe a layer's settings (`Linear` gives `inFeatures=4, outFeatures=2, bias=true`).
   * Children print on their own lines after it. Empty by default.
   *
   * @example
   * ```ts
   * import { Module, Parameter, zeros } from "./mod.ts";
   * import type { Tensor } from "./mod.ts";
   * import "../plugins/cpu/mod.ts";
   * class Scale extends Module {
   *   weight = Parameter(zeros([3]));
   *   forward(x: Tensor): Tensor {
   *     return x.mul(this.weight);
   *   }
   *   override extraRepr(): string {
   *     return `features=${this.weight.shape[0]}`;
   *   }
   * }
   * console.log(String(new Scale())); // Scale(features=3)
   * ```
   */
  extraRepr(): string {
    return "";
  }

  /**
   * PyTorch's text form: the class name with {@linkcode Module.extraRepr} in parentheses, and one
   * indented `(name): child` line per child module.
   */
  toString(): string {
    return formatModule(this);
  }

  /** What `console.log(module)` prints in Deno: the same text as {@linkcode Module.toString}. */
  [Symbol.for("Deno.customInspect")](): string {
    return formatModule(this);
  }
}

// ---------------------------------------------------------------- hooks

let nextHookId = 0;

guardArity(Module.prototype, "Module");
