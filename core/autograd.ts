/**
 * The backprop scheduler: a define-by-run tape. Each differentiable op records a {@linkcode Node};
 * `backward()` walks the graph in reverse topological order (Kahn's algorithm, no recursion),
 * sums gradients where a tensor feeds several consumers, and frees each node's saved tensors as soon
 * as its gradient is done. The sweep itself (`runBackward`), the check of the seed gradient and that
 * of stale views are in backward_engine.ts.
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import { isFloating } from "./dtype.ts";
import { AutogradError, ValueError } from "./errors.ts";
import type { GradContext, OpDef } from "./registry.ts";
import { shapeStr } from "./shape.ts";
import type { Shape } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { runBackward, seedGradient, staleView } from "./backward_engine.ts";
import { options as checkKeys, show } from "./args.ts";
import { noteSaves, releaseSaves } from "./module_frames.ts";

export { enableGrad, isGradEnabled, noGrad, setGradEnabled, withGradSync } from "./grad_mode.ts";
import { isGradEnabled } from "./grad_mode.ts";

/** Where a node sends one input's gradient: the producing node's output, a leaf, or nowhere. */
export type GradEdge = { node: Node; index: number } | { leaf: Tensor } | null;

/** A recorded op application: the graph node that produced some tensors. */
export class Node {
  /** The op that ran. */
  readonly op: OpDef<unknown>;
  /** Attributes it ran with. */
  readonly attrs: unknown;
  /** Where each input's gradient goes. */
  readonly edges: GradEdge[];
  /** Input shapes, kept after saved tensors are freed. */
  readonly inputShapes: Shape[];
  /** Input dtypes. */
  readonly inputDtypes: DType[];
  #inputs: readonly Tensor[] | null;
  #outputs: readonly Tensor[] | null;
  #versions: number[];
  #outputCount: number;
  #released = false;
  /** Shape of output 0 (its gradient is zeros when no consumer sent one). */
  readonly outputShape: Shape;
  /** Device of the outputs. */
  readonly device: string;
  /** Dtype of the zero gradient of output 0 when no consumer sent one (its floating dtype). */
  readonly outputDtype: DType;

  /** Records `op` applied to `inputs` giving `outputs`. */
  constructor(
    op: OpDef<unknown>,
    inputs: readonly Tensor[],
    attrs: unknown,
    outputs: readonly Tensor[],
  ) {
    this.op = op;
    this.attrs = attrs;
    const n = inputs.length;
    this.edges = new Array(n);
    this.inputShapes = new Array(n);
    this.inputDtypes = new Array(n);
    for (let i = 0; i < n; i++) {
      const t = inputs[i];
      if (t.base !== null && t.baseNode !== undefined && t.base.gradFn !== t.baseNode) {
        staleView(t, op.name);
      }
      this.inputShapes[i] = t.shape;
      this.inputDtypes[i] = t.dtype;
      this.edges[i] = t.gradFn
        ? { node: t.gradFn, index: t.outputIndex }
        : t.requiresGrad
        ? { leaf: t }
        : null;
    }
    this.#inputs = op.savesInputs === false ? null : inputs;
    this.#outputs = op.savesOutputs ? outputs : null;
    this.#outputCount = outputs.length;
    this.outputShape = outputs[0].shape;
    this.device = outputs[0].device;
    this.outputDtype = isFloating(outputs[0].dtype) ? outputs[0].dtype : "float32";
    this.#versions = [];
    if (this.#inputs) { for (const t of inputs) this.#versions.push(t.storage.version); }
    if (this.#outputs) { for (const t of outputs) this.#versions.push(t.storage.version); }
    noteSaves(this.#inputs);
    noteSaves(this.#outputs);
  }

  /** Number of outputs. */
  get outputCount(): number {
    return this.#outputCount;
  }

  /** Whether backward already freed this node's saved tensors. */
  get released(): boolean {
    return this.#released;
  }

  /** Re-records saved versions after an in-place op made this node's output its target. */
  rebaseVersions(): void {
    const saved = [...(this.#inputs ?? []), ...(this.#outputs ?? [])];
    this.#versions = saved.map((t) => t.storage.version);
  }

  /**
   * Frees the saved tensors: drops the node's references, and disposes those that a trusted module
   * call made and nothing else holds (see `trustForward`), except any in `keep` (the gradients the
   * node's rule returned, should one of them be a saved tensor itself).
   */
  release(keep: readonly (Tensor | null)[] = []): void {
    const inputs = this.#inputs, outputs = this.#outputs;
    this.#inputs = null;
    this.#outputs = null;
    this.#released = true;
    releaseSaves(inputs, keep);
    releaseSaves(outputs, keep);
  }

  /**
   * Builds the context the gradient rule sees, checking saved tensors were not modified in place.
   * `needsInputGrad` narrows which inputs need a gradient (default: every input with an edge).
   */
  context(needsInputGrad?: readonly boolean[], createGraph = false): GradContext<unknown> {
    if (this.#released) {
      throw new AutogradError(
        `${this.op.name}: trying to backward through the graph a second time; its saved tensors were ` +
          `freed after the first backward (pass { retainGraph: true } to the first backward)`,
      );
    }
    const saved = [...(this.#inputs ?? []), ...(this.#outputs ?? [])];
    for (let i = 0; i < saved.length; i++) {
      if (saved[i].storage.version !== this.#versions[i]) {
        throw new AutogradError(
          `${this.op.name}: a ${
            shapeStr(saved[i].shape)
          } tensor it saved for backward was modified by an ` +
            `in-place operation (version ${saved[i].storage.version}, saved at ${
              this.#versions[i]
            })`,
        );
      }
    }
    return {
      inputs: this.#inputs ?? [],
      outputs: this.#outputs ?? [],
      inputShapes: this.inputShapes,
      inputDtypes: this.inputDtypes,
      attrs: this.attrs,
      needsInputGrad: needsInputGrad ?? this.edges.map((e) => e !== null),
      createGraph,
    };
  }
}

/**
 * Records one node for an op whose outputs were made outside dispatch, such as the views that
 * `unbind` and `split` return (dispatch makes one view per op): when gradients are recorded and
 * an input requires grad, every floating output gets the node as its `gradFn`, so the op's rule
 * receives all the outputs' gradients at once (null for an output that received none).
 */
export function recordOutputs<A>(
  op: OpDef<A>,
  inputs: readonly Tensor[],
  attrs: A,
  outputs: readonly Tensor[],
): void {
  if (outputs.length === 0 || op.differentiable === false || !isGradEnabled()) return;
  if (!inputs.some((t) => t.requiresGrad)) return;
  linkOutputs(new Node(op as OpDef<unknown>, inputs, attrs, outputs), outputs);
}

/**
 * Makes `node` the `gradFn` of each floating tensor of `outputs` (the node's outputs), which then
 * requires grad; integer and bool outputs stay out of the graph.
 */
export function linkOutputs(node: Node, outputs: readonly Tensor[]): void {
  for (let i = 0; i < outputs.length; i++) {
    const t = outputs[i];
    if (isFloating(t.dtype)) {
      t.requiresGrad = true;
      t.gradFn = node;
      t.outputIndex = i;
    }
  }
}

/** Options of {@linkcode backward}. */
export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again (implied by `createGraph`). */
  retainGraph?: boolean;
  /**
   * Record the gradient computation itself, so the gradients have a graph and can be differentiated
   * again (double backward, gradient penalties). Implies `retainGraph`.
   */
  createGraph?: boolean;
}

/**
 * Checks autograd options: an object (or undefined) whose keys are all in `allowed` and whose
 * values are booleans (or undefined); `op` names the caller. Returns the options.
 */
export function checkBooleanOptions<O extends object>(
  op: string,
  opts: O | undefined,
  allowed: readonly string[],
): O {
  const o = checkKeys(op, opts, allowed);
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && typeof v !== "boolean") {
      throw new ValueError(`${op}: ${k} must be a boolean, got ${show(v)}`);
    }
  }
  return o;
}

/**
 * Back-propagates from `root`: accumulates d(root)/d(leaf) into every leaf's `.grad`.
 * `gradient` defaults to ones for a scalar root; it must be a Tensor of the root's shape (or
 * undefined/null). With `createGraph`, the accumulated gradients carry a graph of their own (see
 * {@linkcode BackwardOptions}); options are checked (an unknown key such as PyTorch's
 * `retain_graph`, or a non-boolean value, is a ValueError).
 */
export function backward(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!(root instanceof Tensor)) {
    throw new ValueError(`backward: expected a Tensor to back-propagate from, got ${show(root)}`);
  }
  if (gradient !== undefined && gradient !== null && !(gradient instanceof Tensor)) {
    const hint = typeof gradient === "boolean"
      ? " (PyTorch's positional retain_graph is an option here: " +
        "y.backward(undefined, { retainGraph: true }))"
      : typeof gradient === "number"
      ? " (pass a tensor such as tensor(1), or nothing for a one-element tensor)"
      : "";
    throw new ValueError(
      `backward: gradient must be a Tensor of the output's shape ${
        shapeStr(root.shape)
      } (or omitted for a one-element output), got ${show(gradient)}${hint}`,
    );
  }
  options = checkBooleanOptions("backward", options, ["retainGraph", "createGraph"]);
  if (!root.requiresGrad) {
    throw new AutogradError(
      `backward: the ${shapeStr(root.shape)} tensor does not require grad and has no grad_fn ` +
        `(did you compute it under noGrad, or from tensors without requiresGrad?)`,
    );
  }
  runBackward([root], [seedGradient("backward", root, gradient)], options);
}
