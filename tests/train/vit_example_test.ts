// examples/vit.ts in its quick mode (the CI check of the example): a narrow ViT trains for 150
// steps on the embedded digits; the loss must fall well below its start (ln 10 at chance) and the
// held-out accuracy must clearly beat chance (0.1).

import assert from "node:assert/strict";
import { trainVit } from "../../examples/vit.ts";

Deno.test("examples/vit.ts quick mode learns the digits", async () => {
  const r = await trainVit({ quick: true, log: null });
  const head = r.losses.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
  const tail = r.losses.slice(-20).reduce((a, b) => a + b, 0) / 20;
  assert.ok(Math.abs(head - Math.log(10)) < 0.3, `first losses ${head}, expected about ln 10`);
  assert.ok(tail < head - 0.8, `loss fell only from ${head} to ${tail}`);
  assert.ok(r.accuracy > 0.5, `held-out accuracy ${r.accuracy}`);
});
