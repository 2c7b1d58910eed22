/**
 * `fuse(fn)`: runs a function made only of elementwise ops as one `fusedElementwise` op, so the
 * cpu backend runs it as one generated loop and webgpu as one shader, instead of one pass over
 * memory per op. On the first call for given input shapes, dtypes and device, `fn` runs once on
 * symbolic stand-ins (tensors of a short-lived tracing backend whose kernels record each op into
 * an expression graph instead of computing it); later calls with the same device, input dtypes
 * and ranks reuse the graph.
 * Backends without a `fusedElementwise` kernel run the op's decomposition: the same primitive ops
 * `fn` calls, so nothing changes there. The gradient is one more fused op (the graph
 * differentiated symbolically with the core ops' rules), itself differentiable.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { explain, tensor } from "../core/mod.ts";
 * import { fuse } from "./fuse.ts";
 * const swish = fuse((x) => x.mul(x.sigmoid()));
 * const { result, trace } = explain(() => swish(tensor([-1, 0, 2])));
 * console.log(result.shape, trace.map((e) => e.op)); // [3] ["fusedElementwise"]
 * ```
 *
 * @module
 */

import {
  apply1,
  broadcastShapes,
  definePlugin,
  DeviceError,
  explain,
  getBackend,
  getRoutes,
  hasBackend,
  isGradEnabled,
  listOps,
  noGrad,
  registerBackend,
  route,
  shapeStr,
  Storage,
  Tensor,
  unregisterBackend,
  use,
  ValueError,
} from "../core/mod.ts";
import type { BackendDef, DType, KernelEntry, Plugin, TypedArray } from "../core/mod.ts";
import { fusedElementwiseOp, fusedOps } from "./ops/fused.ts";
import type { FusedAttrs } from "./ops/fused.ts";
import { ExprBuilder, FUSED_BINARY, FUSED_UNARY, pruneInputs } from "./ops/fused_expr.ts";
import type { FusedExpr } from "./ops/fused_expr.ts";

/** The fuse plugin (registered on import): its manifest defines the `fusedElementwise` op. */
export const fusePlugin: Plugin = use(definePlugin({
  name: "@denn/fuse",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: fusedOps,
}));

const TRACER = "@denn/fuse-tracer";
// Graphs kept per fused function; a function called with ever new shapes starts over past this.
const MAX_KEYS = 64;
let traces = 0;

/** Counters of {@linkcode fuse}: how many times a fused function was traced (all functions). */
export function fuseStats(): { traces: number } {
  return { traces };
}

// A stand-in's storage handle: the expression node it computes.
class Sym {
  constructor(readonly node: number) {}
}

interface Traced {
  expr: FusedExpr;
  used: number[];
}

function fail(msg: string, cause?: unknown): never {
  throw new ValueError(`fuse: ${msg}`, cause === undefined ? undefined : { cause });
}

function symOf(t: Tensor, op: string): number {
  const h = t.storage.handle;
  if (!(h instanceof Sym)) fail(`${op} got a tensor that is not traced`);
  if (t.base !== null || t.offset !== 0 || !t.isDense) {
    fail(`fn passes a view (reshape, expand, slice, ...) to ${op}; only elementwise ops fuse`);
  }
  return h.node;
}

function tracerBackend(b: ExprBuilder): BackendDef<Sym, undefined> {
  const kernels: Record<string, KernelEntry<unknown, undefined, Sym>> = {};
  for (const op of listOps()) {
    kernels[op] = {
      strided: true,
      run: () => fail(`fn uses ${op}, which is not an elementwise op; only elementwise ops fuse`),
    };
  }
  for (const op of [...FUSED_UNARY, ...FUSED_BINARY, "where"]) {
    kernels[op] = {
      strided: true,
      run: (inputs, _a, out) => [new Sym(b.op(op, inputs.map((t) => symOf(t, op)), out[0].dtype))],
    };
  }
  kernels.cast = {
    strided: true,
    run: (
      inputs,
      a,
    ) => [new Sym(b.op("cast", [symOf(inputs[0], "cast")], (a as { dtype: DType }).dtype))],
  };
  kernels.copy = { strided: true, run: (inputs) => [new Sym(symOf(inputs[0], "copy"))] };
  // A fused op inside fn (a fused activation): its graph is inlined into this one.
  kernels.fusedElementwise = {
    strided: true,
    run(inputs, attrs) {
      const at: number[] = [];
      for (const n of (attrs as FusedAttrs).expr.nodes) {
        if (n.op === "input") at.push(symOf(inputs[(n as { index: number }).index], "a fused op"));
        else if (n.op === "const") at.push(b.c((n as { value: number }).value, n.dtype));
        else {
          const args = (n as { args: readonly number[] }).args.map((k) => at[k]);
          at.push(b.op(n.op, args, n.dtype));
        }
      }
      return [new Sym(at[at.length - 1])];
    },
  };
  return {
    name: TRACER,
    upload(data: TypedArray, dtype: DType): Sym {
      if (data.length !== 1) {
        fail(`fn creates a ${data.length}-element constant tensor; only scalar constants fuse`);
      }
      return new Sym(b.c(data[0], dtype));
    },
    download(): Promise<TypedArray> {
      return Promise.reject(new ValueError("fuse: fn cannot read values while it is traced"));
    },
    kernels,
  };
}

function trace(fn: (...xs: Tensor[]) => unknown, inputs: readonly Tensor[]): Traced {
  traces++;
  const b = new ExprBuilder();
  const backend = registerBackend(tracerBackend(b), "@denn/fuse");
  let syms: Tensor[];
  let ex;
  try {
    syms = inputs.map((t, i) =>
      new Tensor(
        new Storage(new Sym(b.input(i, t.dtype)), backend, t.numel()),
        t.shape,
        t.dtype,
        TRACER,
      )
    );
    const clear = Object.fromEntries(Object.keys(getRoutes()).map((k) => [k, null]));
    ex = explain(() =>
      route(clear, () =>
        noGrad(() => {
          try {
            return { out: fn(...syms) };
          } catch (e) {
            return { error: e };
          }
        }))
    );
  } finally {
    unregisterBackend(TRACER);
  }
  const view = ex.trace.find((e) => e.via === "view");
  if (view) fail(`fn uses ${view.op}, a view op; only elementwise ops fuse`);
  const { out, error } = ex.result as { out?: unknown; error?: unknown };
  if (error !== undefined) {
    if (error instanceof DeviceError) {
      fail(`fn must compute from its arguments and scalar constants only: ${error.message}`, error);
    }
    throw error;
  }
  if (out instanceof Promise) fail("fn must be synchronous and return a Tensor, got a Promise");
  if (!(out instanceof Tensor)) {
    fail(`fn must return one Tensor, got ${Array.isArray(out) ? "an array" : typeof out}`);
  }
  const node = symOf(out, "the result");
  syms.forEach((s, i) => {
    if (
      !(s.storage.handle instanceof Sym) || s.storage.handle.node !== b.input(i, s.dtype) ||
      s.storage.version !== 0
    ) {
      fail(`fn writes into its argument ${i} in place; fused functions must not`);
    }
  });
  const { expr, used } = pruneInputs(b.finish(node, inputs.map((t) => t.dtype)));
  if (!used.length) fail("fn's result does not depend on its arguments");
  let shape: number[] = [...inputs[used[0]].shape];
  for (const u of used) shape = broadcastShapes("fuse", shape, inputs[u].shape);
  if (shapeStr(shape) !== shapeStr(out.shape)) {
    fail(
      `fn's constants change its result's shape (${shapeStr(out.shape)}, not the broadcast ` +
        `${shapeStr(shape)} of its arguments); only scalar constants fuse`,
    );
  }
  return { expr, used };
}

/** Options of {@linkcode fuse} and {@linkcode fusedBy}. */
export interface FuseOptions {
  /**
   * Run `fn`'s ops as they are, unfused, when gradients are recorded for inputs on a host backend
   * (cpu); default false. The fused backward recomputes the chain, and where the chain holds erf,
   * tanh or exp that costs more on cpu than the memory passes fusing saves (GELU forward+backward
   * on [4096, 1024]: 10-20% slower fused on cpu, 2-7x faster fused on webgpu). Without gradients,
   * or on other backends, the chain stays fused.
   */
  unfusedOnHostWithGrad?: boolean;
}

// Whether the call records gradients for tensors on a host backend.
function onHostWithGrad(inputs: readonly unknown[]): boolean {
  const x = inputs[0];
  if (!(x instanceof Tensor) || !isGradEnabled() || !hasBackend(x.device)) return false;
  if (!inputs.some((t) => t instanceof Tensor && t.requiresGrad)) return false;
  return getBackend(x.device).hostMemory === true;
}

/**
 * Fuses a function of tensors made only of elementwise ops (unary math, arithmetic and
 * comparisons with broadcasting, `where`, casts, scalar constants) into one op,
 * `fusedElementwise`: the cpu and webgpu backends each run it as one generated kernel, others run
 * `fn`'s ops as they are. `fn` is traced once per device and input dtypes and ranks (the graph of
 * an elementwise chain does not depend on the sizes; a later call whose shapes do not broadcast
 * is a ShapeError from `fusedElementwise`), on stand-ins, so
 * it must be a pure function of its tensor arguments: anything else (a reduction, matmul, a view
 * such as reshape, a tensor captured from outside, an in-place write, a non-tensor result) is a
 * `ValueError` naming it. Results equal the unfused ops' up to float rounding (on cpu, exactly);
 * gradients come from one more fused kernel.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor, where } from "../core/mod.ts";
 * import { fuse } from "./fuse.ts";
 * const leaky = fuse((x) => where(x.gt(0), x, x.mul(0.1)));
 * const x = tensor([-2, 3], { requiresGrad: true });
 * const y = leaky(x);
 * y.sum().backward();
 * console.log(y.toArraySync(), x.grad!.toArraySync()); // ≈ [-0.2, 3] [0.1, 1]
 * ```
 */
export function fuse<A extends Tensor[]>(
  fn: (...inputs: A) => Tensor,
  options: FuseOptions = {},
): (...inputs: A) => Tensor {
  if (typeof fn !== "function") fail(`expected a function, got ${typeof fn}`);
  if (options === null || typeof options !== "object") fail(`options must be an object`);
  for (const k of Object.keys(options)) {
    if (k !== "unfusedOnHostWithGrad") fail(`unknown option "${k}" (known: unfusedOnHostWithGrad)`);
  }
  const hostGradUnfused = options.unfusedOnHostWithGrad ?? false;
  if (typeof hostGradUnfused !== "boolean") fail(`unfusedOnHostWithGrad must be a boolean`);
  const cache = new Map<string, Traced>();
  return (...inputs: A): Tensor => {
    if (inputs.length === 0) fail("a fused function needs at least one tensor argument");
    if (hostGradUnfused && onHostWithGrad(inputs)) return fn(...inputs);
    // Called while another fused function is traced: fn's ops join that graph.
    if (inputs[0] instanceof Tensor && inputs[0].device === TRACER) return fn(...inputs);
    let key = inputs[0] instanceof Tensor ? inputs[0].device : "";
    for (let i = 0; i < inputs.length; i++) {
      const t = inputs[i];
      if (!(t instanceof Tensor)) fail(`argument ${i} must be a Tensor, got ${typeof t}`);
      key += `|${t.dtype}/${t.ndim}`;
    }
    let tr = cache.get(key);
    if (!tr) {
      if (cache.size >= MAX_KEYS) cache.clear();
      tr = trace(fn as (...xs: Tensor[]) => unknown, inputs);
      cache.set(key, tr);
    }
    const used = tr.used, args = new Array<Tensor>(used.length);
    for (let i = 0; i < used.length; i++) args[i] = inputs[used[i]];
    return apply1(fusedElementwiseOp, args, { expr: tr.expr });
  };
}

/**
 * Fused functions made per distinct constants: `fusedBy((slope) => (x) => ...)` returns a getter
 * of the fused function for given constants, made once per distinct list (at most 64 kept).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor, where } from "../core/mod.ts";
 * import { fusedBy } from "./fuse.ts";
 * const leaky = fusedBy((slope: number) => (x) => where(x.gt(0), x, x.mul(slope)));
 * console.log(leaky(0.5)(tensor([-2, 2])).toArraySync()); // [-1, 2]
 * ```
 */
export function fusedBy<K extends number[]>(
  make: (...constants: K) => (x: Tensor) => Tensor,
  options: FuseOptions = {},
): (...constants: K) => (x: Tensor) => Tensor {
  const made = new Map<string, (x: Tensor) => Tensor>();
  return (...constants: K) => {
    const key = constants.map((c) => (Object.is(c, -0) ? "-0" : String(c))).join(",");
    let f = made.get(key);
    if (!f) {
      if (made.size >= MAX_KEYS) made.clear();
      made.set(key, f = fuse(make(...constants), options));
    }
    return f;
  };
}
