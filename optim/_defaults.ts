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
