import { ValueError } from "../core/mod.ts";

// Fills options that are missing (undefined) from defaults: the optimizers' constructors and their
// functional update forms share one table of defaults each.
export function withDefaults<D extends object>(defaults: D, given: Partial<D>): D {
  const out = { ...defaults };
  for (const k of Object.keys(defaults) as (keyof D)[]) {
    const v = given[k];
    if (v !== undefined) out[k] = v as D[keyof D];
  }
  return out;
}

/**
 * Checks an optimizer's options against its table of defaults: an object, no unknown keys (a typo
 * such as `momentm` would be silently ignored), every value of the default's type (numbers, booleans,
 * number pairs), and the `required` keys present. Returns the options.
 */
export function checkOptions<O extends object>(
  name: string,
  options: O | undefined,
  reference: Record<string, unknown>,
  required: readonly string[] = [],
): O {
  const eg = required.length ? `{ ${required[0]}: 0.1 }` : "{ lr: 0.01 }";
  if (options === undefined || options === null) {
    if (required.length) {
      throw new ValueError(
        `${name}: ${required.join(", ")} is required, e.g. new ${name}(params, ${eg})`,
      );
    }
    return {} as O;
  }
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new ValueError(
      `${name}: options must be an object like ${eg}, got ${JSON.stringify(options)}`,
    );
  }
  for (const [k, v] of Object.entries(options)) {
    if (!(k in reference)) {
      throw new ValueError(
        `${name}: unknown option "${k}" (expected ${Object.keys(reference).join(", ")})`,
      );
    }
    checkValue(name, k, v, reference[k]);
  }
  for (const k of required) {
    if ((options as Record<string, unknown>)[k] === undefined) {
      throw new ValueError(`${name}: ${k} is required, e.g. new ${name}(params, ${eg})`);
    }
  }
  return options;
}

/** Checks one option value against the type of its default (undefined keeps the default). */
export function checkValue(name: string, key: string, v: unknown, ref: unknown): void {
  if (v === undefined) return;
  const ok = Array.isArray(ref)
    ? Array.isArray(v) && v.length === ref.length && v.every((e) => typeof e === "number")
    : typeof v === typeof ref;
  if (!ok) {
    const what = Array.isArray(ref) ? `${ref.length} numbers` : `a ${typeof ref}`;
    throw new ValueError(`${name}: ${key} must be ${what}, got ${JSON.stringify(v)}`);
  }
}
