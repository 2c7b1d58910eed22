// How tensors and modules print, against PyTorch 1.13's own text (tests/fixtures/format.json,
// written by tools/gen_format_fixtures.py). The fixtures hold PyTorch's strings unchanged; `denn()`
// below applies the documented naming differences, and nothing else:
//   - option names are camelCase: `requires_grad=True` → `requiresGrad=true`, `kernel_size=` →
//     `kernelSize=`, `grad_fn=<MulBackward0>` → `gradFn=<MulBackward>` (the op name, capitalised);
//   - Python's True / False / None are JavaScript's true / false / null (bool elements too);
//   - dtypes drop the `torch.` prefix, and torch's int64 stands for denn's int32 (the default
//     integer type of each, so neither prints a dtype for non-empty tensors);
//   - a summarised tensor also shows its `size=(...)` (denn's addition, laid out by torch's suffix
//     code in the generator).

import assert from "node:assert/strict";
import {
  arange,
  explain,
  formatTensorAsync,
  getPrintOptions,
  Module,
  nn,
  Parameter,
  reprFloat,
  reprTuple,
  setPrintOptions,
  tensor,
  ValueError,
  zeros,
} from "../../mod.ts";
import type { DType, SetPrintOptions, Tensor } from "../../mod.ts";
import { alexnet, googlenet, lenet5, resnet } from "../../plugins/models/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

interface TensorCase {
  name: string;
  values: (number | boolean | string)[];
  shape: number[];
  dtype: DType;
  transform?: "t" | "requiresGrad" | "mul2" | "sum" | "parameter";
  options?: SetPrintOptions;
  torch: string;
  withSize?: string;
}

const fixtures = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/format.json", import.meta.url)),
) as {
  tensors: TensorCase[];
  floats: [number, string][];
  modules: Record<string, string>;
};

/** PyTorch's text with denn's names (see the header). */
function denn(torchText: string): string {
  return torchText
    .replace(/dtype=torch\.int64/g, "dtype=int32")
    .replace(/dtype=torch\.(\w+)/g, "dtype=$1")
    .replace(/grad_fn=<(\w+?)Backward\d*>/g, "gradFn=<$1Backward>")
    .replace(/\bTrue\b/g, "true")
    .replace(/\bFalse\b/g, "false")
    .replace(/\bNone\b/g, "null")
    .replace(
      /\b([a-z]+(?:_[a-z0-9]+)+)=/g,
      (_, k: string) => `${k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())}=`,
    );
}

function build(c: TensorCase): Tensor {
  // JSON has no NaN or infinities: the generator writes Python's str() of them.
  const special: Record<string, number> = { nan: NaN, inf: Infinity, "-inf": -Infinity };
  const values = c.values.map((v) => (typeof v === "string" ? special[v] : v));
  const base = tensor(values as number[], { dtype: c.dtype }).reshape(c.shape);
  switch (c.transform) {
    case "t":
      return base.t();
    case "requiresGrad":
      return base.requiresGrad_();
    case "mul2":
      return base.requiresGrad_().mul(2);
    case "sum":
      return base.requiresGrad_().sum();
    case "parameter":
      return Parameter(base);
    default:
      return base;
  }
}

function withOptions<T>(o: SetPrintOptions | undefined, fn: () => T): T {
  setPrintOptions({ profile: "default", ...o });
  try {
    return fn();
  } finally {
    setPrintOptions({ profile: "default" });
  }
}

for (const c of fixtures.tensors) {
  Deno.test(`format: ${c.name} prints as PyTorch does`, () => {
    const t = build(c);
    const want = denn(c.withSize ?? c.torch);
    withOptions(c.options, () => {
      assert.equal(String(t), want);
      assert.equal(Deno.inspect(t), want);
    });
  });
}

Deno.test("format: the fixtures cover each kind of tensor the issue lists", () => {
  const names = fixtures.tensors.map((c) => c.name);
  for (
    const n of [
      "small",
      "negative",
      "tiny and large: scientific",
      "ints",
      "bools",
      "scalar float",
      "empty 2-D",
      "3-D",
      "summarised 2-D",
    ]
  ) assert.ok(names.includes(n), n);
  assert.ok(fixtures.tensors.filter((c) => c.withSize).length >= 6);
});

Deno.test("format: console.log shows the values, not the Tensor object's internals", () => {
  const t = tensor([1, 2, 3]);
  assert.equal(Deno.inspect(t), "tensor([1., 2., 3.])");
  assert.equal(Deno.inspect({ x: t }), "{ x: tensor([1., 2., 3.]) }");
  assert.equal(`${t}`, "tensor([1., 2., 3.])");
});

Deno.test("format: printing runs no op, even for a strided or broadcast view", () => {
  const x = arange(6, undefined, 1, { dtype: "float32" }).reshape([2, 3]);
  const t = x.t(), n = x.narrow(1, 1, 2), b = tensor([1.5, 2]).expand([2, 2]);
  assert.ok(!t.isContiguous() && !n.isDense && !b.isContiguous());
  const { trace, result } = explain(() => [String(t), String(n), String(b)]);
  assert.deepEqual(trace, []);
  assert.deepEqual(result, [
    "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])",
    "tensor([[1., 2.],\n        [4., 5.]])",
    "tensor([[1.5000, 2.0000],\n        [1.5000, 2.0000]])",
  ]);
});

Deno.test("format: a disposed tensor prints as such, with its shape and dtype", () => {
  const t = tensor([[1, 2]], { dtype: "int32" });
  t.dispose();
  assert.equal(String(t), "tensor(<disposed>, size=(1, 2), dtype=int32)");
  const g = tensor([1, 2], { requiresGrad: true });
  g.dispose();
  assert.equal(Deno.inspect(g), "tensor(<disposed>, size=(2,), dtype=float32, requiresGrad=true)");
});

Deno.test("format: formatTensorAsync gives the same text on cpu", async () => {
  for (const t of [tensor([[0.5, -2], [1e-6, 3]]), tensor(true), zeros([0, 2])]) {
    assert.equal(await formatTensorAsync(t), String(t));
  }
  const d = tensor([1]);
  d.dispose();
  assert.equal(await formatTensorAsync(d), "tensor(<disposed>, size=(1,), dtype=float32)");
});

Deno.test("format: setPrintOptions changes only what it is given; profiles reset", () => {
  try {
    setPrintOptions({ precision: 2 });
    assert.deepEqual(getPrintOptions(), {
      precision: 2,
      threshold: 1000,
      edgeitems: 3,
      linewidth: 80,
      sciMode: null,
    });
    setPrintOptions({ threshold: Infinity });
    assert.equal(getPrintOptions().precision, 2);
    assert.equal(String(tensor([Math.PI])), "tensor([3.14])");
    setPrintOptions({ profile: "short" });
    assert.deepEqual(getPrintOptions(), {
      precision: 2,
      threshold: 1000,
      edgeitems: 2,
      linewidth: 80,
      sciMode: null,
    });
    const copy = getPrintOptions();
    copy.precision = 9;
    assert.equal(getPrintOptions().precision, 2);
  } finally {
    setPrintOptions({ profile: "default" });
  }
  assert.equal(getPrintOptions().precision, 4);
});

Deno.test("format: setPrintOptions rejects bad options with a named error", () => {
  const bad: [unknown, string][] = [
    [{ precison: 2 }, 'setPrintOptions: unknown option "precison"'],
    [{ precision: -1 }, "setPrintOptions: precision must be an integer in [0, 1000], got -1"],
    [{ precision: 1.5 }, "setPrintOptions: precision must be an integer in [0, 1000], got 1.5"],
    [{ edgeitems: 0 }, "setPrintOptions: edgeitems must be an integer in [1, 1000], got 0"],
    [{ linewidth: "80" }, 'setPrintOptions: linewidth must be an integer in [1, 1000], got "80"'],
    [{ threshold: -1 }, "setPrintOptions: threshold must be a number >= 0"],
    [{ threshold: NaN }, "setPrintOptions: threshold must be a number >= 0"],
    [{ sciMode: 1 }, "setPrintOptions: sciMode must be true, false or null, got 1"],
    [{ profile: "long" }, 'setPrintOptions: profile must be "default", "short" or "full"'],
    [5, "setPrintOptions: options must be an object"],
  ];
  for (const [o, msg] of bad) {
    assertThrowsNamed(() => setPrintOptions(o as SetPrintOptions), ValueError, msg);
  }
  assert.deepEqual(getPrintOptions().precision, 4);
});

Deno.test("format: reprFloat is Python's repr(float); reprTuple is Python's tuple", () => {
  for (const [x, want] of fixtures.floats) assert.equal(reprFloat(x), denn(want), String(x));
  assert.equal(reprFloat(NaN), "nan");
  assert.equal(reprFloat(-Infinity), "-inf");
  assert.equal(reprTuple([5, 5]), "(5, 5)");
  assert.equal(reprTuple([3]), "(3,)");
  assert.equal(reprTuple([]), "()");
  assert.equal(reprTuple([null, 7]), "(null, 7)");
});

// ------------------------------------------------------------ modules

const MODELS: Record<string, () => Module> = {
  lenet5: () => lenet5(),
  alexnet: () => alexnet(),
  googlenet: () => googlenet({ auxLogits: true }),
  googlenet_noaux: () => googlenet(),
  resnet18: () => resnet(18),
  resnet50: () => resnet(50),
};

for (const [name, make] of Object.entries(MODELS)) {
  Deno.test(`format: ${name} prints as torchvision's does`, () => {
    const m = make();
    assert.equal(String(m), denn(fixtures.modules[name]));
    assert.equal(Deno.inspect(m), String(m));
  });
}

// tools/gen_format_fixtures.py's every_layer(), built with denn.
function everyLayer(): Module {
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }),
    new nn.Conv2d(6, 16, [3, 5], { stride: 2, dilation: [2, 1], groups: 2, bias: false }),
    new nn.Conv2d(4, 4, 3, { padding: "valid" }),
    new nn.ReLU(),
    new nn.ReLU({ inplace: true }),
    new nn.LeakyReLU(0.2, true),
    new nn.LeakyReLU(),
    new nn.GELU(),
    new nn.GELU({ approximate: "tanh" }),
    new nn.Sigmoid(),
    new nn.Tanh(),
    new nn.Softmax(1),
    new nn.LogSoftmax(-1),
    new nn.MaxPool2d(2),
    new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    new nn.MaxPool2d([2, 3], { stride: [1, 2], dilation: 2 }),
    new nn.AvgPool2d(3, { stride: 2, padding: 1 }),
    new nn.AvgPool2d([2, 4]),
    new nn.AdaptiveAvgPool2d([1, 1]),
    new nn.AdaptiveAvgPool2d([null, 7]),
    new nn.Dropout(0.25),
    new nn.Dropout(),
    new nn.BatchNorm2d(16),
    new nn.BatchNorm1d(8, {
      eps: 0.001,
      momentum: null,
      affine: false,
      trackRunningStats: false,
    }),
    new nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }),
    new nn.LocalResponseNorm(3),
    new nn.Flatten(),
    new nn.Flatten(0, 2),
    new nn.Identity(),
    new nn.Linear(4, 2, { bias: false }),
    new nn.Linear(400, 120),
    new nn.Sequential({
      conv: new nn.Conv2d(3, 8, 3, { padding: "same" }),
      act: new nn.ReLU({ inplace: true }),
    }),
    new nn.ModuleList([new nn.Tanh(), new nn.Linear(2, 2)]),
    new nn.CrossEntropyLoss(),
    new nn.MSELoss({ reduction: "sum" }),
  );
}

Deno.test("format: every layer type prints its settings as PyTorch's extra_repr does", () => {
  assert.equal(String(everyLayer()), denn(fixtures.modules["every layer"]));
});

Deno.test("format: denn-only containers and custom modules print as PyTorch would", () => {
  const block = new nn.Residual(
    new nn.Sequential(new nn.Conv2d(4, 4, 3, { padding: 1, bias: false }), new nn.ReLU()),
  );
  assert.equal(
    String(block),
    "Residual(\n" +
      "  (body): Sequential(\n" +
      "    (0): Conv2d(4, 4, kernelSize=(3, 3), stride=(1, 1), padding=(1, 1), bias=false)\n" +
      "    (1): ReLU()\n" +
      "  )\n" +
      ")",
  );
  const cat = new nn.Concat([new nn.Identity(), new nn.Tanh()], { dim: -1 });
  assert.equal(String(cat), "Concat(\n  dim=-1\n  (0): Identity()\n  (1): Tanh()\n)");

  class TwoLines extends Module {
    fc = new nn.Linear(2, 2);
    forward(x: Tensor): Tensor {
      return this.fc.forward(x);
    }
    override extraRepr(): string {
      return "first\nsecond";
    }
  }
  assert.equal(
    Deno.inspect(new TwoLines()),
    "TwoLines(\n  first\n  second\n  (fc): Linear(inFeatures=2, outFeatures=2, bias=true)\n)",
  );

  class Loop extends Module {
    inner = new nn.Sequential();
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  const loop = new Loop();
  loop.inner.append(loop);
  assert.equal(String(loop), "Loop(\n  (inner): Sequential(\n    (0): <cycle: Loop>\n  )\n)");
});

Deno.test("format: toString and extraRepr refuse extra arguments like every Module method", () => {
  const m = new nn.ReLU();
  const loose = m as unknown as { toString(a: number): string; extraRepr(a: number): string };
  assertThrowsNamed(() => loose.toString(1), ValueError, "Module.toString: takes at most 0");
  assertThrowsNamed(() => loose.extraRepr(1), ValueError, "ReLU.extraRepr: takes at most 0");
});
