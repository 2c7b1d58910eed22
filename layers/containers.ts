/**
 * `ModuleDict`: holds child modules under string keys, so their parameters are registered and
 * state-dict keys read `name.weight`, as PyTorch's `nn.ModuleDict` (`ModuleList`, the indexed
 * container, is in sequential.ts beside `Sequential`). Keys keep insertion order, except that, as
 * with any JavaScript object, integer-like keys ("0", "12") come first in ascending order. A key
 * must be a non-empty string without "." that is not already a property or method of the module
 * (`training`, `forward`, ...).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { ModuleDict } from "./containers.ts";
 * import { Linear } from "./linear.ts";
 * import { ReLU } from "./activations.ts";
 * const heads = new ModuleDict({ cls: new Linear(4, 3), act: new ReLU() });
 * console.log(Object.keys(heads.stateDict())); // ["cls.weight", "cls.bias"]
 * console.log([...heads.keys()], heads.get("cls").constructor.name); // ["cls", "act"] "Linear"
 * ```
 *
 * @module
 */

import { Module, trustForward, ValueError } from "../core/mod.ts";
import type { AnyModule, Tensor } from "../core/mod.ts";
import { show } from "./_validate.ts";

const L = "ModuleDict";

function checkModule(m: unknown, key: string): AnyModule {
  if (!(m instanceof Module)) {
    throw new ValueError(`${L}: the value for key "${key}" must be a Module, got ${show(m)}`);
  }
  return m;
}

/** Holds modules under string keys; it has no forward of its own. */
export class ModuleDict<M extends AnyModule = AnyModule> extends Module {
  /**
   * Creates the dict from an object of `{ key: module }` or an array of `[key, module]` pairs
   * (PyTorch's mapping or iterable of pairs).
   */
  constructor(
    modules: Record<string, NoInfer<M>> | readonly (readonly [string, NoInfer<M>])[] = {},
  ) {
    super();
    this.update(modules);
  }

  #own(): Record<string, unknown> {
    return this as unknown as Record<string, unknown>;
  }

  #checkKey(key: unknown, adding: boolean): string {
    if (typeof key !== "string") {
      throw new ValueError(`${L}: keys must be strings, got ${show(key)}`);
    }
    if (adding) {
      const held = Object.hasOwn(this, key) && this.#own()[key] instanceof Module;
      if (key === "" || key.includes(".") || (!held && key in this)) {
        throw new ValueError(
          `${L}: key "${key}" is empty, contains ".", or is already a property of the module`,
        );
      }
    }
    return key;
  }

  /** The module under `key`; a missing key is a ValueError naming the keys held. */
  get(key: string): M {
    this.#checkKey(key, false);
    if (!this.has(key)) {
      throw new ValueError(
        `${L}: no module under key "${key}" (keys: ${[...this.keys()].join(", ") || "none"})`,
      );
    }
    return this.#own()[key] as M;
  }

  /** Puts `module` under `key` (replacing a module held there, in place); returns this. */
  set(key: string, module: M): this {
    this.#checkKey(key, true);
    this.registerModule(key, checkModule(module, key));
    return this;
  }

  /** Whether a module is held under `key`. */
  has(key: string): boolean {
    return typeof key === "string" && Object.hasOwn(this, key) &&
      this.#own()[key] instanceof Module;
  }

  /** Removes the module under `key` and returns it (PyTorch's `pop`). */
  pop(key: string): M {
    const m = this.get(key);
    delete this.#own()[key];
    return m;
  }

  /** Removes every module. */
  clear(): void {
    for (const k of [...this.keys()]) delete this.#own()[k];
  }

  /** Adds or replaces modules from an object or an array of `[key, module]` pairs; returns this. */
  update(modules: Record<string, M> | readonly (readonly [string, M])[]): this {
    if (modules instanceof Module || modules === null || typeof modules !== "object") {
      throw new ValueError(
        `${L}: expected an object of { key: module } or an array of [key, module] pairs, got ${
          show(modules)
        }`,
      );
    }
    const pairs = Array.isArray(modules) ? modules : Object.entries(modules);
    pairs.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new ValueError(`${L}: element ${i} must be a [key, module] pair, got ${show(pair)}`);
      }
    });
    for (const [k, m] of pairs) this.set(k, m);
    return this;
  }

  /** Number of modules held. */
  get size(): number {
    return [...this.keys()].length;
  }

  /** The keys, in order. */
  *keys(): IterableIterator<string> {
    for (const [k] of this.namedChildren()) yield k;
  }

  /** The modules, in key order. */
  *values(): IterableIterator<M> {
    for (const [, m] of this.namedChildren()) yield m as M;
  }

  /** `[key, module]` pairs, in order (PyTorch's `items()`). */
  *items(): IterableIterator<[string, M]> {
    for (const [k, m] of this.namedChildren()) yield [k, m as M];
  }

  /** Iterates over the keys, as iterating a PyTorch ModuleDict does. */
  [Symbol.iterator](): IterableIterator<string> {
    return this.keys();
  }

  /** Always throws: a ModuleDict is a container; call its modules from the parent's forward. */
  forward(..._args: Tensor[]): Tensor {
    throw new ValueError(`${L}: has no forward; call its modules from the parent's forward`);
  }
}

// A container's forward only throws: trusting it lets the modules that hold one (TransformerEncoder,
// a user's model built from trusted layers) have their intermediates freed early.
trustForward(ModuleDict);
