/**
 * The Optimizer base: parameter groups with per-group options, per-parameter state, `zeroGrad`,
 * and PyTorch-shaped `stateDict`/`loadStateDict`.
 *
 * @module
 */

import { DTypeError, ValueError } from "./errors.ts";
import { isFloating } from "./dtype.ts";
import { shapeStr } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { keep } from "./scope.ts";
import { Module } from "./module.ts";
import { moveInPlace, releaseGrad } from "./parameter.ts";
import { withGradSync } from "./grad_mode.ts";
import { isPromise } from "./context.ts";
import { guardArity, guardSubclass, show } from "./args.ts";

/** A group of parameters sharing options. */
export type ParamGroup<O> = O & {
  /** Parameters of the group. */
  params: Tensor[];
};

/**
 * Parameters as passed to an optimizer: a list (any iterable) of tensors, or groups with their own
 * options, whose `params` is a list of tensors or one tensor (as PyTorch's `{"params": w}`).
 */
export type ParamsInput<O> =
  | Iterable<Tensor>
  | (Partial<O> & { params: Iterable<Tensor> | Tensor })[];

/** Per-parameter optimizer state (moment buffers, step counts). */
export type ParamState = Record<string, Tensor | number>;

/** Serialized optimizer state, as PyTorch's `optimizer.state_dict()`. */
export interface OptimizerStateDict {
  /** State by parameter index. */
  state: Record<number, ParamState>;
  /** Group options with parameter indices. */
  paramGroups: Record<string, unknown>[];
}

/**
 * Checks the values of one group's options (a learning rate >= 0, ...); `where` names the group in
 * the message, e.g. "parameter group 1: ". Throws a ValueError.
 */
export type GroupCheck<O> = (options: O, where: string) => void;

// `value` described for a message: "null", "a Linear", "an object with keys a, b", "7".
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") {
    const name = v.constructor?.name;
    if (name && name !== "Object") return `a ${name}`;
    const keys = Object.keys(v);
    return keys.length
      ? `an object with keys ${keys.slice(0, 6).join(", ")}${keys.length > 6 ? ", ..." : ""}`
      : "an empty object";
  }
  return show(v);
}

// Same type as the default (numbers, booleans, number pairs).
function sameKind(v: unknown, ref: unknown): boolean {
  return Array.isArray(ref)
    ? Array.isArray(v) && v.length === ref.length && v.every((e) => typeof e === "number")
    : typeof v === typeof ref;
}

/**
 * Base class of optimizers: subclasses implement {@linkcode Optimizer.update} (one update of every
 * parameter from its gradient) using `paramGroups` and `state`; {@linkcode Optimizer.step} runs it,
 * after the optional closure. Methods reject extra arguments (`zeroGrad(false)`, `step(closure, 1)`).
 */
export abstract class Optimizer<O extends object = Record<string, unknown>> {
  /** Parameter groups with their options (defaults filled in). */
  paramGroups: ParamGroup<O>[];
  /** State per parameter. */
  state: Map<Tensor, ParamState> = new Map();
  /** Default options. */
  readonly defaults: O;
  // Kept untyped in O, so that Optimizer<Options> stays assignable to Optimizer<object>.
  readonly #check: GroupCheck<object> | undefined;

  /**
   * Creates the groups from `params` and fills missing options from `defaults`. `params` must be an
   * iterable of leaf floating-point tensors (`model.parameters()`), or of groups
   * `{ params, ...options }` whose options are among the defaults' keys; `check`, when given, checks
   * each group's option values.
   */
  constructor(params: ParamsInput<O>, defaults: O, check?: GroupCheck<O>) {
    const name = new.target.name;
    guardSubclass(new.target.prototype, Optimizer.prototype);
    this.defaults = defaults;
    this.#check = check as GroupCheck<object> | undefined;
    if (
      params instanceof Module ||
      (params as { parameters?: unknown })?.parameters instanceof Function
    ) {
      throw new ValueError(
        `${name}: params must be an iterable of Tensors or parameter groups, got ${
          describe(params)
        } (a Module); pass model.parameters()`,
      );
    }
    if (params instanceof Tensor) {
      throw new ValueError(
        `${name}: params must be an iterable of Tensors or parameter groups, got a single ${
          shapeStr(params.shape)
        } Tensor; pass a list: [w]`,
      );
    }
    if (
      params === null || typeof params !== "object" ||
      typeof (params as Partial<Iterable<unknown>>)[Symbol.iterator] !== "function"
    ) {
      throw new ValueError(
        `${name}: params must be an iterable of Tensors or parameter groups ` +
          `({ params: [...], ...options }), got ${describe(params)}`,
      );
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) {
      throw new ValueError(`${name}: got an empty parameter list`);
    }
    const groups = list[0] instanceof Tensor
      ? [{ params: list as Tensor[] }]
      : (list as (Partial<O> & { params: Iterable<Tensor> | Tensor })[]);
    this.paramGroups = groups.map((g, i) => {
      if (
        Array.isArray(g) && g.length === 2 && typeof g[0] === "string" && g[1] instanceof Tensor
      ) {
        throw new ValueError(
          `${name}: got [name, Tensor] pairs (namedParameters()); pass model.parameters()`,
        );
      }
      if (
        g === null || typeof g !== "object" || Array.isArray(g) ||
        !(g.params instanceof Tensor || Symbol.iterator in Object(g.params)) ||
        typeof g.params === "string"
      ) {
        throw new ValueError(
          `${name}: parameter group ${i} must be { params: [...], ...options }, got ${describe(g)}`,
        );
      }
      // A group's options are the defaults' keys with the defaults' types; a typo is not ignored.
      for (const [k, v] of Object.entries(g)) {
        if (k === "params") continue;
        const ref = (defaults as Record<string, unknown>)[k];
        if (!(k in defaults)) {
          throw new ValueError(
            `${name}: parameter group ${i} has unknown option "${k}" (expected ${
              Object.keys(defaults).join(", ")
            })`,
          );
        }
        if (v !== undefined && !sameKind(v, ref)) {
          throw new ValueError(
            `${name}: parameter group ${i} option ${k} must be like ${JSON.stringify(ref)}, got ${
              JSON.stringify(v)
            }`,
          );
        }
      }
      const given = Object.fromEntries(Object.entries(g).filter(([, v]) => v !== undefined));
      const ps = g.params instanceof Tensor ? [g.params] : [...g.params];
      const group = { ...defaults, ...given, params: ps } as ParamGroup<O>;
      check?.(group, `parameter group ${i}: `);
      return group;
    });
    const seen = new Set<Tensor>();
    this.paramGroups.forEach((g, gi) => {
      g.params.forEach((p, pi) => {
        const which = list[0] instanceof Tensor
          ? `parameter ${pi}`
          : `parameter ${pi} of group ${gi}`;
        if (!(p instanceof Tensor)) {
          throw new ValueError(
            `${name}: parameters must be Tensors, but ${which} is ${describe(p)}`,
          );
        }
        if (!p.isLeaf) {
          throw new ValueError(
            `${name}: can't optimize a non-leaf Tensor (${which}, ${
              shapeStr(p.shape)
            } computed by ${
              p.gradFn!.op.name
            }); pass leaf tensors such as model.parameters(), or x.detach().requiresGrad_()`,
          );
        }
        if (!isFloating(p.dtype)) {
          throw new DTypeError(
            `${name}: can only optimize floating-point tensors, but ${which} is ${p.dtype}`,
          );
        }
        if (seen.has(p)) {
          throw new ValueError(`${name}: a parameter appears in more than one group`);
        }
        seen.add(p);
      });
    });
  }

  /**
   * Updates every parameter that has a gradient, once: the optimizer's own rule, which
   * {@linkcode Optimizer.step} runs after the closure.
   */
  protected abstract update(): void;

  /** Updates the parameters from their gradients (one optimization step). */
  step(): void;
  /**
   * PyTorch's `step(closure)`: calls `closure` (with gradient recording on, even inside `noGrad`)
   * to re-evaluate the model — typically zeroGrad, forward, loss, backward — then updates the
   * parameters, and returns what the closure returned (the loss). The closure must be synchronous.
   */
  step<L>(closure: () => L): L;
  step<L>(closure?: (() => L) | null): L | undefined {
    const name = `${this.constructor.name}.step`;
    let loss: L | undefined;
    if (closure !== undefined && closure !== null) {
      if (typeof closure !== "function") {
        throw new ValueError(
          `${name}: closure must be a function that re-evaluates the model and returns the loss, ` +
            `got ${describe(closure)}`,
        );
      }
      if ((closure as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "AsyncFunction") {
        throw new ValueError(
          `${name}: closure must be synchronous, got an async function (await the async work, ` +
            `then call step())`,
        );
      }
      loss = withGradSync(true, closure);
      if (isPromise(loss)) {
        loss.then(undefined, () => {});
        throw new ValueError(
          `${name}: closure returned a promise; it must be synchronous (await the async work, ` +
            `then call step())`,
        );
      }
    }
    this.update();
    return loss;
  }

  /**
   * Clears gradients (sets them to null, PyTorch's default `set_to_none=True`) and releases their
   * memory at once.
   */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) releaseGrad(p);
  }

  /**
   * Gets (creating) a parameter's state; tensors stored in it survive `scope()`. State tensors
   * follow their parameter when it moved to another device (`model.to(...)` after the optimizer
   * was built, or after steps were taken).
   */
  stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) this.state.set(p, s = {});
    for (const v of Object.values(s)) {
      if (v instanceof Tensor && v.device !== p.device) moveInPlace(v, v.to(p.device));
    }
    return s;
  }

  /** Stores a state tensor, exempt from scope disposal. */
  protected keepState(t: Tensor): Tensor {
    return keep(t);
  }

  /** State and group options, with parameters replaced by their indices (PyTorch's layout). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    let i = 0;
    for (const g of this.paramGroups) for (const p of g.params) index.set(p, i++);
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const k = index.get(p);
      if (k !== undefined) state[k] = { ...s };
    }
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      return { ...opts, params: params.map((p) => index.get(p)!) };
    });
    return { state, paramGroups };
  }

  /**
   * Restores state and options saved by {@linkcode Optimizer.stateDict} (from an optimizer with the
   * same group layout). Everything is checked before anything changes: a wrong argument (null, a
   * module's state dict) or a mismatched layout is a ValueError naming what was expected.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = `${this.constructor.name}.loadStateDict`;
    const isRecord = (v: unknown): v is Record<string, unknown> =>
      v !== null && typeof v === "object" && !Array.isArray(v);
    if (!isRecord(sd) || !Array.isArray(sd.paramGroups) || !isRecord(sd.state)) {
      const moduleDict = isRecord(sd) && Object.keys(sd).length > 0 &&
        Object.values(sd).every((v) => v instanceof Tensor);
      throw new ValueError(
        `${name}: expected an optimizer state dict { state, paramGroups } (from ` +
          `optimizer.stateDict()), got ${describe(sd)}${
            moduleDict ? " (a module's state dict: load it with model.loadStateDict)" : ""
          }`,
      );
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new ValueError(
        `${name}: ${sd.paramGroups.length} parameter groups saved, ${this.paramGroups.length} here`,
      );
    }
    const flat: Tensor[] = [];
    const options = sd.paramGroups.map((g, gi) => {
      if (!isRecord(g) || !Array.isArray(g.params)) {
        throw new ValueError(
          `${name}: parameter group ${gi} must be { params: [indices], ...options }, got ${
            describe(g)
          }`,
        );
      }
      const mine = this.paramGroups[gi];
      const ids = g.params as unknown[];
      if (ids.length !== mine.params.length) {
        throw new ValueError(
          `${name}: group ${gi} has ${ids.length} parameters saved, ${mine.params.length} here`,
        );
      }
      const bad = ids.find((id) => !Number.isSafeInteger(id) || (id as number) < 0);
      if (bad !== undefined) {
        throw new ValueError(
          `${name}: group ${gi} params must be parameter indices (non-negative integers), got ${
            show(bad)
          }`,
        );
      }
      const { params: _p, ...opts } = g;
      // Saved options of this optimizer's kind must have the defaults' types and valid values;
      // other keys (a scheduler's initialLr) are kept as they are.
      for (const [k, v] of Object.entries(opts)) {
        const ref = (this.defaults as Record<string, unknown>)[k];
        if (k in this.defaults && !sameKind(v, ref)) {
          throw new ValueError(
            `${name}: parameter group ${gi} option ${k} must be like ${JSON.stringify(ref)}, got ${
              JSON.stringify(v)
            }`,
          );
        }
      }
      this.#check?.({ ...mine, ...opts }, `parameter group ${gi}: `);
      flat.push(...mine.params);
      return opts;
    });
    const state = new Map<Tensor, Record<string, unknown>>();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = flat[Number(k)];
      if (!p) {
        throw new ValueError(`${name}: state for unknown parameter ${k}`);
      }
      if (!isRecord(s)) {
        throw new ValueError(
          `${name}: state of parameter ${k} must be an object of tensors and numbers, got ${
            describe(s)
          }`,
        );
      }
      for (const [key, v] of Object.entries(s)) {
        if (!(v instanceof Tensor) && typeof v !== "number") {
          throw new ValueError(
            `${name}: state ${key} of parameter ${k} must be a Tensor or a number, got ${
              describe(v)
            }`,
          );
        }
      }
      state.set(p, s);
    }
    options.forEach((opts, gi) => Object.assign(this.paramGroups[gi], opts));
    this.state = new Map();
    for (const [p, s] of state) {
      const copy: ParamState = {};
      for (const [key, v] of Object.entries(s)) {
        copy[key] = v instanceof Tensor
          ? keep(v.device === p.device ? v.clone() : v.to(p.device))
          : v as number;
      }
      this.state.set(p, copy);
    }
  }
}

guardArity(Optimizer.prototype, "Optimizer");
