/**
 * The plugin author's test kit: {@linkcode gradcheck} compares a function's autograd gradients with
 * central finite differences, {@linkcode assertClose} (and {@linkcode assertCloseAsync} for
 * device tensors) compares tensors or arrays within a tolerance, and
 * {@linkcode checkBackendConformance} runs a function on a backend and on cpu, compares outputs and
 * gradients, and checks from the `explain()` trace that the backend's kernels really ran. It
 * imports only the core, so a backend or op plugin can test itself without pulling in any other
 * plugin (register cpu first to use the cpu oracle).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { assertClose, gradcheck } from "./mod.ts";
 * gradcheck((x) => x.mul(x).sin(), [tensor([0.5, -1.2, 2])]);
 * assertClose(tensor([1, 2]).add(1), [2, 3]);
 * ```
 *
 * @module
 */

import {
  apply,
  DennError,
  explain,
  fromData,
  getBackend,
  getOp,
  hasBackend,
  isStrict,
  noGrad,
  setStrict,
  shapeStr,
  Tensor,
} from "../core/mod.ts";
import type { TraceEntry } from "../core/mod.ts";

/** A check in this kit failed; the message says where and by how much. */
export class AssertionError extends DennError {
  /** Creates an assertion error; `options.cause` keeps the error that made the check fail. */
  constructor(message: string, options?: ErrorOptions) {
    super(message);
    this.name = "AssertionError";
    if (options && "cause" in options) this.cause = options.cause;
  }
}

/**
 * Asserts that `fn` throws exactly `cls` (not a subclass or another class) and that the message
 * contains every string part and matches every RegExp part: the check behind denn's "named error,
 * never a silent wrong answer" tests, for plugin authors' own argument checks.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { ShapeError, tensor } from "../core/mod.ts";
 * import { assertThrowsNamed } from "./mod.ts";
 * assertThrowsNamed(() => tensor([1, 2]).add(tensor([1, 2, 3])), ShapeError, "add: shapes [2] and [3]");
 * ```
 */
export function assertThrowsNamed(
  fn: () => unknown,
  cls: new (...args: never[]) => Error,
  ...parts: (string | RegExp)[]
): void {
  let thrown: unknown = undefined, threw = false;
  try {
    fn();
  } catch (e) {
    thrown = e;
    threw = true;
  }
  if (!threw) throw new AssertionError(`expected ${cls.name}, but nothing was thrown`);
  if (!(thrown instanceof Error) || thrown.constructor !== cls) {
    const got = thrown instanceof Error
      ? `${thrown.constructor.name}: ${thrown.message}`
      : String(thrown);
    throw new AssertionError(`expected ${cls.name}, got ${got}`);
  }
  for (const p of parts) {
    const ok = typeof p === "string" ? thrown.message.includes(p) : p.test(thrown.message);
    if (!ok) throw new AssertionError(`${cls.name} message lacks ${p}:\n  ${thrown.message}`);
  }
}

/** Tolerances: a value passes when |actual − expected| ≤ atol + rtol·|expected|. */
export interface Tolerance {
  /** Absolute tolerance. */
  atol?: number;
  /** Relative tolerance. */
  rtol?: number;
}

/** Options of {@linkcode assertClose}. */
export interface AssertCloseOptions extends Tolerance {
  /** Prefix of the failure message (which value was compared). */
  message?: string;
}

/** A value {@linkcode assertClose} compares: a tensor, flat numbers, or nested arrays. */
export type Comparable = Tensor | ArrayLike<number> | number | readonly Comparable[];

function flat(v: Comparable, out: number[] = []): number[] {
  if (typeof v === "number") out.push(v);
  else if (v instanceof Tensor) {
    const d = v.dataSync();
    for (let i = 0; i < d.length; i++) out.push(d[i]);
  } else if (Array.isArray(v)) { for (const e of v) flat(e as Comparable, out); }
  else {
    const a = v as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) out.push(Number(a[i]));
  }
  return out;
}

/**
 * Asserts `actual` is elementwise within `atol + rtol·|expected|` of `expected` (defaults 1e-6 and
 * 1e-5); NaN matches NaN and infinities must match exactly. Shapes must agree when both are
 * tensors. Tensors are read synchronously (see {@linkcode checkBackendConformance} for async
 * devices).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { assertClose } from "./mod.ts";
 * assertClose(tensor([[1, 2]]).mul(2), [[2, 4]], { atol: 0 });
 * ```
 */
export function assertClose(
  actual: Comparable,
  expected: Comparable,
  options: AssertCloseOptions = {},
): void {
  const atol = options.atol ?? 1e-6, rtol = options.rtol ?? 1e-5;
  const what = options.message ? `${options.message}: ` : "";
  if (
    actual instanceof Tensor && expected instanceof Tensor &&
    shapeStr(actual.shape) !== shapeStr(expected.shape)
  ) {
    throw new AssertionError(
      `${what}shape ${shapeStr(actual.shape)} differs from expected ${shapeStr(expected.shape)}`,
    );
  }
  const a = flat(actual), e = flat(expected);
  if (a.length !== e.length) {
    throw new AssertionError(`${what}${a.length} elements, expected ${e.length}`);
  }
  let bad = 0, worst = -1, worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = e[i];
    let ok: boolean;
    if (Number.isNaN(y)) ok = Number.isNaN(x);
    else if (!Number.isFinite(y)) ok = x === y;
    else ok = Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (!ok) {
      bad++;
      const excess = Number.isFinite(x) ? Math.abs(x - y) / (atol + rtol * Math.abs(y)) : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad) {
    throw new AssertionError(
      `${what}${bad} of ${a.length} elements differ (atol ${atol}, rtol ${rtol}); worst at flat ` +
        `index ${worst}: ${a[worst]} vs expected ${e[worst]} (|diff| ${
          Math.abs(a[worst] - e[worst])
        })`,
    );
  }
}

/** Options of {@linkcode gradcheck}. */
export interface GradcheckOptions extends Tolerance {
  /** Finite-difference step (default 1e-2; float32 forward passes need a large one). */
  eps?: number;
  /** Seed of the random upstream gradient (default 0). */
  seed?: number;
}

// A small deterministic generator so gradcheck does not touch the global one.
function lcg(seed: number): () => number {
  let s = (seed * 2654435761 + 12345) >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function dot64(t: Tensor, v: Float64Array): number {
  const d = t.dataSync();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * v[i];
  return s;
}

function single(op: string, r: Tensor | Tensor[]): Tensor {
  if (r instanceof Tensor) return r;
  if (r.length === 0) throw new AssertionError(`${op}: the function returned no tensor`);
  return r[0];
}

/**
 * Checks `fn`'s gradients against central differences. The scalar checked is Σ fn(...inputs)·v for a
 * fixed random `v`, so every output element contributes; the difference quotient is taken in
 * float64 over the float32 forward passes, using the step actually representable in float32.
 * Gradients are checked for every float32 input with `requiresGrad` (all float32 inputs when none
 * has it); other inputs (indices) are passed through. Throws an {@linkcode AssertionError} naming
 * the input and element that disagree.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { gradcheck } from "./mod.ts";
 * gradcheck((a, b) => a.matmul(b), [randn([2, 3]), randn([3, 4])]);
 * ```
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): void {
  const eps = options.eps ?? 1e-2;
  const atol = options.atol ?? 1e-2, rtol = options.rtol ?? 1e-2;
  const anyFlagged = inputs.some((t) => t.requiresGrad);
  const checked = inputs.map((t) => t.dtype === "float32" && (t.requiresGrad || !anyFlagged));
  const host = inputs.map((t) => t.dataSync());
  const fresh = (i: number, data = host[i]): Tensor =>
    fromData(data.slice(), inputs[i].shape, {
      dtype: inputs[i].dtype,
      device: inputs[i].device,
      requiresGrad: checked[i],
    });

  const leaves = inputs.map((_, i) => fresh(i));
  const out = single("gradcheck", fn(...leaves));
  const rand = lcg(options.seed ?? 0);
  const v = new Float64Array(out.numel());
  for (let i = 0; i < v.length; i++) v[i] = rand() * 2 - 1;
  if (!out.requiresGrad) {
    throw new AssertionError(
      `gradcheck: the ${shapeStr(out.shape)} output does not require grad (no differentiable path)`,
    );
  }
  out.backward(fromData(Float32Array.from(v), out.shape, { device: out.device }));

  const f = (args: Tensor[]): number => noGrad(() => dot64(single("gradcheck", fn(...args)), v));
  for (let i = 0; i < inputs.length; i++) {
    if (!checked[i]) continue;
    const analytic = leaves[i].grad ? leaves[i].grad!.dataSync() : new Float32Array(host[i].length);
    const base = host[i] as Float32Array;
    for (let j = 0; j < base.length; j++) {
      const plus = base.slice(), minus = base.slice();
      plus[j] = base[j] + eps;
      minus[j] = base[j] - eps;
      const args = inputs.map((_, k) => (k === i ? null : fresh(k)));
      args[i] = fresh(i, plus);
      const fp = f(args as Tensor[]);
      args[i] = fresh(i, minus);
      const fm = f(args as Tensor[]);
      const numeric = (fp - fm) / (plus[j] - minus[j]);
      const a = analytic[j];
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        throw new AssertionError(
          `gradcheck: input ${i} ${shapeStr(inputs[i].shape)} element ${j}: autograd gives ${a}, ` +
            `central difference gives ${numeric} (eps ${eps}, atol ${atol}, rtol ${rtol})`,
        );
      }
    }
  }
}

/**
 * {@linkcode assertClose} for tensors on any device: tensors are read back with `await t.data()`
 * (webgpu has no synchronous readback), then compared the same way.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../mod.ts";
 * import { assertCloseAsync } from "./mod.ts";
 * await assertCloseAsync(tensor([1, 2]).exp(), [Math.E, Math.E ** 2]);
 * ```
 */
export async function assertCloseAsync(
  actual: Tensor | Comparable,
  expected: Tensor | Comparable,
  options: AssertCloseOptions = {},
): Promise<void> {
  if (
    actual instanceof Tensor && expected instanceof Tensor &&
    shapeStr(actual.shape) !== shapeStr(expected.shape)
  ) {
    const what = options.message ? `${options.message}: ` : "";
    throw new AssertionError(
      `${what}shape ${shapeStr(actual.shape)} differs from expected ${shapeStr(expected.shape)}`,
    );
  }
  const read = async (v: Tensor | Comparable): Promise<Comparable> =>
    v instanceof Tensor ? await v.data() : v;
  assertClose(await read(actual), await read(expected), options);
}

/** Options of {@linkcode checkBackendConformance}. */
export interface ConformanceOptions extends Tolerance {
  /** Attributes, when an op name is given instead of a function. */
  attrs?: unknown;
  /** Also compare the gradients of every float32 input (default true). */
  grad?: boolean;
  /**
   * Forbid cross-backend fallback while the backend runs (default true). With false, ops other
   * than those in `kernels` may fall back to another backend.
   */
  strict?: boolean;
  /** Seed of the random upstream gradient (default 0). */
  seed?: number;
  /**
   * Ops that must have run as kernels of the backend (default: the op, when one is named). The
   * check fails when one of them is missing from the trace, for instance because it ran as its
   * decomposition.
   */
  kernels?: readonly string[];
  /**
   * Ops allowed to run as their decomposition on the backend (default none: a decomposition means
   * the backend's kernel did not run, and the check fails).
   */
  allowDecomposition?: readonly string[];
}

/** What {@linkcode checkBackendConformance} reports. */
export interface ConformanceReport {
  /** Where every op of the backend run, forward and backward, was dispatched. */
  trace: TraceEntry[];
}

async function readAll(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

interface Run {
  outs: number[][];
  shapes: string[];
  grads: (number[] | null)[];
  trace: TraceEntry[];
}

async function runOn(
  device: string,
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: readonly Tensor[],
  options: { grad: boolean; seed: number; strict: boolean },
): Promise<Run> {
  const host = await Promise.all(inputs.map((t) => t.data()));
  // Leaves are made on the device itself, so their gradients stay there and are read back
  // asynchronously: nothing in the run needs a synchronous read from the device.
  const leaves = inputs.map((t, i) =>
    fromData(host[i].slice(), t.shape, {
      dtype: t.dtype,
      device,
      requiresGrad: options.grad && t.dtype === "float32",
    })
  );
  const prevStrict = isStrict();
  setStrict(options.strict);
  let outsT: Tensor[];
  let trace: TraceEntry[];
  try {
    const ex = explain(() => {
      const r = fn(...leaves);
      const list = r instanceof Tensor ? [r] : r;
      if (options.grad && list[0].requiresGrad) {
        const rand = lcg(options.seed);
        const v = new Float32Array(list[0].numel());
        for (let i = 0; i < v.length; i++) v[i] = rand() * 2 - 1;
        list[0].backward(fromData(v, list[0].shape, { device: list[0].device }));
      }
      return list;
    });
    outsT = ex.result;
    trace = ex.trace;
  } finally {
    setStrict(prevStrict);
  }
  const outs = await Promise.all(outsT.map(readAll));
  const grads = await Promise.all(
    leaves.map((t) => (t.grad ? readAll(t.grad) : Promise.resolve(null))),
  );
  return { outs, shapes: outsT.map((t) => shapeStr(t.shape)), grads, trace };
}

// The kernels under test must have run on the backend: a decomposition or another backend
// computing the right numbers would otherwise pass for a missing or declining kernel.
function checkTrace(
  label: string,
  backend: string,
  trace: readonly TraceEntry[],
  allow: {
    kernels: readonly string[];
    allowDecomposition: readonly string[];
    allowFallback: boolean;
  },
): void {
  const { kernels, allowDecomposition } = allow;
  const why = (op: string): string => {
    const b = hasBackend(backend) ? getBackend(backend) : null;
    return b?.table.has(op)
      ? `${backend}'s kernel declined these inputs`
      : `${backend} has no kernel for it`;
  };
  for (const e of trace) {
    if (e.backend === "decomposition") {
      if (allowDecomposition.includes(e.op)) continue;
      throw new AssertionError(
        `${label} on ${backend}: op ${e.op} ${e.shapes.map(shapeStr).join(" ")} ran as its ` +
          `decomposition (${why(e.op)}); list it in allowDecomposition if that is intended`,
      );
    }
    if (e.backend !== backend && !allow.allowFallback) {
      throw new AssertionError(
        `${label} on ${backend}: op ${e.op} ${e.shapes.map(shapeStr).join(" ")} ran on ` +
          `${e.backend} (${e.via}${e.moved.length ? `, moved ${e.moved.join(", ")}` : ""})`,
      );
    }
  }
  for (const op of kernels) {
    if (!trace.some((e) => e.op === op && e.backend === backend && e.via !== "view")) {
      const hasKernel = hasBackend(backend) && getBackend(backend).table.has(op);
      const reason = !hasKernel
        ? why(op)
        : trace.some((e) => e.op === op)
        ? `${backend}'s kernel declined these inputs`
        : "it was never dispatched";
      throw new AssertionError(
        `${label} on ${backend}: the ${op} kernel did not run (${reason}; ops that ran: ${
          [...new Set(trace.map((e) => `${e.op} → ${e.backend}`))].join(", ") || "none"
        })`,
      );
    }
  }
}

/**
 * Runs `fn` (or the op `opName` with `options.attrs`) on `backend` and on cpu with copies of the
 * same inputs, and asserts that the outputs, and the input gradients of a fixed random upstream
 * gradient, agree within the tolerance (defaults 1e-5 absolute and relative). Inputs are made on
 * each device and everything is read back with `await`, so asynchronous backends (webgpu) work.
 *
 * It also asserts that the backend itself did the work, from the `explain()` trace of the run
 * (forward and backward): every op ran on `backend`, none as its decomposition (unless listed in
 * `allowDecomposition`), and every op in `kernels` (default: the named op) ran there. Strict mode
 * is on during the backend run, so an op the backend cannot run throws the dispatch error listing
 * each backend's reason instead of silently running on cpu.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../mod.ts";
 * import { checkBackendConformance } from "./mod.ts";
 * await checkBackendConformance("cpu", (a, b) => a.matmul(b), [randn([2, 3]), randn([3, 2])]);
 * ```
 */
export async function checkBackendConformance(
  backend: string,
  fnOrOp: string | ((...inputs: Tensor[]) => Tensor | Tensor[]),
  inputs: readonly Tensor[],
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  let fn: (...inputs: Tensor[]) => Tensor | Tensor[];
  let label: string;
  let kernels = options.kernels ?? [];
  if (typeof fnOrOp === "string") {
    const op = getOp(fnOrOp);
    if (!op) throw new AssertionError(`checkBackendConformance: no op named "${fnOrOp}"`);
    fn = (...xs) => apply(op, xs, options.attrs ?? {});
    label = fnOrOp;
    kernels = options.kernels ?? [fnOrOp];
  } else {
    fn = fnOrOp;
    label = fnOrOp.name || "function";
  }
  const run = { grad: options.grad ?? true, seed: options.seed ?? 0 };
  const tol = { atol: options.atol ?? 1e-5, rtol: options.rtol ?? 1e-5 };
  const ref = await runOn("cpu", fn, inputs, { ...run, strict: false });
  const strict = options.strict ?? true;
  const got = await runOn(backend, fn, inputs, { ...run, strict });
  checkTrace(label, backend, got.trace, {
    kernels,
    allowDecomposition: options.allowDecomposition ?? [],
    allowFallback: !strict,
  });
  if (got.outs.length !== ref.outs.length) {
    throw new AssertionError(
      `${label} on ${backend}: ${got.outs.length} outputs, cpu gives ${ref.outs.length}`,
    );
  }
  for (let i = 0; i < ref.outs.length; i++) {
    if (got.shapes[i] !== ref.shapes[i]) {
      throw new AssertionError(
        `${label} on ${backend}: output ${i} has shape ${got.shapes[i]}, cpu gives ${
          ref.shapes[i]
        }`,
      );
    }
    assertClose(got.outs[i], ref.outs[i], {
      ...tol,
      message: `${label} on ${backend}: output ${i}`,
    });
  }
  for (let i = 0; i < ref.grads.length; i++) {
    const r = ref.grads[i], g = got.grads[i];
    if (!r) continue;
    if (!g) {
      throw new AssertionError(
        `${label} on ${backend}: input ${i} got no gradient, cpu gives one`,
      );
    }
    assertClose(g, r, { ...tol, message: `${label} on ${backend}: gradient of input ${i}` });
  }
  return { trace: got.trace };
}
