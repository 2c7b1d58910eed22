/**
 * RNN, LSTM, GRU and their cells against PyTorch goldens (tools/gen_attention_fixtures.py →
 * tests/fixtures/rnn.json): PyTorch's state dict loads by its own keys, then the output, final
 * states and the gradients of the input, the initial state and every parameter are compared.
 * Then finite differences, dropout between layers, the cells against the layers they step, and the
 * named errors of bad calls.
 *
 * Tolerance: |actual − expected| ≤ 2e-5 + 2e-5·|expected|; the goldens are float64 results over
 * float32-exact inputs and parameters.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  DTypeError,
  Generator,
  noGrad,
  randn,
  ShapeError,
  type Tensor,
  ValueError,
  zeros,
} from "../../core/mod.ts";
import { GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell } from "../../layers/rnn.ts";
import { nn } from "../../mod.ts";
import { assertThrowsNamed, gradcheck } from "../../testing/mod.ts";
import { assertClose, values } from "./_helpers.ts";
import { buildRnn, fromFix, rnnFixture, runRnn, stateFrom } from "./_seq_fixtures.ts";

const TOL = 2e-5;
const loose = (f: unknown, ...a: unknown[]): unknown => (f as (...a: unknown[]) => unknown)(...a);

Deno.test("recurrent layers match PyTorch with its state dict", async (t) => {
  for (const c of rnnFixture.cases) {
    await t.step(c.name, () => {
      const m = buildRnn(c);
      assert.deepEqual(Object.keys(m.stateDict()), c.stateKeys, "state-dict keys and order");
      m.loadStateDict(stateFrom(m, c.state));
      m.train(c.training);
      const x = fromFix(c.x, "cpu", true);
      const hx = c.hx && c.hx.map((h) => fromFix(h, "cpu", true));
      const r = runRnn(m, c, x, hx);
      let loss: Tensor | null = null;
      for (const key of ["output", "h", "c"] as const) {
        const want = c[key], got = r[key];
        if (!want) {
          assert.equal(got, null, `${key} is absent`);
          continue;
        }
        assert.deepEqual(got!.shape, want.shape, `${key} shape`);
        assertClose(values(got!), want.data, `${c.name}: ${key}`, TOL, TOL);
        const term = got!.mul(fromFix(c.g[key])).sum();
        loss = loss ? loss.add(term) : term;
      }
      loss!.backward();
      assertClose(values(x.grad!), c.dx, `${c.name}: dx`, TOL, TOL);
      c.dhx?.forEach((d, i) =>
        assertClose(values(hx![i].grad!), d, `${c.name}: dhx ${i}`, TOL, TOL)
      );
      const params = Object.fromEntries(m.namedParameters());
      assert.deepEqual(Object.keys(c.grads).sort(), Object.keys(params).sort(), "parameters");
      for (const [k, g] of Object.entries(c.grads)) {
        assertClose(values(params[k].grad!), g, `${c.name}: d${k}`, TOL, TOL);
      }
    });
  }
});

Deno.test("recurrent gradients agree with finite differences", () => {
  const lstm = new LSTM(2, 3, { bidirectional: true, projSize: 2 });
  gradcheck((x, h, c) => lstm.forward(x, [h, c]).output, [
    randn([3, 2, 2]),
    randn([2, 2, 2]),
    randn([2, 2, 3]),
  ]);
  const gru = new GRU(2, 3, { numLayers: 2, batchFirst: true });
  gradcheck((x, h) => gru.forward(x, h).h, [randn([2, 3, 2]), randn([2, 2, 3])]);
  const rnn = new RNN(2, 3);
  gradcheck((x) => rnn.forward(x).output, [randn([4, 2])]);
  const cell = new LSTMCell(2, 3);
  gradcheck((x, h, c) => cell.forward(x, { h, c }).c, [
    randn([2, 2]),
    randn([2, 3]),
    randn([2, 3]),
  ]);
  const gcell = new GRUCell(2, 3);
  gradcheck((x, h) => gcell.forward(x, h), [randn([2, 2]), randn([2, 3])]);
});

Deno.test("cells stepped by hand give the layers' outputs", () => {
  const lstm = new LSTM(3, 4), cell = new LSTMCell(3, 4);
  const gru = new GRU(3, 4), gcell = new GRUCell(3, 4);
  const rnn = new RNN(3, 4, { nonlinearity: "relu" });
  const rcell = new RNNCell(3, 4, { nonlinearity: "relu" });
  const copy = (
    from: { stateDict(): Record<string, Tensor> },
    to: typeof cell | typeof gcell | typeof rcell,
  ) => {
    const sd = from.stateDict();
    to.loadStateDict(
      Object.fromEntries(Object.entries(sd).map(([k, v]) => [k.replace("_l0", ""), v])),
    );
  };
  copy(lstm, cell);
  copy(gru, gcell);
  copy(rnn, rcell);
  const x = randn([5, 2, 3]);
  let s = cell.forward(x.select(0, 0));
  let gh = gcell.forward(x.select(0, 0));
  let rh = rcell.forward(x.select(0, 0));
  for (let t = 1; t < 5; t++) {
    s = cell.forward(x.select(0, t), s);
    gh = gcell.forward(x.select(0, t), gh);
    rh = rcell.forward(x.select(0, t), rh);
  }
  const l = lstm.forward(x);
  assertClose(values(s.h), values(l.h), "LSTM h");
  assertClose(values(s.c), values(l.c), "LSTM c");
  assertClose(values(gh), values(gru.forward(x).h), "GRU h");
  assertClose(values(rh), values(rnn.forward(x).h), "RNN h");
  // The initial LSTM state may be [h0, c0] or { h, c }.
  const h0 = randn([1, 2, 4]), c0 = randn([1, 2, 4]);
  assertClose(
    values(lstm.forward(x, [h0, c0]).output),
    values(lstm.forward(x, { h: h0, c: c0 }).output),
    "state forms",
  );
});

Deno.test("dropout between layers: training only, never after the last layer", () => {
  const two = new LSTM(3, 4, { numLayers: 2, dropout: 1 });
  const top = new LSTM(4, 4);
  const sd = two.stateDict();
  top.loadStateDict(Object.fromEntries(
    Object.entries(top.stateDict()).map(([k]) => [k, sd[k.replace("_l0", "_l1")]]),
  ));
  const x = randn([5, 2, 3]);
  // p = 1 zeroes the first layer's output, so the second layer sees zeros.
  assertClose(values(two.forward(x).output), values(top.forward(zeros([5, 2, 4])).output), "p = 1");
  two.eval();
  assert.ok(
    values(two.forward(x).output).some((v, i) =>
      v !== values(top.forward(zeros([5, 2, 4])).output)[i]
    ),
  );
  // A seeded generator makes the masks reproducible.
  const a = new GRU(3, 4, { numLayers: 2, dropout: 0.5, generator: new Generator(3) });
  const b = new GRU(3, 4, { numLayers: 2, dropout: 0.5, generator: new Generator(3) });
  b.loadStateDict(a.stateDict());
  assert.deepEqual(values(a.forward(x).output), values(b.forward(x).output));
});

Deno.test("recurrent layers: PyTorch's parameter names, shapes and init range", () => {
  const m = new LSTM(3, 5, { numLayers: 2, bidirectional: true, projSize: 2, bias: false });
  assert.deepEqual(Object.keys(m.stateDict()).slice(0, 6), [
    "weight_ih_l0",
    "weight_hh_l0",
    "weight_hr_l0",
    "weight_ih_l0_reverse",
    "weight_hh_l0_reverse",
    "weight_hr_l0_reverse",
  ]);
  const sd = m.stateDict();
  assert.deepEqual(sd.weight_ih_l1.shape, [20, 4]);
  assert.deepEqual(sd.weight_hh_l1.shape, [20, 2]);
  assert.deepEqual(sd.weight_hr_l1.shape, [2, 5]);
  const bound = 1 / Math.sqrt(5);
  for (const p of m.parameters()) assert.ok(values(p).every((v) => Math.abs(v) <= bound));
  assert.deepEqual(Object.keys(new GRUCell(2, 3).stateDict()), [
    "weight_ih",
    "weight_hh",
    "bias_ih",
    "bias_hh",
  ]);
  assert.deepEqual(new GRU(2, 3).stateDict().weight_ih_l0.shape, [9, 2]);
  assert.deepEqual(new RNN(2, 3).stateDict().weight_hh_l0.shape, [3, 3]);
  assert.equal(nn.LSTM, LSTM);
  assert.equal(nn.GRUCell, GRUCell);
  noGrad(() => assert.equal(new LSTM(2, 3).forward(randn([4, 1, 2])).output.requiresGrad, false));
});

Deno.test("recurrent layers: bad arguments are named errors", () => {
  assertThrowsNamed(
    () => new LSTM(0, 3),
    ValueError,
    "LSTM: inputSize must be a positive integer, got 0",
  );
  assertThrowsNamed(
    () => new GRU(2, 3, { numLayers: 1.5 }),
    ValueError,
    "GRU: numLayers must be a positive integer, got 1.5",
  );
  assertThrowsNamed(
    () => new LSTM(2, 3, { dropout: 2 }),
    ValueError,
    "LSTM: dropout must be a probability",
  );
  assertThrowsNamed(
    () => new LSTM(2, 3, { projSize: 3 }),
    ValueError,
    "LSTM: projSize must be smaller than hiddenSize (3), got 3",
  );
  assertThrowsNamed(
    () => new LSTM(2, 3, { projSize: -1 }),
    ValueError,
    "LSTM: projSize must be an integer >= 0",
  );
  assertThrowsNamed(
    () => loose((o: object) => new GRU(2, 3, o), { projSize: 1 }),
    ValueError,
    'GRU: unknown option "projSize"',
  );
  assertThrowsNamed(
    () => loose((o: object) => new RNN(2, 3, o), { nonlinearity: "sigmoid" }),
    ValueError,
    'RNN: nonlinearity must be one of "tanh", "relu"',
  );
  assertThrowsNamed(
    () => loose((o: object) => new LSTM(2, 3, o), { batch_first: true }),
    ValueError,
    'LSTM: unknown option "batch_first"',
  );
  assertThrowsNamed(
    () => loose((o: object) => new LSTM(2, 3, o), { bidirectional: 1 }),
    ValueError,
    "LSTM: bidirectional must be a boolean",
  );
  assertThrowsNamed(
    () => loose((o: object) => new GRUCell(2, 3, o), { nonlinearity: "relu" }),
    ValueError,
    'GRUCell: unknown option "nonlinearity"',
  );
  assertThrowsNamed(
    () => new LSTMCell(2, -1),
    ValueError,
    "LSTMCell: hiddenSize must be a positive integer, got -1",
  );

  const lstm = new LSTM(2, 3, { numLayers: 2 });
  const F = "LSTM.forward";
  assertThrowsNamed(
    () => loose(lstm.forward.bind(lstm), [[1, 2]]),
    ValueError,
    `${F}: expected a Tensor as input`,
  );
  assertThrowsNamed(
    () => loose(lstm.forward.bind(lstm), randn([4, 1, 2]), null, 1),
    ValueError,
    `${F}: takes at most 2 arguments`,
  );
  assertThrowsNamed(
    () => lstm.forward(randn([4, 1, 1, 2])),
    ShapeError,
    `${F}: expected input of 3 dimensions [L, N, inputSize] or 2`,
  );
  assertThrowsNamed(
    () => lstm.forward(randn([4, 1, 3])),
    ShapeError,
    `${F}: input [4, 1, 3] must have 2 features (inputSize)`,
  );
  assertThrowsNamed(
    () => lstm.forward(randn([0, 1, 2])),
    ShapeError,
    "sequence length larger than 0",
  );
  assertThrowsNamed(
    () => lstm.forward(randn([4, 1, 2]).int()),
    DTypeError,
    `${F}: input must be floating point`,
  );
  assertThrowsNamed(
    () => lstm.forward(randn([4, 1, 2]), [zeros([1, 1, 3]), zeros([2, 1, 3])]),
    ShapeError,
    `${F}: expected h0 of shape [2, 1, 3] for input [4, 1, 2], got [1, 1, 3]`,
  );
  assertThrowsNamed(
    () => lstm.forward(randn([4, 2]), [zeros([2, 3]), zeros([2, 1, 3])]),
    ShapeError,
    "expected c0 of shape [2, 3]",
  );
  assertThrowsNamed(
    () => loose(lstm.forward.bind(lstm), randn([4, 1, 2]), zeros([2, 1, 3])),
    ValueError,
    `${F}: the initial state must be [h0, c0] or { h, c }`,
  );
  assertThrowsNamed(
    () => loose(lstm.forward.bind(lstm), randn([4, 1, 2]), [zeros([2, 1, 3]), 1]),
    ValueError,
    `${F}: expected a Tensor as c0`,
  );
  assertThrowsNamed(
    () =>
      loose(lstm.forward.bind(lstm), randn([4, 1, 2]), {
        h: zeros([2, 1, 3]),
        c: zeros([2, 1, 3]),
        x: 1,
      }),
    ValueError,
    `${F}: unknown option "x"`,
  );
  assertThrowsNamed(
    () => lstm.forward(randn([4, 1, 2]), [zeros([2, 1, 3]).int(), zeros([2, 1, 3])]),
    DTypeError,
    "h0 must be floating point",
  );
  const gru = new GRU(2, 3);
  assertThrowsNamed(
    () => loose(gru.forward.bind(gru), randn([4, 1, 2]), [zeros([1, 1, 3])]),
    ValueError,
    "GRU.forward: expected a Tensor or null as hx",
  );
  assertThrowsNamed(
    () => gru.forward(randn([4, 1, 2]), zeros([1, 2, 3])),
    ShapeError,
    "GRU.forward: expected hx of shape [1, 1, 3]",
  );
  const cell = new GRUCell(2, 3);
  assertThrowsNamed(
    () => cell.forward(randn([3, 1, 2])),
    ShapeError,
    "GRUCell.forward: expected input [N, inputSize] or unbatched [inputSize]",
  );
  assertThrowsNamed(
    () => cell.forward(randn([3, 2]), zeros([3])),
    ShapeError,
    "GRUCell.forward: expected hx of shape [3, 3]",
  );
  const lcell = new LSTMCell(2, 3);
  assertThrowsNamed(
    () => loose(lcell.forward.bind(lcell), randn([2]), zeros([3])),
    ValueError,
    "LSTMCell.forward: the initial state must be [h0, c0] or { h, c }",
  );
  assertThrowsNamed(
    () => new RNNCell(2, 3).forward(randn([1, 3])),
    ShapeError,
    "RNNCell.forward: input [1, 3] must have 2 features (inputSize)",
  );
});
