/**
 * Kernel arguments for `cuLaunchKernel`: one reusable off-heap block of 8-byte slots holding the
 * values and an array of pointers to the slots (`kernelParams`), both allocated once. The driver
 * copies the values at launch, so the block is overwritten by the next launch safely. Launch
 * geometry is checked against the hardware limits before the call.
 *
 * @module
 */

import { ValueError } from "../../../core/mod.ts";
import type { CudaFunction, KernelArg, LaunchConfig } from "../types.ts";

/** Most arguments one launch takes. */
export const MAX_ARGS = 64;

const KINDS = ["ptr", "i32", "u32", "i64", "f32"] as const;

/** Bytes each argument kind occupies in the kernel's parameter layout. */
export const ARG_BYTES: Readonly<Record<(typeof KINDS)[number], number>> = {
  ptr: 8,
  i32: 4,
  u32: 4,
  i64: 8,
  f32: 4,
};

/** The packed arguments of the last {@linkcode ArgPacker.pack}. */
export class ArgPacker {
  /** `void* kernelParams[]`: slot i's address at index i (pass as a buffer). */
  readonly params: BigUint64Array;
  /** The value slots. */
  readonly values: DataView;

  /** Allocates the slots and their pointer array once. */
  constructor() {
    const block = new ArrayBuffer(MAX_ARGS * 8);
    this.values = new DataView(block);
    const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(block)));
    this.params = new BigUint64Array(new ArrayBuffer(MAX_ARGS * 8));
    for (let i = 0; i < MAX_ARGS; i++) this.params[i] = base + BigInt(i * 8);
  }

  /**
   * Writes `args` into the slots, checking each; `sizes` (the kernel's parameter sizes, where the
   * driver reports them) must match the argument kinds. Throws `ValueError` naming the kernel and
   * the argument.
   */
  pack(fn: CudaFunction, args: readonly KernelArg[], sizes: readonly number[] | null): void {
    const where = `cuda launch of kernel "${fn.name}"`;
    if (!Array.isArray(args)) throw new ValueError(`${where}: args must be an array`);
    if (args.length > MAX_ARGS) {
      throw new ValueError(`${where}: ${args.length} arguments, at most ${MAX_ARGS}`);
    }
    if (sizes && sizes.length !== args.length) {
      throw new ValueError(
        `${where}: the kernel takes ${sizes.length} parameters, ${args.length} arguments given`,
      );
    }
    const v = this.values;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as Record<string, unknown>;
      const keys = a && typeof a === "object" ? Object.keys(a) : [];
      const kind = keys[0] as (typeof KINDS)[number];
      if (keys.length !== 1 || !KINDS.includes(kind)) {
        throw new ValueError(
          `${where}: argument ${i} must be one of { ptr }, { i32 }, { u32 }, { i64 }, { f32 }, ` +
            `got ${keys.length ? `{ ${keys.join(", ")} }` : String(a)}`,
        );
      }
      if (sizes && sizes[i] !== ARG_BYTES[kind]) {
        throw new ValueError(
          `${where}: argument ${i} is ${kind} (${ARG_BYTES[kind]} bytes) but the kernel's ` +
            `parameter ${i} takes ${sizes[i]} bytes`,
        );
      }
      const x = a[kind];
      const bad = (want: string) =>
        new ValueError(`${where}: argument ${i} { ${kind} } must be ${want}, got ${String(x)}`);
      const off = i * 8;
      switch (kind) {
        case "ptr": {
          const p = typeof x === "bigint"
            ? x
            : (x as { ptr?: unknown } | null)?.ptr as bigint | undefined;
          if (typeof p !== "bigint" || p < 0n || p >= 1n << 64n) {
            throw bad("a CudaBuffer or a device pointer (bigint)");
          }
          v.setBigUint64(off, p, true);
          break;
        }
        case "i32":
          if (!Number.isInteger(x) || (x as number) < -(2 ** 31) || (x as number) >= 2 ** 31) {
            throw bad("an integer in int32 range");
          }
          v.setInt32(off, x as number, true);
          break;
        case "u32":
          if (!Number.isInteger(x) || (x as number) < 0 || (x as number) >= 2 ** 32) {
            throw bad("an integer in uint32 range");
          }
          v.setUint32(off, x as number, true);
          break;
        case "i64": {
          const n = typeof x === "bigint"
            ? x
            : Number.isSafeInteger(x)
            ? BigInt(x as number)
            : null;
          if (n === null || n < -(1n << 63n) || n >= 1n << 63n) {
            throw bad("a safe integer or a bigint in int64 range");
          }
          v.setBigInt64(off, n, true);
          break;
        }
        case "f32":
          if (typeof x !== "number") throw bad("a number");
          v.setFloat32(off, x, true);
          break;
      }
    }
  }
}

/** Grid and block dimensions, checked: `null` when the grid is empty (nothing to launch). */
export function launchDims(
  fn: CudaFunction,
  config: LaunchConfig,
): { grid: [number, number, number]; block: [number, number, number]; shared: number } | null {
  const where = `cuda launch of kernel "${fn.name}"`;
  const dims = (what: "grid" | "block", d: unknown): [number, number, number] => {
    if (!Array.isArray(d) || d.length < 1 || d.length > 3) {
      throw new ValueError(`${where}: ${what} must be [x, y?, z?], got ${JSON.stringify(d)}`);
    }
    const out: [number, number, number] = [d[0], d[1] ?? 1, d[2] ?? 1];
    const max = what === "grid" ? [2 ** 31 - 1, 65535, 65535] : [1024, 1024, 64];
    out.forEach((x, i) => {
      if (!Number.isInteger(x) || x < 0 || x > max[i]) {
        throw new ValueError(
          `${where}: ${what} dimension ${"xyz"[i]} must be an integer in [0, ${max[i]}], got ${x}`,
        );
      }
    });
    return out;
  };
  if (!config || typeof config !== "object") {
    throw new ValueError(`${where}: config must be { grid, block, sharedBytes? }`);
  }
  const extra = Object.keys(config).filter((k) => !["grid", "block", "sharedBytes"].includes(k));
  if (extra.length) {
    throw new ValueError(`${where}: unknown config key(s) ${extra.join(", ")}`);
  }
  const grid = dims("grid", config.grid), block = dims("block", config.block);
  const threads = block[0] * block[1] * block[2];
  if (threads > 1024) {
    throw new ValueError(`${where}: ${threads} threads per block, at most 1024`);
  }
  const shared = config.sharedBytes ?? 0;
  if (!Number.isInteger(shared) || shared < 0 || shared >= 2 ** 32) {
    throw new ValueError(`${where}: sharedBytes must be a non-negative integer, got ${shared}`);
  }
  if (threads === 0) throw new ValueError(`${where}: the block has no threads`);
  // An empty grid launches nothing: kernels over empty tensors need no special case.
  if (grid[0] * grid[1] * grid[2] === 0) return null;
  return { grid, block, shared };
}
