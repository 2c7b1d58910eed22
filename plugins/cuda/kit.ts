/**
 * The cuda kernel kit for plugin authors (see kernels/kit.ts): compile, launch and allocate
 * through the `Cuda` context a kernel receives.
 *
 * @module
 */

export * from "./kernels/kit.ts";
