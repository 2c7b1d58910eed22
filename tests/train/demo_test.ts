// The demo pipeline (embedded digits → split → DataLoader → LeNet-5 → fit → checkpoint + plot →
// evaluate) on a 2,000-digit subset.

import assert from "node:assert/strict";
import { runDemo } from "../../examples/demo.ts";
import { readCheckpoint } from "../../plugins/train/mod.ts";
import { lenet5 } from "../../plugins/models/mod.ts";

Deno.test("demo pipeline on a small subset", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await runDemo({ out, epochs: 3, limit: 2000, progress: null });
    assert.equal(r.testSize, 400);
    assert.ok(r.accuracy > 0.85, `accuracy ${r.accuracy}`);
    const ck = await readCheckpoint(out);
    assert.equal(ck?.epoch, 3);
    assert.equal(ck?.history.length, 3);
    assert.ok(Math.abs(ck!.history[2].valAccuracy! - r.accuracy) < 1e-9);
    lenet5().loadStateDict(ck!.model);
    assert.match(await Deno.readTextFile(`${out}/history.svg`), /<polyline/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
