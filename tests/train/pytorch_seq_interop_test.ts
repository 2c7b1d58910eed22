/**
 * PyTorch sequence models through the real file path (tools/gen_seq_safetensors.py): a state
 * dict saved by PyTorch as safetensors, under PyTorch's own keys, is read by denn's safetensors
 * loader, goes through `loadStateDict` with strict keys, and gives PyTorch's eval-mode outputs
 * within 1e-5:
 *
 * - lstm_seq: nn.LSTM(28, 32, num_layers=2, batch_first=True) + nn.Linear head on the last step,
 *   mirrored by examples/lstm.ts's RowLSTM unchanged;
 * - bilstm_seq: the same, bidirectional with hidden size 16 (32 would make a 164 KB fixture);
 * - vit_tiny: Conv2d patch embedding, class token, position embedding, a pre-norm
 *   TransformerEncoder with a final LayerNorm, and a Linear head on the class token, mirrored by
 *   examples/vit.ts's VisionTransformer unchanged.
 *
 * A missing or an unexpected key is a ValueError naming the key (strict), or is reported by name in
 * the result (not strict); a checkpoint of another shape is a ShapeError naming the key and both
 * shapes. The webgpu half is pytorch_seq_interop_webgpu_test.ts.
 */

import assert from "node:assert/strict";
import { fromData, type nn, noGrad, ShapeError, ValueError } from "../../mod.ts";
import type { StateDict, Tensor } from "../../mod.ts";
import { loadWithMetadata } from "../../plugins/train/mod.ts";
import { RowLSTM } from "../../examples/lstm.ts";
import { VisionTransformer } from "../../examples/vit.ts";
import { assertCloseAsync, assertThrowsNamed } from "../../testing/mod.ts";
import { BiLSTM } from "./_seq_interop.ts";
import type { Io } from "./_seq_interop.ts";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

async function open(name: string): Promise<{ tensors: StateDict; io: Io }> {
  const { tensors, metadata } = await loadWithMetadata(fixture(`${name}.safetensors`));
  assert.deepEqual(metadata, { format: "pt", source: "pytorch" });
  const io = JSON.parse(await Deno.readTextFile(fixture(`${name}_io.json`))) as Io;
  // PyTorch's keys in PyTorch's order; these models have no buffers (no int64 counters), so
  // every tensor is float32.
  assert.deepEqual(Object.keys(tensors), io.keys);
  for (const [k, t] of Object.entries(tensors)) assert.equal(t.dtype, "float32", k);
  return { tensors, io };
}

const ATOL = { atol: 1e-5, rtol: 0 };

async function same(got: Tensor, shape: number[], want: number[], what: string): Promise<void> {
  assert.deepEqual(got.shape, shape, `${what}: shape`);
  await assertCloseAsync(got, want, { ...ATOL, message: what });
}

/** A model of one input tensor. */
type Classifier = nn.Module & { forward(x: Tensor): Tensor };

/** Loads a fixture into `model` (strict), then checks its logits against PyTorch's. */
async function checkLogits(model: Classifier, name: string): Promise<Io> {
  const { tensors, io } = await open(name);
  assert.deepEqual(Object.keys(model.stateDict()), io.keys, "denn's keys and order are PyTorch's");
  const r = model.loadStateDict(tensors, { strict: true });
  assert.deepEqual(r, { missingKeys: [], unexpectedKeys: [] });
  const x = fromData(Float32Array.from(io.input), io.input_shape);
  const logits = noGrad(() => model.eval().forward(x));
  await same(logits, io.logits_shape, io.logits, `${name} logits`);
  return io;
}

/** {@link checkLogits}, then the final h and c of the model's LSTM against PyTorch's. */
async function checkLstm(model: RowLSTM | BiLSTM, name: string): Promise<void> {
  const io = await checkLogits(model, name);
  const x = fromData(Float32Array.from(io.input), io.input_shape);
  const { h, c } = noGrad(() => model.lstm.forward(x));
  await same(h, io.h_shape!, io.h!, `${name} h`);
  await same(c, io.c_shape!, io.c!, `${name} c`);
}

Deno.test("PyTorch LSTM safetensors: RowLSTM gives PyTorch's logits, h and c within 1e-5", async () => {
  await checkLstm(new RowLSTM(32, 2), "lstm_seq");
});

Deno.test("PyTorch bidirectional LSTM safetensors: same logits, h and c within 1e-5", async () => {
  await checkLstm(new BiLSTM(), "bilstm_seq");
});

Deno.test("PyTorch ViT safetensors: VisionTransformer gives PyTorch's logits within 1e-5", async () => {
  await checkLogits(new VisionTransformer({ dim: 16, depth: 2, heads: 2, mlpDim: 32 }), "vit_tiny");
});

Deno.test("a missing key is named: ValueError when strict, missingKeys otherwise", async () => {
  const { tensors } = await open("vit_tiny");
  const gone = "encoder.layers.1.self_attn.in_proj_bias";
  const partial = { ...tensors };
  delete partial[gone];
  const vit = new VisionTransformer({ dim: 16, depth: 2, heads: 2, mlpDim: 32 });
  const before = vit.stateDict()[gone].toArraySync();
  assertThrowsNamed(
    () => vit.loadStateDict(partial, { strict: true }),
    ValueError,
    "loadStateDict: VisionTransformer",
    `missing keys: ${gone}`,
  );
  assertThrowsNamed(() => vit.loadStateDict(partial), ValueError, `missing keys: ${gone}`);
  // A refused load changes nothing.
  assert.notDeepEqual(vit.head.weight.toArraySync(), tensors["head.weight"].toArraySync());
  const r = vit.loadStateDict(partial, { strict: false });
  assert.deepEqual(r, { missingKeys: [gone], unexpectedKeys: [] });
  // The missing tensor keeps its value; every other one is PyTorch's.
  const sd = vit.stateDict();
  assert.deepEqual(sd[gone].toArraySync(), before);
  for (const k of Object.keys(partial)) {
    assert.deepEqual(sd[k].toArraySync(), partial[k].toArraySync(), k);
  }
});

Deno.test("an unexpected key is named: ValueError when strict, unexpectedKeys otherwise", async () => {
  const { tensors, io } = await open("lstm_seq");
  const extra = "lstm.weight_ih_l2"; // a third layer's weight, as in a 3-layer checkpoint
  const more = { ...tensors, [extra]: tensors["lstm.weight_hh_l1"] };
  const model = new RowLSTM(32, 2);
  assertThrowsNamed(
    () => model.loadStateDict(more, { strict: true }),
    ValueError,
    "loadStateDict: RowLSTM",
    `unexpected keys: ${extra}`,
  );
  const r = model.loadStateDict(more, { strict: false });
  assert.deepEqual(r, { missingKeys: [], unexpectedKeys: [extra] });
  // The extra tensor is ignored: the model is PyTorch's.
  const x = fromData(Float32Array.from(io.input), io.input_shape);
  await same(noGrad(() => model.eval().forward(x)), io.logits_shape, io.logits, "logits");

  // Both at once: one key of the head renamed.
  const renamed: StateDict = { ...tensors, "fc.bias": tensors["head.bias"] };
  delete renamed["head.bias"];
  assertThrowsNamed(
    () => new RowLSTM(32, 2).loadStateDict(renamed),
    ValueError,
    "missing keys: head.bias; unexpected keys: fc.bias",
  );
});

Deno.test("a bidirectional checkpoint in a unidirectional LSTM names every _reverse key", async () => {
  const { tensors } = await open("bilstm_seq");
  const reverse = Object.keys(tensors).filter((k) => k.endsWith("_reverse"));
  assert.equal(reverse.length, 8); // 4 tensors × 2 layers
  assertThrowsNamed(
    () => new RowLSTM(16, 2).loadStateDict(tensors),
    ValueError,
    `unexpected keys: ${reverse.join(", ")}`,
  );
  // Not strict, the shared keys are compared by shape: layer 1 reads 2·16 features, the head 32.
  assertThrowsNamed(
    () => new RowLSTM(16, 2).loadStateDict(tensors, { strict: false }),
    ShapeError,
    "lstm.weight_ih_l1: checkpoint has [64, 32], module has [64, 16]",
    "head.weight: checkpoint has [10, 32], module has [10, 16]",
  );
});
