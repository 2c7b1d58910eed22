/**
 * The Tensor: shape, dtype, device, an opaque storage handle owned by a backend, and autograd
 * state. Methods are thin sugar over the op functions in `ops/`.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import { DTYPES, isDType, isFloating } from "./dtype.ts";
import { currentFrame, liveScopes, moduleFrames } from "./context.ts";
import {
  AutogradError,
  DeviceError,
  DisposedError,
  DTypeError,
  ShapeError,
  ValueError,
} from "./errors.ts";
import { backward, isGradEnabled, Node, withGradSync } from "./autograd.ts";
import type { BackwardOptions } from "./autograd.ts";
import type { OpDef } from "./registry.ts";
import { finalizer, release, retain, Storage } from "./storage.ts";
import { getBackend, moveStorage } from "./registry.ts";
import { full } from "./creation.ts";
import { normalizeAxes, normalizeAxis, sameShape, shapeStr, sizeOf, stridesOf } from "./shape.ts";
import * as E from "./ops/elementwise.ts";
import * as R from "./ops/reduce.ts";
import * as M from "./ops/movement.ts";
import * as V from "./ops/views.ts";
import * as L from "./ops/linalg.ts";
import * as N from "./ops/softmax.ts";
import * as S from "./ops/sort.ts";
import * as SC from "./ops/scan.ts";
import * as IX from "./ops/indexing.ts";
import * as NU from "./ops/numeric.ts";
import { denseOf, inplace, rebind } from "./write.ts";
import { dtypeArg, guardArity, keepdimOf, options, show } from "./args.ts";
import { formatTensor } from "./format.ts";

// Set by Tensor's static block: lets module functions change a tensor's private strides.
let setStrides: (t: Tensor, strides: readonly number[] | null) => void;

/**
 * Core-internal access to a tensor's module-frame bookkeeping (module_frames.ts): its state (0: not
 * made inside a trusted module call; 1: made inside the open one; 2: that call returned and the
 * tensor is reachable only through the graph; 3: handed out or kept) and how many unreleased graph
 * nodes saved it.
 */
export const frameState: {
  get(t: Tensor): number;
  set(t: Tensor, state: number): void;
  saves(t: Tensor, delta: number): number;
} = { get: () => 0, set: () => {}, saves: () => 0 };

/** Sets a tensor's layout in place (write.ts rebinds tensors to other storage; core-internal). */
export function setLayout(t: Tensor, offset: number, strides: readonly number[] | null): void {
  t.offset = offset;
  setStrides(t, strides);
}

/** Nested arrays of numbers or booleans, as accepted by {@linkcode tensor}. */
export type NestedArray = number | boolean | NestedArray[];

/** A tensor's elements as nested arrays (booleans for bool tensors). */
export type NestedResult = number | boolean | NestedResult[];

/** Options for creating tensors. */
export interface TensorOptions {
  /** Element type (default float32; int32 for an Int32Array, bool for booleans). */
  dtype?: DType;
  /** Backend name (default "cpu"). */
  device?: string;
  /** Track gradients for this leaf. */
  requiresGrad?: boolean;
}

/** Where a view reads its storage: the element offset of its first element and its strides. */
export interface Layout {
  /** Offset of the first element in the storage, in elements. */
  readonly offset: number;
  /** Elements to step in the storage per index of each dimension (0 for broadcast dims). */
  readonly strides: readonly number[];
}

/** A multi-dimensional array on a device, with autograd. */
export class Tensor {
  /** Dimensions. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Backend name holding the data. */
  readonly device: string;
  // Number of elements: numel(). (Before issue 12 a `size` field; `size()` is now PyTorch's.)
  #numel: number;
  /** Storage (shared by views). */
  storage: Storage;
  /** Whether gradients flow to or through this tensor. */
  requiresGrad = false;
  /** Accumulated gradient (leaves), after `backward()`. */
  grad: Tensor | null = null;
  /** Graph node that produced this tensor (null for leaves). */
  gradFn: Node | null = null;
  /** Which output of `gradFn` this tensor is. */
  outputIndex = 0;
  /** Set on module parameters. */
  isParameter = false;
  /** Offset of this tensor's first element in its storage (non-zero for some views). */
  offset = 0;
  /** The tensor whose storage this view shares (null unless created by a view op). */
  base: Tensor | null = null;
  /**
   * For a view, `base.gradFn` when the view was made: an in-place op on the base replaces the
   * base's history, and the view's own history then no longer describes its values (see
   * `checkFreshView` in autograd). Undefined for tensors that are not views.
   */
  baseNode: Node | null | undefined = undefined;
  #strides: readonly number[] | null = null;
  #disposed = false;
  #frame = 0;
  #saves = 0;

  static {
    setStrides = (t, strides) => {
      t.#strides = strides;
    };
    frameState.get = (t) => t.#frame;
    frameState.set = (t, state) => {
      t.#frame = state;
    };
    frameState.saves = (t, delta) => t.#saves += delta;
  }

  /**
   * Wraps storage: use the creation functions (`tensor`, `zeros`, ...). Backends use it to wrap
   * storage they made; `layout` makes a strided view of it.
   */
  constructor(
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
    device: string,
    layout?: Layout,
  ) {
    this.storage = storage;
    this.shape = shape;
    this.dtype = dtype;
    this.device = device;
    this.#numel = sizeOf(shape);
    if (layout) {
      this.offset = layout.offset;
      if (!rowMajor(shape, layout.strides)) this.#strides = layout.strides;
    }
    retain(storage);
    if (moduleFrames.open) {
      this.#frame = 1;
      moduleFrames.created.push(this);
    }
    if (storage.backend.free) {
      // Host arrays go with the garbage collector anyway: the safety net is for device memory.
      if (!storage.backend.hostMemory) finalizer.register(this, storage, this);
      if (liveScopes.count > 0) currentFrame()?.scope?.add(this);
    }
  }

  /** Wraps existing storage (used by backends and dispatch). */
  static fromStorage(
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
    device: string,
    layout?: Layout,
  ): Tensor {
    return new Tensor(storage, shape, dtype, device, layout);
  }

  /** Elements to step in the storage per index of each dimension (PyTorch's `stride()`). */
  get strides(): readonly number[] {
    return this.#strides ?? stridesOf(this.shape);
  }

  /** Whether the elements lie in row-major order without gaps (PyTorch's `is_contiguous()`). */
  isContiguous(): boolean {
    return this.#strides === null;
  }

  /**
   * Whether kernels can read this tensor's storage as a plain array of its elements: contiguous,
   * at offset 0, and covering the whole storage. Other tensors (views) are copied for kernels that
   * do not declare `strided: true`.
   */
  get isDense(): boolean {
    return this.#strides === null && this.offset === 0 && this.storage.size === this.numel();
  }

  /** A contiguous tensor with these values: this one where it is already contiguous, else a copy. */
  contiguous(): Tensor {
    return this.#strides === null ? this : M.contiguous(this);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Whether {@linkcode Tensor.dispose} was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Whether this tensor is a leaf of the graph (created by the user, not by an op). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Size of one dimension (negative counts from the end). */
  dim(i: number): number {
    return this.shape[normalizeAxis("dim", i, this.ndim)];
  }

  /** Releases this tensor's reference to its storage now (device memory returns to the pool). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.storage.backend.free) finalizer.unregister(this);
    release(this.storage);
  }

  /** `using t = ...` support. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  #check(op: string): void {
    if (this.#disposed) {
      throw new DisposedError(
        `${op}: the ${shapeStr(this.shape)} ${this.dtype} tensor on ${this.device} was disposed`,
      );
    }
  }

  // ------------------------------------------------------------ readback

  /** Copies the elements to a flat host typed array. */
  async data(): Promise<TypedArray> {
    this.#check("data");
    const t = this.#dense();
    const b = t.storage.backend;
    if (b.hostMemory) return (t.storage.handle as TypedArray).slice(0, t.numel());
    return await b.download(t.storage.handle, t.dtype, t.numel());
  }

  /** Synchronous {@linkcode Tensor.data}, where the backend can read synchronously. */
  dataSync(): TypedArray {
    this.#check("dataSync");
    const b = this.storage.backend;
    if (!b.hostMemory && !b.downloadSync) {
      throw new DeviceError(
        `dataSync: ${this.device} cannot read synchronously; use "await tensor.data()"`,
      );
    }
    const t = this.#dense();
    if (b.hostMemory) return (t.storage.handle as TypedArray).slice(0, t.numel());
    return b.downloadSync!(t.storage.handle, t.dtype, t.numel());
  }

  // A tensor over the same values whose storage holds exactly its elements, for readback.
  #dense(): Tensor {
    return this.isDense ? this : withGradSync(false, () => denseOf(this));
  }

  /** Whether this tensor's storage was released. */
  get isReleased(): boolean {
    return this.#disposed || this.storage.handle === null;
  }

  /** The elements as nested arrays. */
  async toArray(): Promise<NestedResult> {
    return nest(await this.data(), this.shape, this.dtype);
  }

  /** Synchronous {@linkcode Tensor.toArray}. */
  toArraySync(): NestedResult {
    return nest(this.dataSync(), this.shape, this.dtype);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel() !== 1) {
      throw new ShapeError(
        `item: expected a tensor with 1 element, got shape ${shapeStr(this.shape)}`,
      );
    }
    return (await this.data())[0];
  }

  /** Synchronous {@linkcode Tensor.item}. */
  itemSync(): number {
    if (this.numel() !== 1) {
      throw new ShapeError(
        `item: expected a tensor with 1 element, got shape ${shapeStr(this.shape)}`,
      );
    }
    return this.dataSync()[0];
  }

  /**
   * PyTorch's text form, `tensor([[0.1234, 1.0000], ...])` (see `setPrintOptions`); on a device
   * without synchronous readback (webgpu), the shape, dtype and device instead of the values.
   */
  toString(): string {
    return formatTensor(this);
  }

  /** What `console.log(t)` prints in Deno: the same text as {@linkcode Tensor.toString}. */
  [Symbol.for("Deno.customInspect")](): string {
    return formatTensor(this);
  }

  // ------------------------------------------------------------ autograd

  /** Back-propagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Tensor, options?: BackwardOptions): void {
    backward(this, gradient, options);
  }

  /** A tensor sharing storage (and layout) but cut from the graph. */
  detach(): Tensor {
    this.#check("detach");
    const d = new Tensor(this.storage, this.shape, this.dtype, this.device, this);
    d.base = this.base;
    return d;
  }

  /**
   * Makes this tensor hold `src`'s data, dtype and device while keeping its identity, shape and
   * autograd leaf state (PyTorch's `t.data = src`): how {@linkcode Module.half} and
   * {@linkcode Module.to} convert and move parameters that optimizers already reference. The two
   * share storage afterwards. Not recorded by autograd.
   */
  setData_(src: Tensor): this {
    this.#check("setData_");
    if (!sameShape(src.shape, this.shape)) {
      throw new ShapeError(
        `setData_: source ${shapeStr(src.shape)} must have this tensor's shape ${
          shapeStr(this.shape)
        }`,
      );
    }
    if (src.storage === this.storage && src.dtype === this.dtype && src.device === this.device) {
      return this;
    }
    if (this.requiresGrad && !isFloating(src.dtype)) {
      throw new DTypeError(`setData_: a tensor that requires grad cannot hold ${src.dtype} data`);
    }
    rebind(this, src);
    return this;
  }

  /** Sets requiresGrad in place (leaves only) and returns this. */
  requiresGrad_(on = true): this {
    if (typeof on !== "boolean") {
      throw new ValueError(`requiresGrad_: expected a boolean, got ${show(on)}`);
    }
    if (!this.isLeaf && !on) {
      throw new AutogradError("requiresGrad_: only leaf tensors can stop requiring grad");
    }
    if (on && !isFloating(this.dtype)) {
      throw new DTypeError(
        `requiresGrad_: only floating-point tensors can require grad, got ${this.dtype}`,
      );
    }
    this.requiresGrad = on;
    return this;
  }

  // ------------------------------------------------------------ devices and dtypes

  /**
   * Copies to another device (differentiable); synchronous where the source can be read
   * synchronously. Given a dtype name (`x.to("float16")`), casts as PyTorch's `x.to(dtype)`.
   */
  to(device: string): Tensor {
    if (isDType(device)) return E.cast(this, device);
    if (
      typeof device === "string" &&
      /^(float64|double|int64|long|int16|int8|uint8|half|bfloat16)$/.test(device)
    ) {
      dtypeArg("to", device);
    }
    if (typeof device !== "string") {
      throw new DeviceError(`to: expected a device name or a dtype, got ${show(device)}`);
    }
    if (device === this.device) return this;
    this.#check("to");
    getBackend(device);
    const moved = moveStorage(this, device);
    return recordMove(this, moved);
  }

  /** Copies to another device, reading back asynchronously when needed (e.g. webgpu → cpu). */
  async toAsync(device: string): Promise<Tensor> {
    if (device === this.device) return this;
    const dst = getBackend(device);
    if (this.storage.backend.hostMemory || this.storage.backend.downloadSync) {
      return this.to(device);
    }
    const host = await this.data();
    const moved = new Tensor(
      new Storage(dst.upload(host, this.dtype), dst, host.length),
      this.shape,
      this.dtype,
      device,
    );
    return recordMove(this, moved);
  }

  /** Converts dtype. */
  cast(dtype: DType): Tensor {
    return E.cast(this, dtype);
  }
  /** Converts to float32. */
  float(): Tensor {
    return E.cast(this, "float32");
  }
  /** Converts to float16 (half precision; differentiable). */
  half(): Tensor {
    return E.cast(this, "float16");
  }
  /** Converts to int32. */
  int(): Tensor {
    return E.cast(this, "int32");
  }
  /** Converts to bool. */
  bool(): Tensor {
    return E.cast(this, "bool");
  }

  // ------------------------------------------------------------ arithmetic

  /** Elementwise sum `this + alpha·other` (alpha default 1, as PyTorch's). */
  add(other: E.TensorLike, alpha?: number): Tensor {
    return E.binary("add", this, scaled("add", other, alpha));
  }
  /** Elementwise difference `this − alpha·other` (alpha default 1, as PyTorch's). */
  sub(other: E.TensorLike, alpha?: number): Tensor {
    return E.binary("sub", this, scaled("sub", other, alpha));
  }
  /** Elementwise product. */
  mul(other: E.TensorLike): Tensor {
    return E.binary("mul", this, other);
  }
  /** Elementwise true division (float result). */
  div(other: E.TensorLike): Tensor {
    return E.binary("div", this, other);
  }
  /** Elementwise power. */
  pow(other: E.TensorLike): Tensor {
    return E.binary("pow", this, other);
  }
  /** Elementwise maximum. */
  maximum(other: E.TensorLike): Tensor {
    return E.binary("maximum", this, other);
  }
  /** Elementwise minimum. */
  minimum(other: E.TensorLike): Tensor {
    return E.binary("minimum", this, other);
  }
  /**
   * Clamps into [min, max]: `clamp(0, 1)`, `clamp(null, 1)` or `clamp({ min: 0 })`. Bounds are
   * numbers or tensors that broadcast; at least one must be given.
   */
  clamp(
    min?: E.TensorLike | null | { min?: E.TensorLike | null; max?: E.TensorLike | null },
    max?: E.TensorLike | null,
  ): Tensor {
    if (min !== null && typeof min === "object" && !(min instanceof Tensor)) {
      if (max !== undefined) {
        throw new ValueError(
          `clamp: give the bounds as clamp({ min, max }) or clamp(min, max), not both`,
        );
      }
      const o = options("clamp", min, ["min", "max"]);
      [min, max] = [o.min, o.max];
    }
    const bound = (name: string, v: unknown): v is E.TensorLike => {
      if (v === undefined || v === null) return false;
      if (typeof v === "number" || typeof v === "boolean" || v instanceof Tensor) return true;
      throw new ValueError(`clamp: ${name} must be a number, a tensor or null, got ${show(v)}`);
    };
    const hasMin = bound("min", min), hasMax = bound("max", max);
    if (!hasMin && !hasMax) {
      throw new ValueError("clamp: at least one of min and max must be given");
    }
    const lo = hasMin ? this.maximum(min as E.TensorLike) : this;
    return hasMax ? lo.minimum(max as E.TensorLike) : lo;
  }
  /** Negation. */
  neg(): Tensor {
    return E.unary("neg", this);
  }
  /** Square. */
  square(): Tensor {
    return this.mul(this);
  }
  /** e^x. */
  exp(): Tensor {
    return E.unary("exp", this);
  }
  /** Natural logarithm. */
  log(): Tensor {
    return E.unary("log", this);
  }
  /** log(1 + x), accurate for small x. */
  log1p(): Tensor {
    return E.unary("log1p", this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return E.unary("sqrt", this);
  }
  /** 1 / sqrt(x). */
  rsqrt(): Tensor {
    return E.unary("rsqrt", this);
  }
  /** 1 / x. */
  reciprocal(): Tensor {
    return E.unary("reciprocal", this);
  }
  /** Absolute value. */
  abs(): Tensor {
    return E.unary("abs", this);
  }
  /** Sign (−1, 0, 1). */
  sign(): Tensor {
    return E.unary("sign", this);
  }
  /** max(0, x). */
  relu(): Tensor {
    return E.unary("relu", this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor {
    return E.unary("sigmoid", this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return E.unary("tanh", this);
  }
  /** Error function. */
  erf(): Tensor {
    return E.unary("erf", this);
  }
  /** Sine. */
  sin(): Tensor {
    return E.unary("sin", this);
  }
  /** Cosine. */
  cos(): Tensor {
    return E.unary("cos", this);
  }
  /** Round down. */
  floor(): Tensor {
    return E.unary("floor", this);
  }
  /** Round up. */
  ceil(): Tensor {
    return E.unary("ceil", this);
  }
  /** Round half to even. */
  round(): Tensor {
    return E.unary("round", this);
  }
  /** Logical not (bool result). */
  logicalNot(): Tensor {
    return E.unary("logicalNot", this);
  }

  // ------------------------------------------------------------ comparisons

  /** Elementwise ==. */
  eq(other: E.TensorLike): Tensor {
    return E.compare("eq", this, other);
  }
  /** Elementwise !=. */
  ne(other: E.TensorLike): Tensor {
    return E.compare("ne", this, other);
  }
  /** Elementwise <. */
  lt(other: E.TensorLike): Tensor {
    return E.compare("lt", this, other);
  }
  /** Elementwise <=. */
  le(other: E.TensorLike): Tensor {
    return E.compare("le", this, other);
  }
  /** Elementwise >. */
  gt(other: E.TensorLike): Tensor {
    return E.compare("gt", this, other);
  }
  /** Elementwise >=. */
  ge(other: E.TensorLike): Tensor {
    return E.compare("ge", this, other);
  }
  /** Logical and. */
  logicalAnd(other: E.TensorLike): Tensor {
    return E.compare("logicalAnd", this, other);
  }
  /** Logical or. */
  logicalOr(other: E.TensorLike): Tensor {
    return E.compare("logicalOr", this, other);
  }

  // ------------------------------------------------------------ reductions

  /** Sum over dims (all when omitted). */
  sum(dims?: number | readonly number[], options?: R.ReduceArg): Tensor {
    return R.sum(this, dims, options);
  }
  /** Mean over dims (all when omitted). */
  mean(dims?: number | readonly number[], options?: R.ReduceArg): Tensor {
    return R.mean(this, dims, options);
  }
  // -------- max/min with indices, amax/amin, sort, argsort, topk, cumsum, cumprod, prod (begin)

  /** Maximum of all elements (a 0-d tensor); NaN propagates. */
  max(): Tensor;
  /**
   * Maximum along `dim` and its int32 index (the first on ties, NaN counting as the maximum), as
   * PyTorch's `x.max(dim, keepdim)`; the gradient goes to the selected elements.
   */
  max(dim: number, keepdim?: R.ReduceArg): R.ValuesIndices;
  /** Elementwise maximum with broadcasting (PyTorch's `x.max(other)`). */
  max(other: Tensor): Tensor;
  max(dim?: number | Tensor, keepdim?: R.ReduceArg): Tensor | R.ValuesIndices {
    return R.max(this, dim as number, keepdim);
  }
  /** Minimum of all elements (a 0-d tensor); NaN propagates. */
  min(): Tensor;
  /** Minimum along `dim` and its int32 index, as PyTorch's `x.min(dim, keepdim)`. */
  min(dim: number, keepdim?: R.ReduceArg): R.ValuesIndices;
  /** Elementwise minimum with broadcasting (PyTorch's `x.min(other)`). */
  min(other: Tensor): Tensor;
  min(dim?: number | Tensor, keepdim?: R.ReduceArg): Tensor | R.ValuesIndices {
    return R.min(this, dim as number, keepdim);
  }
  /** Maximum over dims (all when omitted), a tensor; ties share the gradient (PyTorch's `amax`). */
  amax(dims?: number | readonly number[], options?: R.ReduceArg): Tensor {
    return R.amax(this, dims, options);
  }
  /** Minimum over dims (all when omitted), a tensor; ties share the gradient (PyTorch's `amin`). */
  amin(dims?: number | readonly number[], options?: R.ReduceArg): Tensor {
    return R.amin(this, dims, options);
  }
  /** Stable sort along `dim` (default -1): values and int32 indices; NaN last ascending. */
  sort(dim?: number, descending?: S.SortOptions | boolean): R.ValuesIndices {
    return S.sort(this, dim, descending);
  }
  /** The int32 indices that sort along `dim` (default -1), stably. */
  argsort(dim?: number, descending?: S.SortOptions | boolean): Tensor {
    return S.argsort(this, dim, descending);
  }
  /** The k largest (or smallest) along `dim` (default -1), with their int32 indices. */
  topk(
    k: number,
    dim?: number,
    largest?: S.TopkOptions | boolean,
    sorted?: boolean,
  ): R.ValuesIndices {
    return S.topk(this, k, dim, largest, sorted);
  }
  /** Cumulative sum along `dim`. */
  cumsum(dim: number): Tensor {
    return SC.cumsum(this, dim);
  }
  /** Cumulative product along `dim` (zero-safe gradient). */
  cumprod(dim: number): Tensor {
    return SC.cumprod(this, dim);
  }
  /** Product of all elements, or along `dim` (zero-safe gradient). */
  prod(dim?: number, keepdim?: R.ReduceArg): Tensor {
    return SC.prod(this, dim, keepdim);
  }

  // -------- max/min with indices, ... prod (end)
  /** Index of the maximum (flattened when `dim` is omitted). */
  argmax(dim?: number, options?: R.ReduceArg): Tensor {
    return R.argmax(this, dim, options);
  }
  /** Index of the minimum (flattened when `dim` is omitted). */
  argmin(dim?: number, options?: R.ReduceArg): Tensor {
    return R.argmin(this, dim, options);
  }
  /**
   * Variance over dims (all when omitted), PyTorch's forms: `var(dim, unbiased, keepdim)`,
   * `var(unbiased)`, or `var(dim, { unbiased | correction, keepdim })`. Unbiased (N − 1) by
   * default; a boolean after `dim` is `unbiased`, as in PyTorch (`var(1, true)` keeps no dim).
   */
  var(
    dims?: number | readonly number[] | boolean | null,
    unbiased?: boolean | NU.VarianceOptions,
    keepdim?: boolean,
  ): Tensor {
    const a = NU.varianceArgs("var", dims, unbiased, keepdim);
    return R.variance(this, a.dims, { correction: a.correction, keepdim: a.keepdim });
  }
  /** Standard deviation: the square root of {@linkcode var}, with the same argument forms. */
  std(
    dims?: number | readonly number[] | boolean | null,
    unbiased?: boolean | NU.VarianceOptions,
    keepdim?: boolean,
  ): Tensor {
    const a = NU.varianceArgs("std", dims, unbiased, keepdim);
    return R.variance(this, a.dims, { correction: a.correction, keepdim: a.keepdim }).sqrt();
  }
  /** log Σ exp over dims, computed stably. */
  logsumexp(dims: number | readonly number[], options?: R.ReduceArg): Tensor {
    const keepdim = keepdimOf("logsumexp", options);
    const m = R.amax(this, dims, { keepdim: true }).detach();
    const r = this.sub(m).exp().sum(dims, { keepdim: true }).log().add(m);
    if (keepdim) return r;
    const reduced = new Set(normalizeAxes("logsumexp", dims, this.ndim));
    return V.reshape(r, this.shape.filter((_, i) => !reduced.has(i)));
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return N.softmax(this, dim);
  }
  /** Log-softmax along `dim`. */
  logSoftmax(dim: number): Tensor {
    return N.logSoftmax(this, dim);
  }

  // ------------------------------------------------------------ linear algebra

  /** Matrix product (PyTorch `matmul` semantics). */
  matmul(other: Tensor): Tensor {
    return L.matmul(this, other);
  }
  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    if (this.ndim > 2) {
      throw new ShapeError(
        `t: expects a tensor with at most 2 dimensions, got ${shapeStr(this.shape)}`,
      );
    }
    return this.ndim < 2 ? this : V.transpose(this, 0, 1);
  }

  // ------------------------------------------------------------ movement

  /** Reshape (one size may be -1); shares storage. */
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return V.reshape(this, flatArgs(shape));
  }
  /** A view with another shape; a ShapeError where the strides cannot express it (see reshape). */
  view(...shape: number[] | [readonly number[]]): Tensor {
    return V.view(this, flatArgs(shape));
  }
  /** Flattens dims startDim..endDim. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return V.flatten(this, startDim, endDim);
  }
  /** Swaps two dims. */
  transpose(dim0: number, dim1: number): Tensor {
    return V.transpose(this, dim0, dim1);
  }
  /** Reorders dims. */
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return V.permute(this, flatArgs(dims));
  }
  /** Removes size-1 dims. */
  squeeze(dim?: number): Tensor {
    return V.squeeze(this, dim);
  }
  /** Inserts a size-1 dim. */
  unsqueeze(dim: number): Tensor {
    return V.unsqueeze(this, dim);
  }
  /** Broadcasts to a shape (-1 keeps a size). */
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return V.expand(this, flatArgs(shape));
  }
  /** Broadcasts to another tensor's shape. */
  expandAs(other: Tensor): Tensor {
    return V.expand(this, other.shape);
  }
  /** Slices several dims (see {@linkcode V.slice}). */
  slice(...specs: (V.SliceSpec | null)[]): Tensor {
    return V.slice(this, specs);
  }
  /** Picks one index along `dim`, removing that dim (a view). */
  select(dim: number, index: number): Tensor {
    return V.select(this, dim, index);
  }
  /** Narrows one dim (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return V.narrow(this, dim, start, length);
  }
  /** Gathers along `dim`. */
  gather(dim: number, index: Tensor): Tensor {
    return M.gather(this, dim, index);
  }
  /** A differentiable copy with its own storage. */
  clone(): Tensor {
    return M.clone(this);
  }

  // ------------------------------------------------------------ in place

  /** In-place ReLU (the lecture's memory-saving activation); the gradient needs only the output. */
  relu_(): this {
    return inplace(this, E.unary("relu", this), "relu_");
  }
  /** In-place sigmoid. */
  sigmoid_(): this {
    return inplace(this, E.unary("sigmoid", this), "sigmoid_");
  }
  /** In-place tanh. */
  tanh_(): this {
    return inplace(this, E.unary("tanh", this), "tanh_");
  }
  /** In-place add (`alpha` scales other). */
  add_(other: E.TensorLike, alpha?: number): this {
    return inplace(this, this.add(other, alpha), "add_");
  }
  /** In-place subtract (`this −= alpha·other`). */
  sub_(other: E.TensorLike, alpha?: number): this {
    return inplace(this, this.sub(other, alpha), "sub_");
  }
  /** In-place multiply. */
  mul_(other: E.TensorLike): this {
    return inplace(this, this.mul(other), "mul_");
  }
  /** In-place divide. */
  div_(other: E.TensorLike): this {
    return inplace(this, this.div(other), "div_");
  }
  /** In-place clamp. */
  clamp_(min?: number | null, max?: number | null): this {
    return inplace(this, this.clamp(min, max), "clamp_");
  }
  /** Copies `src` (broadcast, cast, moved) into this tensor, through views into their base. */
  copy_(src: Tensor): this {
    this.#check("copy_");
    if (!(src instanceof Tensor)) {
      throw new ValueError(
        `copy_: the source must be a Tensor, got ${show(src)} (use tensor(...))`,
      );
    }
    let s = src.device === this.device ? src : src.to(this.device);
    if (s.dtype !== this.dtype) s = s.cast(this.dtype);
    if (!sameShape(s.shape, this.shape)) s = s.expand(this.shape);
    const same = s.storage === this.storage;
    if (same && s.offset === this.offset && sameShape(s.strides, this.strides)) return this;
    return inplace(this, s === src || same ? M.clone(s) : s, "copy_");
  }
  /** Fills with zeros. */
  zero_(): this {
    return this.fill_(0);
  }
  /** Fills with a value. */
  fill_(value: number): this {
    return inplace(
      this,
      full(this.shape, value, { dtype: this.dtype, device: this.device }),
      "fill_",
    );
  }

  // -------- indexing and selection, tests, norm, sizes, casts (issue 12) (begin)
  // The functions are in ops/indexing.ts and ops/numeric.ts, with examples.

  /** Number of elements (PyTorch's `numel()`). */
  numel(): number {
    return this.#numel;
  }
  /**
   * PyTorch's `size()`: the shape as a new array, or with `dim` (negative counts from the end) the
   * size of that dimension. Until issue 12, `size` was a property holding the element count: that
   * is {@linkcode numel} now, and a `size` read as a number (`t.size * 4`, `new Float32Array(
   * t.size)`, `` `${t.size}` ``) throws a ValueError that says so instead of giving NaN.
   *
   * @example
   * ```ts
   * import "../plugins/cpu/mod.ts";
   * import { zeros } from "./mod.ts";
   * const x = zeros([2, 3]);
   * x.size(); // [2, 3]
   * x.size(-1); // 3
   * x.numel(); // 6
   * ```
   */
  size(): number[];
  /** The size of dimension `dim` (negative counts from the end). */
  size(dim: number): number;
  size(...args: (number | undefined)[]): number[] | number {
    if (args.length > 1) {
      throw new ValueError(
        `Tensor.size: takes at most 1 argument, got ${args.length} (${args.map(show).join(", ")})`,
      );
    }
    const dim = args[0];
    if (dim === undefined) return [...this.shape];
    if (this.ndim === 0) {
      throw new ShapeError(`size: a 0-d tensor has no dimension ${show(dim)}`);
    }
    return this.shape[normalizeAxis("size", dim, this.ndim)];
  }
  static {
    // The element count used to be the `size` property: using the method as a number throws, and
    // so does `new Float32Array(t.size)` or `Array.from(t.size)`, which would otherwise read the
    // function as an empty array-like through its iterator lookup.
    const moved = (): never => {
      throw new ValueError(
        "Tensor.size is a method since issue 12, as in PyTorch: size() gives the shape and " +
          "size(dim) one dimension; use numel() for the number of elements",
      );
    };
    Object.defineProperty(this.prototype.size, Symbol.toPrimitive, { value: moved });
    Object.defineProperty(this.prototype.size, Symbol.iterator, { value: moved });
  }
  /**
   * The elements as nested arrays, PyTorch's `tolist()`. Asynchronous, like {@linkcode item},
   * since webgpu reads back asynchronously: `await x.tolist()`; see {@linkcode tolistSync}.
   */
  async tolist(): Promise<NestedResult> {
    return await this.toArray();
  }
  /** Synchronous {@linkcode tolist}, where the backend can read synchronously (cpu). */
  tolistSync(): NestedResult {
    return this.toArraySync();
  }
  /** PyTorch's `long()` (int64): denn has no int64, so this is a DTypeError pointing to `int()`. */
  long(): Tensor {
    throw new DTypeError(
      `long: denn has no int64; its dtypes are ${DTYPES.join(", ")} (use int() for int32)`,
    );
  }
  /** PyTorch's `double()` (float64): denn has no float64, so a DTypeError pointing to `float()`. */
  double(): Tensor {
    throw new DTypeError(
      `double: denn has no float64; its dtypes are ${DTYPES.join(", ")} (use float() for float32)`,
    );
  }
  /** Views of pieces of `sizeOrSections` entries (or of the given sizes) along `dim`. */
  split(sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
    return IX.split(this, sizeOrSections, dim);
  }
  /** `chunks` views along `dim` (PyTorch's `chunk`; the last may be smaller, fewer may come). */
  chunk(chunks: number, dim = 0): Tensor[] {
    return IX.chunk(this, chunks, dim);
  }
  /** The slices along `dim`, each a view without that dim. */
  unbind(dim = 0): Tensor[] {
    return IX.unbind(this, dim);
  }
  /** The entries at a 1-D int32 `index` along `dim` (a gather; differentiable). */
  indexSelect(dim: number, index: Tensor): Tensor {
    return IX.indexSelect(this, dim, index);
  }
  /** This tensor with `value` where the bool `mask` (broadcast) is true. */
  maskedFill(mask: Tensor, value: number | boolean | Tensor): Tensor {
    return IX.maskedFill(this, mask, value);
  }
  /** In-place {@linkcode maskedFill}: the mask must broadcast to this tensor's shape. */
  maskedFill_(mask: Tensor, value: number | boolean | Tensor): this {
    return inplace(this, IX.maskedFill(this, mask, value), "maskedFill_");
  }
  /** Tiles this tensor `sizes[i]` times along each dim: `x.repeat(2, 1)` or `x.repeat([2, 1])`. */
  repeat(...sizes: number[] | [readonly number[]]): Tensor {
    return IX.repeat(this, flatArgs(sizes));
  }
  /** Reverses the order along dims: `x.flip(0)`, `x.flip(0, 1)` or `x.flip([0, 1])` (a copy). */
  flip(...dims: number[] | [readonly number[]]): Tensor {
    if (dims.length === 0) {
      throw new ValueError("flip: expects the dims to flip, e.g. flip(0) or flip([0, 1])");
    }
    return IX.flip(this, flatArgs(dims));
  }
  /** Circular shift by `shifts` along `dims` (of the flattened tensor when omitted). */
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
    return IX.roll(this, shifts, dims);
  }
  /** Lower triangle of the last two dims (entries with col − row <= diagonal; others zero). */
  tril(diagonal = 0): Tensor {
    return IX.tril(this, diagonal);
  }
  /** Upper triangle of the last two dims (entries with col − row >= diagonal; others zero). */
  triu(diagonal = 0): Tensor {
    return IX.triu(this, diagonal);
  }
  /** Whether any entry is non-zero over `dim` (all when omitted); a bool tensor. */
  any(dim?: number | readonly number[], keepdim?: boolean | R.ReduceOptions): Tensor {
    return NU.any(this, dim, keepdim);
  }
  /** Whether every entry is non-zero over `dim` (all when omitted); a bool tensor. */
  all(dim?: number | readonly number[], keepdim?: boolean | R.ReduceOptions): Tensor {
    return NU.all(this, dim, keepdim);
  }
  /** Where this tensor is NaN (bool). */
  isnan(): Tensor {
    return NU.isnan(this);
  }
  /** Where this tensor is ±Infinity (bool). */
  isinf(): Tensor {
    return NU.isinf(this);
  }
  /** Where this tensor is finite (bool). */
  isfinite(): Tensor {
    return NU.isfinite(this);
  }
  /** NaN, +Infinity and -Infinity replaced: `{ nan, posinf, neginf }` or positionally. */
  nanToNum(
    nan?: number | NU.NanToNumOptions | null,
    posinf?: number | null,
    neginf?: number | null,
  ): Tensor {
    return NU.nanToNum(this, nan, posinf, neginf);
  }
  /** Vector p-norm over `dim` (all when omitted): p = 2 (default), "fro", 1, ±Infinity, 0, p >= 1. */
  norm(
    p?: NU.NormOrder | null,
    dim?: number | readonly number[] | null,
    keepdim?: boolean | R.ReduceOptions,
  ): Tensor {
    return NU.norm(this, p, dim, keepdim);
  }
  /** `x[i]`: entry `i` along dim 0 (negative from the end), a view without that dim. */
  at(i: number): Tensor {
    return IX.at(this, i);
  }
  /**
   * Basic indexing `x[specs...]` as a view: a number picks (and removes the dim), `{ start, end,
   * step }` slices, `null` adds an axis, `"..."` fills the dims not indexed.
   * `x.index(0, null, "...", { start: 1 })` is PyTorch's `x[0, None, ..., 1:]`.
   */
  index(...specs: IX.IndexSpec[]): Tensor {
    return IX.index(this, ...specs);
  }

  // -------- indexing and selection, tests, norm, sizes, casts (issue 12) (end)
}

function flatArgs(a: number[] | [readonly number[]]): number[] {
  return (a.length === 1 && Array.isArray(a[0]) ? a[0] : a) as number[];
}

function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedResult {
  const conv = (v: number): number | boolean => (dtype === "bool" ? v !== 0 : v);
  if (shape.length === 0) return conv(data[0]);
  const build = (dim: number, off: number): NestedResult[] => {
    const n = shape[dim];
    const stride = sizeOf(shape.slice(dim + 1));
    const out: NestedResult[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = dim === shape.length - 1 ? conv(data[off + i]) : build(dim + 1, off + i * stride);
    }
    return out;
  };
  return build(0, 0);
}

// Moves carry gradients back to the source device.
const toDeviceOp: OpDef<{ device: string }> = {
  name: "toDevice",
  savesInputs: false,
  infer: () => [],
  grad: (ctx, g) => [g.to(ctx.attrs.device)],
};

function recordMove(src: Tensor, moved: Tensor): Tensor {
  if (src.requiresGrad && isGradEnabled()) {
    const node = new Node(toDeviceOp as OpDef<unknown>, [src], { device: src.device }, [moved]);
    moved.requiresGrad = true;
    moved.gradFn = node;
  }
  return moved;
}

/** A view of `base`'s storage with another shape and layout (dispatch-internal). */
export function viewOf(base: Tensor, shape: readonly number[], layout: Layout): Tensor {
  const v = new Tensor(base.storage, shape, base.dtype, base.device, layout);
  v.base = base.base ?? base;
  v.baseNode = v.base.gradFn;
  return v;
}

function rowMajor(shape: readonly number[], strides: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

// `alpha·other` for add/sub's PyTorch `alpha` argument.
function scaled(op: string, other: E.TensorLike, alpha: number | undefined): E.TensorLike {
  if (alpha === undefined || alpha === 1) return other;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
    throw new ValueError(`${op}: alpha must be a finite number, got ${show(alpha)}`);
  }
  return other instanceof Tensor ? other.mul(alpha) : Number(other) * alpha;
}

// Every method refuses arguments beyond its parameters: JavaScript would drop them silently, and
// a PyTorch form like `x.softmax(1, torch.float16)` or `x.mul(2, 3)` must not half-work.
guardArity(Tensor.prototype, "Tensor");
