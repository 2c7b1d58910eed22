/**
 * pow at IEEE's special points on webgpu, plain and inside a fused chain, against PyTorch's values
 * (tests/core/pow_special_test.ts). Skipped, with the reason printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { fuse, tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { POW_SPECIAL } from "../core/_pow_cases.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu pow");
const test = webgpuTest(reason);

test("pow at special points matches C's pow and PyTorch, plain and fused", async () => {
  const a = tensor(POW_SPECIAL.map((c) => c[0]), { device: "webgpu" });
  const b = tensor(POW_SPECIAL.map((c) => c[1]), { device: "webgpu" });
  const fused = fuse((x: Tensor, y: Tensor) => x.pow(y).add(0));
  for (const [label, t] of [["pow", a.pow(b)], ["fused", fused(a, b)]] as const) {
    const got = await t.toArray() as number[];
    POW_SPECIAL.forEach(([x, y, want], i) =>
      assert.ok(Object.is(got[i], want), `${label}: ${x} ** ${y}: ${got[i]}, want ${want}`)
    );
  }
});

releaseDeviceAtEnd(plugin);
