/**
 * examples/lstm.ts: the row-by-row LSTM classifier has PyTorch's parameter names and shapes, its
 * quick mode (40 AdamW steps with clipping) trains — the loss falls and the held-out accuracy is
 * far above chance —, bad options are refused, and the script runs with `deno run`.
 */

import assert from "node:assert/strict";
import { DeviceError, randn, ValueError } from "../../mod.ts";
import { RowLSTM, trainLstm } from "../../examples/lstm.ts";
import type { LstmOptions } from "../../examples/lstm.ts";

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

Deno.test("RowLSTM reads the 28 rows and has PyTorch's state-dict keys", () => {
  const model = new RowLSTM(16, 2);
  const shapes = Object.fromEntries(
    Object.entries(model.stateDict()).map(([k, t]) => [k, t.shape]),
  );
  assert.deepEqual(shapes, {
    "lstm.weight_ih_l0": [64, 28],
    "lstm.weight_hh_l0": [64, 16],
    "lstm.bias_ih_l0": [64],
    "lstm.bias_hh_l0": [64],
    "lstm.weight_ih_l1": [64, 16],
    "lstm.weight_hh_l1": [64, 16],
    "lstm.bias_ih_l1": [64],
    "lstm.bias_hh_l1": [64],
    "head.weight": [10, 16],
    "head.bias": [10],
  });
  const x = randn([3, 1, 28, 28]);
  const out = model.forward(x);
  assert.deepEqual(out.shape, [3, 10]);
  // The classifier sees the last layer's final hidden state, as `head(h[-1])` in PyTorch.
  const { h } = model.lstm.forward(x.reshape([3, 28, 28]));
  const want = model.head.forward(h.select(0, 1)).dataSync() as Float32Array;
  const got = out.dataSync() as Float32Array;
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6);
});

Deno.test("the quick mode trains: the loss falls and the accuracy beats chance", async () => {
  const lines: string[] = [];
  const r = await trainLstm({ quick: true, log: (l) => lines.push(l) });
  assert.equal(r.losses.length, 40);
  assert.equal(r.testSize, 500);
  assert.ok(r.losses.every(Number.isFinite));
  // Untrained, the loss is about ln 10 = 2.30.
  assert.ok(Math.abs(mean(r.losses.slice(0, 3)) - Math.log(10)) < 0.15, `${r.losses}`);
  const first = mean(r.losses.slice(0, 10)), last = mean(r.losses.slice(-10));
  assert.ok(last < first - 0.5, `the loss falls: ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  assert.ok(r.accuracy > 0.35, `held-out accuracy ${r.accuracy} (chance is 0.1)`);
  assert.equal(r.history.length, 1);
  assert.equal(r.history[0].testAccuracy, r.accuracy);
  assert.ok(r.history[0].imagesPerSecond > 0 && r.history[0].seconds > 0);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0],
    /^epoch 1\/1: loss \d\.\d{4}, train accuracy \d+\.\d\d%, held-out accuracy \d+\.\d\d%, \d+ img\/s, \d+\.\ds$/,
  );
});

Deno.test("trainLstm refuses bad options with named errors", async () => {
  const refuses = (options: LstmOptions, cls: typeof ValueError, message: RegExp) =>
    assert.rejects(trainLstm({ log: null, ...options }), (e) => {
      assert.ok(e instanceof cls, `expected a ${cls.name}, got ${e}`);
      assert.match((e as Error).message, message);
      return true;
    });
  await refuses({ epochs: 0 }, ValueError, /^trainLstm: epochs must be a positive integer, got 0$/);
  await refuses({ hidden: 1.5 }, ValueError, /^trainLstm: hidden must be a positive integer/);
  await refuses({ lr: -1 }, ValueError, /^trainLstm: lr must be a finite number > 0, got -1$/);
  await refuses({ lr: Infinity }, ValueError, /^trainLstm: lr must be a finite number > 0/);
  await refuses(
    { maxNorm: NaN },
    ValueError,
    /^trainLstm: maxNorm must be a number > 0 \(or Infinity\), got NaN$/,
  );
  await refuses(
    { weightDecay: -0.1 },
    ValueError,
    /^trainLstm: weightDecay must be a finite number >= 0/,
  );
  await refuses({ shift: 28 }, ValueError, /^trainLstm: shift must be an integer in \[0, 27\]/);
  await refuses({ seed: -1 }, ValueError, /^trainLstm: seed must be a non-negative integer/);
  await refuses(
    { device: "tpu" },
    DeviceError,
    /^trainLstm: device must be "cpu" or "webgpu", got "tpu"$/,
  );
  await refuses({ epoch: 3 } as LstmOptions, ValueError, /^trainLstm: unknown option "epoch"/);
});

Deno.test("examples/lstm.ts runs with deno run", async () => {
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", new URL("../../examples/lstm.ts", import.meta.url).pathname, ...args],
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const out = await run("--quick", "--batch-size", "8", "--hidden", "32", "--layers", "2");
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /^epoch 1\/1: loss \d\.\d{4}, .* img\/s, \d+\.\ds$/m);
  assert.match(text, /^held-out accuracy: \d+\.\d\d% on 500 digits \(\d+\.\ds\)$/m);
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /^usage: deno run examples\/lstm\.ts/);
  const bad = await run("--epochs", "two");
  assert.notEqual(bad.code, 0);
  assert.match(new TextDecoder().decode(bad.stderr), /epochs must be a positive integer, got NaN/);
});
