// The fused attention op on webgpu (plugins/webgpu/attention.ts) against the cpu kernels
// (checkBackendConformance, strict mode): outputs and the gradients of q, k, v and float masks
// agree, and the trace shows the fused forward and backward kernels ran on webgpu, for no mask,
// causal (L < S and L > S past the kernels' 64-row chunks), bool and float masks, broadcast batch
// dims, feature sizes past 64 (two accumulators per thread), fully masked rows (NaN, as on cpu),
// empty lengths and float16. Without an adapter the tests are skipped with the reason printed,
// except under CI=true, where a missing adapter is a failure.

import assert from "node:assert/strict";
import { explain, randn, tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { scaledDotProductAttention, sdpaKernel } from "../../layers/attention.ts";
import type { ScaledDotProductAttentionOptions } from "../../layers/attention.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { checkBackendConformance } from "../../testing/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu fused attention", true);

const test = webgpuTest(reason, "webgpu fused attention");

// Small cases pick the composite by themselves: force the fused op (PyTorch's sdpa_kernel).
const sdpa = (...args: Parameters<typeof scaledDotProductAttention>): Tensor =>
  sdpaKernel("flash", () => scaledDotProductAttention(...args));

const KERNELS = ["scaledDotProductAttention", "scaledDotProductAttentionBackward"];
const TOL = { atol: 2e-5, rtol: 2e-4 };

// q, k, v (and any further inputs) through `sdpa` with `options`, on webgpu and on cpu.
async function conform(
  shapes: number[][],
  options: (extra: Tensor[]) => ScaledDotProductAttentionOptions = () => ({}),
  extra: Tensor[] = [],
): Promise<void> {
  await checkBackendConformance(
    "webgpu",
    (q, k, v, ...rest) => sdpa(q, k, v, options(rest)),
    [...shapes.map((s) => randn(s)), ...extra],
    { ...TOL, kernels: KERNELS },
  );
}

test("no mask, causal, L ≠ S past a chunk, broadcast batch, features past 64", async () => {
  await conform([[2, 3, 5, 4], [2, 3, 7, 4], [2, 3, 7, 6]]);
  await conform([[70, 5], [130, 5], [130, 3]], () => ({ isCausal: true }));
  await conform([[130, 5], [70, 5], [70, 3]], () => ({ isCausal: true, scale: 0.5 }));
  await conform([[2, 1, 3, 4], [3, 6, 4], [1, 3, 6, 2]]);
  await conform([[4, 3], [5, 3], [2, 5, 2]]);
  await conform([[2, 5, 70], [2, 7, 70], [2, 7, 130]], () => ({ scale: 0.1 }));
});

test("bool and float masks, with the float mask's gradient", async () => {
  const keep = randn([2, 1, 66, 70]).gt(-0.7);
  await conform(
    [[2, 2, 66, 4], [2, 2, 70, 4], [2, 2, 70, 3]],
    ([m]) => ({ attnMask: m.gt(0) }),
    [keep.float()],
  );
  // A float mask with −∞ entries; its gradient is compared too (it is a float32 input).
  const float = randn([1, 4, 5]).add(tensor([0, -Infinity, 0, 0, -Infinity]));
  await conform([[3, 4, 6], [3, 5, 6], [3, 5, 2]], ([m]) => ({ attnMask: m }), [float]);
});

test("fully masked rows are NaN, with the cpu kernels' gradients", async () => {
  const keep = tensor([[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]]);
  await conform([[3, 2], [4, 2], [4, 2]], ([m]) => ({ attnMask: m.gt(0) }), [keep]);
  const ninf = tensor([[0, 0, -Infinity, 0], [-Infinity, -Infinity, -Infinity, -Infinity], [
    0,
    -Infinity,
    -Infinity,
    -Infinity,
  ]]);
  await conform([[3, 2], [4, 2], [4, 2]], ([m]) => ({ attnMask: m }), [ninf]);
  const y = await sdpa(
    randn([3, 2]).to("webgpu"),
    randn([4, 2]).to("webgpu"),
    randn([4, 2]).to("webgpu"),
    { attnMask: keep.gt(0).to("webgpu") },
  ).data();
  assert.deepEqual(Array.from(y, Number.isNaN), [false, false, true, true, false, false]);
});

test("empty lengths: zeros where there are no keys", async () => {
  for (const [l, s] of [[3, 0], [0, 3]]) {
    const q = randn([2, l, 4]).to("webgpu"), k = randn([2, s, 4]).to("webgpu");
    const v = randn([2, s, 3]).to("webgpu");
    const y = sdpa(q, k, v);
    assert.deepEqual(y.shape, [2, l, 3]);
    assert.ok(Array.from(await y.data()).every((x) => x === 0));
  }
});

test("explain() shows the fused kernels on webgpu", async () => {
  const [q, k, v] = [randn([2, 4, 8]), randn([2, 6, 8]), randn([2, 6, 8])].map((t) =>
    t.to("webgpu").requiresGrad_()
  );
  const ex = explain(() => sdpa(q, k, v, { isCausal: true }).sum().backward());
  const ops = ex.trace.map((e) => `${e.op}@${e.backend}`);
  assert.ok(ops.includes("scaledDotProductAttention@webgpu"), `${ops}`);
  assert.ok(ops.includes("scaledDotProductAttentionBackward@webgpu"), `${ops}`);
  assert.ok(!ops.some((o) => o.startsWith("softmax")), `${ops}`);
  await q.grad!.data();
});

const f16 = reason === null && !plugin.gpu!.f16 ? "the adapter has no shader-f16" : null;
if (f16) console.log(`skipping webgpu fused attention float16 test: ${f16}`);
webgpuTest(reason ?? f16, "webgpu fused attention")("float16 agrees with cpu", async () => {
  const half = (t: Tensor) => t.half();
  await checkBackendConformance(
    "webgpu",
    (q, k, v, m) => sdpa(half(q), half(k), half(v), { attnMask: half(m), scale: 0.4 }).float(),
    [randn([2, 5, 8]), randn([2, 9, 8]), randn([2, 9, 3]), randn([5, 9])],
    { atol: 2e-3, rtol: 2e-3, kernels: KERNELS },
  );
  await checkBackendConformance(
    "webgpu",
    (q, k, v) => sdpa(half(q), half(k), half(v), { isCausal: true }).float(),
    [randn([70, 4]), randn([70, 4]), randn([70, 5])],
    { atol: 2e-3, rtol: 2e-3, kernels: KERNELS },
  );
});

releaseDeviceAtEnd(plugin, "webgpu fused attention");
