// Shared helpers of the layer tests: tolerance checks and a finite-difference gradient check.

import assert from "node:assert/strict";
import { noGrad, tensor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";

/** |a − b| ≤ ATOL + RTOL·|b|, the tolerance used against the PyTorch goldens. */
export const ATOL = 1e-5;
/** Relative part of the tolerance. */
export const RTOL = 1e-5;

/** Asserts elementwise closeness, reporting the worst element. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  atol = ATOL,
  rtol = RTOL,
): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], b = expected[i];
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${Math.abs(actual[worst] - expected[worst])})`,
    );
  }
}

/** Host copy of a tensor's values as numbers. */
export function values(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>);
}

/**
 * Central-difference gradient check of `f` (a scalar-valued function of `x`) at `x`: the analytic
 * gradient from backward against (f(x + eps·eᵢ) − f(x − eps·eᵢ)) / 2eps, summed in float64 over
 * float32 evaluations. Checks at most `maxChecks` coordinates (spread over x) to stay fast.
 */
export function gradCheck(
  f: (x: Tensor) => Tensor,
  x0: readonly number[],
  shape: number[],
  opts: { eps?: number; atol?: number; rtol?: number; maxChecks?: number; label: string },
): void {
  const eps = opts.eps ?? 1e-2, atol = opts.atol ?? 2e-2, rtol = opts.rtol ?? 2e-2;
  const x = tensor(Float32Array.from(x0), { shape, requiresGrad: true });
  f(x).backward();
  const analytic = values(x.grad!);
  const n = x0.length;
  const step = Math.max(1, Math.floor(n / (opts.maxChecks ?? 24)));
  const evalAt = (i: number, d: number): number =>
    noGrad(() => {
      const v = Float32Array.from(x0);
      v[i] += d;
      return f(tensor(v, { shape })).itemSync();
    });
  for (let i = 0; i < n; i += step) {
    const numeric = (evalAt(i, eps) - evalAt(i, -eps)) / (2 * eps);
    const a = analytic[i];
    assert.ok(
      Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric),
      `${opts.label}: d/dx[${i}] analytic ${a}, numeric ${numeric}`,
    );
  }
}
