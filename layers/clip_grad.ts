/**
 * Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_` (in denn:
 * `nn.utils.clipGradNorm_` and `nn.utils.clipGradValue_`). Call them between `backward()` and
 * `opt.step()`; they scale or clamp the parameters' `.grad` in place, on whatever device the
 * gradients live.
 *
 * `clipGradNorm_` computes one norm over all gradients together (as if concatenated into one
 * vector), scales every gradient by min(1, maxNorm / (norm + 1e-6)) and returns the norm as a 0-d
 * tensor on the gradients' device, without reading it back (so it costs no synchronisation on a
 * GPU). A non-finite norm (a NaN or an infinite gradient) scales the gradients by NaN or 0 as in
 * PyTorch, unless `errorIfNonfinite` is set: then it is a ValueError and the gradients are left
 * untouched. That check reads the norm on the host: on a backend without synchronous readback
 * (webgpu) use `await clipGradNormAsync_(...)`.
 *
 * @example
 * ```ts
 * import { clipGradNorm_, clipGradValue_ } from "./clip_grad.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([3, 4], { requiresGrad: true });
 * w.mul(w).sum().div(2).backward(); // grad = w = [3, 4], norm 5
 * const norm = clipGradNorm_([w], 1);
 * console.log(norm.itemSync(), w.grad!.toArraySync()); // 5 [0.6, 0.8] (about)
 * clipGradValue_([w], 0.7);
 * console.log(w.grad!.toArraySync()); // [0.6, 0.7] (about)
 * ```
 *
 * @module
 */

import {
  DeviceError,
  Module,
  noGrad,
  scalarLike,
  stack,
  Tensor,
  tensor,
  ValueError,
} from "../core/mod.ts";
import { arity, show } from "./_validate.ts";

/** Parameters whose gradients are clipped: one tensor or any iterable of them. */
export type GradParameters = Tensor | Iterable<Tensor>;

/** Options of {@linkcode clipGradNorm_}. */
export interface ClipGradNormOptions {
  /** Order p of the norm: a number > 0, or Infinity for the largest absolute value (default 2). */
  normType?: number;
  /**
   * Raise a ValueError, leaving the gradients untouched, when the total norm is NaN or infinite
   * (default false: scale by it anyway, as PyTorch does).
   */
  errorIfNonfinite?: boolean;
}

const NORM_KEYS = ["normType", "errorIfNonfinite"];

// The gradients of `parameters` that exist, after checking every argument.
function gradsOf(fn: string, parameters: unknown): Tensor[] {
  if (parameters instanceof Module) {
    throw new ValueError(
      `${fn}: parameters must be a Tensor or an iterable of Tensors, got a ${parameters.constructor.name} (a Module); pass model.parameters()`,
    );
  }
  if (parameters instanceof Tensor) parameters = [parameters];
  if (
    parameters === null || typeof parameters !== "object" ||
    typeof (parameters as Partial<Iterable<unknown>>)[Symbol.iterator] !== "function"
  ) {
    throw new ValueError(
      `${fn}: parameters must be a Tensor or an iterable of Tensors, got ${show(parameters)}`,
    );
  }
  const grads: Tensor[] = [];
  let i = 0;
  for (const p of parameters as Iterable<unknown>) {
    if (!(p instanceof Tensor)) {
      throw new ValueError(
        `${fn}: parameters must be Tensors, but parameter ${i} is ${show(p)}` +
          (Array.isArray(p) && p.length === 2 && typeof p[0] === "string"
            ? " (a [name, Tensor] pair: pass model.parameters())"
            : ""),
      );
    }
    if (p.grad) grads.push(p.grad);
    i++;
  }
  const device = grads[0]?.device;
  const other = grads.find((g) => g.device !== device);
  if (other) {
    throw new DeviceError(
      `${fn}: the gradients are on several devices (${device} and ${other.device}); move the ` +
        `parameters to one device`,
    );
  }
  return grads;
}

// ‖x‖_p of one tensor (as a 0-d tensor), as torch.norm(x, p).
function vectorNorm(x: Tensor, p: number): Tensor {
  if (p === 2) return x.mul(x).sum().sqrt();
  if (p === 1) return x.abs().sum();
  return x.abs().pow(p).sum().pow(1 / p);
}

interface NormArgs {
  grads: Tensor[];
  maxNorm: number;
  normType: number;
  errorIfNonfinite: boolean;
}

function normArgs(
  fn: string,
  args: IArguments,
  parameters: unknown,
  maxNorm: unknown,
  options: unknown,
  errorIfNonfinite: unknown,
): NormArgs {
  arity(fn, args, 4);
  let o: ClipGradNormOptions;
  if (typeof options === "number") {
    // PyTorch's positional form: (parameters, max_norm, norm_type, error_if_nonfinite).
    o = { normType: options, errorIfNonfinite: errorIfNonfinite as boolean | undefined };
  } else {
    if (errorIfNonfinite !== undefined) {
      throw new ValueError(
        `${fn}: got ${show(errorIfNonfinite)} after the options object; pass errorIfNonfinite ` +
          `in it ({ normType, errorIfNonfinite })`,
      );
    }
    if (options === undefined) o = {};
    else if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new ValueError(
        `${fn}: options must be an object like { normType: 2 } or a norm type, got ${
          show(options)
        }`,
      );
    } else {
      for (const k of Object.keys(options)) {
        if (!NORM_KEYS.includes(k)) {
          throw new ValueError(
            `${fn}: unknown option "${k}" (expected ${NORM_KEYS.join(", ")})`,
          );
        }
      }
      o = options as ClipGradNormOptions;
    }
  }
  if (typeof maxNorm !== "number" || !(maxNorm >= 0)) {
    throw new ValueError(
      `${fn}: maxNorm must be a number >= 0 (Infinity only measures the norm), got ${
        show(maxNorm)
      }`,
    );
  }
  const normType = o.normType ?? 2;
  if (typeof normType !== "number" || !(normType > 0)) {
    throw new ValueError(
      `${fn}: normType must be a number > 0, or Infinity for the largest absolute value, got ${
        show(normType)
      }`,
    );
  }
  const err = o.errorIfNonfinite ?? false;
  if (typeof err !== "boolean") {
    throw new ValueError(`${fn}: errorIfNonfinite must be a boolean, got ${show(err)}`);
  }
  return { grads: gradsOf(fn, parameters), maxNorm, normType, errorIfNonfinite: err };
}

// One norm over all gradients, in PyTorch's order: each gradient's norm, then the norm of those.
function totalNorm({ grads, normType }: NormArgs): Tensor {
  if (normType === Infinity) {
    // An empty gradient has no largest value; its norm is 0, which never wins the max.
    const norms = grads.filter((g) => g.numel() > 0).map((g) => g.abs().max());
    if (norms.length === 0) return scalarLike(0, grads[0]);
    return norms.length === 1 ? norms[0] : stack(norms).max();
  }
  return vectorNorm(stack(grads.map((g) => vectorNorm(g, normType))), normType);
}

function nonfinite(fn: string, a: NormArgs, value: number): ValueError {
  return new ValueError(
    `${fn}: the total norm of order ${a.normType} of the gradients is ${value}, so it cannot be ` +
      `clipped (a NaN or infinite gradient); the gradients are left as they are. To scale them ` +
      `by the non-finite norm anyway, as PyTorch does by default, leave errorIfNonfinite false`,
  );
}

// grad ← grad · min(1, maxNorm / (norm + 1e-6)), with PyTorch's rounding (maxNorm / x is
// x.reciprocal() · maxNorm in PyTorch).
function scale(a: NormArgs, total: Tensor): void {
  const coef = total.add(1e-6).reciprocal().mul(a.maxNorm).clamp({ max: 1 });
  for (const g of a.grads) g.mul_(coef.dtype === g.dtype ? coef : coef.cast(g.dtype));
}

/**
 * Scales the parameters' gradients in place so that their total p-norm is at most `maxNorm`, and
 * returns that norm (measured before clipping) as a 0-d tensor on the gradients' device
 * (`torch.nn.utils.clip_grad_norm_`). Parameters without a gradient are skipped; with no gradient
 * at all the result is 0. PyTorch's positional form is accepted:
 * `clipGradNorm_(params, maxNorm, normType, errorIfNonfinite)`.
 *
 * @example
 * ```ts
 * import { clipGradNorm_ } from "./clip_grad.ts";
 * import { nn, randn } from "../mod.ts";
 * const model = new nn.Linear(4, 2);
 * model.forward(randn([8, 4])).sum().backward();
 * const norm = clipGradNorm_(model.parameters(), 0.5);
 * console.log(norm.itemSync() > 0); // true
 * ```
 */
export function clipGradNorm_(
  parameters: GradParameters,
  maxNorm: number,
  options?: ClipGradNormOptions,
): Tensor;
/** PyTorch's positional form: `clipGradNorm_(params, maxNorm, normType, errorIfNonfinite)`. */
export function clipGradNorm_(
  parameters: GradParameters,
  maxNorm: number,
  normType: number,
  errorIfNonfinite?: boolean,
): Tensor;
export function clipGradNorm_(
  parameters: GradParameters,
  maxNorm: number,
  options?: ClipGradNormOptions | number,
  errorIfNonfinite?: boolean,
): Tensor {
  const fn = "clipGradNorm_";
  const a = normArgs(fn, arguments, parameters, maxNorm, options, errorIfNonfinite);
  if (a.grads.length === 0) return tensor(0);
  return noGrad(() => {
    const total = totalNorm(a);
    if (a.errorIfNonfinite) {
      let v: number;
      try {
        v = total.itemSync();
      } catch (e) {
        if (!(e instanceof DeviceError)) throw e;
        throw new DeviceError(
          `${fn}: errorIfNonfinite reads the norm on the host, and ${total.device} cannot read ` +
            `synchronously; use "await clipGradNormAsync_(...)"`,
          { cause: e },
        );
      }
      if (!Number.isFinite(v)) throw nonfinite(fn, a, v);
    }
    scale(a, total);
    return total;
  });
}

/**
 * {@linkcode clipGradNorm_} for any device, reading the norm back asynchronously when
 * `errorIfNonfinite` is set (on webgpu the synchronous form cannot check it). Without
 * `errorIfNonfinite` it is the same as the synchronous form.
 *
 * @example
 * ```ts
 * import { clipGradNormAsync_ } from "./clip_grad.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1, NaN], { requiresGrad: true });
 * w.mul(w).sum().backward(); // grad [2, NaN]
 * await clipGradNormAsync_([w], 1, { errorIfNonfinite: true }).catch((e) => console.log(e.name));
 * // ValueError
 * ```
 */
export async function clipGradNormAsync_(
  parameters: GradParameters,
  maxNorm: number,
  options?: ClipGradNormOptions | number,
  errorIfNonfinite?: boolean,
): Promise<Tensor> {
  const fn = "clipGradNormAsync_";
  const a = normArgs(fn, arguments, parameters, maxNorm, options, errorIfNonfinite);
  if (a.grads.length === 0) return tensor(0);
  const total = noGrad(() => totalNorm(a));
  if (a.errorIfNonfinite) {
    const v = await total.item();
    if (!Number.isFinite(v)) throw nonfinite(fn, a, v);
  }
  noGrad(() => scale(a, total));
  return total;
}

/**
 * Clamps every parameter's gradient into [−clipValue, clipValue] in place
 * (`torch.nn.utils.clip_grad_value_`); NaN gradients stay NaN. Parameters without a gradient are
 * skipped.
 *
 * @example
 * ```ts
 * import { clipGradValue_ } from "./clip_grad.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1, -2, 3], { requiresGrad: true });
 * w.mul(w).sum().backward(); // grad [2, -4, 6]
 * clipGradValue_(w, 3);
 * console.log(w.grad!.toArraySync()); // [2, -3, 3]
 * ```
 */
export function clipGradValue_(parameters: GradParameters, clipValue: number): void {
  const fn = "clipGradValue_";
  arity(fn, arguments, 2);
  if (typeof clipValue !== "number" || !(clipValue >= 0)) {
    throw new ValueError(`${fn}: clipValue must be a number >= 0, got ${show(clipValue)}`);
  }
  const grads = gradsOf(fn, parameters);
  noGrad(() => {
    for (const g of grads) g.clamp_(-clipValue, clipValue);
  });
}
