/**
 * F.scaledDotProductAttention, MultiheadAttention and the transformer layers against PyTorch
 * goldens (tools/gen_attention_fixtures.py): outputs, attention weights, and the gradients of every
 * input, float mask and parameter, after loading PyTorch's state dict by its own keys. Then finite
 * differences (gradcheck), the options PyTorch 1.13 cannot produce goldens for (isCausal, dropout),
 * and the named errors of bad calls.
 *
 * Tolerance: |actual − expected| ≤ 2e-5 + 2e-5·|expected| (sdpa, attention) and 5e-5 (stacks of
 * layer norms); the goldens are float64 results over float32-exact inputs and parameters.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  DTypeError,
  Generator,
  type Module,
  ones,
  randn,
  ShapeError,
  type Tensor,
  tensor,
  ValueError,
  zeros,
} from "../../core/mod.ts";
import { MultiheadAttention, scaledDotProductAttention as sdpa } from "../../layers/attention.ts";
import {
  TransformerDecoder,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
} from "../../layers/transformer.ts";
import { dropout } from "../../layers/dropout.ts";
import { LayerNorm } from "../../layers/norm.ts";
import { F, nn } from "../../mod.ts";
import { assertThrowsNamed, gradcheck } from "../../testing/mod.ts";
import { assertClose, values } from "./_helpers.ts";
import { attentionFixture, buildModule, fromFix, runModule, stateFrom } from "./_seq_fixtures.ts";

const TOL = 2e-5;
const loose = (f: unknown, ...a: unknown[]): unknown => (f as (...a: unknown[]) => unknown)(...a);

Deno.test("scaledDotProductAttention matches the PyTorch formula, forward and gradients", async (t) => {
  for (const c of attentionFixture.sdpa) {
    await t.step(c.name, () => {
      const q = fromFix(c.q, "cpu", true), k = fromFix(c.k, "cpu", true);
      const v = fromFix(c.v, "cpu", true);
      const mask = c.options.attnMask
        ? fromFix(c.options.attnMask, "cpu", c.options.attnMask.dtype === "float32")
        : undefined;
      const y = sdpa(q, k, v, { ...c.options, attnMask: mask });
      assert.deepEqual(y.shape, c.y.shape, "output shape");
      assertClose(values(y), c.y.data, `${c.name}: y`, TOL, TOL);
      y.mul(fromFix(c.g)).sum().backward();
      assertClose(values(q.grad!), c.dq, `${c.name}: dq`, TOL, TOL);
      assertClose(values(k.grad!), c.dk, `${c.name}: dk`, TOL, TOL);
      assertClose(values(v.grad!), c.dv, `${c.name}: dv`, TOL, TOL);
      if (c.dmask) assertClose(values(mask!.grad!), c.dmask, `${c.name}: dmask`, TOL, TOL);
    });
  }
});

Deno.test("attention modules match PyTorch with its state dict", async (t) => {
  for (const c of attentionFixture.modules) {
    await t.step(c.name, () => {
      const m = buildModule(c.spec);
      assert.deepEqual(Object.keys(m.stateDict()), c.stateKeys, "state-dict keys and order");
      m.loadStateDict(stateFrom(m, c.state));
      m.train(c.training);
      const tol = c.spec.type.endsWith("Decoder") || c.spec.type.endsWith("Encoder") ? 5e-5 : TOL;
      const inputs = c.inputs.map((x) => fromFix(x, "cpu", true));
      const { y, weights, masks } = runModule(m, c, inputs);
      assert.deepEqual(y.shape, c.y.shape, "output shape");
      assertClose(values(y), c.y.data, `${c.name}: output`, tol, tol);
      let loss = y.mul(fromFix(c.g)).sum();
      if (c.weights === null) assert.equal(weights, null, "needWeights false gives null");
      if (c.weights) {
        assert.deepEqual(weights!.shape, c.weights.shape, "weights shape");
        assertClose(values(weights!), c.weights.data, `${c.name}: weights`, tol, tol);
        loss = loss.add(weights!.mul(fromFix(c.gw!)).sum());
      }
      loss.backward();
      c.dInputs.forEach((d, i) =>
        assertClose(values(inputs[i].grad!), d, `d input ${i}`, tol, tol)
      );
      const params = Object.fromEntries(m.namedParameters());
      assert.deepEqual(Object.keys(c.grads).sort(), Object.keys(params).sort(), "parameters");
      for (const [k, g] of Object.entries(c.grads)) {
        assertClose(values(params[k].grad!), g, `${c.name}: d${k}`, tol, tol);
      }
      for (const [k, g] of Object.entries(c.dMasks)) {
        assertClose(values(masks[k].grad!), g, `${c.name}: d${k}`, tol, tol);
      }
    });
  }
});

Deno.test("scaledDotProductAttention gradients agree with finite differences", () => {
  const keep = tensor([[true, false, true], [true, true, false]]);
  gradcheck((q, k, v) => sdpa(q, k, v), [randn([2, 2, 3]), randn([2, 3, 3]), randn([2, 3, 4])]);
  gradcheck((q, k, v) => sdpa(q, k, v, { isCausal: true, scale: 0.7 }), [
    randn([2, 4, 3]),
    randn([2, 4, 3]),
    randn([2, 4, 2]),
  ]);
  gradcheck((q, k, v) => sdpa(q, k, v, { attnMask: keep }), [
    randn([2, 2, 3]),
    randn([2, 3, 3]),
    randn([2, 3, 2]),
  ]);
  gradcheck((q, k, v, m) => sdpa(q, k, v, { attnMask: m }), [
    randn([2, 3]),
    randn([3, 3]),
    randn([3, 2]),
    randn([2, 3]),
  ]);
});

Deno.test("MultiheadAttention and the transformer layers agree with finite differences", () => {
  const mha = new MultiheadAttention(4, 2, { addBiasKv: true, addZeroAttn: true });
  const kpm = tensor([[false, true, false], [false, false, false]]);
  gradcheck((q, k) => mha.forward(q, k, k, { keyPaddingMask: kpm }).output, [
    randn([2, 2, 4]),
    randn([3, 2, 4]),
  ], { atol: 2e-2, rtol: 2e-2 });
  const enc = new TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0 });
  gradcheck((x) => enc.forward(x, { isCausal: true }), [randn([3, 1, 4])], {
    atol: 2e-2,
    rtol: 2e-2,
  });
});

Deno.test("isCausal equals the explicit lower-triangular mask", () => {
  const q = randn([2, 4, 3]), k = randn([2, 6, 3]), v = randn([2, 6, 5]);
  const l = 4, s = 6;
  const tri = tensor(
    Array.from({ length: l }, (_, i) => Array.from({ length: s }, (_, j) => j <= i)),
  );
  assertClose(
    values(sdpa(q, k, v, { isCausal: true })),
    values(sdpa(q, k, v, { attnMask: tri })),
    "sdpa",
  );
  // A bool mask and the 0/−∞ float mask it stands for give the same result.
  const inf = tensor(
    Array.from(
      { length: l },
      (_, i) => Array.from({ length: s }, (_, j) => (j <= i ? 0 : -Infinity)),
    ),
  );
  assertClose(
    values(sdpa(q, k, v, { attnMask: inf })),
    values(sdpa(q, k, v, { attnMask: tri })),
    "float",
  );

  const mha = new MultiheadAttention(6, 3);
  const x = randn([4, 2, 6]);
  const masked = tensor(
    Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => j > i)),
  );
  const a = mha.forward(x, x, x, { isCausal: true });
  const b = mha.forward(x, x, x, { attnMask: masked });
  assertClose(values(a.output), values(b.output), "MultiheadAttention output");
  assertClose(values(a.weights!), values(b.weights!), "MultiheadAttention weights");
  // With a mask, isCausal is PyTorch's hint: the mask given is used.
  const c = mha.forward(x, x, x, { isCausal: true, attnMask: masked });
  assertClose(values(c.output), values(b.output), "hint");

  const layer = new TransformerEncoderLayer(6, 3, { dimFeedforward: 8 }).eval();
  assertClose(
    values(layer.forward(x, { isCausal: true })),
    values(layer.forward(x, { srcMask: masked })),
    "TransformerEncoderLayer",
  );
  const dec = new TransformerDecoderLayer(6, 3, { dimFeedforward: 8 }).eval();
  const mem = randn([5, 2, 6]);
  assertClose(
    values(dec.forward(x, mem, { tgtIsCausal: true })),
    values(dec.forward(x, mem, { tgtMask: masked })),
    "TransformerDecoderLayer",
  );
});

Deno.test("a fully masked query row gives NaN, as in PyTorch's math attention", () => {
  const keep = tensor([[true, true], [false, false]]);
  const y = values(sdpa(ones([2, 3]), ones([2, 3]), ones([2, 1]), { attnMask: keep }));
  assert.equal(y[0], 1);
  assert.ok(Number.isNaN(y[1]));
});

Deno.test("attention dropout is applied to the weights, in training only", () => {
  const q = randn([2, 3, 4]), k = randn([2, 5, 4]), v = randn([2, 5, 3]);
  const a = sdpa(q, k, v, { dropoutP: 0.5, generator: new Generator(7) });
  // The same computation by hand: softmax weights, the same dropout mask, then · v.
  const w = q.matmul(k.transpose(1, 2)).mul(0.5).softmax(-1);
  const byHand = dropout(w, 0.5, true, { generator: new Generator(7) }).matmul(v);
  assertClose(values(a), values(byHand), "dropout on weights");
  assertClose(values(sdpa(q, k, v, { dropoutP: 1 })), new Array(18).fill(0), "p = 1");

  const mha = new MultiheadAttention(4, 2, { dropout: 1 });
  const x = randn([3, 2, 4]);
  const out = mha.forward(x, x, x);
  const bias = values(mha.outProj.bias!);
  assertClose(values(out.output), Array.from({ length: 24 }, (_, i) => bias[i % 4]), "MHA p = 1");
  assertClose(values(out.weights!), new Array(18).fill(0), "MHA weights p = 1");
  mha.eval();
  const w2 = values(mha.forward(x, x, x).weights!);
  for (let r = 0; r < 6; r++) {
    assertClose([w2[3 * r] + w2[3 * r + 1] + w2[3 * r + 2]], [1], "eval rows sum to 1", 1e-6);
  }
});

Deno.test("MultiheadAttention: PyTorch's parameters, keys, init and camelCase getters", () => {
  const m = new MultiheadAttention(8, 2);
  assert.deepEqual(m.inProjWeight!.shape, [24, 8]);
  assert.deepEqual(values(m.inProjBias!), new Array(24).fill(0));
  assert.deepEqual(values(m.outProj.bias!), new Array(8).fill(0));
  const bound = Math.sqrt(6 / (8 + 24)); // xavier_uniform_ on [3E, E]
  assert.ok(values(m.inProjWeight!).every((x) => Math.abs(x) <= bound));
  assert.equal(m.qProjWeight, null);
  const sep = new MultiheadAttention(8, 4, { kdim: 3, vdim: 5, bias: false, addBiasKv: true });
  assert.deepEqual(Object.keys(sep.stateDict()), [
    "q_proj_weight",
    "k_proj_weight",
    "v_proj_weight",
    "bias_k",
    "bias_v",
    "out_proj.weight",
  ]);
  assert.deepEqual(sep.kProjWeight!.shape, [8, 3]);
  assert.deepEqual(sep.biasV!.shape, [1, 1, 8]);
  assert.equal(sep.inProjWeight, null);
  assert.equal(sep.headDim, 2);
  assert.equal(m.parameters().length, 4);
  // The module is a Module at run time: moving, train/eval and state dicts work.
  assert.equal(m.eval().training, false);
});

Deno.test("TransformerEncoder copies its layer: same values, separate parameters", () => {
  const layer = new TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0 });
  const enc = new TransformerEncoder(layer, 2, { norm: new LayerNorm(4) });
  const sd = enc.stateDict();
  assert.equal(Object.keys(sd).length, 2 * 12 + 2);
  const own = layer.stateDict();
  for (const [k, t] of Object.entries(own)) {
    assert.deepEqual(values(sd[`layers.0.${k}`]), values(t), k);
    assert.deepEqual(values(sd[`layers.1.${k}`]), values(t), k);
    assert.notEqual(sd[`layers.0.${k}`], sd[`layers.1.${k}`], `${k} is a separate tensor`);
  }
  assert.deepEqual(Object.keys(sd).slice(-2), ["norm.weight", "norm.bias"]);
  const dec = new TransformerDecoder(new TransformerDecoderLayer(4, 2, { dimFeedforward: 6 }), 3);
  assert.equal(Object.keys(dec.stateDict()).length, 3 * 18);
  assert.equal(dec.forward(randn([2, 4]), randn([3, 4])).shape.join(), "2,4");
});

Deno.test("nn and F export the attention layers", () => {
  assert.equal(nn.MultiheadAttention, MultiheadAttention);
  assert.equal(nn.TransformerEncoderLayer, TransformerEncoderLayer);
  assert.equal(nn.TransformerDecoder, TransformerDecoder);
  assert.equal(F.scaledDotProductAttention, sdpa);
});

Deno.test("attention: bad arguments are named errors", () => {
  const q = randn([2, 3, 4]), k = randn([2, 5, 4]), v = randn([2, 5, 6]);
  const S = "scaledDotProductAttention";
  assertThrowsNamed(
    () => loose(sdpa, q, k, v, {}, 1),
    ValueError,
    `${S}: takes at most 4 arguments`,
  );
  assertThrowsNamed(() => loose(sdpa, [[1]], k, v), ValueError, `${S}: expected a Tensor as query`);
  assertThrowsNamed(
    () => sdpa(q, k, v, { attnMask: loose(Array, 1) as Tensor }),
    ValueError,
    "attnMask",
  );
  assertThrowsNamed(
    () => loose(sdpa, q, k, v, { dropout: 0.1 }),
    ValueError,
    `${S}: unknown option "dropout"`,
  );
  assertThrowsNamed(
    () => sdpa(q, k, v, { dropoutP: 1.5 }),
    ValueError,
    "dropoutP must be a probability",
  );
  assertThrowsNamed(
    () => sdpa(q, k, v, { scale: NaN }),
    ValueError,
    "scale must be a finite number",
  );
  assertThrowsNamed(
    () => loose(sdpa, q, k, v, { isCausal: 1 }),
    ValueError,
    "isCausal must be a boolean",
  );
  assertThrowsNamed(
    () => loose(sdpa, q, k, v, { generator: 1 }),
    ValueError,
    "generator must be a Generator",
  );
  assertThrowsNamed(
    () => sdpa(q, k, v, { isCausal: true, attnMask: ones([3, 5], { dtype: "bool" }) }),
    ValueError,
    "either attnMask or isCausal",
  );
  assertThrowsNamed(
    () => sdpa(randn([4]), k, v),
    ShapeError,
    "query must have at least 2 dimensions",
  );
  assertThrowsNamed(() => sdpa(q, randn([2, 5, 3]), v), ShapeError, "same last dimension (E)");
  assertThrowsNamed(() => sdpa(q, k, randn([2, 4, 6])), ShapeError, "same length (dimension -2)");
  assertThrowsNamed(
    () => sdpa(q, randn([3, 5, 4]), randn([3, 5, 6])),
    ShapeError,
    "do not broadcast",
  );
  assertThrowsNamed(() => sdpa(q, k, v.int()), DTypeError, "share one floating-point dtype");
  assertThrowsNamed(
    () => sdpa(q, k, v, { attnMask: ones([3, 5], { dtype: "int32" }) }),
    DTypeError,
    "attnMask must be a bool or floating-point",
  );
  assertThrowsNamed(
    () => sdpa(q, k, v, { attnMask: ones([3, 4]) }),
    ShapeError,
    "attnMask [3, 4] must broadcast to the attention scores [2, 3, 5]",
  );
  assertThrowsNamed(
    () => sdpa(q, k, v, { attnMask: ones([4, 3, 5]) }),
    ShapeError,
    "must broadcast",
  );

  const M = "MultiheadAttention";
  assertThrowsNamed(
    () => new MultiheadAttention(6, 4),
    ValueError,
    `${M}: embedDim must be divisible by numHeads`,
  );
  assertThrowsNamed(
    () => new MultiheadAttention(0, 1),
    ValueError,
    `${M}: embedDim must be a positive integer, got 0`,
  );
  assertThrowsNamed(
    () => new MultiheadAttention(4, 2, { kdim: 0 }),
    ValueError,
    "kdim must be a positive integer",
  );
  assertThrowsNamed(
    () => new MultiheadAttention(4, 2, { dropout: -1 }),
    ValueError,
    "dropout must be a probability",
  );
  assertThrowsNamed(
    () => loose((o: object) => new MultiheadAttention(4, 2, o), { batch_first: true }),
    ValueError,
    `${M}: unknown option "batch_first"`,
  );
  const mha = new MultiheadAttention(4, 2, { kdim: 3 });
  const x = randn([3, 2, 4]), kx = randn([5, 2, 3]), vx = randn([5, 2, 4]);
  const FW = `${M}.forward`;
  assertThrowsNamed(
    () => loose(mha.forward.bind(mha), x, kx, vx, {}, 1),
    ValueError,
    `${FW}: takes at most 4 arguments`,
  );
  assertThrowsNamed(
    () => loose(mha.forward.bind(mha), x, kx),
    ValueError,
    `${FW}: expected a Tensor as value`,
  );
  assertThrowsNamed(
    () => mha.forward(x, kx, vx, loose(Object, { mask: 1 }) as object),
    ValueError,
    `${FW}: unknown option "mask"`,
  );
  assertThrowsNamed(
    () => mha.forward(randn([2, 3, 4, 4]), kx, vx),
    ShapeError,
    "batched 3-D or unbatched 2-D",
  );
  assertThrowsNamed(() => mha.forward(x, randn([5, 3]), vx), ShapeError, "key must be 3-D");
  assertThrowsNamed(
    () => mha.forward(randn([3, 2, 5]), kx, vx),
    ShapeError,
    "must have 4 features (embedDim)",
  );
  assertThrowsNamed(
    () => mha.forward(x, vx, vx),
    ShapeError,
    "must have 3 and 4 features (kdim, vdim)",
  );
  assertThrowsNamed(() => mha.forward(x, randn([5, 1, 3]), vx), ShapeError, "share the batch size");
  assertThrowsNamed(() => mha.forward(x, kx, randn([4, 2, 4])), ShapeError, "share the batch size");
  assertThrowsNamed(() => mha.forward(x, kx, vx.int()), DTypeError, "value must be floating point");
  assertThrowsNamed(
    () => mha.forward(x, kx, vx, { keyPaddingMask: zeros([2, 4]) }),
    ShapeError,
    "keyPaddingMask must be [2, 5] ([N, S]), got [2, 4]",
  );
  assertThrowsNamed(
    () => mha.forward(x, kx, vx, { keyPaddingMask: zeros([2, 5], { dtype: "int32" }) }),
    DTypeError,
    "keyPaddingMask must be a bool or floating-point",
  );
  assertThrowsNamed(
    () => mha.forward(x, kx, vx, { attnMask: zeros([3, 4]) }),
    ShapeError,
    "attnMask must be [3, 5] or [4, 3, 5]",
  );
  assertThrowsNamed(
    () => mha.forward(x, kx, vx, { attnMask: zeros([2, 3, 5]) }),
    ShapeError,
    "attnMask must be",
  );
  assertThrowsNamed(
    () => loose(mha.forward.bind(mha), x, kx, vx, { needWeights: "no" }),
    ValueError,
    "needWeights must be a boolean",
  );
  assertThrowsNamed(
    () =>
      mha.forward(randn([3, 4]), randn([5, 3]), randn([5, 4]), { keyPaddingMask: zeros([1, 5]) }),
    ShapeError,
    "keyPaddingMask must be 1-D [S]",
  );

  const E = "TransformerEncoderLayer";
  assertThrowsNamed(
    () => new TransformerEncoderLayer(4, 3),
    ValueError,
    "MultiheadAttention: embedDim must be divisible by numHeads",
  );
  assertThrowsNamed(
    () => new TransformerEncoderLayer(4, 2, { dimFeedforward: 0 }),
    ValueError,
    `${E}: dimFeedforward must be a positive integer`,
  );
  assertThrowsNamed(
    () => loose((o: object) => new TransformerEncoderLayer(4, 2, o), { activation: "swish" }),
    ValueError,
    `${E}: activation must be "relu", "gelu" or a function`,
  );
  assertThrowsNamed(
    () => new TransformerEncoderLayer(4, 2, { layerNormEps: 0 }),
    ValueError,
    "layerNormEps must be positive",
  );
  assertThrowsNamed(
    () => loose((o: object) => new TransformerEncoderLayer(4, 2, o), { nhead: 2 }),
    ValueError,
    `${E}: unknown option "nhead"`,
  );
  const bad = new TransformerEncoderLayer(4, 2, { activation: () => 1 as unknown as Tensor });
  assertThrowsNamed(
    () => bad.forward(randn([3, 4])),
    ValueError,
    `${E}: activation must return a Tensor`,
  );
  const enc = new TransformerEncoderLayer(4, 2);
  assertThrowsNamed(
    () => enc.forward(randn([3, 2, 5])),
    ShapeError,
    `${E}.forward: src must be [L, N, 4]`,
  );
  assertThrowsNamed(
    () => enc.forward(randn([3, 2, 4]), loose(Object, { tgtMask: null }) as object),
    ValueError,
    `${E}.forward: unknown option "tgtMask"`,
  );
  assertThrowsNamed(
    () => loose(enc.forward.bind(enc), randn([3, 4]), {}, 1),
    ValueError,
    `${E}.forward: takes at most 2 arguments`,
  );
  const dec = new TransformerDecoderLayer(4, 2);
  assertThrowsNamed(
    () => dec.forward(randn([3, 2, 4]), randn([5, 4])),
    ShapeError,
    "TransformerDecoderLayer.forward: memory [5, 4] must have as many dimensions as the target [3, 2, 4]",
  );
  assertThrowsNamed(
    () => loose((l: unknown) => new TransformerEncoder(l as TransformerEncoderLayer, 2), dec),
    ValueError,
    "TransformerEncoder: layer must be a TransformerEncoderLayer",
  );
  assertThrowsNamed(
    () => new TransformerEncoder(enc, 0),
    ValueError,
    "TransformerEncoder: numLayers must be a positive integer",
  );
  assertThrowsNamed(
    () => new TransformerDecoder(dec, 1, { norm: loose(Object, 1) as Module }),
    ValueError,
    "TransformerDecoder: norm must be a Module",
  );
});
