/**
 * examples/vit.ts: the Vision Transformer's structure (tokens, parameters, state-dict keys,
 * gradients reaching the class token and position embedding), its sine–cosine position table,
 * bad arguments, the command-line flags, and the quick training run: the loss falls from chance
 * level and the held-out accuracy is far above chance.
 */

import assert from "node:assert/strict";
import { F, manualSeed, noGrad, randn, ShapeError, tensor, ValueError } from "../../mod.ts";
import { parseVitArgs, sinCosPositions, trainVit, VisionTransformer } from "../../examples/vit.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

Deno.test("VisionTransformer: tokens, parameters and state-dict keys", () => {
  manualSeed(0);
  const vit = new VisionTransformer({ dim: 32, depth: 2, heads: 4 });
  assert.deepEqual(vit.patchEmbed.weight.shape, [32, 1, 7, 7]);
  assert.deepEqual(vit.clsToken.shape, [1, 1, 32]);
  assert.deepEqual(vit.posEmbed.shape, [1, 17, 32]); // class token + 16 patches
  const keys = Object.keys(vit.stateDict());
  for (
    const k of [
      "patchEmbed.weight",
      "patchEmbed.bias",
      "clsToken",
      "posEmbed",
      "encoder.layers.0.self_attn.in_proj_weight",
      "encoder.layers.1.linear2.weight",
      "encoder.layers.1.norm2.bias",
      "encoder.norm.weight",
      "head.weight",
      "head.bias",
    ]
  ) assert.ok(keys.includes(k), `missing ${k} in ${keys.join(", ")}`);
  assert.ok(!keys.includes("encoder.layers.2.linear1.weight"), "two layers only");
  assert.ok(vit.encoder.layers.length === 2);
  assert.ok((vit.encoder.layers.at(0) as unknown as { normFirst: boolean }).normFirst, "pre-norm");
  // Parameters: conv 32·49+32, cls 32, pos 17·32, per layer 4·32²+4·32 (attention)
  // + 2·32·64+64+32 (feed-forward) + 4·32 (norms), final norm 64, head 32·10+10.
  const layer = 4 * 32 * 32 + 4 * 32 + 2 * 32 * 64 + 64 + 32 + 4 * 32;
  assert.equal(vit.numParameters(), 32 * 49 + 32 + 32 + 17 * 32 + 2 * layer + 64 + 330);

  const four = new VisionTransformer({ patchSize: 4, dim: 16, depth: 1, heads: 2, mlpDim: 8 });
  assert.deepEqual(four.posEmbed.shape, [1, 50, 16]); // 7 × 7 patches
  assert.deepEqual(four.encoder.layers.at(0).parameters()[2].shape, [16, 16]); // out_proj
  assert.deepEqual(four.forward(randn([3, 1, 28, 28])).shape, [3, 10]);
  const rgb = new VisionTransformer({ imageSize: 8, patchSize: 4, inChannels: 3, numClasses: 5 });
  assert.deepEqual(rgb.forward(randn([2, 3, 8, 8])).shape, [2, 5]);
});

Deno.test("VisionTransformer: every parameter gets a gradient, and it matches a perturbation", () => {
  manualSeed(1);
  const vit = new VisionTransformer({ dim: 16, depth: 1, heads: 2, mlpDim: 16 });
  const x = randn([4, 1, 28, 28]), y = tensor([3, 1, 4, 1], { dtype: "int32" });
  // The class token starts at zero and its position row is zero, so the first LayerNorm sees an
  // all-zero token, where it is steep (scale 1/sqrt(eps)) and central differences of any usable
  // step are wrong: move it to a random point first.
  noGrad(() => vit.clsToken.copy_(randn([1, 1, 16])));
  const loss = F.crossEntropy(vit.forward(x), y);
  loss.backward();
  for (const [name, p] of vit.namedParameters()) {
    assert.ok(p.grad, `${name} has a gradient`);
    const g = p.grad!.dataSync() as Float32Array;
    assert.ok(g.some((v) => v !== 0), `${name}'s gradient is not all zero`);
  }
  // The class token's gradient, checked against central differences of the loss.
  const g = vit.clsToken.grad!.dataSync() as Float32Array;
  // dataSync() is a copy: each perturbed value goes back into the parameter with copy_.
  const data = vit.clsToken.dataSync() as Float32Array;
  const h = 1e-2;
  for (const i of [0, 5, 11]) {
    const at = (v: number) => {
      const moved = Float32Array.from(data);
      moved[i] = v;
      noGrad(() => vit.clsToken.copy_(tensor(Array.from(moved)).reshape([1, 1, 16])));
      return F.crossEntropy(vit.forward(x), y).itemSync();
    };
    const v0 = data[i];
    const numeric = (at(v0 + h) - at(v0 - h)) / (2 * h);
    at(v0);
    assert.ok(Math.abs(numeric - g[i]) < 2e-3 + 0.05 * Math.abs(g[i]), `${numeric} vs ${g[i]}`);
  }
  // The class token's output is the only one the head reads: its position embedding row gets the
  // same gradient as the class token itself.
  const pos0 = (vit.posEmbed.grad!.dataSync() as Float32Array).slice(0, 16);
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(pos0[i] - g[i]) < 1e-6);
});

Deno.test("sinCosPositions: rows and columns as sines and cosines, zero for the class token", () => {
  const p = sinCosPositions(4, 8).dataSync() as Float32Array;
  assert.equal(p.length, 17 * 8);
  assert.ok(p.slice(0, 8).every((v) => v === 0));
  // Patch (row 2, col 3) is token 1 + 2·4 + 3 = 12; frequencies 1 and 1/100 for dim 8.
  const t = p.slice(12 * 8, 13 * 8);
  const want = [
    Math.sin(2),
    Math.sin(0.02),
    Math.cos(2),
    Math.cos(0.02),
    Math.sin(3),
    Math.sin(0.03),
    Math.cos(3),
    Math.cos(0.03),
  ];
  want.forEach((w, i) => assert.ok(Math.abs(t[i] - w) < 1e-6, `feature ${i}: ${t[i]} vs ${w}`));
  assertThrowsNamed(() => sinCosPositions(4, 6), ValueError, "sinCosPositions", "6");
});

Deno.test("VisionTransformer and trainVit refuse bad arguments with named errors", async () => {
  assertThrowsNamed(
    () => new VisionTransformer({ patchSize: 5 }),
    ValueError,
    "VisionTransformer",
    "patchSize 5",
    "imageSize 28",
  );
  assertThrowsNamed(
    () => new VisionTransformer({ dim: 0 }),
    ValueError,
    "VisionTransformer: dim",
    "got 0",
  );
  assertThrowsNamed(
    () => new VisionTransformer({ patch: 4 } as never),
    ValueError,
    'unknown option "patch"',
  );
  assertThrowsNamed(
    () => new VisionTransformer({ dim: 32, heads: 3 }),
    ValueError,
    "divisible",
  );
  const vit = new VisionTransformer({ dim: 16, depth: 1, heads: 2 });
  assertThrowsNamed(
    () => vit.forward(randn([2, 1, 32, 32])),
    ShapeError,
    "VisionTransformer.forward",
    "[N, 1, 28, 28]",
    "[2, 1, 32, 32]",
  );
  const bad: [object, string[]][] = [
    [{ epochs: 0 }, ["epochs", "0"]],
    [{ batchSize: 2.5 }, ["batchSize", "2.5"]],
    [{ lr: -1 }, ["lr", "-1"]],
    [{ warmup: 2 }, ["warmup", "2"]],
    [{ shift: 0.5 }, ["shift", "0.5"]],
    [{ clipNorm: 0 }, ["clipNorm", "0"]],
    [{ steps: 300, epochs: 1 }, ["300 steps", "1 epochs"]],
    [{ device: "tpu" }, ["device", "tpu"]],
    [{ batch: 32 }, ['unknown option "batch"']],
  ];
  for (const [options, parts] of bad) {
    await assert.rejects(
      () => trainVit({ log: null, ...options }),
      (e: Error) => {
        assert.ok(e instanceof ValueError, `${JSON.stringify(options)}: ${e}`);
        for (const p of ["trainVit", ...parts]) assert.ok(e.message.includes(p), e.message);
        return true;
      },
    );
  }
});

Deno.test("parseVitArgs: flags to options", () => {
  assert.deepEqual(
    parseVitArgs([
      "--epochs",
      "3",
      "--batch-size",
      "32",
      "--lr",
      "1e-3",
      "--shift",
      "0",
      "--seed",
      "7",
      "--quick",
    ]),
    { epochs: 3, batchSize: 32, lr: 0.001, shift: 0, seed: 7, quick: true },
  );
  assert.deepEqual(parseVitArgs(["--device", "webgpu", "--steps", "20"]), {
    steps: 20,
    device: "webgpu",
  });
  assert.equal(parseVitArgs(["-h"]), null);
  assertThrowsNamed(() => parseVitArgs(["--lr", "fast"]), ValueError, "--lr", "fast");
  assert.throws(() => parseVitArgs(["--epoch", "3"]), /epoch/);
});

Deno.test("the quick run trains: the loss falls and held-out accuracy is far above chance", async () => {
  const lines: string[] = [];
  const r = await trainVit({ quick: true, log: (l) => lines.push(l) });
  assert.equal(r.losses.length, 150);
  assert.ok(r.losses.every(Number.isFinite));
  assert.equal(r.testSize, 500);
  // Chance level at the start: cross-entropy ln 10 ≈ 2.30 for 10 classes.
  const first = mean(r.losses.slice(0, 10)), last = mean(r.losses.slice(-20));
  assert.ok(Math.abs(first - Math.log(10)) < 0.3, `first losses ${first}`);
  assert.ok(last < 0.6 * first, `the loss falls: ${first} → ${last}`);
  assert.ok(r.accuracy > 0.7, `held-out accuracy ${r.accuracy} (chance 0.1)`);
  assert.ok(r.testLoss < 1.2, `held-out loss ${r.testLoss}`);
  // 150 steps of 64 = 125 + 25: two epochs, both reported.
  assert.deepEqual(r.history.map((e) => e.steps), [125, 25]);
  assert.ok(r.history.every((e) => e.imagesPerSecond > 0 && e.seconds > 0));
  assert.ok(r.history[1].lr < 1e-5, `the one-cycle schedule ends near 0: ${r.history[1].lr}`);
  assert.equal(lines.length, 2);
  assert.match(
    lines[1],
    /^epoch 2\/2 {2}loss \d\.\d{4} {2}acc [\d.]+% {2}held-out [\d.]+% {2}lr .* img\/s/,
  );
});

Deno.test("the command line: --help, a bad flag, and a short run's last line", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", new URL("../../examples/vit.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  };
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--quick/);
  const bad = await run("--batch-size", "x");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--batch-size must be a number, got "x"/);
  const short = await run("--quick", "--steps", "10");
  assert.equal(short.code, 0, short.stderr);
  const lines = short.stdout.trim().split("\n");
  assert.match(lines[0], /^epoch 1\/1 {2}loss /);
  assert.match(
    lines[1],
    /^ViT \(\d+ parameters\), [\d.]+s: held-out accuracy [\d.]+% on 500 digits$/,
  );
});
