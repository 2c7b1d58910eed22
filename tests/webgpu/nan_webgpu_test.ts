// NaN propagates through maximum/minimum/clamp/pow and the max/min reductions on webgpu as on cpu
// and in PyTorch. The kernels test NaN on the bits: compilers may assume no NaNs and fold x != x
// to false, which made webgpu return 1 for max([1, NaN]) and 0 for maximum(NaN, 0).

import assert from "node:assert/strict";
import { tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";

const plugin = await webgpu();
use(plugin);

Deno.test({
  name: "webgpu NaN: elementwise extrema, clamp, pow and reductions keep NaN as cpu does",
  ignore: plugin.unavailableReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cases: [string, (dev: string) => Tensor][] = [
      ["maximum", (d) => tensor([1, NaN, -1], { device: d }).maximum(0)],
      ["minimum", (d) => tensor([1, NaN, -1], { device: d }).minimum(0)],
      ["clamp", (d) => tensor([1, NaN, -1], { device: d }).clamp(0, 0.5)],
      ["clamp(NaN)", (d) => tensor([1, 2], { device: d }).clamp(NaN)],
      ["pow", (d) => tensor([NaN, 2], { device: d }).pow(2)],
      ["max()", (d) => tensor([1, NaN, -1], { device: d }).max()],
      ["min()", (d) => tensor([1, NaN, -1], { device: d }).min()],
      ["amax(1)", (d) => tensor([[1, NaN], [3, 4]], { device: d }).amax(1)],
      ["amin(0)", (d) => tensor([[1, NaN], [3, 4]], { device: d }).amin(0)],
      ["relu", (d) => tensor([1, NaN, -1], { device: d }).relu()],
      ["ne", (d) => tensor([1, NaN, 2], { device: d }).ne(tensor([1, NaN, 3], { device: d }))],
      ["ne scalar", (d) => tensor([1, NaN], { device: d }).ne(1)],
    ];
    for (const [name, f] of cases) {
      const want = await f("cpu").toArray();
      const got = await f("webgpu").toArray();
      assert.deepEqual(
        got,
        want,
        `${name}: webgpu ${JSON.stringify(got)} vs cpu ${JSON.stringify(want)}`,
      );
    }
    assert.ok(Number.isNaN(await tensor([1, NaN], { device: "webgpu" }).max().item()));
  },
});

releaseDeviceAtEnd(plugin, "webgpu NaN");
