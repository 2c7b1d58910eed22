/**
 * Runs the bad-call catalogue (tests/bad_calls/) on cpu: one test per group, each reporting every
 * failing case at once, then a summary test that prints the per-group table.
 */

import { casesFor, failures, groups, runGroup, summary } from "../bad_calls/mod.ts";
import type { CaseResult } from "../bad_calls/mod.ts";

const DEVICE = "cpu";
const results: CaseResult[] = [];

for (const group of groups()) {
  if (casesFor(DEVICE, group).length === 0) continue;
  Deno.test(`bad calls (${DEVICE}): ${group}`, async () => {
    const rs = await runGroup(group, DEVICE);
    results.push(...rs);
    const failed = failures(rs);
    if (failed) throw new Error(`bad calls that did not raise as expected:\n${failed}`);
  });
}

Deno.test(`bad calls (${DEVICE}): summary`, () => {
  console.log(summary(results, DEVICE));
  const run = results.filter((r) => r.status !== "known").length;
  if (run < 250) throw new Error(`only ${run} bad calls ran on ${DEVICE}, expected at least 250`);
});
