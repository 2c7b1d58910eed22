// `fuse` on the webgpu backend against the cpu oracle (testing/mod.ts `checkBackendConformance`:
// outputs and input gradients agree, every op ran on webgpu, forward and gradient as
// `fusedElementwise` kernels): GELU in both forms, broadcasting with scalars, int and bool
// comparisons feeding where, float16, special values; one dispatch per fused call, and the
// pipeline compiled once. Skipped without an adapter, except under CI=true, where webgpu_test.ts
// already fails the run.

import assert from "node:assert/strict";
import { explain, randn, tensor, use, where } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { fuse } from "../../layers/fuse.ts";
import { checkBackendConformance } from "../../testing/mod.ts";
import type { ConformanceOptions } from "../../testing/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu fuse");

const test = webgpuTest(reason, "webgpu fuse");
const FUSED: ConformanceOptions = { atol: 1e-4, rtol: 1e-4, kernels: ["fusedElementwise"] };

const geluTanh = (x: Tensor): Tensor =>
  x.mul(0.5).mul(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI)).tanh().add(1));
const geluErf = (x: Tensor): Tensor => x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));

async function conform(
  label: string,
  fn: (...t: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: ConformanceOptions = FUSED,
): Promise<void> {
  try {
    await checkBackendConformance("webgpu", fuse(fn), inputs, options);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
  }
}

test("fused chains agree with cpu, forward and gradients", async () => {
  await conform("gelu tanh", geluTanh, [randn([4, 9]).mul(3)]);
  await conform("gelu erf", geluErf, [randn([4, 9]).mul(3)]);
  await conform("broadcast and scalars", (x, y) => x.mul(y).add(2).sigmoid().sub(y.exp()), [
    randn([4, 1, 3]),
    randn([5, 1]),
  ]);
  const k = tensor([[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]], { dtype: "int32" });
  await conform(
    "int/bool comparisons feeding where",
    (x, y, k) =>
      where(k.gt(2).logicalAnd(x.lt(y)), x.mul(y).sub(1), y.div(x.abs().add(0.5)))
        .add(k.cast("float32").mul(0.25)),
    [randn([2, 6]), randn([6]), k],
  );
  await conform("pow, maximum, minimum", (x, y) => x.div(y).pow(2).maximum(x.sin()).minimum(y), [
    randn([7]),
    randn([7]).abs().add(0.5),
  ]);
  await conform("int result", (k, x) => k.mul(3).add(k).cast("float32").mul(x).cast("int32"), [
    tensor([[1, -2, 7]], { dtype: "int32" }),
    randn([4, 3]).mul(5),
  ], { ...FUSED, grad: false });
  await conform("bool result", (x, y) => x.gt(0).logicalOr(y.le(-0.5)).logicalNot(), [
    randn([5]),
    randn([2, 5]),
  ], { ...FUSED, grad: false });
  await conform(
    "special values",
    (x) => x.log().maximum(x.sqrt()).minimum(x.mul(-1)).relu().add(x.sign()),
    [tensor([0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-30])],
    { ...FUSED, grad: false },
  );
});

test("float16 fused chains agree with cpu", async () => {
  if (!plugin.gpu?.device.features.has("shader-f16")) return;
  await conform("float16 gelu", (x, y) => geluTanh(x).mul(y).add(x.pow(2)), [
    randn([6, 5]).half(),
    randn([5]).half(),
  ], { ...FUSED, atol: 2e-2, rtol: 1e-2 });
});

test("one dispatch per fused call; the pipeline compiles once", async () => {
  const f = fuse(geluTanh);
  const x = randn([64, 17, 128]).to("webgpu");
  const { trace } = explain(() => f(x));
  assert.deepEqual(trace.map((e) => `${e.op} ${e.backend}`), ["fusedElementwise webgpu"]);
  const before = plugin.memoryStats();
  await f(x).toArray();
  await f(randn([64, 17, 128]).to("webgpu")).toArray();
  const after = plugin.memoryStats();
  assert.equal(after.pipelines, before.pipelines, "the same key compiles nothing");
  assert.equal(after.dispatches - before.dispatches, 2, "one dispatch per call");
});

releaseDeviceAtEnd(plugin, "webgpu fuse");
