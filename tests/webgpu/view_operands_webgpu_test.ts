/**
 * Views as operands on webgpu: the cases of tests/core/view_operands_test.ts, each op on a view
 * against the same op on a dense copy. Skipped, with the reason printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { viewCases } from "../core/_view_cases.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu view operands");
const test = webgpuTest(reason);

const OPS: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ["mul", (a, b) => a.mul(b)],
  ["sub", (a, b) => a.sub(b)],
  ["maximum", (a, b) => a.maximum(b)],
  ["gt", (a, b) => a.gt(b)],
];

test("binary ops on views equal the same ops on dense copies", async () => {
  for (const [label, view, other] of viewCases("webgpu")) {
    const dense = view.clone();
    for (const [name, f] of OPS) {
      assert.deepEqual(
        await f(view, other).toArray(),
        await f(dense, other).toArray(),
        `${name}, ${label}`,
      );
      assert.deepEqual(
        await f(other, view).toArray(),
        await f(other, dense).toArray(),
        `${name} (swapped), ${label}`,
      );
    }
  }
  assert.equal(await tensor([1, 2, 3], { device: "webgpu" }).select(0, 1).mul(2).item(), 4);
});

releaseDeviceAtEnd(plugin);
