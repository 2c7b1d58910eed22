/**
 * pytorch_seq_interop_test.ts on webgpu: the PyTorch LSTM, bidirectional LSTM and ViT state dicts
 * (tools/gen_seq_safetensors.py) read from their safetensors files straight onto the device, or
 * onto the cpu and copied into a model already on the device, load with strict keys and give
 * PyTorch's eval-mode outputs there within 1e-5; a missing key is still named. Skipped, with the
 * reason printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { fromData, type nn, noGrad, use, ValueError } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { load } from "../../plugins/train/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { RowLSTM } from "../../examples/lstm.ts";
import { VisionTransformer } from "../../examples/vit.ts";
import { assertCloseAsync, assertThrowsNamed } from "../../testing/mod.ts";
import { BiLSTM } from "./_seq_interop.ts";
import type { Io } from "./_seq_interop.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip, webgpuTest } from "../webgpu/_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu PyTorch sequence interop");

const test = webgpuTest(reason);

/** A model of one input tensor. */
type Classifier = nn.Module & { forward(x: Tensor): Tensor };

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const readIo = async (name: string) =>
  JSON.parse(await Deno.readTextFile(fixture(`${name}_io.json`))) as Io;
const ATOL = { atol: 1e-5, rtol: 0 };

async function same(got: Tensor, shape: number[], want: number[], what: string): Promise<void> {
  assert.equal(got.device, "webgpu", `${what}: device`);
  assert.deepEqual(got.shape, shape, `${what}: shape`);
  await assertCloseAsync(got, want, { ...ATOL, message: `webgpu ${what}` });
}

/**
 * Loads fixture `name` into `model` on the device (the file read onto the device, or onto the cpu
 * when `via` is "cpu") and checks the logits, and h and c where `lstm` is given.
 */
async function check(
  model: Classifier,
  name: string,
  via: "webgpu" | "cpu",
  lstm?: (m: Classifier) => nn.LSTM,
): Promise<void> {
  const io = await readIo(name);
  const tensors = await load(fixture(`${name}.safetensors`), { device: via });
  assert.deepEqual(Object.keys(tensors), io.keys);
  for (const t of Object.values(tensors)) assert.equal(t.device, via);
  model.to("webgpu");
  const r = model.loadStateDict(tensors, { strict: true });
  assert.deepEqual(r, { missingKeys: [], unexpectedKeys: [] });
  for (const [k, t] of Object.entries(model.stateDict())) assert.equal(t.device, "webgpu", k);
  const x = fromData(Float32Array.from(io.input), io.input_shape, { device: "webgpu" });
  model.eval();
  await same(noGrad(() => model.forward(x)), io.logits_shape, io.logits, `${name} logits`);
  if (lstm) {
    const { h, c } = noGrad(() => lstm(model).forward(x));
    await same(h, io.h_shape!, io.h!, `${name} h`);
    await same(c, io.c_shape!, io.c!, `${name} c`);
  }
}

const vit = () => new VisionTransformer({ dim: 16, depth: 2, heads: 2, mlpDim: 32 });

test("PyTorch LSTM safetensors loaded onto the device: same logits, h and c", async () => {
  await check(new RowLSTM(32, 2), "lstm_seq", "webgpu", (m) => (m as RowLSTM).lstm);
});

test("PyTorch bidirectional LSTM safetensors loaded onto the device: same logits, h, c", async () => {
  await check(new BiLSTM(), "bilstm_seq", "webgpu", (m) => (m as BiLSTM).lstm);
});

test("PyTorch ViT safetensors loaded onto the device: same logits", async () => {
  await check(vit(), "vit_tiny", "webgpu");
});

test("cpu tensors of the PyTorch files load into models already on the device", async () => {
  await check(new BiLSTM(), "bilstm_seq", "cpu", (m) => (m as BiLSTM).lstm);
  await check(vit(), "vit_tiny", "cpu");
});

test("a missing key is named on the device too", async () => {
  const tensors = await load(fixture("vit_tiny.safetensors"), { device: "webgpu" });
  const gone = "posEmbed";
  delete tensors[gone];
  const model = vit().to("webgpu");
  assertThrowsNamed(() => model.loadStateDict(tensors), ValueError, `missing keys: ${gone}`);
  const r = model.loadStateDict(tensors, { strict: false });
  assert.deepEqual(r, { missingKeys: [gone], unexpectedKeys: [] });
  await assertCloseAsync(model.head.weight, tensors["head.weight"], { atol: 0, rtol: 0 });
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
