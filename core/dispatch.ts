/**
 * Dispatch: for each op call, the user's route, else the inputs' backend, else the op's
 * decomposition, else another backend that can run it (moving data there and back); kernels get
 * dense inputs unless they are strided; the autograd node is recorded around it.
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import { itemSize } from "./dtype.ts";
import {
  DennError,
  DeviceError,
  DispatchError,
  DisposedError,
  OutOfMemoryError,
  PluginError,
  ValueError,
} from "./errors.ts";
import { shapeStr, sizeOf } from "./shape.ts";
import { isGradEnabled, linkOutputs, Node, withGradSync } from "./autograd.ts";
import { currentFrame } from "./context.ts";
import { Tensor, viewOf } from "./tensor.ts";
import { denseOf } from "./write.ts";
import { Storage } from "./storage.ts";
import { backends, getBackend, kernelSource, providersOf, unavailable } from "./registry.ts";
import type { Backend, KernelEntry, OpDef, TensorSpec } from "./registry.ts";
import { activeTrace, record } from "./explain.ts";
import type { TraceEntry } from "./explain.ts";
import { globalRoutes, isStrict } from "./routes.ts";
import { describeValue, providerLabel } from "./kernel_checks.ts";

// deno-lint-ignore no-explicit-any
type AnyOp = OpDef<any> & { cache?: Map<string, KernelEntry | null> };

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
    let r: true | string;
    try {
      r = k.supports(inputs, attrs, backends.get(backend)!.context);
    } catch (e) {
      throw kernelError(op.name, backend, inputs, e, "supports");
    }
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
  const host = src.downloadSync(d.storage.handle, d.dtype, d.numel());
  return wrap(dst.upload(host, t.dtype), dst, t.shape, t.dtype, target);
}

function inputsStr(inputs: readonly Tensor[]): string {
  return inputs.map((t) => `${shapeStr(t.shape)} ${t.dtype}`).join(", ") || "none";
}

function kernelLabel(op: string, backend: string): string {
  const s = kernelSource(backend, op);
  return `the ${backend} kernel` + (s ? ` from ${providerLabel(s.from)}` : "");
}

// A kernel (or its supports() check) threw: errors denn throws on purpose (ShapeError, IndexError,
// ...) keep their class; anything else is a bug in the kernel, wrapped in a PluginError naming it.
function kernelError(
  op: string,
  backend: string,
  inputs: readonly Tensor[],
  e: unknown,
  what: "kernel" | "supports",
  specs?: readonly TensorSpec[],
): unknown {
  if (e instanceof DennError) return e;
  // A host allocation that failed (the output, or a kernel's scratch) is out of memory, not a bug.
  if (
    e instanceof RangeError && /allocation failed|invalid (typed )?array length/i.test(e.message)
  ) {
    const out = specs?.map((s) => `${shapeStr(s.shape)} ${s.dtype}`).join(", ");
    const bytes = specs?.reduce((n, s) => n + sizeOf(s.shape) * itemSize(s.dtype), 0);
    return new OutOfMemoryError(
      `${op}: ${kernelLabel(op, backend)} could not allocate memory (${e.message}; inputs: ${
        inputsStr(inputs)
      }${out ? `; outputs: ${out}, ${bytes} bytes` : ""})`,
      { cause: e },
    );
  }
  const err = e as Error | undefined;
  const desc = err instanceof Error ? `${err.name}: ${err.message}` : `${describeValue(e)}`;
  return new PluginError(
    `${op}: ${what === "kernel" ? "" : "the supports() check of "}${
      kernelLabel(op, backend)
    } threw ${desc} (inputs: ${inputsStr(inputs)})`,
    { cause: e },
  );
}

// A kernel returned the wrong number of outputs (index -1) or output `index` has the wrong size.
function outputError(
  op: string,
  backend: string,
  inputs: readonly Tensor[],
  specs: readonly TensorSpec[],
  handles: unknown,
  index: number,
  got?: number,
): PluginError {
  const who = kernelLabel(op, backend);
  if (index < 0) {
    const n = Array.isArray(handles) ? `${handles.length} outputs` : describeValue(handles);
    return new PluginError(
      `${op}: ${who} returned ${n}, expected an array of ${specs.length} output handle(s) ` +
        `(${specs.map((s) => `${shapeStr(s.shape)} ${s.dtype}`).join(", ")}; inputs: ${
          inputsStr(inputs)
        })`,
    );
  }
  const s = specs[index];
  const what = Number.isNaN(got)
    ? `a handle that is not a typed array (${describeValue((handles as unknown[])[index])})`
    : `${got} elements`;
  return new PluginError(
    `${op}: ${who} returned output ${index} with ${what}, expected ${sizeOf(s.shape)} ` +
      `(${shapeStr(s.shape)} ${s.dtype}; inputs: ${inputsStr(inputs)})`,
  );
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
  declined?: readonly string[],
): Tensor[] {
  let args = inputs;
  let moved: string[] | null = null;
  // A kernel provider runs on the home backend's host arrays as they are, and its outputs belong
  // to home: nothing moves.
  const provider = via === "provider";
  if (!provider && (backend !== home || inputs.some((t) => t.device !== backend))) {
    moved = [];
    args = inputs.map((t, i) => {
      if (t.device === backend) return t;
      moved!.push(`input ${i}: ${t.device}→${backend}`);
      return moveStorage(t, backend, op.name);
    });
  }
  const b = backends.get(backend)!;
  const entry = op.cache!.get(backend)!;
  // Dense copies made here for a kernel that reads plain arrays: freed once it has run.
  let dense: Tensor[] | null = null;
  if (!entry.strided) {
    for (let i = 0; i < args.length; i++) {
      if (!args[i].isDense) {
        if (args === inputs) args = [...inputs];
        const d = denseOf(args[i]);
        (args as Tensor[])[i] = d;
        (dense ??= []).push(d);
      }
    }
  }
  let handles: unknown[];
  try {
    handles = entry.run(args, attrs, specs, b.context);
  } catch (e) {
    throw kernelError(op.name, backend, args, e, "kernel", specs);
  }
  if (!Array.isArray(handles) || handles.length !== specs.length) {
    throw outputError(op.name, backend, args, specs, handles, -1);
  }
  if (dense) {
    // A kernel may hand an input's array back as an output (in-place updates): that copy stays.
    for (const d of dense) if (!handles.includes(d.storage.handle)) d.dispose();
  }
  const handleSize = b.handleSize;
  const outs = new Array<Tensor>(specs.length);
  for (let i = 0; i < specs.length; i++) {
    const shape = specs[i].shape, size = sizeOf(shape), h = handles[i];
    if (handleSize !== undefined) {
      const got = handleSize(h);
      if (got !== size && got !== undefined) {
        throw outputError(op.name, backend, args, specs, handles, i, got);
      }
    }
    if (provider) {
      outs[i] = new Tensor(new Storage(h, backends.get(home)!, size), shape, specs[i].dtype, home);
      continue;
    }
    let t = new Tensor(new Storage(h, b, size), shape, specs[i].dtype, backend);
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
  record(trace, op.name, backend, via, inputs, moved ?? [], declined);
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
    if (isStrict()) {
      throw new DispatchError(
        `${op.name}: routed to ${routed}, which declined (strict mode): ${why}`,
      );
    }
    reasons.push(why);
  }
  if (!mixed) {
    // Kernel providers for home's tensors (blas for cpu) first, unless the op is routed to home.
    const providers = routed === home ? [] : providersOf(home);
    for (let i = 0; i < providers.length; i++) {
      const p = providers[i];
      if (p === routed) continue;
      const why = declineReason(op, p, inputs, attrs);
      if (why === null) {
        return runKernel(op, p, inputs, attrs, specs, home, "provider", trace, reasons);
      }
      // A provider without a kernel for the op is not worth a line in explain().
      if (lookup(op, p)) reasons.push(why);
    }
    const why = declineReason(op, home, inputs, attrs);
    if (why === null) {
      return runKernel(op, home, inputs, attrs, specs, home, "device", trace, reasons);
    }
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
      if (isStrict()) {
        reasons.push(`${b.name}: could run it, but strict mode forbids moving data from ${home}`);
        continue;
      }
      return runKernel(
        op,
        b.name,
        inputs,
        attrs,
        specs,
        mixed ? b.name : home,
        "fallback",
        trace,
        reasons,
      );
    }
    reasons.push(why);
  }
  for (const [name, why] of unavailable) reasons.push(`${name}: not available (${why})`);
  throw new DispatchError(
    `${op.name}: no backend can run it for inputs ${
      inputs.map((t) => `${shapeStr(t.shape)} ${t.dtype} on ${t.device}`).join(", ")
    }${isStrict() ? " (strict mode)" : ""}:\n  ${reasons.join("\n  ")}`,
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
  linkOutputs(new Node(o, inputs, attrs, outs), outs);
  return outs;
}

/** Runs a single-output op (see {@linkcode apply}). */
export function apply1<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  return apply(op, inputs, attrs)[0];
}
