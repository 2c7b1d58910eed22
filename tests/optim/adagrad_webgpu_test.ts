/**
 * Adagrad on webgpu: the PyTorch trajectories of tests/optim/adagrad_test.ts run with parameters
 * and state on the device (the fused `adagradUpdate` kernel must run there), and the same
 * optimizer on cpu and webgpu with synthetic gradients on shapes that are not a multiple of the
 * workgroup size, parameters and accumulators agreeing after every step. Skipped, with the reason
 * printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { explain, scope, tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { Adagrad } from "../../optim/mod.ts";
import type { AdagradOptions } from "../../optim/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip, webgpuTest } from "../webgpu/_harness.ts";
import { randParams, setSameGrads } from "./_rand.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu Adagrad");

const test = webgpuTest(reason);

interface AdagradCase {
  name: string;
  options: AdagradOptions;
  groups: (AdagradOptions & { params: number[] })[] | null;
  trajectory: { params: number[][]; sums: number[][] }[];
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/training_utils.json", import.meta.url)),
) as { problem: Record<string, number[]>; adagrad: AdagradCase[] };
const P = fixture.problem;

function near(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${what}[${i}]: got ${got[i]}, expected ${want[i]}`,
    );
  }
}

function assertFusedOnGpu(trace: readonly { op: string; backend: string }[]): void {
  const ran = trace.filter((e) => e.op.startsWith("adagradUpdate"));
  assert.ok(ran.length > 0, "adagradUpdate(Foreach) ran");
  for (const e of ran) assert.equal(e.backend, "webgpu");
}

for (const c of fixture.adagrad) {
  test(`Adagrad ${c.name} follows PyTorch for 10 steps`, async () => {
    const params = [
      tensor(Float32Array.from(P.w), { shape: [3, 4], device: "webgpu", requiresGrad: true }),
      tensor(Float32Array.from(P.v), { device: "webgpu", requiresGrad: true }),
    ];
    const T = tensor(Float32Array.from(P.t)).to("webgpu");
    const C = tensor(Float32Array.from(P.c), { shape: [3, 4] }).to("webgpu");
    const input = c.groups
      ? c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]) }))
      : params;
    const opt = new Adagrad(input, c.options);
    for (const [k, expected] of c.trajectory.entries()) {
      const { trace } = explain(() =>
        scope(() => {
          const [w, v] = params;
          opt.zeroGrad();
          const r = w.matmul(v).sub(T);
          r.mul(r).sum().add(C.mul(w).mul(w).sum()).backward();
          opt.step();
        })
      );
      assertFusedOnGpu(trace);
      for (const [i, p] of params.entries()) {
        assert.equal(p.device, "webgpu");
        near(await p.data(), expected.params[i], `step ${k + 1} param ${i}`, 2e-6);
        const sum = opt.state.get(p)!.sum as Tensor;
        assert.equal(sum.device, "webgpu");
        near(await sum.data(), expected.sums[i], `step ${k + 1} sum ${i}`, 2e-6);
      }
    }
  });
}

test("Adagrad (lrDecay, weight decay, maximize, initial accumulator) matches cpu", async () => {
  const shapes = [[3, 4], [7], [33, 17]];
  const optionsList: AdagradOptions[] = [
    { lr: 0.1 },
    { lr: 0.05, lrDecay: 0.2, weightDecay: 0.1, initialAccumulatorValue: 0.1 },
    { lr: 0.05, maximize: true, eps: 1e-4 },
  ];
  for (const options of optionsList) {
    const cpu = randParams(shapes, "cpu"), gpu = randParams(shapes, "webgpu");
    const optCpu = new Adagrad(cpu, options), optGpu = new Adagrad(gpu, options);
    for (let k = 0; k < 4; k++) {
      scope(() => {
        setSameGrads(cpu, gpu, k);
        optCpu.step();
        assertFusedOnGpu(explain(() => optGpu.step()).trace);
        return null;
      });
      for (const [i, p] of cpu.entries()) {
        const what = `${JSON.stringify(options)} step ${k + 1} param ${i}`;
        near(await gpu[i].data(), p.dataSync(), what, 1e-5);
        near(
          await (optGpu.state.get(gpu[i])!.sum as Tensor).data(),
          (optCpu.state.get(p)!.sum as Tensor).dataSync(),
          `${what} sum`,
          1e-5,
        );
      }
    }
  }
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
