/**
 * The Optimizer base: parameter groups with per-group options, per-parameter state, `zeroGrad`,
 * and PyTorch-shaped `stateDict`/`loadStateDict`.
 *
 * @module
 */

import { ValueError } from "./errors.ts";
import { Tensor } from "./tensor.ts";
import { keep } from "./scope.ts";
import { moveInPlace, releaseGrad } from "./module.ts";

/** A group of parameters sharing options. */
export type ParamGroup<O> = O & {
  /** Parameters of the group. */
  params: Tensor[];
};

/** Parameters as passed to an optimizer: a list, or groups with their own options. */
export type ParamsInput<O> = Iterable<Tensor> | (Partial<O> & { params: Iterable<Tensor> })[];

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
 * Base class of optimizers: subclasses implement `step()` using `paramGroups` and `state`.
 */
export abstract class Optimizer<O extends object = Record<string, unknown>> {
  /** Parameter groups with their options (defaults filled in). */
  paramGroups: ParamGroup<O>[];
  /** State per parameter. */
  state: Map<Tensor, ParamState> = new Map();
  /** Default options. */
  readonly defaults: O;

  /** Creates the groups from `params` and fills missing options from `defaults`. */
  constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = defaults;
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) {
      throw new ValueError(`${this.constructor.name}: got an empty parameter list`);
    }
    const groups = list[0] instanceof Tensor
      ? [{ params: list as Tensor[] }]
      : (list as (Partial<O> & { params: Iterable<Tensor> })[]);
    this.paramGroups = groups.map((g, i) => {
      if (g === null || typeof g !== "object" || !(Symbol.iterator in Object(g.params))) {
        throw new ValueError(
          `${this.constructor.name}: parameter group ${i} must be { params: [...], ...options }`,
        );
      }
      // A group's options are the defaults' keys with the defaults' types; a typo is not ignored.
      for (const [k, v] of Object.entries(g)) {
        if (k === "params") continue;
        const ref = (defaults as Record<string, unknown>)[k];
        if (!(k in defaults)) {
          throw new ValueError(
            `${this.constructor.name}: parameter group ${i} has unknown option "${k}" (expected ${
              Object.keys(defaults).join(", ")
            })`,
          );
        }
        const same = Array.isArray(ref)
          ? Array.isArray(v) && v.length === ref.length
          : typeof v === typeof ref;
        if (v !== undefined && !same) {
          throw new ValueError(
            `${this.constructor.name}: parameter group ${i} option ${k} must be like ${
              JSON.stringify(ref)
            }, got ${JSON.stringify(v)}`,
          );
        }
      }
      const given = Object.fromEntries(Object.entries(g).filter(([, v]) => v !== undefined));
      return { ...defaults, ...given, params: [...g.params] } as ParamGroup<O>;
    });
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!(p instanceof Tensor)) {
          throw new ValueError(`${this.constructor.name}: parameters must be Tensors`);
        }
        if (seen.has(p)) {
          throw new ValueError(
            `${this.constructor.name}: a parameter appears in more than one group`,
          );
        }
        seen.add(p);
      }
    }
  }

  /** Updates the parameters from their gradients. */
  abstract step(): void;

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

  /** Restores state and options saved by {@linkcode Optimizer.stateDict}. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new ValueError(
        `${this.constructor.name}.loadStateDict: ${sd.paramGroups.length} parameter groups saved, ${this.paramGroups.length} here`,
      );
    }
    const flat: Tensor[] = [];
    sd.paramGroups.forEach((g, gi) => {
      const mine = this.paramGroups[gi];
      const ids = g.params as number[];
      if (ids.length !== mine.params.length) {
        throw new ValueError(
          `${this.constructor.name}.loadStateDict: group ${gi} has ${ids.length} parameters saved, ${mine.params.length} here`,
        );
      }
      const { params: _p, ...opts } = g;
      Object.assign(mine, opts);
      flat.push(...mine.params);
    });
    this.state = new Map();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = flat[Number(k)];
      if (!p) {
        throw new ValueError(
          `${this.constructor.name}.loadStateDict: state for unknown parameter ${k}`,
        );
      }
      const copy: ParamState = {};
      for (const [name, v] of Object.entries(s)) {
        copy[name] = v instanceof Tensor
          ? keep(v.device === p.device ? v.clone() : v.to(p.device))
          : v;
      }
      this.state.set(p, copy);
    }
  }
}
