/**
 * The helpers the bad-call catalogue's groups share: calls the types would refuse, and small
 * tensors, parameters and optimizers made on a given device.
 *
 * @module
 */

import { nn, ones, optim, tensor } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";

/** Calls `o[m](...a)` with arguments the types would refuse. */
export function call(o: object, m: string, ...a: unknown[]): unknown {
  return (o as Record<string, (...b: unknown[]) => unknown>)[m](...a);
}
/** Calls `f(...a)` with arguments the types would refuse. */
export function loose(f: unknown, ...a: unknown[]): unknown {
  return (f as (...b: unknown[]) => unknown)(...a);
}
/** `new C(...a)` with arguments the types would refuse. */
export function make(C: unknown, ...a: unknown[]): unknown {
  return new (C as new (...b: unknown[]) => unknown)(...a);
}
/** `v`, passed where the types would refuse it. */
export const bad = (v: unknown): never => v as never;

/** A float32 tensor of `v` on `d`. */
export const f32 = (d: string, v: unknown): Tensor => tensor(v as number[], { device: d });
/** An int32 tensor of `v` on `d`. */
export const i32 = (d: string, v: unknown): Tensor =>
  tensor(v as number[], { dtype: "int32", device: d });
/** The 2x3 float32 matrix [[1, 2, 3], [4, 5, 6]] on `d`. */
export const m23 = (d: string): Tensor => tensor([[1, 2, 3], [4, 5, 6]], { device: d });
/** A float32 leaf of `v` on `d` that requires grad. */
export const leaf = (d: string, v: number[] = [1, 2, 3]): Tensor =>
  tensor(v, { device: d, requiresGrad: true });
/** An image batch of ones on `d`, [1, 1, 4, 4] by default. */
export const img = (d: string, shape = [1, 1, 4, 4]): Tensor => ones(shape, { device: d });
/** The parameters of a fresh Linear(2, 2) on `d`. */
export const params = (d: string): Tensor[] => new nn.Linear(2, 2, { device: d }).parameters();
/** A tensor on `d`, already disposed. */
export const disposed = (d: string): Tensor => {
  const t = tensor([1, 2, 3], { device: d });
  t.dispose();
  return t;
};
/** An SGD (lr 0.1) over {@linkcode params}. */
export const sgd = (d: string): optim.SGD => new optim.SGD(params(d), { lr: 0.1 });
