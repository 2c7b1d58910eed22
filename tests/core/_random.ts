// Test inputs for finite-difference checks, shared by the gradient test files.
import { maxPool2x2Attrs } from "../../layers/ops/conv_pool.ts";
import type { Pool2dAttrs } from "../../layers/mod.ts";
import { fromData } from "../../mod.ts";
import type { Generator, Tensor } from "../../mod.ts";

/** Range and a keep-away band around 0 (where kinks like relu's would spoil a difference). */
export interface RandOpts {
  lo?: number;
  hi?: number;
  away?: number;
}

/** Normal samples (or uniform in [lo, hi)), moved at least `away` from 0. */
export function randTensor(gen: Generator, shape: number[], o: RandOpts = {}): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = o.lo !== undefined ? o.lo + (o.hi! - o.lo) * gen.uniform() : gen.normal();
    if (o.away && Math.abs(v) < o.away) v = v < 0 ? v - o.away : v + o.away;
    a[i] = v;
  }
  return fromData(a, shape);
}

/** Distinct values 0.1 apart in random order: no ties within a finite-difference step. */
export function distinctTensor(gen: Generator, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return fromData(Float32Array.from(v), shape);
}

/**
 * The differentiable unary ops with input ranges where they and their first two derivatives are
 * smooth, shared by the first- and second-order gradient checks.
 */
export const UNARY_CASES: [string, (x: Tensor) => Tensor, RandOpts][] = [
  ["neg", (x) => x.neg(), {}],
  ["exp", (x) => x.exp(), { lo: -1, hi: 1 }],
  ["log", (x) => x.log(), { lo: 0.5, hi: 2 }],
  ["log1p", (x) => x.log1p(), { lo: -0.5, hi: 2 }],
  ["sqrt", (x) => x.sqrt(), { lo: 0.5, hi: 2 }],
  ["rsqrt", (x) => x.rsqrt(), { lo: 0.5, hi: 2 }],
  ["abs", (x) => x.abs(), { away: 0.1 }],
  ["relu", (x) => x.relu(), { away: 0.1 }],
  ["sigmoid", (x) => x.sigmoid(), {}],
  ["tanh", (x) => x.tanh(), {}],
  ["erf", (x) => x.erf(), {}],
  ["sin", (x) => x.sin(), {}],
  ["cos", (x) => x.cos(), {}],
  ["reciprocal", (x) => x.reciprocal(), { lo: 0.5, hi: 2 }],
];

/** Attributes of a 2×2, stride-2 pooling op, for calling the pooling ops' raw forms. */
export const POOL_2X2: Pool2dAttrs = maxPool2x2Attrs();
