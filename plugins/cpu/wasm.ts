/**
 * A minimal WebAssembly binary emitter: just enough to assemble hand-written numeric kernels at
 * run time from TypeScript. The project ships no compiled binaries, so every module is built
 * from these opcode tables when it is first imported.
 *
 * Only what the kernels use is covered: one imported memory (shared between threads or not),
 * functions with i32/v128 locals, structured control flow, and the 128-bit SIMD instructions
 * (prefix 0xFD).
 *
 * @module
 */

import { ValueError } from "../../core/errors.ts";

/** Value types, as encoded in signatures and local declarations. */
export const ValType: {
  readonly i32: 0x7f;
  readonly f32: 0x7d;
  readonly f64: 0x7c;
  readonly v128: 0x7b;
} = {
  i32: 0x7f,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
} as const;

/** Single-byte core opcodes. */
export const Op: Readonly<Record<string, number>> = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  i32Store: 0x36,
  f32Store: 0x38,
  f64Store: 0x39,
  i32Const: 0x41,
  f32Const: 0x43,
  i32Eq: 0x46,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  f32Ne: 0x5c,
  f32Gt: 0x5e,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32ShrS: 0x75,
  i32DivU: 0x6e,
  i32RemU: 0x70,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f64Add: 0xa0,
  f64Div: 0xa3,
  f32DemoteF64: 0xb6,
  i32ReinterpretF32: 0xbc,
  f32ReinterpretI32: 0xbe,
  f64ConvertI32S: 0xb7,
  f64PromoteF32: 0xbb,
} as const;

/** SIMD opcodes: each is emitted as 0xFD followed by this number in unsigned LEB128. */
export const SimdOp: Readonly<Record<string, number>> = {
  v128Load: 0x00,
  v128Load32Splat: 0x09,
  v128Store: 0x0b,
  v128Const: 0x0c,
  /** Followed by 16 lane index bytes (0–15 the first operand's bytes, 16–31 the second's). */
  i8x16Shuffle: 0x0d,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  /** Followed by a lane index byte. */
  i32x4ExtractLane: 0x1b,
  i32x4LtS: 0x39,
  i32x4GeS: 0x3f,
  f32x4Ne: 0x42,
  f32x4Gt: 0x44,
  v128And: 0x4e,
  /** a & ~b. */
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Bitselect: 0x52,
  /** Followed by a lane index byte. */
  f32x4ExtractLane: 0x1f,
  /** Loads one f32 into lane 0 and zeros the other lanes. */
  v128Load32Zero: 0x5c,
  i32x4Neg: 0xa1,
  /** Followed by nothing: shifts each lane right (arithmetic) by an i32 operand. */
  i32x4ShrS: 0xac,
  i32x4Add: 0xae,
  i32x4MinS: 0xb6,
  i32x4MaxS: 0xb8,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  /** 1 if any bit of the vector is set, else 0. */
  v128AnyTrue: 0x53,
  /** Relaxed SIMD: a * b + c, fused or not at the engine's choice. */
  f32x4RelaxedMadd: 0x105,
} as const;

/** Block type of a structured instruction that yields no value. */
export const BLOCK_VOID = 0x40;

/**
 * `i8x16.shuffle` lanes picking floats 0 and 2 of the first operand, then 0 and 2 of the second:
 * four stride-2 floats from eight consecutive ones.
 */
export const EVEN_LANES: readonly number[] = [
  0,
  1,
  2,
  3,
  8,
  9,
  10,
  11,
  16,
  17,
  18,
  19,
  24,
  25,
  26,
  27,
];

/** Appends `n` (a non-negative integer below 2^32) as unsigned LEB128. */
export function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

/** Appends `n` (a 32-bit integer) as signed LEB128, the encoding of i32.const immediates. */
export function sleb(n: number, out: number[]): void {
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/**
 * Accumulates the instruction bytes of one function body. Methods return `this` so that short
 * sequences read like the text format, one instruction per call.
 */
export class Code {
  /** Encoded instructions so far (without the final `end`). */
  readonly bytes: number[] = [];

  /** Emits raw core opcodes / immediates. */
  op(...codes: number[]): this {
    for (const c of codes) this.bytes.push(c);
    return this;
  }

  /** `local.get i`. */
  get(i: number): this {
    this.bytes.push(Op.localGet);
    uleb(i, this.bytes);
    return this;
  }

  /** `local.set i`. */
  set(i: number): this {
    this.bytes.push(Op.localSet);
    uleb(i, this.bytes);
    return this;
  }

  /** `local.tee i`. */
  tee(i: number): this {
    this.bytes.push(Op.localTee);
    uleb(i, this.bytes);
    return this;
  }

  /** A scalar load or store `op` with its memarg (`align` is log2 bytes). */
  mem(op: number, align: number, offset = 0): this {
    this.bytes.push(op);
    uleb(align, this.bytes);
    uleb(offset, this.bytes);
    return this;
  }

  /** `f32.const x`. */
  f32(x: number): this {
    this.bytes.push(Op.f32Const);
    for (const b of new Uint8Array(new Float32Array([x]).buffer)) this.bytes.push(b);
    return this;
  }

  /** `i32.const v`. */
  i32(v: number): this {
    this.bytes.push(Op.i32Const);
    sleb(v, this.bytes);
    return this;
  }

  /** A SIMD instruction; memory instructions also take `align` (log2 bytes) and `offset`. */
  simd(op: number, memarg?: { align: number; offset: number }): this {
    this.bytes.push(0xfd);
    uleb(op, this.bytes);
    if (memarg) {
      uleb(memarg.align, this.bytes);
      uleb(memarg.offset, this.bytes);
    }
    return this;
  }

  /** `v128.const` of four i32 lanes. */
  i32x4Const(lanes: readonly [number, number, number, number]): this {
    this.simd(SimdOp.v128Const);
    for (const b of new Uint8Array(new Int32Array(lanes).buffer)) this.bytes.push(b);
    return this;
  }

  /** `v128.const` with all four f32 lanes equal to `x`. */
  f32x4Const(x: number): this {
    this.simd(SimdOp.v128Const);
    const lane = new Uint8Array(new Float32Array([x]).buffer);
    for (let i = 0; i < 4; i++) for (const b of lane) this.bytes.push(b);
    return this;
  }
}

/** Allocates locals of one function after its parameters. */
export class Frame {
  readonly locals: number[] = [];
  constructor(readonly nParams: number) {}
  /** A new local of type `t`; returns its index. */
  local(t: number): number {
    this.locals.push(t);
    return this.nParams + this.locals.length - 1;
  }
}

/** `for (v = 0; v < n; v += step) body()` over i32 locals; runs nothing when n <= 0. */
export function forUp(c: Code, v: number, n: number, step: number, body: () => void): void {
  c.i32(0).set(v);
  c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
  c.get(v).get(n).op(Op.i32GeS, Op.brIf, 1);
  body();
  c.get(v).i32(step).op(Op.i32Add).set(v);
  c.op(Op.br, 0, Op.end, Op.end);
}

/** `while (v < end) { body(); v += step }` without resetting `v` (step 0: the body steps). */
export function whileLt(c: Code, v: number, end: number, step: number, body: () => void): void {
  c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
  c.get(v).get(end).op(Op.i32GeS, Op.brIf, 1);
  body();
  if (step !== 0) c.get(v).i32(step).op(Op.i32Add).set(v);
  c.op(Op.br, 0, Op.end, Op.end);
}

/** One exported function of a module built by {@link buildModule}. */
export interface FuncDef {
  /** Export name. */
  name: string;
  /** Parameter types ({@link ValType}). */
  params: number[];
  /** Result types. */
  results: number[];
  /** Types of the extra locals, numbered after the parameters. */
  locals: number[];
  /** Body without the final `end`. */
  code: Code;
}

function section(id: number, payload: number[], out: number[]): void {
  out.push(id);
  uleb(payload.length, out);
  for (const b of payload) out.push(b);
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  for (const b of bytes) out.push(b);
}

/** Limits of the imported memory beyond its 1-page minimum (see {@link buildModule}). */
export interface MemoryImport {
  /**
   * Import a shared memory (the threads proposal): one `WebAssembly.Memory({ shared: true })`
   * that instances in several workers run over at once. A shared import must declare a maximum.
   */
  shared: boolean;
  /** Maximum size in 64 KiB pages (at most 65536); required when `shared`. */
  maximum?: number;
}

/**
 * Assembles a module that imports its linear memory as `env.memory` (so JS owns and grows it)
 * and exports every function in `funcs` under its name. By default the import is an unshared
 * memory of at least one page with no maximum; `memory` declares a shared one instead.
 *
 * @example
 * ```ts
 * import { buildModule, Code, ValType } from "./wasm.ts";
 * const code = new Code().get(0).get(1).op(0x6a); // i32.add
 * const bytes = buildModule(
 *   [{ name: "add", params: [ValType.i32, ValType.i32], results: [ValType.i32], locals: [], code }],
 *   { shared: true, maximum: 16 },
 * );
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
 * const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * if ((exports.add as (a: number, b: number) => number)(2, 3) !== 5) throw new Error("add");
 * ```
 */
export function buildModule(funcs: FuncDef[], memory?: MemoryImport): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // Type section: one signature per function; deduplication is not worth it at this size.
  const types: number[] = [];
  uleb(funcs.length, types);
  for (const f of funcs) {
    types.push(0x60);
    uleb(f.params.length, types);
    types.push(...f.params);
    uleb(f.results.length, types);
    types.push(...f.results);
  }
  section(1, types, out);
  // Import section: env.memory, minimum 1 page; limits flag 0x03 = has maximum, shared.
  const imports: number[] = [1];
  name("env", imports);
  name("memory", imports);
  if (memory?.shared) {
    const max = memory.maximum;
    if (max === undefined || !Number.isInteger(max) || max < 1 || max > 65536) {
      throw new ValueError(
        `buildModule: a shared memory needs an integer maximum of 1 to 65536 pages, got ${max}`,
      );
    }
    imports.push(0x02, 0x03, 0x01);
    uleb(max, imports);
  } else {
    imports.push(0x02, 0x00, 0x01);
  }
  section(2, imports, out);
  const fnSec: number[] = [];
  uleb(funcs.length, fnSec);
  funcs.forEach((_, i) => uleb(i, fnSec));
  section(3, fnSec, out);
  const exports: number[] = [];
  uleb(funcs.length, exports);
  funcs.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  section(7, exports, out);
  const code: number[] = [];
  uleb(funcs.length, code);
  for (const f of funcs) {
    const body: number[] = [];
    // Locals are declared as runs of one type.
    const runs: [number, number][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(runs.length, body);
    for (const [count, t] of runs) {
      uleb(count, body);
      body.push(t);
    }
    for (const b of f.code.bytes) body.push(b);
    body.push(Op.end);
    uleb(body.length, code);
    for (const b of body) code.push(b);
  }
  section(10, code, out);
  return new Uint8Array(out);
}
