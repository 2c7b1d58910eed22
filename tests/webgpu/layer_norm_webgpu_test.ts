// The fused row normalisation (normRows, normRowsBackward) on webgpu against cpu
// (checkBackendConformance, strict, no decomposition allowed, both fused kernels required to have
// run on webgpu): F.layerNorm over normalised shapes of rank 1 to 3 with every affine combination,
// rows longer than a workgroup and more rows than one grid dimension holds; F.groupNorm with groups
// 1, 2 and C, with and without affine; the LayerNorm and GroupNorm modules; float16 where the
// adapter has shader-f16. Without an adapter the tests are skipped with the reason printed, except
// under CI=true.

import { explain, nn, randn, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import assert from "node:assert/strict";
import * as F from "../../layers/functional.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { assertClose, checkBackendConformance } from "../../testing/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu layer norm", true);

const test = webgpuTest(reason, "webgpu layer norm");

const FUSED = { atol: 1e-4, rtol: 1e-4, kernels: ["normRows", "normRowsBackward"] };

async function conform(
  label: string,
  fn: (...t: Tensor[]) => Tensor,
  inputs: Tensor[],
): Promise<void> {
  try {
    await checkBackendConformance("webgpu", fn, inputs, FUSED);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
  }
}

type Affine = "none" | "weight" | "bias" | "both";

test("F.layerNorm: ranks 1 to 3, every affine, long rows, many rows", async () => {
  const cases: [number[], number][] = [
    [[4, 5], 1],
    [[2, 3, 4], 2],
    [[2, 2, 3, 5], 3],
    [[3, 700], 1], // rows longer than the 256-thread workgroup
    [[2, 3, 37], 1],
  ];
  for (const [shape, rank] of cases) {
    const ns = shape.slice(shape.length - rank);
    for (const aff of ["none", "weight", "bias", "both"] as Affine[]) {
      const w = aff === "weight" || aff === "both", b = aff === "bias" || aff === "both";
      const inputs = [randn(shape).mul(2).add(0.5)];
      if (w) inputs.push(randn(ns).mul(0.5).add(1));
      if (b) inputs.push(randn(ns));
      await conform(
        `layerNorm ${shape} over ${ns} ${aff}`,
        (x, ...p) => F.layerNorm(x, ns, { weight: w ? p[0] : null, bias: b ? p[Number(w)] : null }),
        inputs,
      );
    }
  }
  // More rows than one grid dimension's 65535 workgroups.
  await conform("layerNorm of 70000 rows", (x, w, b) => F.layerNorm(x, 2, { weight: w, bias: b }), [
    randn([70000, 2]),
    randn([2]),
    randn([2]),
  ]);
});

test("F.groupNorm: groups 1, 2 and C, with and without affine", async () => {
  const cases: [number[], number][] = [
    [[2, 4, 3, 3], 1],
    [[2, 4, 3, 3], 2],
    [[2, 4, 3, 3], 4],
    [[3, 6], 3],
    [[2, 6, 40], 2],
    [[4, 8, 9, 9], 4], // a weight element's elements span more than one workgroup
  ];
  for (const [shape, groups] of cases) {
    const c = shape[1];
    await conform(`groupNorm ${shape} /${groups}`, (x) => F.groupNorm(x, groups), [randn(shape)]);
    await conform(
      `groupNorm ${shape} /${groups} affine`,
      (x, w, b) => F.groupNorm(x, groups, { weight: w, bias: b }),
      [randn(shape).sub(0.3), randn([c]).add(1), randn([c])],
    );
  }
});

test("the LayerNorm and GroupNorm modules train on webgpu with the fused kernels", async () => {
  for (const layer of [new nn.LayerNorm([3, 4]), new nn.GroupNorm(2, 6)]) {
    const x = layer instanceof nn.LayerNorm ? randn([5, 3, 4]) : randn([2, 6, 4]);
    const cpuOut = layer.forward(x.detach().requiresGrad_());
    cpuOut.square().sum().backward();
    const want = [layer.weight!.grad!.dataSync(), layer.bias!.grad!.dataSync()];
    layer.zeroGrad();
    layer.to("webgpu");
    const { result: out, trace } = explain(() => {
      const y = layer.forward(x.to("webgpu"));
      y.square().sum().backward();
      return y;
    });
    const ran = trace.filter((e) => e.op.startsWith("normRows"))
      .map((e) => `${e.op}/${e.backend}/${e.via}`);
    assert.deepEqual(ran, ["normRows/webgpu/device", "normRowsBackward/webgpu/device"]);
    if (trace.some((e) => e.backend !== "webgpu")) throw new Error("an op left webgpu");
    assertClose(await out.data(), cpuOut.dataSync(), { atol: 1e-4, rtol: 1e-4 });
    assertClose(await layer.weight!.grad!.data(), want[0], { atol: 1e-4, rtol: 1e-4 });
    assertClose(await layer.bias!.grad!.data(), want[1], { atol: 1e-4, rtol: 1e-4 });
  }
});

Deno.test({
  name: "webgpu layer norm: float16 kernels against cpu float32",
  ignore: reason !== null || !plugin.gpu?.f16,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const x = randn([3, 4, 20]).mul(2).add(1), w = randn([20]).add(1), b = randn([20]);
    const wg = randn([4]).add(1), bg = randn([4]);
    const fns: [string, (x: Tensor, ...p: Tensor[]) => Tensor, Tensor[]][] = [
      ["layerNorm", (t, tw, tb) => F.layerNorm(t, 20, { weight: tw, bias: tb }), [w, b]],
      ["groupNorm", (t, tw, tb) => F.groupNorm(t, 2, { weight: tw, bias: tb }), [wg, bg]],
    ];
    for (const [name, f, params] of fns) {
      const h = (t: Tensor) => t.half().float();
      const want = f(h(x), ...params.map(h));
      const got = f(x.half().to("webgpu"), ...params.map((p) => p.half().to("webgpu")));
      if (got.dtype !== "float16") throw new Error(`${name}: ${got.dtype}`);
      assertClose(await got.data(), want.dataSync(), { atol: 4e-3, rtol: 4e-3, message: name });
    }
    // The float16 gradient against cpu's float16 (computed in float32 there too), with both fused
    // kernels run on webgpu.
    const grads: Float32Array[] = [];
    for (const device of ["cpu", "webgpu"]) {
      const leaf = x.half().to(device).requiresGrad_();
      const { trace } = explain(() =>
        F.layerNorm(leaf, 20, { weight: w.half().to(device), bias: b.half().to(device) })
          .float().sin().sum().backward()
      );
      const fused = trace.filter((e) => e.op.startsWith("normRows"));
      const ran = fused.map((e) => `${e.op}/${e.backend}`).join();
      if (ran !== `normRows/${device},normRowsBackward/${device}`) {
        throw new Error(`float16 on ${device}: ${ran}`);
      }
      if (leaf.grad!.dtype !== "float16") throw new Error(`float16 gradient: ${leaf.grad!.dtype}`);
      grads.push(Float32Array.from(await leaf.grad!.data()));
    }
    assertClose(grads[1], grads[0], { atol: 4e-3, rtol: 4e-3, message: "float16 gradient" });
  },
});

releaseDeviceAtEnd(plugin, "webgpu layer norm");
