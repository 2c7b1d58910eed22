/**
 * The op catalogue and the capability registry: ops are defined once (attribute schema, shape
 * inference, gradient rule, optional decomposition) and backends register kernels for them. Dispatch
 * picks, for each call: the user's route, else the inputs' backend, else the op's decomposition,
 * else another backend that can run it (moving data there and back). A trace records where each op
 * ran.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import { isFloating } from "./dtype.ts";
import { DeviceError, DispatchError, DisposedError, ValueError } from "./errors.ts";
import { shapeStr, sizeOf } from "./shape.ts";
import type { Shape } from "./shape.ts";
import { isGradEnabled, Node, withGradSync } from "./autograd.ts";
import { currentFrame, isPromise, runInFrame } from "./context.ts";
import { denseOf, Storage, Tensor, viewOf } from "./tensor.ts";
import type { Layout } from "./tensor.ts";
import { clearKernelCaches } from "./catalogue.ts";

/** Shape and dtype of an op output, as inferred before any kernel runs. */
export interface TensorSpec {
  /** Output shape. */
  shape: number[];
  /** Output dtype. */
  dtype: DType;
}

/** What a gradient rule is given. */
export interface GradContext<A> {
  /** The op's inputs (saved tensors), or empty when the op saves none. */
  readonly inputs: readonly Tensor[];
  /** The op's outputs, or empty when the op does not save them. */
  readonly outputs: readonly Tensor[];
  /** Shapes of the inputs (always kept). */
  readonly inputShapes: readonly Shape[];
  /** Dtypes of the inputs (always kept). */
  readonly inputDtypes: readonly DType[];
  /** The attributes the op ran with. */
  readonly attrs: A;
  /** Which inputs need a gradient; a rule may skip work for the others. */
  readonly needsInputGrad: readonly boolean[];
  /**
   * True when the rule runs with `createGraph` (its ops are recorded for double backward). A rule
   * that is not written with differentiable ops must then throw an `AutogradError` naming its op.
   */
  readonly createGraph: boolean;
}

/** A validator for op attributes; any zod schema fits. */
export interface AttrSchema<A> {
  /** Parses a value, returning the typed data or the issues found. */
  safeParse(value: unknown):
    | { success: true; data: A }
    | {
      success: false;
      error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
    };
}

/** Definition of an op: everything about it that does not depend on a backend. */
export interface OpDef<A = Record<string, unknown>> {
  /** Unique op name, camelCase (`"conv2d"`); plugin ops are namespaced (`"@acme/swish"`). */
  readonly name: string;
  /** Routing family: a route set for the family also applies to this op (`"conv2d"` covers its backward ops). */
  readonly family?: string;
  /** Zod schema of the attributes, checked by {@linkcode validateAttrs} at API boundaries. */
  readonly attrs?: AttrSchema<A>;
  /** Output shapes and dtypes; throws a clear error for bad input. */
  infer(inputs: readonly Tensor[], attrs: A): TensorSpec[];
  /**
   * Gradient rule written with other ops: the gradients of the inputs (null where none is needed or
   * it is zero) given those of the outputs. `gradOutput` is output 0's gradient, zeros when no
   * consumer sent one, so single-output rules need only it; `gradOutputs[i]` is output i's gradient,
   * or null when no consumer sent one (multi-output rules read it). Written with differentiable ops,
   * a rule also gives second derivatives: with `createGraph` it runs with gradient recording on.
   */
  grad?(
    ctx: GradContext<A>,
    gradOutput: Tensor,
    gradOutputs: readonly (Tensor | null)[],
  ): (Tensor | null)[];
  /** The op written with simpler ops, used where no backend has a kernel for it. */
  decompose?(inputs: readonly Tensor[], attrs: A): Tensor[];
  /** Whether the gradient rule reads the inputs (default true). */
  readonly savesInputs?: boolean;
  /** Whether the gradient rule reads the outputs (default false). */
  readonly savesOutputs?: boolean;
  /**
   * For view ops (reshape, permute, expand, slice): where output 0 reads input 0's storage. No
   * kernel runs; the output shares the input's storage.
   */
  view?(input: Tensor, attrs: A): Layout;
  /** False for ops whose outputs never carry gradients (comparisons, argmax). */
  readonly differentiable?: boolean;
}

/**
 * A backend kernel: computes the outputs' storage handles (`H`, the backend's handle type) from the
 * inputs. `context` is the backend's {@linkcode BackendDef.context} (`C`; for webgpu its device,
 * queue, allocator and pipeline cache), so a kernel from a third-party plugin needs no global
 * lookup. `A` is the op's attributes type; {@linkcode kernelFor} takes it from the op.
 */
// deno-lint-ignore no-explicit-any
export type Kernel<A = any, C = any, H = unknown> = (
  inputs: readonly Tensor[],
  attrs: A,
  outputs: readonly TensorSpec[],
  context: C,
) => H[];

/** A kernel and what it accepts. */
// deno-lint-ignore no-explicit-any
export interface KernelEntry<A = any, C = any, H = unknown> {
  /** The kernel. */
  run: Kernel<A, C, H>;
  /** Input dtypes it accepts (all if omitted). */
  dtypes?: readonly DType[];
  /** Further check: true, or the reason it declines these inputs. */
  supports?(inputs: readonly Tensor[], attrs: A, context: C): true | string;
  /**
   * The kernel reads inputs through their `offset` and `strides` (views). Without it, every input
   * it receives is dense: contiguous, at offset 0, its storage holding exactly its elements.
   */
  strided?: boolean;
}

/**
 * Registers one kernel under its op's name, with the attributes type taken from the op, so the
 * kernel's `attrs` need no annotation. The result is a one-entry table: compose a backend's table
 * by spreading several.
 *
 * @example
 * ```ts
 * import { definePlugin, kernelFor } from "./mod.ts";
 * import type { OpDef } from "./mod.ts";
 * import { map } from "../plugins/cpu/kit.ts";
 *
 * const scaleOp: OpDef<{ factor: number }> = {
 *   name: "@acme/scale",
 *   infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
 * };
 * const plugin = definePlugin({
 *   name: "@acme/scale",
 *   kind: "op",
 *   version: "1.0.0",
 *   apiVersion: 1,
 *   ops: [scaleOp],
 *   kernels: {
 *     // `factor` is typed from scaleOp: a misspelt attribute fails to type-check.
 *     cpu: kernelFor(scaleOp, {
 *       run: ([x], { factor }, out) => [map(x, (v) => v * factor, out[0])],
 *     }),
 *   },
 * });
 * ```
 */
export function kernelFor<A, C, H>(
  op: OpDef<A>,
  entry: Kernel<A, C, H> | KernelEntry<A, C, H>,
): Record<string, KernelEntry<A, C, H>> {
  return { [op.name]: typeof entry === "function" ? { run: entry } : entry };
}

/**
 * A device backend: memory management plus a table of kernels. `H` is its storage handle type
 * (what `upload` makes and kernels return: host typed arrays for cpu, `GpuBuffer` for webgpu) and
 * `C` its kernels' context; the registry stores backends type-erased.
 */
// deno-lint-ignore no-explicit-any
export interface BackendDef<H = unknown, C = any> {
  /** Device name tensors carry (`"cpu"`, `"webgpu"`). */
  readonly name: string;
  /** Handles are host typed arrays shared with other host backends, so moves copy nothing. */
  readonly hostMemory?: boolean;
  /** Order among backends tried for cross-backend fallback (lower first; cpu is 0). */
  readonly priority?: number;
  /** Creates storage holding a copy of (or, for host backends, adopting) `data`. */
  upload(data: TypedArray, dtype: DType): H;
  /** Reads storage back to the host. */
  download(handle: H, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read, where the device allows it. */
  downloadSync?(handle: H, dtype: DType, size: number): TypedArray;
  /** Releases storage. */
  free?(handle: H): void;
  /**
   * What every kernel of this backend receives as its last argument: the device, queue, allocator
   * or stream a kernel needs (webgpu: its `Gpu`; cpu: undefined).
   */
  readonly context?: C;
  /**
   * Applied to every kernel this backend gets, its own and those plugins add before or after it
   * registers: where a backend guards all kernels alike (webgpu declines float16 on adapters
   * without shader-f16).
   */
  // deno-lint-ignore no-explicit-any
  wrapKernel?(op: string, entry: KernelEntry<any, C, H>): KernelEntry<any, C, H>;
  /** Kernels by op name. */
  // deno-lint-ignore no-explicit-any
  kernels: Record<string, Kernel<any, C, H> | KernelEntry<any, C, H>>;
}

/** Backend registry entry, with normalised kernels. */
export interface Backend extends BackendDef {
  /** The kernels' context (see {@linkcode BackendDef.context}). */
  readonly context?: unknown;
  /** Normalised kernel table. */
  readonly table: Map<string, KernelEntry>;
}

// deno-lint-ignore no-explicit-any
type AnyOp = OpDef<any> & { cache?: Map<string, KernelEntry | null> };

const backends = new Map<string, Backend>();
const unavailable = new Map<string, string>();
const globalRoutes = new Map<string, string>();
let strict = false;

// The routes in force: those of the innermost route(table, fn) call, else the global table.
function activeRoutes(): Map<string, string> {
  return currentFrame()?.routes ?? globalRoutes;
}

// Where dispatch records what ran: the innermost explain(fn) call's trace, if any.
function activeTrace(): TraceEntry[] | undefined {
  return currentFrame()?.trace as TraceEntry[] | undefined;
}

// Appends one dispatched op to an explain() trace.
function record(
  trace: TraceEntry[] | undefined,
  op: string,
  backend: string,
  via: TraceEntry["via"],
  inputs: readonly Tensor[],
  moved: string[] = [],
): void {
  trace?.push({ op, backend, via, shapes: inputs.map((t) => [...t.shape]), moved });
}

export { defineOp, getOp, listOps } from "./catalogue.ts";

function entryOf(v: Kernel | KernelEntry): KernelEntry {
  return typeof v === "function" ? { run: v } : v;
}

// Methods may live on a class prototype, so they are read through the object, not its own keys.
function method<F>(def: BackendDef, key: keyof BackendDef): F | undefined {
  const f = (def as unknown as Record<string, unknown>)[key];
  return typeof f === "function" ? f.bind(def) as F : undefined;
}

/**
 * Registers a backend (normally through a backend plugin and `use()`). The definition may be a
 * plain object or a class instance. Kernels that plugins registered for this backend name before
 * it existed attach now.
 */
export function registerBackend(def: BackendDef): Backend {
  checkBackend(def);
  const wrap = method<(op: string, e: KernelEntry) => KernelEntry>(def, "wrapKernel");
  const table = new Map<string, KernelEntry>();
  const add = (k: string, v: Kernel | KernelEntry) => {
    const e = entryOf(v);
    table.set(k, wrap ? wrap(k, e) : e);
  };
  for (const [k, v] of Object.entries(def.kernels ?? {})) add(k, v);
  for (const p of pending.get(def.name) ?? []) {
    for (const [k, v] of Object.entries(p.kernels)) add(k, v);
  }
  pending.delete(def.name);
  const b: Backend = {
    name: def.name,
    hostMemory: def.hostMemory,
    priority: def.priority,
    context: def.context,
    upload: method(def, "upload")!,
    download: method(def, "download")!,
    downloadSync: method(def, "downloadSync"),
    free: method(def, "free"),
    wrapKernel: wrap,
    kernels: def.kernels ?? {},
    table,
  };
  backends.set(def.name, b);
  unavailable.delete(def.name);
  clearKernelCaches();
  return b;
}

/** Throws a clear error for a backend definition {@linkcode registerBackend} would reject. */
export function checkBackend(def: BackendDef): void {
  if (!def || typeof def !== "object" || typeof def.name !== "string" || def.name === "") {
    throw new ValueError("registerBackend: a backend needs a non-empty string name");
  }
  if (backends.has(def.name)) {
    throw new ValueError(`registerBackend: a backend named "${def.name}" is already registered`);
  }
  for (const key of ["upload", "download"] as const) {
    if (typeof def[key] !== "function") {
      throw new ValueError(`registerBackend: backend "${def.name}" has no ${key}() method`);
    }
  }
  for (const [op, k] of Object.entries(def.kernels ?? {})) {
    if (typeof k !== "function" && typeof (k as KernelEntry)?.run !== "function") {
      throw new ValueError(
        `registerBackend: backend "${def.name}": the kernel for ${op} is neither a function nor ` +
          `an entry with a run() function`,
      );
    }
  }
}

interface PendingKernels {
  readonly from: string;
  readonly kernels: Record<string, Kernel | KernelEntry>;
}
const pending = new Map<string, PendingKernels[]>();

/**
 * Adds kernels to a backend. Where the backend is not registered yet (a plugin loaded before
 * `use(await webgpu())`, or a backend that never registers here), they wait and attach when it
 * registers; `explain()` lists them meanwhile. `from` names who supplied them (a plugin).
 */
export function registerKernels(
  backend: string,
  kernels: Record<string, Kernel | KernelEntry>,
  from = "registerKernels",
): void {
  const b = backends.get(backend);
  if (!b) {
    const list = pending.get(backend) ?? [];
    list.push({ from, kernels });
    pending.set(backend, list);
    return;
  }
  for (const [k, v] of Object.entries(kernels)) {
    const e = entryOf(v);
    b.table.set(k, b.wrapKernel ? b.wrapKernel(k, e) : e);
  }
  clearKernelCaches();
}

/** Records that a backend could not register, so `explain()` can say why. */
export function markUnavailable(name: string, reason: string): void {
  if (!backends.has(name)) unavailable.set(name, reason);
}

/** Removes a backend (tests, or a backend whose device was lost). */
export function unregisterBackend(name: string): void {
  backends.delete(name);
  for (const [op, dev] of globalRoutes) if (dev === name) globalRoutes.delete(op);
  clearKernelCaches();
}

/** The backend registered under `name`; throws a clear error otherwise. */
export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (b) return b;
  const why = unavailable.get(name);
  throw new DeviceError(
    `device "${name}" is not available` + (why ? `: ${why}` : "") +
      ` (registered: ${[...backends.keys()].join(", ") || "none"}` +
      (name === "cpu" ? `; import "@denn/denn" or "@denn/denn/plugins/cpu" to register cpu)` : ")"),
  );
}

/** Whether a backend is registered. */
export function hasBackend(name: string): boolean {
  return backends.has(name);
}

/** Names of registered backends. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

/** Options of {@linkcode route}. */
export interface RouteOptions {
  /** Throw instead of falling back to another backend. */
  strict?: boolean;
}

/**
 * Routes ops (or op families) to backends. With a function, the routes apply only while it runs
 * (an async function: across its awaits, and only for it).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { route, tensor } from "./mod.ts";
 * route({ matmul: "cpu" });
 * const y = tensor([[1, 2]]).matmul(tensor([[3], [4]]));
 * route({ matmul: null }); // removes the route
 * const z = route({ matmul: "cpu" }, () => y.matmul(tensor([[1]])));
 * ```
 */
export function route(table: Record<string, string | null>): void;
/** Applies routes only while `fn` runs and returns its result. */
export function route<T>(table: Record<string, string | null>, fn: () => T): T;
export function route<T>(table: Record<string, string | null>, fn?: () => T): T | void {
  const target = fn ? new Map(activeRoutes()) : globalRoutes;
  for (const [op, dev] of Object.entries(table)) {
    if (dev === null) target.delete(op);
    else target.set(op, dev);
  }
  if (fn) return runInFrame({ routes: target }, fn);
}

/** Current routes, op → backend. */
export function getRoutes(): Record<string, string> {
  return Object.fromEntries(activeRoutes());
}

/** Turns strict dispatch on or off: in strict mode no op silently falls back to another backend. */
export function setStrict(on: boolean): void {
  strict = on;
}

/** Whether strict dispatch is on. */
export function isStrict(): boolean {
  return strict;
}

/** One dispatched op in an {@linkcode explain} trace. */
export interface TraceEntry {
  /** Op name. */
  op: string;
  /** Backend whose kernel ran, or "decomposition". */
  backend: string;
  /** Why that backend: the user's route, the inputs' device, a decomposition, or a fallback. */
  via: "route" | "device" | "decomposition" | "fallback" | "view";
  /** Input shapes. */
  shapes: number[][];
  /** Data moved between backends for this op (`"input 0: webgpu→cpu"`). */
  moved: string[];
}

/** Report of the registry's state and, with a function, of where each op ran. */
export interface Explanation<T> {
  /** Result of the traced function. */
  result: T;
  /** One entry per dispatched op, in order. */
  trace: TraceEntry[];
  /** Registered backends with the number of kernels each has. */
  backends: Record<string, number>;
  /** Backends that could not register, with the reason. */
  unavailable: Record<string, string>;
  /** Active routes. */
  routes: Record<string, string>;
  /**
   * Kernels waiting for a backend that is not registered: backend name → `"op (from plugin)"`.
   * They attach when the backend registers.
   */
  pending: Record<string, string[]>;
  /** Human-readable summary. */
  toString(): string;
}

/**
 * Explains dispatch: which backends exist, which are unavailable and why, and, when given a
 * function, which backend ran every op it called. Given an async function, it resolves once that
 * has finished, with every op the function ran across its awaits (and only those).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { explain, tensor } from "./mod.ts";
 * const { trace } = explain(() => tensor([1, 2]).add(tensor([3, 4])));
 * console.log(trace[0].backend); // "cpu"
 * ```
 */
export function explain<T>(fn: () => Promise<T>): Promise<Explanation<T>>;
/** Explains a synchronous function (or, with none, the registry alone). */
export function explain<T = undefined>(fn?: () => T): Explanation<T>;
export function explain<T>(
  fn?: () => T | Promise<T>,
): Explanation<T> | Promise<Explanation<T>> {
  const entries: TraceEntry[] = [];
  const result = fn ? runInFrame({ trace: entries }, fn) : undefined;
  if (isPromise(result)) return result.then((r) => report(r as T, entries));
  return report(result as T, entries);
}

function report<T>(result: T, entries: TraceEntry[]): Explanation<T> {
  const r = activeRoutes();
  const info = {
    result,
    trace: entries,
    backends: Object.fromEntries([...backends].map(([k, b]) => [k, b.table.size])),
    unavailable: Object.fromEntries(unavailable),
    routes: Object.fromEntries(r),
    pending: Object.fromEntries(
      [...pending].map(([b, list]) => [
        b,
        list.flatMap((p) => Object.keys(p.kernels).map((op) => `${op} (from ${p.from})`)),
      ]),
    ),
  };
  return {
    ...info,
    toString() {
      const lines = [
        `backends: ${
          Object.entries(info.backends).map(([k, n]) => `${k} (${n} kernels)`).join(", ")
        }`,
      ];
      for (const [k, why] of Object.entries(info.unavailable)) {
        lines.push(`unavailable: ${k}: ${why}`);
      }
      if (r.size) lines.push(`routes: ${JSON.stringify(info.routes)}`);
      for (const [b, list] of Object.entries(info.pending)) {
        lines.push(`pending for ${b} (not registered): ${list.join(", ")}`);
      }
      for (const e of entries) {
        lines.push(
          `${e.op} ${e.shapes.map(shapeStr).join(" ")} → ${e.backend} (${e.via})` +
            (e.moved.length ? ` moved ${e.moved.join(", ")}` : ""),
        );
      }
      return lines.join("\n");
    },
  };
}

/** Validates attributes with the op's zod schema and returns the parsed (defaulted) value. */
export function validateAttrs<A>(op: OpDef<A>, attrs: unknown): A {
  if (!op.attrs) return attrs as A;
  const r = op.attrs.safeParse(attrs);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join(".") || "attrs"}: ${i.message}`).join(
    "; ",
  );
  throw new ValueError(`${op.name}: invalid attributes: ${issues}`);
}

function lookup(op: AnyOp, backend: string): KernelEntry | null {
  let cache = op.cache;
  if (!cache) cache = op.cache = new Map();
  let k = cache.get(backend);
  if (k === undefined) {
    k = backends.get(backend)?.table.get(op.name) ?? null;
    cache.set(backend, k);
  }
  return k;
}

function declineReason(
  op: AnyOp,
  backend: string,
  inputs: readonly Tensor[],
  attrs: unknown,
): string | null {
  if (!backends.has(backend)) {
    return `${backend}: not available${
      unavailable.has(backend) ? ` (${unavailable.get(backend)})` : ""
    }`;
  }
  const k = lookup(op, backend);
  if (!k) return `${backend}: no kernel for ${op.name}`;
  if (k.dtypes) {
    for (const t of inputs) {
      if (!k.dtypes.includes(t.dtype)) {
        return `${backend}: ${op.name} does not accept dtype ${t.dtype} (accepts ${
          k.dtypes.join(", ")
        })`;
      }
    }
  }
  if (k.supports) {
    const r = k.supports(inputs, attrs, backends.get(backend)!.context);
    if (r !== true) return `${backend}: ${r}`;
  }
  return null;
}

// A new tensor over a fresh backend handle.
function wrap(
  handle: unknown,
  b: Backend,
  shape: readonly number[],
  dtype: DType,
  device: string,
): Tensor {
  return new Tensor(new Storage(handle, b, sizeOf(shape)), shape, dtype, device);
}

/** Moves a tensor's data to another backend without recording autograd (dispatch-internal). */
export function moveStorage(t: Tensor, target: string, op?: string): Tensor {
  if (t.device === target) return t;
  const src = getBackend(t.device);
  const dst = getBackend(target);
  if (src.hostMemory && dst.hostMemory) {
    const moved = viewOf(t, t.shape, t);
    (moved as { device: string }).device = target;
    moved.base = t.base;
    return moved;
  }
  if (!src.downloadSync) {
    throw new DeviceError(
      op
        ? `${op}: the ${t.device} backend has no kernel for it, and a ${
          shapeStr(t.shape)
        } ${t.dtype} input cannot be moved from ${t.device} to ${target} synchronously ` +
          `(${t.device} has no synchronous readback). Choices: route the op to a backend that ` +
          `has it with the tensor there, move the tensor first with ` +
          `"await tensor.toAsync(\"${target}\")", or register a ${t.device} kernel for ${op} ` +
          `(definePlugin({ kernels: { ${t.device}: { ${op}: ... } } }))`
        : `cannot move a ${shapeStr(t.shape)} ${t.dtype} tensor from ${t.device} to ${target} ` +
          `synchronously; use "await tensor.toAsync(\"${target}\")"`,
    );
  }
  const d = t.isDense ? t : denseOf(t);
  const host = src.downloadSync(d.storage.handle, d.dtype, d.size);
  return wrap(dst.upload(host, t.dtype), dst, t.shape, t.dtype, target);
}

function runKernel(
  op: AnyOp,
  backend: string,
  inputs: readonly Tensor[],
  attrs: unknown,
  specs: TensorSpec[],
  home: string,
  via: TraceEntry["via"],
  trace: TraceEntry[] | undefined,
): Tensor[] {
  let args = inputs;
  let moved: string[] | null = null;
  if (backend !== home || inputs.some((t) => t.device !== backend)) {
    moved = [];
    args = inputs.map((t, i) => {
      if (t.device === backend) return t;
      moved!.push(`input ${i}: ${t.device}→${backend}`);
      return moveStorage(t, backend, op.name);
    });
  }
  const b = backends.get(backend)!;
  const entry = op.cache!.get(backend)!;
  if (!entry.strided) {
    for (let i = 0; i < args.length; i++) {
      if (!args[i].isDense) {
        if (args === inputs) args = [...inputs];
        (args as Tensor[])[i] = denseOf(args[i]);
      }
    }
  }
  const handles = entry.run(args, attrs, specs, b.context);
  const outs = new Array<Tensor>(specs.length);
  for (let i = 0; i < specs.length; i++) {
    let t = wrap(handles[i], b, specs[i].shape, specs[i].dtype, backend);
    if (backend !== home) {
      moved ??= [];
      if (b.hostMemory || b.downloadSync) {
        moved.push(`output ${i}: ${backend}→${home}`);
        t = moveStorage(t, home);
      } else {
        // No synchronous readback (WebGPU): the result stays where it was computed and later ops
        // follow it there; `await t.toAsync(home)` brings it back.
        moved.push(`output ${i}: stays on ${backend} (no synchronous readback)`);
      }
    }
    outs[i] = t;
  }
  record(trace, op.name, backend, via, inputs, moved ?? []);
  return outs;
}

function dispatchNoGrad(
  op: AnyOp,
  inputs: readonly Tensor[],
  attrs: unknown,
  specs: TensorSpec[],
): Tensor[] {
  const home = inputs.length ? inputs[0].device : "cpu";
  let mixed = false;
  for (let i = 1; i < inputs.length; i++) if (inputs[i].device !== home) mixed = true;
  const frame = currentFrame();
  const routes = frame?.routes ?? globalRoutes;
  const trace = frame?.trace as TraceEntry[] | undefined;
  const routed = routes.size
    ? (routes.get(op.name) ?? (op.family ? routes.get(op.family) : undefined))
    : undefined;
  if (op.view) {
    const x = inputs[0];
    record(trace, op.name, home, "view", inputs);
    return [viewOf(x, specs[0].shape, op.view(x, attrs))];
  }
  if (mixed && !routed) {
    throw new DeviceError(
      `${op.name}: inputs are on different devices (${
        inputs.map((t, i) => `input ${i} ${shapeStr(t.shape)} on ${t.device}`).join(", ")
      }); move them with .to(device) or route the op, e.g. route({ ${op.name}: "${home}" })`,
    );
  }
  const reasons: string[] = [];
  if (routed) {
    const why = declineReason(op, routed, inputs, attrs);
    if (why === null) {
      return runKernel(op, routed, inputs, attrs, specs, mixed ? routed : home, "route", trace);
    }
    if (strict) {
      throw new DispatchError(
        `${op.name}: routed to ${routed}, which declined (strict mode): ${why}`,
      );
    }
    reasons.push(why);
  }
  if (!mixed) {
    const why = declineReason(op, home, inputs, attrs);
    if (why === null) return runKernel(op, home, inputs, attrs, specs, home, "device", trace);
    reasons.push(why);
  }
  if (op.decompose) {
    record(trace, op.name, "decomposition", "decomposition", inputs);
    return op.decompose(inputs, attrs);
  }
  const candidates = [...backends.values()]
    .filter((b) => b.name !== home && b.name !== routed)
    .sort((a, b) => (a.priority ?? 10) - (b.priority ?? 10));
  for (const b of candidates) {
    const why = declineReason(op, b.name, inputs, attrs);
    if (why === null) {
      if (strict) {
        reasons.push(`${b.name}: could run it, but strict mode forbids moving data from ${home}`);
        continue;
      }
      return runKernel(op, b.name, inputs, attrs, specs, mixed ? b.name : home, "fallback", trace);
    }
    reasons.push(why);
  }
  for (const [name, why] of unavailable) reasons.push(`${name}: not available (${why})`);
  throw new DispatchError(
    `${op.name}: no backend can run it for inputs ${
      inputs.map((t) => `${shapeStr(t.shape)} ${t.dtype} on ${t.device}`).join(", ")
    }${strict ? " (strict mode)" : ""}:\n  ${reasons.join("\n  ")}`,
  );
}

/**
 * Runs an op: infers output shapes, dispatches to a backend and records the autograd node.
 * Attributes must already be valid (see {@linkcode validateAttrs}); this is the hot path.
 */
export function apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
  const o = op as AnyOp;
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i].isReleased) {
      const t = inputs[i];
      throw new DisposedError(
        `${op.name}: input ${i} (${shapeStr(t.shape)} ${t.dtype} on ${t.device}) was disposed ` +
          `(by dispose(), a scope(), or zeroGrad() for a gradient) and cannot be used`,
      );
    }
  }
  const specs = o.infer(inputs, attrs);
  let needsGrad = false;
  if (o.differentiable !== false && isGradEnabled()) {
    for (let i = 0; i < inputs.length; i++) if (inputs[i].requiresGrad) needsGrad = true;
  }
  if (!needsGrad) return dispatchNoGrad(o, inputs, attrs, specs);
  if (!o.grad) {
    if (o.decompose) {
      record(activeTrace(), o.name, "decomposition", "decomposition", inputs);
      return o.decompose(inputs, attrs);
    }
    throw new DispatchError(`${o.name}: has no gradient rule, but an input requires grad`);
  }
  const outs = withGradSync(false, () => dispatchNoGrad(o, inputs, attrs, specs));
  const node = new Node(o, inputs, attrs, outs);
  for (let i = 0; i < outs.length; i++) {
    const t = outs[i];
    if (isFloating(t.dtype)) {
      t.requiresGrad = true;
      t.gradFn = node;
      t.outputIndex = i;
    }
  }
  return outs;
}

/** Runs a single-output op (see {@linkcode apply}). */
export function apply1<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  return apply(op, inputs, attrs)[0];
}
