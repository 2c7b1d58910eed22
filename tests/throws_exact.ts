// Shared by tests/layers/bad_args_test.ts and tests/losses/bad_args_test.ts: the exact error class,
// by name, and the exact message (a string) or a pattern. Not a test file.

import { DTypeError, ShapeError, ValueError } from "../core/mod.ts";
import { assertThrowsNamed } from "../testing/mod.ts";

const ERRORS: Record<string, new (...args: never[]) => Error> = {
  DTypeError,
  ShapeError,
  ValueError,
};

/** Asserts `f` throws the error class named `cls` with exactly `message` (or matching it). */
export function throwsNamed(
  f: () => unknown,
  cls: string,
  message: string | RegExp,
  _label?: string,
): void {
  const exact = typeof message === "string"
    ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`)
    : message;
  assertThrowsNamed(f, ERRORS[cls], exact);
}

/** Any function, for calling with arguments its type does not allow. */
export type AnyFn = (...args: unknown[]) => unknown;
/** Calls `f` with arguments its type does not allow. */
export const loose = (f: unknown, ...a: unknown[]): unknown => (f as AnyFn)(...a);
