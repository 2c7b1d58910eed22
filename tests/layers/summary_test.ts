// summary(model, inputShape): every module call of one forward pass, checked against PyTorch's
// forward hooks on the same architectures (tests/fixtures/format.json "calls", written by
// tools/gen_format_fixtures.py): call order, names, classes, nesting, output shapes and parameter
// counts; the totals; the table's text; and that the model is left exactly as it was.

import assert from "node:assert/strict";
import { Module, nn, ShapeError, summary, tensor, ValueError } from "../../mod.ts";
import type { ModelSummary, SummaryOptions, Tensor } from "../../mod.ts";
import { alexnet, googlenet, lenet5, resnet } from "../../plugins/models/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

interface Call {
  name: string;
  type: string;
  depth: number;
  params: number;
  shape: number[] | null;
}

const fixtures = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/format.json", import.meta.url)),
) as { calls: Record<string, { input: number[]; totalParams: number; rows: Call[] }> };

function sameCalls(s: ModelSummary, want: Call[]): void {
  const got = s.rows.map((r) => ({
    name: r.name,
    type: r.type,
    depth: r.depth,
    params: r.numParams,
    shape: r.outputShape,
  }));
  assert.deepEqual(got, want);
}

const MODELS: Record<string, () => Module> = {
  lenet5: () => lenet5(),
  resnet18: () => resnet(18, { numClasses: 10 }),
  alexnet: () => alexnet({ numClasses: 10 }),
  googlenet: () => googlenet({ numClasses: 10, auxLogits: true }),
};

for (const [name, make] of Object.entries(MODELS)) {
  Deno.test(`summary: ${name}'s calls, shapes and counts match PyTorch's forward hooks`, () => {
    const f = fixtures.calls[name];
    const s = summary(make(), f.input);
    sameCalls(s, f.rows);
    assert.equal(s.totalParams, f.totalParams);
    assert.equal(s.trainableParams, f.totalParams);
    assert.equal(s.nonTrainableParams, 0);
  });
}

Deno.test("summary: LeNet-5 has 61,706 parameters and torchvision-style output shapes", () => {
  const s = summary(lenet5(), [1, 1, 28, 28]);
  assert.equal(s.totalParams, 61706);
  assert.equal(s.paramBytes, 61706 * 4);
  assert.equal(s.inputBytes, 28 * 28 * 4);
  const byName = Object.fromEntries(s.rows.map((r) => [r.name, r.outputShape]));
  assert.deepEqual(byName["features.0"], [1, 6, 28, 28]);
  assert.deepEqual(byName["features.2"], [1, 6, 14, 14]);
  assert.deepEqual(byName["features.3"], [1, 16, 10, 10]);
  assert.deepEqual(byName["features.5"], [1, 16, 5, 5]);
  assert.deepEqual(byName["classifier.0"], [1, 120]);
  assert.deepEqual(byName["classifier.2"], [1, 84]);
  assert.deepEqual(byName[""], [1, 10]);
});

Deno.test("summary: the table of LeNet-5", () => {
  const text = String(summary(lenet5(), [1, 1, 28, 28]));
  assert.equal(
    text,
    [
      "======================================================",
      "Layer (name: type)          Output Shape       Param #",
      "======================================================",
      "LeNet5                      [1, 10]            --",
      "├─features: Sequential      [1, 16, 5, 5]      --",
      "│  ├─0: Conv2d              [1, 6, 28, 28]     156",
      "│  ├─1: ReLU                [1, 6, 28, 28]     --",
      "│  ├─2: MaxPool2d           [1, 6, 14, 14]     --",
      "│  ├─3: Conv2d              [1, 16, 10, 10]    2,416",
      "│  ├─4: ReLU                [1, 16, 10, 10]    --",
      "│  └─5: MaxPool2d           [1, 16, 5, 5]      --",
      "└─classifier: Sequential    [1, 10]            --",
      "   ├─0: Linear              [1, 120]           48,120",
      "   ├─1: ReLU                [1, 120]           --",
      "   ├─2: Linear              [1, 84]            10,164",
      "   ├─3: ReLU                [1, 84]            --",
      "   └─4: Linear              [1, 10]            850",
      "======================================================",
      "Total params: 61,706",
      "Trainable params: 61,706",
      "Non-trainable params: 0",
      "======================================================",
      "Input size (MB): 0.00",
      "Params size (MB): 0.25",
      "======================================================",
    ].join("\n"),
  );
  assert.equal(Deno.inspect(summary(lenet5(), [1, 1, 28, 28])), text);
});

Deno.test("summary: depth hides deeper calls and their parents show the whole count", () => {
  const s = summary(resnet(18, { numClasses: 10 }), [1, 3, 32, 32], { depth: 1 });
  const lines = String(s).split("\n");
  assert.ok(
    lines.includes("├─layer1: Sequential            [1, 64, 8, 8]      147,968"),
    String(s),
  );
  assert.ok(!lines.some((l) => l.includes("BasicBlock")));
  // Still recorded: 8 blocks of 6 calls, and 3 projection shortcuts.
  assert.equal(s.rows.filter((r) => r.depth === 3).length, 51);
  // At the default depth 3 a projection shortcut's children (depth 4) count in its row, and a
  // block's second call of its shared ReLU is a repeat (with no parameters: "--").
  const deep = summary(resnet(18, { numClasses: 10 }), [1, 3, 32, 32]);
  const text = String(deep);
  // The columns, split where the padding is (at least 4 spaces; the tree lines have 2 or 3).
  const cols = text.split("\n").map((l) => l.split(/(?<=\S) {4,}/));
  const at = (label: string) => cols.findIndex((c) => c[0] === label);
  assert.deepEqual(cols[at("│  │  ├─downsample: Sequential")].slice(1), [
    "[1, 128, 4, 4]",
    "8,448",
  ]);
  const bn2 = at("│  │  ├─bn2: BatchNorm2d");
  assert.ok(bn2 > 0, text);
  assert.deepEqual(cols[bn2 + 1], ["│  │  └─relu: ReLU", "[1, 64, 8, 8]", "--"]);
  assert.deepEqual(
    deep.rows.filter((r) => r.name === "layer1.0.relu").map((r) => r.repeated),
    [false, true],
  );
});

Deno.test("summary: a module called twice shows (recursive) for its parameters", () => {
  class Twice extends Module {
    fc = new nn.Linear(3, 3);
    forward(x: Tensor): Tensor {
      return this.fc.forward(this.fc.forward(x));
    }
  }
  const s = summary(new Twice(), [2, 3]);
  const lines = String(s).split("\n");
  assert.ok(lines.some((l) => /^├─fc: Linear +\[2, 3\] +12$/.test(l)), String(s));
  assert.ok(lines.some((l) => /^└─fc: Linear +\[2, 3\] +\(recursive\)$/.test(l)), String(s));
  assert.equal(s.totalParams, 12);
});

Deno.test("summary: several inputs, a non-tensor count and a frozen parameter", () => {
  class Pair extends Module {
    a = new nn.Linear(2, 4);
    b = new nn.Linear(3, 4);
    forward(x: Tensor, y: Tensor): Tensor {
      return this.a.forward(x).add(this.b.forward(y));
    }
  }
  const m = new Pair();
  m.b.bias!.requiresGrad_(false);
  const s = summary(m, [[5, 2], [5, 3]]);
  assert.deepEqual(s.inputShapes, [[5, 2], [5, 3]]);
  assert.deepEqual(s.rows.map((r) => [r.name, r.outputShape]), [
    ["", [5, 4]],
    ["a", [5, 4]],
    ["b", [5, 4]],
  ]);
  assert.equal(s.totalParams, 12 + 16);
  assert.equal(s.trainableParams, 24);
  assert.equal(s.nonTrainableParams, 4);
});

Deno.test("summary: leaves the model as it was (forwards, modes, statistics)", async () => {
  const net = new nn.Sequential(
    new nn.Conv2d(1, 2, 3),
    new nn.BatchNorm2d(2),
    new nn.Dropout(0.5),
    new nn.Flatten(),
  );
  net.at(2).eval(); // a mixed state that must survive
  const before = await Promise.all(Object.values(net.stateDict()).map((t) => t.toArray()));
  const s = summary(net, [4, 1, 5, 5]);
  assert.deepEqual(s.rows[0].outputShape, [4, 18]);
  assert.deepEqual(net.modules().map((m) => m.training), [true, true, true, false, true]);
  for (const m of net.modules()) assert.ok(!Object.hasOwn(m, "forward"), m.constructor.name);
  const after = await Promise.all(Object.values(net.stateDict()).map((t) => t.toArray()));
  assert.deepEqual(after, before);
  // A module that had its own forward gets it back.
  const id = new nn.Identity();
  const own = (x: Tensor) => x.mul(2);
  Object.defineProperty(id, "forward", { value: own, writable: true, configurable: true });
  summary(id, [1]);
  assert.equal(id.forward, own);
});

Deno.test("summary: a failing forward still restores the model and raises its error", () => {
  const net = lenet5();
  assertThrowsNamed(() => summary(net, [1, 3, 28, 28]), ShapeError, "LeNet5: expected input");
  for (const m of net.modules()) assert.ok(!Object.hasOwn(m, "forward"));
  assert.ok(net.training);
});

Deno.test("summary: { print: true } logs the table", () => {
  const logged: unknown[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => logged.push(...a);
  try {
    const s = summary(new nn.Linear(2, 3), [1, 2], { print: true });
    assert.deepEqual(logged, [String(s)]);
  } finally {
    console.log = log;
  }
  assert.match(logged[0] as string, /^Linear +\[1, 3\] +9$/m);
});

Deno.test("summary: bad arguments are named errors", () => {
  const net = new nn.Linear(2, 3);
  const call = (...a: unknown[]) => () => (summary as (...a: unknown[]) => unknown)(...a);
  assertThrowsNamed(call({}, [1, 2]), ValueError, "summary: model must be a Module, got Object");
  assertThrowsNamed(call(net, []), ShapeError, "summary: inputShape must be a shape like");
  assertThrowsNamed(call(net, [1, -2]), ShapeError, "summary: inputShape must be a shape like");
  assertThrowsNamed(call(net, [[1, 2], 3]), ShapeError, "summary: inputShape must be a shape");
  assertThrowsNamed(call(net, tensor([1, 2])), ShapeError, "got Tensor");
  assertThrowsNamed(call(net, [1, 2], { dept: 1 }), ValueError, 'summary: unknown option "dept"');
  const bad: [SummaryOptions, string][] = [
    [{ depth: -1 }, "summary: depth must be a non-negative integer or Infinity, got -1"],
    [{ depth: 1.5 }, "summary: depth must be a non-negative integer or Infinity, got 1.5"],
    [{ dtype: "float64" as "float32" }, 'summary: dtype must be a denn dtype, got "float64"'],
    [{ print: 1 as unknown as boolean }, "summary: print must be a boolean, got 1"],
    [{ device: 3 as unknown as string }, "summary: device must be a device name, got 3"],
  ];
  for (const [o, msg] of bad) assertThrowsNamed(call(net, [1, 2], o), ValueError, msg);
  assertThrowsNamed(call(net, [1, 2], {}, 4), ValueError, "summary: takes at most 3 arguments");
  for (const m of net.modules()) assert.ok(!Object.hasOwn(m, "forward"));
});
