/**
 * How tensors and modules print: `console.log(t)` and `String(t)` give PyTorch's text
 * (`tensor([[0.1234, 1.0000], ...])`, 4 decimals, scientific notation where the range needs it,
 * summarised with `...` past 1000 elements), and `console.log(model)` gives PyTorch's module tree.
 * The names follow denn: `requiresGrad=true`, `gradFn=<MulBackward>`, `dtype=float16`, and bools
 * print as `true`/`false`. A summarised tensor also shows its `size=(...)`. A tensor on a device
 * without synchronous readback (webgpu) prints its shape, dtype and device instead of its values.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { setPrintOptions, tensor } from "./mod.ts";
 * console.log(String(tensor([[0.1234, 1], [2.5, 3]])));
 * // tensor([[0.1234, 1.0000],
 * //         [2.5000, 3.0000]])
 * setPrintOptions({ precision: 2 });
 * console.log(String(tensor([1.23456]))); // tensor([1.23])
 * setPrintOptions({ profile: "default" });
 * ```
 *
 * @module
 */

import type { TypedArray } from "./dtype.ts";
import { ValueError } from "./errors.ts";
import { options as optionsOf, show } from "./args.ts";
import type { AnyModule } from "./module.ts";
import type { Tensor } from "./tensor.ts";
import { exponential, fixed, reprTuple } from "./python_repr.ts";

export { reprFloat, reprTuple } from "./python_repr.ts";

/** PyTorch's print options (`torch.set_printoptions`), with the same defaults. */
export interface PrintOptions {
  /** Digits after the decimal point (default 4). */
  precision: number;
  /** Tensors with more elements than this are summarised with `...` (default 1000). */
  threshold: number;
  /** Items shown at each end of a summarised dimension (default 3). */
  edgeitems: number;
  /** Characters per line before elements wrap (default 80). */
  linewidth: number;
  /** Force (true) or forbid (false) scientific notation; null chooses from the values. */
  sciMode: boolean | null;
}

/** Options of {@linkcode setPrintOptions}: any of {@linkcode PrintOptions}, and a profile. */
export interface SetPrintOptions extends Partial<PrintOptions> {
  /** Resets to a preset first: "default", "short" (precision 2, 2 edge items) or "full" (never summarise). */
  profile?: "default" | "short" | "full";
}

const DEFAULTS: PrintOptions = {
  precision: 4,
  threshold: 1000,
  edgeitems: 3,
  linewidth: 80,
  sciMode: null,
};
let opts: PrintOptions = { ...DEFAULTS };

/**
 * Sets how tensors print, as PyTorch's `torch.set_printoptions`: only the options given change
 * (a `profile` resets the others first).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { arange, setPrintOptions } from "./mod.ts";
 * setPrintOptions({ threshold: 5 });
 * console.log(String(arange(10, undefined, 1, { dtype: "int32" })));
 * // tensor([0, 1, 2,  ..., 7, 8, 9], size=(10,))
 * setPrintOptions({ profile: "default" });
 * ```
 */
export function setPrintOptions(options: SetPrintOptions): void {
  const o = optionsOf("setPrintOptions", options, [
    "precision",
    "threshold",
    "edgeitems",
    "linewidth",
    "sciMode",
    "profile",
  ]);
  const next: PrintOptions = { ...opts };
  if (o.profile !== undefined) {
    if (o.profile === "default") Object.assign(next, DEFAULTS);
    else if (o.profile === "short") Object.assign(next, DEFAULTS, { precision: 2, edgeitems: 2 });
    else if (o.profile === "full") Object.assign(next, DEFAULTS, { threshold: Infinity });
    else {
      throw new ValueError(
        `setPrintOptions: profile must be "default", "short" or "full", got ${show(o.profile)}`,
      );
    }
  }
  const count = (name: keyof PrintOptions, v: unknown, min: number): void => {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > 1000) {
      throw new ValueError(
        `setPrintOptions: ${name} must be an integer in [${min}, 1000], got ${show(v)}`,
      );
    }
    (next as unknown as Record<string, number>)[name] = v;
  };
  count("precision", o.precision, 0);
  count("edgeitems", o.edgeitems, 1);
  count("linewidth", o.linewidth, 1);
  if (o.threshold !== undefined) {
    if (typeof o.threshold !== "number" || !(o.threshold >= 0)) {
      throw new ValueError(
        `setPrintOptions: threshold must be a number >= 0 (Infinity never summarises), got ${
          show(o.threshold)
        }`,
      );
    }
    next.threshold = o.threshold;
  }
  if (o.sciMode !== undefined) {
    if (o.sciMode !== null && typeof o.sciMode !== "boolean") {
      throw new ValueError(
        `setPrintOptions: sciMode must be true, false or null, got ${show(o.sciMode)}`,
      );
    }
    next.sciMode = o.sciMode;
  }
  opts = next;
}

/** The current print options (a copy). */
export function getPrintOptions(): PrintOptions {
  return { ...opts };
}

// ------------------------------------------------------------ tensors

// PyTorch's _Formatter: one width and notation for all elements shown.
class Formatter {
  readonly #dtype: string;
  readonly #floating: boolean;
  readonly #p: number;
  #intMode = true;
  #sciMode = false;
  /** Characters per element. */
  width = 1;

  constructor(values: readonly number[], dtype: string, o: PrintOptions) {
    this.#dtype = dtype;
    this.#floating = dtype === "float32" || dtype === "float16";
    this.#p = o.precision;
    if (!this.#floating) {
      for (const v of values) this.width = Math.max(this.width, this.#raw(v).length);
      return;
    }
    const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
    if (finite.length === 0) return;
    let min = Infinity, max = 0;
    for (const v of finite) {
      const a = Math.abs(v);
      if (a < min) min = a;
      if (a > max) max = a;
      if (this.#intMode && !Number.isInteger(v)) this.#intMode = false;
    }
    const widest = (f: (v: number) => string, extra = 0): void => {
      for (const v of finite) this.width = Math.max(this.width, f(v).length + extra);
    };
    if (max / min > 1000 || max > 1e8 || (!this.#intMode && min < 1e-4)) {
      this.#sciMode = true;
      widest((v) => exponential(v, this.#p));
    } else if (this.#intMode) widest((v) => fixed(v, 0), 1);
    else widest((v) => fixed(v, this.#p));
    if (o.sciMode !== null) this.#sciMode = o.sciMode;
  }

  #raw(v: number): string {
    if (this.#dtype === "bool") return v ? "true" : "false";
    if (!this.#floating) return String(v);
    if (this.#sciMode) return exponential(v, this.#p);
    if (this.#intMode) return fixed(v, 0) + (Number.isFinite(v) ? "." : "");
    return fixed(v, this.#p);
  }

  /** One element, right-aligned to the common width. */
  format(v: number): string {
    return this.#raw(v).padStart(this.width);
  }
}

// The elements shown along each dimension: all of them, or the edge items around a cut ("...").
interface Shown {
  readonly index: number[];
  readonly cut: number;
}

function shownOf(n: number, summarize: boolean, edge: number): Shown {
  if (!summarize || n <= 2 * edge) {
    return { index: Array.from({ length: n }, (_, i) => i), cut: -1 };
  }
  const index = [];
  for (let i = 0; i < edge; i++) index.push(i);
  for (let i = n - edge; i < n; i++) index.push(i);
  return { index, cut: edge };
}

// Elements by storage position: a host array, where `at(offset + Σ index·stride)` is one element.
interface Elements {
  readonly at: (i: number) => number;
  readonly offset: number;
  readonly strides: readonly number[];
}

function body(
  t: Tensor,
  el: Elements,
  o: PrintOptions,
  indent: number,
  summarize: boolean,
): string {
  const shape = t.shape, nd = shape.length;
  const shown = shape.map((n) => shownOf(n, summarize, o.edgeitems));
  const values: number[] = [];
  const collect = (d: number, off: number): void => {
    if (d === nd) {
      values.push(el.at(off));
      return;
    }
    for (const i of shown[d].index) collect(d + 1, off + i * el.strides[d]);
  };
  collect(0, el.offset);
  const f = new Formatter(values, t.dtype, o);
  let k = 0;
  const next = (): string => f.format(values[k++]);
  if (nd === 0) return next();
  const rec = (d: number, ind: number): string => {
    const { index, cut } = shown[d];
    if (d === nd - 1) {
      const items = index.map(next);
      if (cut >= 0) items.splice(cut, 0, " ...");
      const perLine = Math.max(1, Math.floor((o.linewidth - ind) / (f.width + 2)));
      const lines = [];
      for (let i = 0; i < items.length; i += perLine) {
        lines.push(items.slice(i, i + perLine).join(", "));
      }
      return `[${lines.join(`,\n${" ".repeat(ind + 1)}`)}]`;
    }
    const slices = index.map(() => rec(d + 1, ind + 1));
    if (cut >= 0) slices.splice(cut, 0, "...");
    return `[${slices.join(`,${"\n".repeat(nd - d - 1)}${" ".repeat(ind + 1)}`)}]`;
  };
  return rec(0, indent);
}

function addSuffixes(
  text: string,
  suffixes: readonly string[],
  indent: number,
  o: PrintOptions,
): string {
  let out = text;
  let last = text.length - text.lastIndexOf("\n") + 1;
  for (const s of suffixes) {
    if (last + s.length + 2 > o.linewidth) {
      out += `,\n${" ".repeat(indent)}${s}`;
      last = indent + s.length;
    } else {
      out += `, ${s}`;
      last += s.length + 2;
    }
  }
  return `${out})`;
}

function gradSuffix(t: Tensor): string[] {
  if (t.gradFn) {
    const op = t.gradFn.op.name;
    return [`gradFn=<${op[0].toUpperCase()}${op.slice(1)}Backward>`];
  }
  return t.requiresGrad ? ["requiresGrad=true"] : [];
}

const PREFIX = "tensor(";

function render(t: Tensor, el: Elements | string): string {
  const o = opts, indent = PREFIX.length;
  const suffixes = t.device === "cpu" ? [] : [`device='${t.device}'`];
  const size = `size=${reprTuple(t.shape)}`;
  let text: string;
  if (typeof el === "string") {
    suffixes.push(size, `dtype=${t.dtype}`);
    text = el;
  } else if (t.numel() === 0) {
    if (t.ndim !== 1) suffixes.push(size);
    if (t.dtype !== "float32") suffixes.push(`dtype=${t.dtype}`);
    text = "[]";
  } else {
    const summarize = t.numel() > o.threshold;
    if (summarize) suffixes.push(size);
    if (t.dtype === "float16") suffixes.push(`dtype=${t.dtype}`);
    text = body(t, el, o, indent, summarize);
  }
  const out = addSuffixes(PREFIX + text, [...suffixes, ...gradSuffix(t)], indent, o);
  return t.isParameter ? `Parameter containing:\n${out}` : out;
}

// A synchronous reader of the tensor's storage, or why there is none.
function elementsSync(t: Tensor): Elements | string {
  if (t.disposed) return "<disposed>";
  const s = t.storage, b = s.backend;
  if (s.handle === null) return "<released>";
  let data: TypedArray;
  if (b.hostMemory) data = s.handle as TypedArray;
  else if (b.downloadSync) data = b.downloadSync(s.handle, t.dtype, s.size);
  else return "<async readback only: use await t.toArray()>";
  return { at: (i) => data[i], offset: t.offset, strides: t.strides };
}

/**
 * The text `console.log(t)` and `String(t)` show. Reads no more than the elements it shows and
 * runs no op; on a device without synchronous readback it shows shape, dtype and device instead.
 */
export function formatTensor(t: Tensor): string {
  return render(t, elementsSync(t));
}

/**
 * {@linkcode formatTensor} that also reads devices without synchronous readback (webgpu), so it
 * shows their values.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { formatTensorAsync, tensor } from "./mod.ts";
 * console.log(await formatTensorAsync(tensor([true, false]))); // tensor([ true, false])
 * ```
 */
export async function formatTensorAsync(t: Tensor): Promise<string> {
  const el = elementsSync(t);
  if (typeof el !== "string" || t.disposed || t.isReleased) return render(t, el);
  const data = await t.data();
  const strides: number[] = new Array(t.ndim);
  for (let d = t.ndim - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= t.shape[d];
  }
  return render(t, { at: (i) => data[i], offset: 0, strides });
}

// ------------------------------------------------------------ modules

const printing = new Set<AnyModule>();

/** PyTorch's module repr: `Name(extra)` or `Name(\n  (child): ...\n)`. */
export function formatModule(m: AnyModule): string {
  const extra = m.extraRepr();
  const lines = extra ? extra.split("\n") : [];
  const extraCount = lines.length;
  printing.add(m);
  try {
    for (const [k, child] of m.namedChildren()) {
      const s = printing.has(child) ? `<cycle: ${child.constructor.name}>` : child.toString();
      lines.push(`(${k}): ${s.split("\n").join("\n  ")}`);
    }
  } finally {
    printing.delete(m);
  }
  const name = m.constructor.name;
  if (lines.length === 0) return `${name}()`;
  if (extraCount === 1 && lines.length === 1) return `${name}(${lines[0]})`;
  return `${name}(\n  ${lines.join("\n  ")}\n)`;
}
