// Child process of the SIGKILL test in checkpoint_test.ts (not a test itself): resumes from the
// checkpoint in Deno.args[0] and saves one checkpoint after another, forever, until it is killed.
// Every tensor and number of checkpoint N holds N, so a mixed pair shows up as a mismatch.

import { tensor } from "../../mod.ts";
import { readCheckpoint, writeCheckpoint } from "../../plugins/train/mod.ts";
import type { EpochStats } from "../../plugins/train/mod.ts";

const dir = Deno.args[0];
const size = Number(Deno.args[1] ?? 65536);
const prev = await readCheckpoint(dir);
let epoch = prev?.epoch ?? 0;
const history: EpochStats[] = prev?.history ?? [];
await Deno.stdout.write(new TextEncoder().encode(`ready ${epoch}\n`));
for (;;) {
  epoch++;
  history.push({ epoch, loss: epoch, accuracy: NaN, seconds: 0, imagesPerSecond: Infinity });
  const fill = new Float32Array(size).fill(epoch);
  await writeCheckpoint(dir, {
    epoch,
    model: { w: tensor(fill), b: tensor([epoch, epoch]) },
    optimizer: {
      state: { 0: { step: epoch, momentum_buffer: tensor(fill.subarray(0, size >> 1)) } },
      paramGroups: [{ lr: 0.1, params: [0] }],
    },
    history,
    rng: { default: [epoch, 0, 0, 0, null] },
  });
}
