/**
 * Shared helpers of the loss tests: fixture decoding, tolerance checks and central-difference
 * gradient checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { tensor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";

/** A tensor as stored in the fixture files. */
export interface Encoded {
  /** Dimensions. */
  shape: number[];
  /** Row-major values (null for NaN, which JSON cannot hold). */
  data: (number | null)[];
  /** "float32" or "int32". */
  dtype?: string;
}

/** One loss fixture case: the loss's inputs, options, output, upstream gradient and input gradient. */
export interface LossCase {
  /** Case name. */
  name: string;
  /** The loss's functional name, where a file holds several. */
  loss?: string;
  /** Options passed to the loss (tensors encoded). */
  options: Record<string, unknown>;
  /** Input (logits or predictions). */
  input: Encoded;
  /** Target. */
  target: Encoded;
  /** Expected output. */
  output: Encoded;
  /** Upstream gradient. */
  gy: Encoded;
  /** Expected gradient of the input. */
  grad: Encoded;
}

/** Builds a tensor from its fixture encoding (on `device`, default cpu). */
export function decode(e: Encoded, requiresGrad = false, device?: string): Tensor {
  const v = e.data.map((x) => x ?? NaN);
  const data = e.dtype === "int32" ? Int32Array.from(v) : Float32Array.from(v);
  return tensor(data, { shape: e.shape, requiresGrad, ...(device ? { device } : {}) });
}

/** Asserts |a − e| <= atol + rtol·|e| elementwise, NaN (or null, JSON's NaN) matching NaN. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number | null>,
  what: string,
  atol = 1e-5,
  rtol = 1e-5,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i] ?? NaN;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    assert.ok(
      Math.abs(a - e) <= atol + rtol * Math.abs(e),
      `${what}[${i}]: got ${a}, expected ${e}`,
    );
  }
}

/**
 * Compares the autograd gradient of sum(f(x)·gy) with central differences (step h) over every
 * element of x; float32 rounding needs the loose tolerance.
 */
export function gradCheck(
  f: (x: Tensor) => Tensor,
  x0: Float32Array,
  shape: number[],
  what: string,
  h = 1e-2,
  tol = 2e-3,
): void {
  const x = tensor(x0, { shape, requiresGrad: true });
  const y = f(x);
  const gy = Float32Array.from({ length: y.numel() }, (_, i) => 0.5 + 0.25 * ((i * 7) % 5));
  const gyT = tensor(gy, { shape: [...y.shape] });
  y.backward(gyT);
  const analytic = x.grad!.dataSync();
  const value = (v: Float32Array): number => {
    const out = f(tensor(v, { shape })).dataSync();
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * gy[i];
    return s;
  };
  for (let i = 0; i < x0.length; i++) {
    const plus = x0.slice(), minus = x0.slice();
    plus[i] += h;
    minus[i] -= h;
    const numeric = (value(plus) - value(minus)) / (2 * h);
    assert.ok(
      Math.abs(numeric - analytic[i]) <= tol * (1 + Math.abs(numeric)),
      `${what}: d/dx[${i}] autograd ${analytic[i]}, central difference ${numeric}`,
    );
  }
}
