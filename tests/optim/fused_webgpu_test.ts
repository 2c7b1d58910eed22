/**
 * The webgpu backend's fused SGD and Adam/AdamW update kernels against the cpu backend: the same
 * optimizers take the same synthetic gradients on both devices for a few steps, and parameters
 * and state must agree after every step. Skipped, with the reason printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { explain, scope, use } from "../../mod.ts";
import type { Optimizer, Tensor } from "../../mod.ts";
import { Adam, AdamW, RMSprop, SGD } from "../../optim/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip, webgpuTest } from "../webgpu/_harness.ts";
import { randParams, setSameGrads } from "./_rand.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu optimizer");

const test = webgpuTest(reason);

// Shapes include one that is not a multiple of the workgroup size and one of several groups.
const SHAPES = [[3, 4], [7], [33, 17]];

async function snapshot(ps: Tensor[], opt: Optimizer<object>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const p of ps) {
    out.push(await p.data() as Float32Array);
    for (const s of Object.values(opt.state.get(p) ?? {})) {
      if (typeof s !== "number") out.push(await s.data() as Float32Array);
    }
  }
  return out;
}

async function compare(
  make: (ps: Tensor[]) => Optimizer<object>,
  fusedOnGpu: boolean,
): Promise<void> {
  const cpu = randParams(SHAPES, "cpu"), gpu = randParams(SHAPES, "webgpu");
  const optCpu = make(cpu), optGpu = make(gpu);
  for (let k = 0; k < 4; k++) {
    scope(() => {
      setSameGrads(cpu, gpu, k);
      optCpu.step();
      const { trace } = explain(() => optGpu.step());
      for (const e of trace) {
        if (e.op.endsWith("Update")) {
          assert.equal(e.backend, fusedOnGpu ? "webgpu" : "decomposition", e.op);
        }
      }
      return null;
    });
    const [want, got] = [await snapshot(cpu, optCpu), await snapshot(gpu, optGpu)];
    assert.equal(got.length, want.length);
    got.forEach((g, t) => {
      for (let i = 0; i < g.length; i++) {
        assert.ok(
          Math.abs(g[i] - want[t][i]) <= 1e-5 * (1 + Math.abs(want[t][i])),
          `step ${k + 1} tensor ${t}[${i}]: webgpu ${g[i]}, cpu ${want[t][i]}`,
        );
      }
    });
  }
  for (const p of gpu) assert.equal(p.device, "webgpu");
}

test("SGD (plain, momentum, dampening, nesterov, weight decay, maximize) matches cpu", async () => {
  await compare((ps) => new SGD(ps, { lr: 0.1 }), true);
  await compare((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), true);
  await compare((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.3 }), true);
  await compare(
    (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    true,
  );
  await compare(
    (ps) => new SGD(ps, { lr: 0.1, momentum: 0.5, weightDecay: 0.1, maximize: true }),
    true,
  );
});

test("Adam and AdamW (weight decay, amsgrad, maximize) match cpu", async () => {
  await compare((ps) => new Adam(ps, { lr: 0.01 }), true);
  await compare((ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.1, amsgrad: true }), true);
  await compare((ps) => new Adam(ps, { lr: 0.01, maximize: true, betas: [0.5, 0.9] }), true);
  await compare((ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 }), true);
  await compare((ps) => new AdamW(ps, { lr: 0.01, amsgrad: true, eps: 1e-6 }), true);
});

test("RMSprop runs as its decomposition and matches cpu", async () => {
  await compare((ps) => new RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.9 }), false);
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
