/**
 * Neural-network ops: softmax, convolution, pooling and batch normalisation (one file each).
 *
 * @module
 */

export * from "./softmax.ts";
export * from "./conv.ts";
export * from "./pool.ts";
export * from "./batch_norm.ts";
