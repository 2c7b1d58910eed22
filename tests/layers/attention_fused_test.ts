/**
 * The fused attention op (layers/ops/attention.ts, cpu kernels in plugins/cpu/attention.ts):
 * `F.scaledDotProductAttention` and MultiheadAttention take it where they should (explain()), it
 * agrees with the composite of core ops it replaces (across the kernel's 64-row and 256-key
 * tiles), its gradients agree with finite differences (also second derivatives, through the
 * backward op's decomposition), fully masked rows behave as before, and the forward at
 * L = S = 2048 runs without an [L, S] tensor.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  apply,
  DTypeError,
  explain,
  fromData,
  randn,
  scalar,
  ShapeError,
  type Tensor,
  tensor,
  ValueError,
  where,
  zeros,
} from "../../core/mod.ts";
import {
  FUSED_ATTENTION_MIN_SCORES,
  MultiheadAttention,
  scaledDotProductAttention,
  sdpaKernel,
} from "../../layers/attention.ts";
import type { ScaledDotProductAttentionOptions } from "../../layers/attention.ts";
import { causalMask, sdpaBackwardOp, sdpaOp } from "../../layers/ops/attention.ts";
import { TILE_K, TILE_Q } from "../../plugins/cpu/attention.ts";
import { assertThrowsNamed, gradcheck } from "../../testing/mod.ts";
import { firstDerivative } from "../core/_second_order.ts";
import { assertClose, values } from "./_helpers.ts";

const FUSED = "scaledDotProductAttention", BACKWARD = "scaledDotProductAttentionBackward";

// These small cases pick the composite by themselves (see FUSED_ATTENTION_MIN_SCORES): force the
// fused op, as PyTorch's sdpa_kernel(FLASH_ATTENTION) does.
const sdpa = (...args: Parameters<typeof scaledDotProductAttention>): Tensor =>
  sdpaKernel("flash", () => scaledDotProductAttention(...args));

/** The composite the fused op replaces: softmax(q·kᵀ·scale + mask)·v with core ops. */
function composite(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: ScaledDotProductAttentionOptions = {},
): Tensor {
  const scale = o.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]);
  let s = q.mul(scale).matmul(k.transpose(k.ndim - 2, k.ndim - 1));
  const ninf = scalar(-Infinity, s.dtype, s.device);
  const [l, n] = s.shape.slice(-2);
  if (o.isCausal) s = where(causalMask(l, n, s.device, true), s, ninf);
  const m = o.attnMask;
  if (m) s = m.dtype === "bool" ? where(m, s, ninf) : s.add(m);
  return s.softmax(-1).matmul(v);
}

/** The ops `fn` dispatched, forward and backward (of the sum of its output). */
function opsOf(fn: () => Tensor): string[] {
  return explain(() => fn().sum().backward()).trace.map((e) => `${e.op}@${e.backend}`);
}

function assertFused(fn: () => Tensor, label: string): void {
  const ops = opsOf(fn);
  assert.ok(ops.includes(`${FUSED}@cpu`), `${label}: fused forward ran (${ops})`);
  assert.ok(ops.includes(`${BACKWARD}@cpu`), `${label}: fused backward ran (${ops})`);
  assert.ok(!ops.some((o) => o.startsWith("softmax")), `${label}: no softmax (${ops})`);
}

const req = (t: Tensor): Tensor => fromData(t.dataSync().slice(), t.shape, { requiresGrad: true });

// Forward and the gradients of q, k, v (and a float mask) of Σ y·w, fused and composite.
function compare(
  label: string,
  shapes: [number[], number[], number[]],
  o: ScaledDotProductAttentionOptions = {},
  tol = 2e-5,
): void {
  const [q0, k0, v0] = shapes.map((s) => randn(s));
  const m0 = o.attnMask;
  const run = (f: typeof composite) => {
    const q = req(q0), k = req(k0), v = req(v0);
    const m = m0 && m0.dtype !== "bool" ? req(m0) : m0;
    const y = f(q, k, v, { ...o, attnMask: m });
    const w = fromData(
      Float32Array.from({ length: y.numel() }, (_, i) => Math.sin(i)),
      y.shape,
    );
    y.mul(w).sum().backward();
    return { y, grads: [q, k, v, ...(m && m.requiresGrad ? [m] : [])].map((t) => t.grad!) };
  };
  const fused = run(sdpa), ref = run(composite);
  assert.deepEqual(fused.y.shape, ref.y.shape, `${label}: shape`);
  assertClose(values(fused.y), values(ref.y), `${label}: y`, tol, tol);
  ref.grads.forEach((g, i) => {
    assert.deepEqual(fused.grads[i].shape, g.shape, `${label}: grad ${i} shape`);
    assertClose(values(fused.grads[i]), values(g), `${label}: grad ${i}`, tol, tol);
  });
}

Deno.test("fused attention: explain() shows the fused op, or the composite where it is not used", () => {
  const q = req(randn([2, 3, 4])), k = req(randn([2, 5, 4])), v = req(randn([2, 5, 6]));
  const keep = tensor([[true, false, true, true, false]]);
  assertFused(() => sdpa(q, k, v), "no mask");
  assertFused(() => sdpa(q, k, v, { isCausal: true }), "causal");
  assertFused(() => sdpa(q, k, v, { attnMask: keep }), "bool mask");
  assertFused(() => sdpa(q, k, v, { attnMask: req(randn([3, 5])) }), "float mask");
  // The trace names the fused op once per direction: no [L, S] scores are made by other ops.
  const ops = opsOf(() => sdpa(q, k, v, { isCausal: true }));
  assert.equal(ops.filter((o) => o.startsWith("matmul")).length, 0, `${ops}`);
  // Dropout needs the weights: the composite runs (explain() shows softmax and no fused op).
  const drop = opsOf(() => scaledDotProductAttention(q, k, v, { dropoutP: 0.5 }));
  assert.ok(drop.includes("softmax@cpu") && !drop.includes(`${FUSED}@cpu`), `${drop}`);
  assert.match(
    explain(() => sdpa(q, k, v)).toString(),
    /scaledDotProductAttention \[2, 3, 4\] \[2, 5, 4\] \[2, 5, 6\] → cpu \(device\)/,
  );
  // MultiheadAttention: fused without weights, the composite when the weights are returned.
  const mha = new MultiheadAttention(8, 2);
  const x = randn([3, 2, 8]);
  assertFused(
    () => sdpaKernel("flash", () => mha.forward(x, x, x, { needWeights: false }).output),
    "MHA",
  );
  const withW = opsOf(() => mha.forward(x, x, x).output);
  assert.ok(withW.includes("softmax@cpu") && !withW.includes(`${FUSED}@cpu`), `${withW}`);
});

Deno.test("fused attention agrees with the composite of core ops, across tiles", () => {
  assert.equal(TILE_Q, 64);
  assert.equal(TILE_K, 256);
  compare("no mask", [[2, 3, 5, 8], [2, 3, 7, 8], [2, 3, 7, 4]]);
  compare("2-D", [[4, 3], [5, 3], [5, 2]]);
  compare("broadcast batch", [[2, 3, 4, 5], [3, 6, 5], [1, 3, 6, 2]]);
  compare("value broadcasts past q and k", [[4, 3], [5, 3], [2, 5, 2]]);
  // Past one tile of queries (64) and keys (256), so rows meet several key tiles.
  compare("L, S past a tile", [[1, 70, 6], [1, 300, 6], [1, 300, 5]]);
  compare("causal L < S past tiles", [[70, 4], [300, 4], [300, 3]], { isCausal: true });
  compare("causal L > S past tiles", [[300, 4], [70, 4], [70, 3]], { isCausal: true });
  compare("causal square", [[2, 130, 4], [2, 130, 4], [2, 130, 4]], { isCausal: true });
  const keep = randn([2, 1, 70, 300]).gt(-0.5);
  compare("bool mask past tiles", [[2, 2, 70, 4], [2, 2, 300, 4], [2, 2, 300, 3]], {
    attnMask: keep,
  });
  compare("float mask [1, L, S]", [[3, 4, 6], [3, 5, 6], [3, 5, 2]], {
    attnMask: randn([1, 4, 5]),
  });
  compare("float mask [S] with −∞", [[2, 4, 3], [2, 5, 3], [2, 5, 3]], {
    attnMask: tensor([0, -Infinity, 0.5, -1, -Infinity]),
  });
  compare("scale", [[2, 4, 5], [2, 6, 5], [2, 6, 5]], { scale: 0.3 });
  compare("Ev > E, large values", [[2, 9, 2], [2, 11, 2], [2, 11, 33]], { scale: 4 });
  compare("E = 0", [[2, 3, 0], [2, 4, 0], [2, 4, 2]]);
});

Deno.test("fused attention gradients agree with finite differences", () => {
  const cases: [string, Tensor[], (q: Tensor, k: Tensor, v: Tensor, m?: Tensor) => Tensor][] = [
    ["no mask", [randn([2, 3, 4]), randn([2, 5, 4]), randn([2, 5, 4])], (q, k, v) => sdpa(q, k, v)],
    [
      "causal",
      [randn([2, 4, 3]), randn([2, 4, 3]), randn([2, 4, 2])],
      (q, k, v) => sdpa(q, k, v, { isCausal: true, scale: 0.7 }),
    ],
    [
      "causal L ≠ S",
      [randn([5, 3]), randn([3, 3]), randn([3, 2])],
      (q, k, v) => sdpa(q, k, v, { isCausal: true }),
    ],
    [
      "bool mask",
      [randn([2, 2, 3]), randn([2, 3, 3]), randn([2, 3, 2])],
      (q, k, v) => sdpa(q, k, v, { attnMask: tensor([[true, false, true], [true, true, false]]) }),
    ],
    [
      "float mask (its gradient too)",
      [randn([2, 3]), randn([3, 3]), randn([3, 2]), randn([2, 3])],
      (
        q,
        k,
        v,
        m,
      ) => sdpa(q, k, v, { attnMask: m }),
    ],
    ["L ≠ S, Ev ≠ E", [randn([3, 2]), randn([5, 2]), randn([5, 4])], (q, k, v) => sdpa(q, k, v)],
    ["broadcast batch dims", [randn([2, 1, 3, 2]), randn([3, 4, 2]), randn([1, 3, 4, 3])], (
      q,
      k,
      v,
    ) => sdpa(q, k, v)],
  ];
  for (const [label, inputs, fn] of cases) {
    assertFused(() => fn(...inputs.map(req) as [Tensor, Tensor, Tensor, Tensor]), label);
    gradcheck((...t) => fn(t[0], t[1], t[2], t[3]), inputs);
  }
});

Deno.test("fused attention: second derivatives through the backward's decomposition", () => {
  // createGraph runs the backward op as its decomposition, so this checks that decomposition and
  // the forward's rule for a gradient reaching the log-sum-exp.
  const mask = randn([3, 4]);
  const f = (q: Tensor, k: Tensor, v: Tensor) => sdpa(q, k, v, { attnMask: mask });
  gradcheck(firstDerivative(f), [randn([3, 2]).mul(0.5), randn([4, 2]), randn([4, 3])], {
    atol: 3e-2,
    rtol: 3e-2,
  });
  const g = (q: Tensor, k: Tensor, v: Tensor) => sdpa(q, k, v, { isCausal: true });
  gradcheck(firstDerivative(g), [randn([2, 3, 2]), randn([2, 3, 2]), randn([2, 3, 2])], {
    atol: 3e-2,
    rtol: 3e-2,
  });
});

Deno.test("fused attention: fully masked rows give NaN, and the same gradients as before", () => {
  // Row 1 has no key; rows 0 and 2 have some. Before the fused op, the composite gave NaN in row
  // 1 and these gradients: for a bool mask, a zero dq row and finite dk (where() gives masked
  // scores no gradient) but NaN dv (softmax's NaN weights); for a float mask, a NaN dq row, NaN
  // dk and dv, and a NaN row of the mask's gradient. The fused op keeps both patterns.
  const keep = tensor([[true, true, false, true], [false, false, false, false], [
    true,
    false,
    false,
    false,
  ]]);
  const ninf = tensor([[0, 0, -Infinity, 0], [-Infinity, -Infinity, -Infinity, -Infinity], [
    0,
    -Infinity,
    -Infinity,
    -Infinity,
  ]]);
  const [q0, k0, v0] = [randn([3, 2]), randn([4, 2]), randn([4, 2])];
  for (const mask of [keep, ninf]) {
    const run = (f: typeof composite) => {
      const q = req(q0), k = req(k0), v = req(v0);
      const m = mask.dtype === "bool" ? mask : req(mask);
      const y = f(q, k, v, { attnMask: m });
      y.sum().backward();
      return [y, q.grad!, k.grad!, v.grad!, ...(m.requiresGrad ? [m.grad!] : [])].map(values);
    };
    const fused = run(sdpa), ref = run(composite);
    assert.ok(fused[0].slice(2, 4).every(Number.isNaN), `${mask.dtype}: row 1 is NaN`);
    assert.ok(fused[0].filter(Number.isNaN).length === 2, `${mask.dtype}: only row 1 is NaN`);
    fused.forEach((got, i) => {
      assert.deepEqual(got.map(Number.isNaN), ref[i].map(Number.isNaN), `${mask.dtype} NaNs ${i}`);
      const finite = (a: number[]) => a.map((x) => (Number.isNaN(x) ? 0 : x));
      assertClose(finite(got), finite(ref[i]), `${mask.dtype} values ${i}`, 1e-5, 1e-5);
    });
  }
  // The documented case (tests/layers/attention_test.ts) on the fused path.
  const y = values(sdpa(zeros([2, 3]).add(1), zeros([2, 3]).add(1), zeros([2, 1]).add(1), {
    attnMask: tensor([[true, true], [false, false]]),
  }));
  assert.equal(y[0], 1);
  assert.ok(Number.isNaN(y[1]));
});

Deno.test("fused attention: empty lengths give what the composite gives", () => {
  for (const [l, s] of [[0, 3], [3, 0], [0, 0]]) {
    const q = req(randn([2, l, 4])), k = req(randn([2, s, 4])), v = req(randn([2, s, 3]));
    const y = sdpa(q, k, v);
    assert.deepEqual(y.shape, [2, l, 3]);
    assert.deepEqual(values(y), values(composite(q, k, v)), `L ${l}, S ${s}`);
    y.sum().backward();
    assert.deepEqual(q.grad!.shape, [2, l, 4]);
    assert.ok(values(q.grad!).every((x) => x === 0), "dq is 0 with no keys");
    assert.deepEqual(v.grad!.shape, [2, s, 3]);
  }
});

Deno.test("fused attention: the op's decompositions agree with its kernels", () => {
  const q = randn([2, 5, 3]), k = randn([1, 7, 3]), v = randn([2, 7, 4]);
  const mask = randn([5, 7]).add(tensor([0, -Infinity, 0, 0, 0, 0, 0]));
  const cases: [Tensor[], { scale: number; causal: boolean }][] = [
    [[q, k, v], { scale: 0.4, causal: true }],
    [[q, k, v, mask], { scale: 0.6, causal: false }],
    [[q, k, v, mask.gt(-1)], { scale: 0.6, causal: false }],
  ];
  for (const [inputs, attrs] of cases) {
    const [out, lse] = apply(sdpaOp, inputs, attrs);
    const [dOut, dLse] = sdpaOp.decompose!(inputs, attrs);
    assertClose(values(out), values(dOut), "out", 1e-5, 1e-5);
    assert.equal(lse.dtype, "float32");
    assertClose(values(lse), values(dLse), "lse", 1e-5, 1e-5);
    const hasMask = inputs.length > 3;
    const maskGrad = hasMask && inputs[3].dtype !== "bool";
    const g = randn(out.shape), gl = randn(lse.shape);
    const given = [...inputs, out, lse, g, gl];
    const a = { ...attrs, mask: hasMask, maskGrad, lseGrad: true };
    const kernel = apply(sdpaBackwardOp, given, a);
    const decomposed = sdpaBackwardOp.decompose!(given, a);
    assert.equal(kernel.length, maskGrad ? 4 : 3);
    kernel.forEach((t, i) => {
      assert.deepEqual(t.shape, decomposed[i].shape, `grad ${i} shape`);
      assertClose(values(t), values(decomposed[i]), `grad ${i}`, 2e-5, 2e-5);
    });
  }
});

Deno.test("fused attention: float16 on cpu stays close to float32", () => {
  const q = randn([2, 6, 8]), k = randn([2, 9, 8]), v = randn([2, 9, 5]);
  const [qh, kh, vh] = [q, k, v].map((t) => t.half());
  const ex = explain(() => sdpa(qh, kh, vh, { isCausal: true }));
  assert.deepEqual(ex.trace.map((t) => `${t.op}@${t.backend}`), [`${FUSED}@cpu`]);
  const y = ex.result;
  assert.equal(y.dtype, "float16");
  assertClose(values(y), values(composite(q, k, v, { isCausal: true })), "float16", 5e-3, 5e-3);
});

Deno.test("fused attention: the op's named errors", () => {
  const q = randn([2, 3, 4]), k = randn([2, 5, 4]), v = randn([2, 5, 6]);
  const a = { scale: 1, causal: false };
  assertThrowsNamed(
    () => apply(sdpaOp, [q, k, v, zeros([3, 5], { dtype: "int32" })], a),
    DTypeError,
    "scaledDotProductAttention: the mask must be bool or of the query's dtype float32, got int32",
  );
  assertThrowsNamed(
    () => apply(sdpaOp, [q, k, v, zeros([4, 5])], a),
    ShapeError,
    "scaledDotProductAttention: mask [4, 5] must broadcast to the scores [2, 3, 5]",
  );
  assertThrowsNamed(() => apply(sdpaOp, [q, k], a), ShapeError, "expected 3 or 4 inputs");
  assertThrowsNamed(
    () => apply(sdpaOp, [q, randn([2, 5, 3]), v], a),
    ShapeError,
    "expected query [..., L, E], key [..., S, E] and value [..., S, Ev]",
  );
  assertThrowsNamed(
    () => apply(sdpaBackwardOp, [q, k, v], { ...a, mask: false, maskGrad: false, lseGrad: false }),
    ShapeError,
    "scaledDotProductAttentionBackward: expected q, k, v, out, lse, dout (6 inputs), got 3",
  );
});

Deno.test({
  name: "fused attention: L = S = 2048, E = 64 forward makes no [L, S] tensor",
  fn() {
    const l = 2048, e = 64;
    const q = randn([1, l, e]), k = randn([1, l, e]), v = randn([1, l, e]);
    // Memory: the only op dispatched is the fused one, whose outputs are out [1, L, E] and the
    // log-sum-exp [1, L]; inside, the cpu kernel holds a TILE_Q × TILE_K (64 × 256) score tile,
    // a TILE_Q × Ev accumulator and per-row maxima and sums, so its memory is O(L·E + S·E), not
    // the 2048 × 2048 × 4 = 16 MiB of the scores the composite makes (and its softmax copy).
    const ex = explain(() => sdpa(q, k, v));
    assert.deepEqual(ex.trace.map((t) => `${t.op}@${t.backend}`), [`${FUSED}@cpu`]);
    assert.ok(TILE_Q * TILE_K * 2 < l * l / 100, "the scratch tiles are far below L·S");
    const y = ex.result;
    assert.deepEqual(y.shape, [1, l, e]);
    // Spot-check rows against a float64 softmax over all keys.
    const qd = q.dataSync(), kd = k.dataSync(), vd = v.dataSync(), yd = y.dataSync();
    for (const i of [0, 1000, l - 1]) {
      const w = new Float64Array(l);
      let mx = -Infinity;
      for (let j = 0; j < l; j++) {
        let d = 0;
        for (let c = 0; c < e; c++) d += qd[i * e + c] * kd[j * e + c];
        w[j] = d / Math.sqrt(e);
        mx = Math.max(mx, w[j]);
      }
      let sum = 0;
      for (let j = 0; j < l; j++) sum += w[j] = Math.exp(w[j] - mx);
      const want = Array.from({ length: e }, (_, c) => {
        let acc = 0;
        for (let j = 0; j < l; j++) acc += w[j] * vd[j * e + c];
        return acc / sum;
      });
      assertClose(Array.from(yd.subarray(i * e, (i + 1) * e)), want, `row ${i}`, 1e-4, 1e-4);
    }
  },
});

Deno.test("attention picks the fused op for causal or large cases, the composite for small ones", () => {
  const q = randn([2, 3, 4]), k = randn([2, 5, 4]), v = randn([2, 5, 6]);
  const fwd = (fn: () => Tensor) => explain(fn).trace.map((e) => e.op);
  // Small, no mask: the composite's two products are faster on cpu.
  assert.ok(fwd(() => scaledDotProductAttention(q, k, v)).includes("softmax"));
  assert.ok(!fwd(() => scaledDotProductAttention(q, k, v)).includes(FUSED));
  // Causal: the fused op skips masked tiles, at any size.
  assert.deepEqual(fwd(() => scaledDotProductAttention(q, k, v, { isCausal: true })), [FUSED]);
  // From FUSED_ATTENTION_MIN_SCORES scores the composite's [L, S] tensors would be the limit.
  const n = Math.sqrt(FUSED_ATTENTION_MIN_SCORES);
  const big = randn([n, 1]);
  assert.deepEqual(fwd(() => scaledDotProductAttention(big, big, big)), [FUSED]);
  // sdpaKernel("math") forces the composite even there, and restores the choice afterwards.
  assert.ok(
    !fwd(() => sdpaKernel("math", () => scaledDotProductAttention(q, k, v, { isCausal: true })))
      .includes(FUSED),
  );
  assert.deepEqual(fwd(() => scaledDotProductAttention(q, k, v, { isCausal: true })), [FUSED]);
});

Deno.test("sdpaKernel: what the fused op cannot do, a bad backend name and an async fn are errors", async () => {
  const q = randn([2, 3, 4]);
  assertThrowsNamed(
    () => sdpaKernel("flash", () => scaledDotProductAttention(q, q, q, { dropoutP: 0.5 })),
    ValueError,
    'sdpaKernel("flash"): the fused attention op cannot run here: dropoutP 0.5 needs the attention weights',
  );
  const mha = new MultiheadAttention(4, 1);
  assertThrowsNamed(
    () => sdpaKernel("flash", () => mha.forward(q, q, q)),
    ValueError,
    "the attention weights are asked for (needWeights)",
  );
  assertThrowsNamed(
    () => sdpaKernel("fast" as "flash", () => 1),
    ValueError,
    "sdpaKernel: backend",
  );
  assertThrowsNamed(
    () => sdpaKernel("math", () => Promise.resolve(1)),
    ValueError,
    "sdpaKernel: fn must be synchronous",
  );
  // The setting is restored after an error.
  assert.ok(
    explain(() => scaledDotProductAttention(q, q, q)).trace.some((e) => e.op === "softmax"),
  );
  await Promise.resolve();
});
