// Writes the mutated safetensors files of tests/train/safetensors_fuzz_test.ts (SCALE times the
// suite's counts, from SEED) to OUT/cases/N.safetensors with denn's outcome for each in
// OUT/denn.json: "ok" with every tensor's dtype, shape and decoded bytes, or the error message.
// tools/check_safetensors_fuzz.py then compares them with the reference implementation.
//
//   deno run --allow-read --allow-write tools/safetensors_fuzz_dump.ts OUT [SCALE] [SEED]

import { bases, COUNTS, MUTATIONS, rng } from "../tests/train/safetensors_fuzz_test.ts";
import { deserialize } from "../plugins/train/mod.ts";

const [out, scaleArg, seedArg] = Deno.args;
if (!out) throw new Error("usage: safetensors_fuzz_dump.ts OUT [SCALE] [SEED]");
const scale = Number(scaleArg ?? 10), r = rng(Number(seedArg ?? 777));
await Deno.mkdir(`${out}/cases`, { recursive: true });
const baseFiles = await bases();
const results: unknown[] = [];
let id = 0;
for (const [kind, count] of Object.entries(COUNTS)) {
  for (let k = 0; k < count * scale; k++, id++) {
    const bytes = MUTATIONS[kind](r, baseFiles[r.int(baseFiles.length)]);
    await Deno.writeFile(`${out}/cases/${id}.safetensors`, bytes);
    try {
      const { tensors } = deserialize(bytes, { name: `${id}` });
      const decoded: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(tensors)) {
        const d = t.dataSync();
        decoded[name] = {
          dtype: t.dtype,
          shape: t.shape,
          hex: Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))
            .map((b) => b.toString(16).padStart(2, "0")).join(""),
        };
      }
      results.push({ id, kind, denn: "ok", tensors: decoded });
    } catch (e) {
      results.push({ id, kind, denn: "error", message: (e as Error).message });
    }
  }
}
await Deno.writeTextFile(`${out}/denn.json`, JSON.stringify(results));
console.log(`${id} cases written to ${out}`);
