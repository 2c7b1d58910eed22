// The fused cross-entropy (crossEntropy, crossEntropyBackward) on webgpu: conformance with cpu
// (checkBackendConformance, strict, both fused kernels required to have run on webgpu) over every
// reduction, with and without a class weight, ignored rows, a non-default ignoreIndex, rows wider
// than a workgroup, more rows than one grid dimension and [C] logits; the PyTorch goldens of
// tests/fixtures/cross_entropy_fused.json; every target ignored (NaN mean); float16 where the
// adapter has shader-f16; and an out-of-range target raising the cpu's IndexError at readback.
// Without an adapter the tests are skipped with the reason printed, except under CI=true.

import assert from "node:assert/strict";
import { explain, F, IndexError, randn, tensor, use } from "../../mod.ts";
import type { Reduction, Tensor } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { assertClose, checkBackendConformance } from "../../testing/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";
import { decode, type Encoded, type LossCase } from "../losses/helpers.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu cross-entropy", true);

const test = webgpuTest(reason, "webgpu cross-entropy");

const FUSED = { atol: 1e-5, rtol: 1e-4, kernels: ["crossEntropy", "crossEntropyBackward"] };
const REDUCTIONS: Reduction[] = ["mean", "sum", "none"];

const i32 = (v: number[]): Tensor => tensor(v, { dtype: "int32" });

// Targets for n rows of c classes: every third row `ignore`, the others in [0, c).
function targets(n: number, c: number, ignore = -100): Tensor {
  return i32(Array.from({ length: n }, (_, i) => (i % 3 === 1 ? ignore : (i * 7 + 3) % c)));
}

async function conform(label: string, fn: (...t: Tensor[]) => Tensor, inputs: Tensor[]) {
  try {
    await checkBackendConformance("webgpu", fn, inputs, FUSED);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
  }
}

test("F.crossEntropy: every reduction, weight, ignored rows, wide rows, many rows", async () => {
  const shapes: [number, number][] = [[4, 5], [7, 10], [3, 700], [5, 257], [70000, 2]];
  for (const [n, c] of shapes) {
    for (const reduction of REDUCTIONS) {
      for (const weighted of [false, true]) {
        const inputs = [randn([n, c]).mul(3), targets(n, c)];
        if (weighted) inputs.push(randn([c]).abs().add(0.1));
        // The weight is detached: a weight that needs a gradient keeps the composite path.
        await conform(
          `[${n}, ${c}] ${reduction} weight ${weighted}`,
          (x, t, w) => F.crossEntropy(x, t, { reduction, weight: w ? w.detach() : null }),
          inputs,
        );
      }
    }
  }
});

test("F.crossEntropy: ignoreIndex 2, [C] logits with a 0-d target", async () => {
  for (const reduction of REDUCTIONS) {
    await conform(
      `ignoreIndex 2 ${reduction}`,
      (x, t) => F.crossEntropy(x, t, { reduction, ignoreIndex: 2 }),
      [randn([6, 4]), targets(6, 4, 2)],
    );
    await conform(
      `[C] ${reduction}`,
      (x, t) => F.crossEntropy(x, t, { reduction }),
      [randn([9]), tensor(4, { dtype: "int32" })],
    );
  }
});

const dec = (e: Encoded): Tensor => decode(e, false, "webgpu");

test("PyTorch goldens: all ignored, 1e4 logits, C = 270 with weight, empty batch", async () => {
  const file = new URL("../fixtures/cross_entropy_fused.json", import.meta.url);
  const { cases } = JSON.parse(await Deno.readTextFile(file)) as { cases: LossCase[] };
  for (const c of cases) {
    const options: Record<string, unknown> = { ...c.options };
    if (c.options.weight) options.weight = dec(c.options.weight as Encoded);
    const x = dec(c.input);
    x.requiresGrad = true;
    const ex = explain(() => {
      const out = F.crossEntropy(x, dec(c.target), options);
      out.backward(dec(c.gy));
      return out;
    });
    const nan = (e: Encoded) => e.data.map((v) => v ?? NaN);
    assertClose(await ex.result.data(), nan(c.output), {
      atol: 1e-5,
      rtol: 1e-5,
      message: `${c.name} forward`,
    });
    assertClose(await x.grad!.data(), nan(c.grad), {
      atol: 1e-5,
      rtol: 1e-5,
      message: `${c.name} grad`,
    });
    if (x.numel() > 0) {
      const ops = ex.trace.map((e) => `${e.op}:${e.backend}`);
      assert.ok(ops.includes("crossEntropy:webgpu"), `${c.name}: ${ops}`);
      assert.ok(ops.includes("crossEntropyBackward:webgpu"), `${c.name}: ${ops}`);
    }
  }
});

test("float16 logits (where the adapter has shader-f16)", async () => {
  if (!plugin.gpu?.f16) return;
  for (const reduction of REDUCTIONS) {
    const x = randn([6, 40]).cast("float16");
    const t = targets(6, 40);
    const run = async (d: string) => {
      const l = F.crossEntropy(x.to(d), t.to(d), { reduction });
      assert.equal(l.dtype, "float16");
      return Array.from(await l.data(), Number);
    };
    assertClose(await run("webgpu"), await run("cpu"), {
      atol: 1e-2,
      rtol: 2e-3,
      message: `float16 ${reduction}`,
    });
  }
});

test("an out-of-range target raises the cpu's IndexError at readback", async () => {
  const x = randn([4, 3]);
  for (
    const [tv, o] of [[[0, 5, 1, 2], {}], [[0, 1, -100, -1], {}], [[0, -100, 1, 2], {
      ignoreIndex: 1,
    }]] as [number[], Record<string, unknown>][]
  ) {
    let want = "";
    try {
      F.crossEntropy(x, i32(tv), o);
    } catch (e) {
      assert.ok(e instanceof IndexError);
      want = e.message;
    }
    assert.match(
      want,
      /^crossEntropy: class index out of range \[0, 3\): gather: index -?\d+ is out of bounds for dimension 1 with size 3/,
    );
    const xg = x.to("webgpu");
    xg.requiresGrad = true;
    const loss = F.crossEntropy(xg, i32(tv).to("webgpu"), o);
    loss.backward();
    await assert.rejects(() => loss.toArray(), (e: unknown) => {
      assert.ok(e instanceof IndexError, `got ${e}`);
      assert.equal(e.message, want);
      return true;
    });
    // The record was cleared by that readback: valid work afterwards reads back normally.
    assert.equal(
      Number.isFinite(await F.crossEntropy(xg, i32([0, 1, 2, 0]).to("webgpu")).item()),
      true,
    );
  }
});

releaseDeviceAtEnd(plugin, "webgpu cross-entropy");
