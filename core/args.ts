// Argument checks of the core API, run once at its boundary so a wrong argument is a named error
// that says what was expected, never an ignored option or a failure deep inside a kernel. Internal:
// not exported from core/mod.ts.

import { DTYPES, isDType, itemSize } from "./dtype.ts";
import type { DType } from "./dtype.ts";
import { DTypeError, OutOfMemoryError, ShapeError, ValueError } from "./errors.ts";
import { shapeStr } from "./shape.ts";

/** Formats a value for an error message. */
export function show(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (typeof v === "string") return `"${v}"`;
  if (typeof v === "bigint") return `${v}n`;
  if (v !== null && typeof v === "object") return v.constructor?.name ?? "an object";
  return String(v);
}

/**
 * Checks that `opts` is undefined or a plain object whose keys are all in `allowed`; returns it
 * (or `{}`). An unknown key is a ValueError naming it, since ignoring it would be a silent wrong
 * answer (`{ keepDim: true }`, `{ dtpye: "int32" }`).
 */
export function options<T extends object>(
  op: string,
  opts: T | undefined,
  allowed: readonly string[],
): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== "object" || Array.isArray(opts)) {
    throw new ValueError(
      `${op}: options must be an object like { ${allowed[0]}: ... }, got ${show(opts)}`,
    );
  }
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) {
      throw new ValueError(
        `${op}: unknown option "${k}" (expected ${allowed.length ? allowed.join(", ") : "none"})`,
      );
    }
  }
  return opts;
}

/** Reduction options: `{ keepdim }`, or PyTorch's positional `keepdim` boolean (`sum(1, true)`). */
export function keepdimOf(
  op: string,
  opts: { keepdim?: boolean } | boolean | undefined,
  extra: readonly string[] = [],
): boolean {
  if (typeof opts === "boolean") return opts;
  const o = options(op, opts, ["keepdim", ...extra]);
  if (o.keepdim !== undefined && typeof o.keepdim !== "boolean") {
    throw new ValueError(`${op}: keepdim must be a boolean, got ${show(o.keepdim)}`);
  }
  return o.keepdim ?? false;
}

/** Requires an integer ≥ `min`. */
export function int(op: string, name: string, v: unknown, min = 0): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    const what = min === 0
      ? "a non-negative integer"
      : min === 1
      ? "a positive integer"
      : min === -Infinity
      ? "an integer"
      : `an integer >= ${min}`;
    throw new ValueError(`${op}: ${name} must be ${what}, got ${show(v)}`);
  }
  return v;
}

/** Requires a finite number. */
export function finite(op: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ValueError(`${op}: ${name} must be a finite number, got ${show(v)}`);
  }
  return v;
}

/**
 * Checks a shape argument: an array of non-negative integers. PyTorch's varargs form
 * (`zeros(2, 3)`) is not denn's; the error shows the array form. Returns a copy.
 */
export function shapeArg(op: string, shape: unknown, dtype: DType = "float32"): number[] {
  if (!Array.isArray(shape)) {
    const hint = typeof shape === "number"
      ? ` (denn takes the shape as one array: ${op}([${shape}, ...]))`
      : "";
    throw new ShapeError(
      `${op}: shape must be an array of sizes like [2, 3], got ${show(shape)}${hint}`,
    );
  }
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(
        `${op}: invalid shape ${show(shape)}; sizes must be non-negative integers`,
      );
    }
    n *= d;
  }
  if (n > Number.MAX_SAFE_INTEGER) throw outOfMemory(op, shape, dtype);
  return [...shape];
}

/** The error for an allocation of `shape` × `dtype` that cannot be made. */
export function outOfMemory(
  op: string,
  shape: readonly number[],
  dtype: DType,
  cause?: unknown,
): OutOfMemoryError {
  let n = 1;
  for (const d of shape) n *= d;
  const bytes = n * itemSize(dtype);
  return new OutOfMemoryError(
    `${op}: cannot allocate a ${
      shapeStr(shape)
    } ${dtype} tensor (${n} elements, ${bytes} bytes): ` +
      `out of host memory`,
    cause === undefined ? undefined : { cause },
  );
}

/** Checks a `dtype` option names one of denn's dtypes (PyTorch's float64/int64 are not). */
export function dtypeArg(op: string, dtype: unknown): DType | undefined {
  if (dtype === undefined || isDType(dtype)) return dtype;
  const alt = dtype === "float64" || dtype === "double"
    ? ` (use "float32")`
    : dtype === "int64" || dtype === "long"
    ? ` (use "int32")`
    : "";
  throw new DTypeError(`${op}: unknown dtype ${show(dtype)}; denn has ${DTYPES.join(", ")}${alt}`);
}

// Parameter count of a function from its source (`name(a, b = 1) {`), or null when it takes rest
// parameters or the source cannot be read.
function paramCount(f: (...args: never[]) => unknown): number | null {
  const src = Function.prototype.toString.call(f);
  const open = src.indexOf("(");
  if (open < 0) return null;
  let depth = 0, count = 0, any = false;
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) return any ? count + 1 : 0;
      depth--;
    } else if (c === "," && depth === 0) count++;
    else if (c === "." && src.startsWith("...", i) && depth === 0) return null;
    else if (!/\s/.test(c)) any = true;
  }
  return null;
}

/**
 * Wraps each method of `proto` so that a call with more arguments than the method declares throws
 * a ValueError naming it: JavaScript would drop the extra ones silently (`x.mul(2, 3)`).
 */
export function guardArity(proto: object, cls: string): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name)!;
    if (name === "constructor" || typeof d.value !== "function") continue;
    const f = d.value as (...args: unknown[]) => unknown;
    const n = paramCount(f);
    if (n === null) continue;
    const fail = (args: IArguments): never => {
      throw new ValueError(
        `${cls}.${name}: takes at most ${n} argument${n === 1 ? "" : "s"}, got ${args.length} ` +
          `(${Array.from(args, show).join(", ")})`,
      );
    };
    const guarded = wrap(f, n, fail);
    Object.defineProperty(guarded, "name", { value: name });
    Object.defineProperty(proto, name, { ...d, value: guarded });
  }
}

// Prototypes whose own methods guardSubclass has already guarded.
const guarded = new WeakSet<object>();

/**
 * Guards (see {@link guardArity}) the methods of `proto` and of its prototypes up to `base`
 * (excluded), each prototype once: a class's methods are wrapped on the first construction.
 */
export function guardSubclass(proto: object, base: object): void {
  while (proto && proto !== base && !guarded.has(proto)) {
    guarded.add(proto);
    guardArity(proto, proto.constructor.name);
    proto = Object.getPrototypeOf(proto);
  }
}

type Fn = (this: unknown, ...args: unknown[]) => unknown;

// A wrapper of `f` that refuses more than `n` arguments. Fixed-arity forms for the common counts
// forward with a plain call (cheaper per call than spreading `arguments`).
function wrap(f: Fn, n: number, fail: (args: IArguments) => never): Fn {
  switch (n) {
    case 0:
      return function (this: unknown) {
        if (arguments.length > 0) fail(arguments);
        return f.call(this);
      };
    case 1:
      return function (this: unknown, a: unknown) {
        if (arguments.length > 1) fail(arguments);
        return f.call(this, a);
      };
    case 2:
      return function (this: unknown, a: unknown, b: unknown) {
        if (arguments.length > 2) fail(arguments);
        return f.call(this, a, b);
      };
    case 3:
      return function (this: unknown, a: unknown, b: unknown, c: unknown) {
        if (arguments.length > 3) fail(arguments);
        return f.call(this, a, b, c);
      };
    default:
      return function (this: unknown) {
        if (arguments.length > n) fail(arguments);
        return Reflect.apply(f, this, arguments);
      };
  }
}
