/**
 * Every function of `F` refuses arguments beyond those it declares (JavaScript would drop them
 * silently: `F.sigmoid(x, 1)`, PyTorch's `F.softmax(x, 1, dtype)`) and a missing or non-tensor
 * input, naming itself. The functions are enumerated from `F`, so a function added later without
 * the `arity` check fails here.
 */

import assert from "node:assert/strict";
import { F, ones, tensor, ValueError } from "../../mod.ts";

// Declared parameter count of a function from its source (`name(a, b = 1) {`), or null when it
// takes rest parameters. Skips strings, template literals and comments inside default values.
function paramCount(f: (...args: never[]) => unknown): number | null {
  const src = Function.prototype.toString.call(f);
  const open = src.indexOf("(");
  if (open < 0) return null;
  let depth = 0, count = 0, current = false;
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < src.length && src[i] !== c; i++) if (src[i] === "\\") i++;
      current = true;
    } else if (c === "/" && src[i + 1] === "*") {
      i = src.indexOf("*/", i + 2) + 1;
    } else if (c === "/" && src[i + 1] === "/") {
      i = src.indexOf("\n", i);
    } else if (c === "(" || c === "[" || c === "{") {
      depth++;
      current = true;
    } else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) return count + (current ? 1 : 0);
      depth--;
    } else if (c === "," && depth === 0) {
      count++;
      current = false;
    } else if (c === "." && depth === 0 && src.startsWith("...", i)) {
      return null;
    } else if (!/\s/.test(c)) {
      current = true;
    }
  }
  return null;
}

type AnyFn = (...args: unknown[]) => unknown;

const functions = Object.entries(F).filter(([, v]) => typeof v === "function") as [
  string,
  AnyFn,
][];

Deno.test("paramCount reads declared parameters, defaults and rest parameters", () => {
  assert.equal(paramCount(function () {}), 0);
  assert.equal(paramCount(function (_a: number) {}), 1);
  assert.equal(paramCount(function (_a: number, _b = "x,)", _c = { d: [1, 2] }) {}), 3);
  assert.equal(paramCount(function (_a: number, ..._b: number[]) {}), null);
});

Deno.test("F exports the functions this test enumerates", () => {
  const names = functions.map(([k]) => k);
  for (const k of ["conv2d", "linear", "maxPool2d", "relu", "softmax", "mseLoss", "oneHot"]) {
    assert.ok(names.includes(k), `F.${k} is enumerated`);
  }
  assert.ok(names.length >= 29, `only ${names.length} functions in F`);
});

for (const [name, fn] of functions) {
  Deno.test(`F.${name} refuses an extra argument`, () => {
    const n = paramCount(fn);
    if (n === null) return; // rest parameters: any count is allowed
    const args: unknown[] = Array.from({ length: n }, () => undefined);
    args.push("sentinel");
    assert.throws(
      () => fn(...args),
      (e: unknown) => {
        assert.ok(e instanceof ValueError, `F.${name}: ${e}`);
        const s = n === 1 ? "" : "s";
        assert.ok(
          e.message.startsWith(`${name}: takes at most ${n} argument${s}, got ${n + 1} (`),
          e.message,
        );
        assert.ok(e.message.endsWith(`"sentinel")`), e.message);
        return true;
      },
    );
  });

  Deno.test(`F.${name} with no arguments names the missing tensor`, () => {
    assert.throws(() => fn(), (e: unknown) => {
      assert.ok(e instanceof ValueError, `F.${name}: ${e}`);
      assert.match(e.message, new RegExp(`^${name}: expected a Tensor as \\w+, got undefined$`));
      return true;
    });
  });
}

Deno.test("F functions refuse PyTorch's extra positional arguments", () => {
  const x = ones([2, 3]);
  assert.throws(() => (F.sigmoid as AnyFn)(x, 1), {
    name: "ValueError",
    message: "sigmoid: takes at most 1 argument, got 2 (Tensor, 1)",
  });
  assert.throws(() => (F.softmax as AnyFn)(x, 1, "float16"), {
    name: "ValueError",
    message: 'softmax: takes at most 2 arguments, got 3 (Tensor, 1, "float16")',
  });
  assert.throws(() => (F.logSoftmax as AnyFn)(x, 1, "float16"), {
    message: 'logSoftmax: takes at most 2 arguments, got 3 (Tensor, 1, "float16")',
  });
  // PyTorch's F.relu(x, inplace=False) has two; a third is refused.
  assert.throws(() => (F.relu as AnyFn)(x, false, 1), {
    message: "relu: takes at most 2 arguments, got 3 (Tensor, false, 1)",
  });
  // The declared count, passed in full, is accepted.
  assert.deepEqual(F.softmax(x, 1).shape, [2, 3]);
  assert.deepEqual(F.relu(x, false).shape, [2, 3]);
});

Deno.test("F functions name a non-tensor first argument", () => {
  const cases: [string, () => unknown, string][] = [
    ["relu", () => (F.relu as AnyFn)(), "relu: expected a Tensor as input, got undefined"],
    [
      "sigmoid",
      () => (F.sigmoid as AnyFn)([1, 2]),
      "sigmoid: expected a Tensor as input, got [1, 2] (wrap values with tensor(...))",
    ],
    [
      "softmax",
      () => (F.softmax as AnyFn)(null, 1),
      "softmax: expected a Tensor as input, got null",
    ],
    [
      "oneHot",
      () => (F.oneHot as AnyFn)([0, 1], 3),
      "oneHot: expected a Tensor as input, got [0, 1] (wrap values with tensor(...))",
    ],
    [
      "maxPool2d",
      () => (F.maxPool2d as AnyFn)([[1]], 2),
      "maxPool2d: expected a Tensor as input, got [[1]] (wrap values with tensor(...))",
    ],
    [
      "conv2d weight",
      () => (F.conv2d as AnyFn)(ones([1, 1, 3, 3]), [[[[1]]]]),
      "conv2d: expected a Tensor as weight, got [[[[1]]]] (wrap values with tensor(...))",
    ],
    [
      "linear weight",
      () => (F.linear as AnyFn)(ones([2, 3]), "w"),
      'linear: expected a Tensor as weight, got "w"',
    ],
    [
      "reduce",
      () => (F.reduce as AnyFn)("op", [1, 2]),
      "reduce: expected a Tensor as loss, got [1, 2] (wrap values with tensor(...))",
    ],
  ];
  for (const [label, f, message] of cases) {
    assert.throws(f, { name: "ValueError", message }, label);
  }
  // A tensor is still accepted where one goes.
  assert.deepEqual(F.oneHot(tensor([0, 2], { dtype: "int32" }), 3).shape, [2, 3]);
});
