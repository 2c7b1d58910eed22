/**
 * Data types and their typed-array storage on the host.
 *
 * @module
 */

import { takeHost } from "./host_pool.ts";

/** Element type of a tensor. */
export type DType = "float32" | "float16" | "int32" | "bool";

/** Host array that holds the elements of a tensor of some dtype. */
export type TypedArray = Float32Array | Float16Array | Int32Array | Uint8Array;

/** All dtypes denn knows. */
export const DTYPES: readonly DType[] = ["float32", "float16", "int32", "bool"];

/** The floating-point dtypes, widest first. */
export const FLOAT_DTYPES: readonly DType[] = ["float32", "float16"];

/** Allocates a zeroed host array for `size` elements of `dtype`. */
export function allocHost(dtype: DType, size: number): TypedArray {
  return takeHost(dtype, size, newHost);
}

function newHost(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float16":
      return new Float16Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/** Whether `dtype` is a floating-point type. */
export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float16";
}

/** Bytes one element of `dtype` takes in host memory. */
export function itemSize(dtype: DType): number {
  return dtype === "bool" ? 1 : dtype === "float16" ? 2 : 4;
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3 };

/**
 * Result dtype of an arithmetic op on two dtypes (bool < int32 < float16 < float32), as in
 * PyTorch (half + float gives float).
 */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Whether a value is one of denn's dtypes. */
export function isDType(value: unknown): value is DType {
  return value === "float32" || value === "float16" || value === "int32" || value === "bool";
}

/** The dtype whose host array type is `data`'s. */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float16Array) return "float16";
  if (data instanceof Int32Array) return "int32";
  return "bool";
}
