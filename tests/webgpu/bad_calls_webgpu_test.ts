// Runs the bad-call catalogue (tests/bad_calls/) on webgpu: one test per group, each reporting
// every failing case at once, then a summary test that prints the per-group table. After each case
// the device is synced, so an index error a case leaves on the device fails that case instead of
// the next readback. Skipped without an adapter, except under CI=true, where webgpu_test.ts already
// fails the run.

import { use } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { casesFor, failures, groups, runGroup, summary } from "../bad_calls/mod.ts";
import type { CaseResult } from "../bad_calls/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
if (reason !== null) console.log(`skipping webgpu bad calls: ${reason}`);

const DEVICE = "webgpu";
const results: CaseResult[] = [];
const settle = (): Promise<void> => plugin.sync();

function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({
    name: `bad calls (${DEVICE}): ${name}`,
    ignore: reason !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

for (const group of groups()) {
  if (casesFor(DEVICE, group).length === 0) continue;
  test(group, async () => {
    const rs = await runGroup(group, DEVICE, settle);
    results.push(...rs);
    const failed = failures(rs);
    if (failed) throw new Error(`bad calls that did not raise as expected:\n${failed}`);
  });
}

test("summary", () => {
  console.log(summary(results, DEVICE));
  const run = results.filter((r) => r.status !== "known").length;
  if (run < 250) throw new Error(`only ${run} bad calls ran on ${DEVICE}, expected at least 250`);
});

releaseDeviceAtEnd(plugin, "bad calls (webgpu)");
