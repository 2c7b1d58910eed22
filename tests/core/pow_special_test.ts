/**
 * pow at IEEE's special points, as C's pow and PyTorch give them: 1 to any power (NaN and ±inf
 * included) is 1, (-1) to ±inf is 1, x to the 0 is 1 (NaN included); other NaN cases stay NaN.
 */

import assert from "node:assert/strict";
import { tensor } from "../../mod.ts";

import { POW_SPECIAL } from "./_pow_cases.ts";

Deno.test("pow at special points matches C's pow and PyTorch (cpu)", () => {
  const a = tensor(POW_SPECIAL.map((c) => c[0])), b = tensor(POW_SPECIAL.map((c) => c[1]));
  const got = a.pow(b).toArraySync() as number[];
  POW_SPECIAL.forEach(([x, y, want], i) =>
    assert.ok(Object.is(got[i], want), `${x} ** ${y}: ${got[i]}, want ${want}`)
  );
});
