/**
 * Views as operands, on every backend the harness gives: a 0-d `select` from the middle of a
 * storage, one-element and strided views, each against the same op on a dense copy. Binary ops on a
 * 0-d view read the wrong element on cpu before this was tested (`tensor([1, 2, 3]).select(0, 1)
 * .mul(2)` gave 0).
 */

import assert from "node:assert/strict";
import { tensor } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { viewCases } from "./_view_cases.ts";

type Op = [string, (a: Tensor, b: Tensor) => Tensor];
const OPS: Op[] = [
  ["mul", (a, b) => a.mul(b)],
  ["add", (a, b) => a.add(b)],
  ["sub", (a, b) => a.sub(b)],
  ["div", (a, b) => a.div(b)],
  ["maximum", (a, b) => a.maximum(b)],
  ["gt", (a, b) => a.gt(b)],
  ["pow", (a, b) => a.abs().pow(b)],
];

Deno.test("binary ops on views equal the same ops on dense copies (cpu)", () => {
  for (const [label, view, other] of viewCases("cpu")) {
    const dense = view.clone();
    for (const [name, f] of OPS) {
      for (
        const [order, got, want] of [
          ["view op other", f(view, other), f(dense, other)],
          ["other op view", f(other, view), f(other, dense)],
        ] as const
      ) {
        assert.deepEqual(
          got.toArraySync(),
          want.toArraySync(),
          `${name} (${order}), ${label}: view ${view.toArraySync()} (offset ${view.offset})`,
        );
      }
    }
    assert.deepEqual(view.neg().toArraySync(), dense.neg().toArraySync(), `neg, ${label}`);
    assert.deepEqual(view.sum().toArraySync(), dense.sum().toArraySync(), `sum, ${label}`);
  }
  // The reported case.
  assert.equal(tensor([1, 2, 3]).select(0, 1).mul(2).itemSync(), 4);
});
