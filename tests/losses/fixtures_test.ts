/**
 * Every loss against PyTorch goldens from tools/gen_loss_fixtures.py: forward values and the input
 * gradient of sum(loss·gy) for a fixed upstream gradient gy.
 *
 * Tolerance: |actual − expected| <= 1e-5 + 1e-5·|expected|. The goldens are float64 results over
 * the same float32 inputs, written with 7 significant digits.
 */

import * as losses from "../../losses/mod.ts";
import type { Loss, Tensor } from "../../core/mod.ts";
import { assertClose, decode, type Encoded, type LossCase as Case } from "./helpers.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/losses.json", import.meta.url)),
) as { cases: Case[] };

type LossCtor = new (options: Record<string, unknown>) => Loss<string>;

function isEncoded(v: unknown): v is Encoded {
  return typeof v === "object" && v !== null && "shape" in v && "data" in v;
}

for (const c of fixture.cases) {
  Deno.test(`${c.loss}: ${c.name}`, () => {
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.options)) options[k] = isEncoded(v) ? decode(v) : v;
    const Ctor = (losses as unknown as Record<string, LossCtor>)[c.loss!];
    const x = decode(c.input, true);
    const out: Tensor = new Ctor(options).forward(x, decode(c.target));
    assertClose(out.dataSync(), c.output.data, `${c.name} forward`);
    if (out.shape.join() !== c.output.shape.join()) {
      throw new Error(`${c.name}: shape [${out.shape}], expected [${c.output.shape}]`);
    }
    out.backward(decode(c.gy));
    assertClose(x.grad!.dataSync(), c.grad.data, `${c.name} grad`);
  });
}
