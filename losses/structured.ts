/**
 * `StructuredLoss`: the lecture's general loss
 *
 *     ℓ(x, y) = ε·ln Σ_ŷ exp((L(y, ŷ) + F(x, ŷ)) / ε) − F(x, y)
 *
 * over scores F [N, C] and a task loss L (a [C, C] tensor, or a function (y, ŷ) → number), computed
 * with the log-sum-exp trick. ε = 0 is the limit max_ŷ (L(y, ŷ) + F(x, ŷ)) − F(x, y), the structured
 * hinge. Special cases: ε = 1, L = 0 is the cross-entropy (multiclass logistic regression); ε = 0 with
 * the 0/1 loss is the Crammer–Singer multiclass SVM; with two classes scored F(x, ±1) = ±s/2 they
 * are the logistic loss ln(1 + e^(−ys)) (ε = 1, L = 0) and the binary hinge max(0, 1 − ys) (ε = 0,
 * 0/1 loss). The C/2‖w‖² term of the lecture is not part of the loss: it is the optimizer's weight
 * decay.
 *
 * @example
 * ```ts
 * import { StructuredLoss } from "./structured.ts";
 * import { tensor } from "../mod.ts";
 * const svm = new StructuredLoss({ epsilon: 0 }); // 0/1 task loss: the multiclass SVM
 * const loss = svm.forward(tensor([[2, 0.5, -1]]), tensor([1], { dtype: "int32" }));
 * ```
 *
 * @module
 */

import { DTypeError, gather, keep, Loss, ShapeError, tensor, ValueError } from "../core/mod.ts";
import type { Reduction, Tensor } from "../core/mod.ts";
import { arity, lossOptions, tensorArg } from "./_options.ts";

/** A task loss L(y, ŷ): a [C, C] tensor indexed [y, ŷ], or a function of the two class indices. */
export type TaskLoss = Tensor | ((y: number, yHat: number) => number);

/** Options of {@linkcode structuredLoss} and {@linkcode StructuredLoss}. */
export interface StructuredLossOptions {
  /** Temperature ε ≥ 0 (default 1); 0 takes the max (the structured hinge). */
  epsilon?: number;
  /** Task loss L(y, ŷ) (default the 0/1 loss 1[y ≠ ŷ]). */
  taskLoss?: TaskLoss | null;
  /** "mean" (default, over the batch), "sum" or "none". */
  reduction?: Reduction;
}

const OP = "structuredLoss";

/** The [C, C] task-loss matrix for `c` classes on `device`. */
function taskMatrix(task: TaskLoss | null | undefined, c: number, device: string): Tensor {
  if (task && typeof task === "object") {
    if (task.ndim !== 2 || task.shape[0] !== c || task.shape[1] !== c) {
      throw new ShapeError(
        `${OP}: taskLoss [${task.shape.join(", ")}] must be [${c}, ${c}] for ${c} classes`,
      );
    }
    if (task.dtype !== "float32") {
      throw new DTypeError(`${OP}: taskLoss must be float32, got ${task.dtype}`);
    }
    return task.device === device ? task : task.to(device);
  }
  const m = new Float32Array(c * c);
  for (let y = 0; y < c; y++) {
    for (let h = 0; h < c; h++) {
      const v = task ? task(y, h) : y === h ? 0 : 1;
      if (!Number.isFinite(v)) {
        throw new ValueError(`${OP}: taskLoss(${y}, ${h}) is ${v}, expected a finite number`);
      }
      m[y * c + h] = v;
    }
  }
  return tensor(m, { device }).reshape(c, c);
}

/**
 * The general structured loss of scores `input` [N, C] against class indices `target` (int32 [N]):
 * ε·logsumexp((L[y] + F) / ε) − F[y], or max(L[y] + F) − F[y] when ε = 0.
 *
 * @example
 * ```ts
 * import { structuredLoss } from "./structured.ts";
 * import { tensor } from "../mod.ts";
 * // ε = 1 and L = 0: the cross-entropy.
 * const ce = structuredLoss(tensor([[2, 0.5, -1]]), tensor([0], { dtype: "int32" }), {
 *   taskLoss: () => 0,
 * });
 * ```
 */
export function structuredLoss(
  input: Tensor,
  target: Tensor,
  options: StructuredLossOptions = {},
): Tensor {
  arity(OP, arguments, 3);
  tensorArg(OP, "input", input);
  tensorArg(OP, "target", target);
  options = lossOptions(OP, options, ["epsilon", "taskLoss", "reduction"]);
  const reduction = options.reduction ?? "mean";
  if (!["mean", "sum", "none"].includes(reduction)) {
    throw new ValueError(`${OP}: unknown reduction "${reduction}" (expected mean, sum, none)`);
  }
  const eps = options.epsilon ?? 1;
  if (!(eps >= 0 && Number.isFinite(eps))) {
    throw new ValueError(`${OP}: epsilon must be a finite number >= 0, got ${eps}`);
  }
  if (input.ndim !== 2) {
    throw new ShapeError(`${OP}: scores must be [N, C], got [${input.shape.join(", ")}]`);
  }
  const [n, c] = input.shape;
  if (target.dtype !== "int32") {
    throw new DTypeError(`${OP}: target must hold int32 class indices, got ${target.dtype}`);
  }
  if (target.ndim !== 1 || target.shape[0] !== n) {
    throw new ShapeError(
      `${OP}: scores [${n}, ${c}] expect target [${n}], got [${target.shape.join(", ")}]`,
    );
  }
  const task = taskMatrix(options.taskLoss, c, input.device);
  const y = target.unsqueeze(1);
  // Row y_i of L for every example: gather along dim 0 with an index constant along each row.
  const augmented = gather(task, 0, y.expand(n, c)).add(input);
  const soft = eps === 0 ? augmented.max(1).values : augmented.div(eps).logsumexp(1).mul(eps);
  const loss = soft.sub(gather(input, 1, y).squeeze(1));
  return reduction === "none" ? loss : reduction === "sum" ? loss.sum() : loss.mean();
}

/** The general structured loss (softmax-margin for ε > 0, structured hinge for ε = 0) as a module. */
export class StructuredLoss extends Loss {
  /** Options used by forward. */
  readonly options: StructuredLossOptions;
  #cache: { c: number; device: string; matrix: Tensor } | null = null;

  /** Creates the loss; an unknown `reduction` or a negative `epsilon` is an error naming the loss. */
  constructor(options: StructuredLossOptions = {}) {
    super(
      lossOptions("StructuredLoss", options, ["epsilon", "taskLoss", "reduction"]).reduction ??
        "mean",
    );
    const eps = options.epsilon ?? 1;
    if (!(eps >= 0 && Number.isFinite(eps))) {
      throw new ValueError(`StructuredLoss: epsilon must be a finite number >= 0, got ${eps}`);
    }
    this.options = options;
  }

  /** Loss of scores [N, C] against class indices (int32 [N]). */
  forward(input: Tensor, target: Tensor): Tensor {
    tensorArg("StructuredLoss.forward", "input", input);
    let taskLoss = this.options.taskLoss;
    // A function task loss is tabulated once per class count and device.
    if ((typeof taskLoss !== "object" || taskLoss === null) && input.ndim === 2) {
      const c = input.shape[1];
      if (!this.#cache || this.#cache.c !== c || this.#cache.device !== input.device) {
        // Kept: a scope() around the first forward must not dispose the cached table.
        const matrix = keep(taskMatrix(taskLoss, c, input.device));
        this.#cache = { c, device: input.device, matrix };
      }
      taskLoss = this.#cache.matrix;
    }
    return structuredLoss(input, target, {
      ...this.options,
      taskLoss,
      reduction: this.reduction,
    });
  }
}
