import assert from "node:assert/strict";
import { manualSeed, nn, randn, tensor } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { SGD, StepLR } from "../../optim/mod.ts";
import { DataLoader, TensorDataset } from "../../plugins/data/mod.ts";
import {
  evaluate,
  fit,
  plotHistory,
  readCheckpoint,
  writeCheckpoint,
} from "../../plugins/train/mod.ts";
import type { ProgressSink } from "../../plugins/train/mod.ts";

class Net extends nn.Module {
  fc1 = new nn.Linear(4, 16);
  drop = new nn.Dropout(0.2);
  fc2 = new nn.Linear(16, 3);
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.drop.forward(this.fc1.forward(x).relu()));
  }
}

function data(): TensorDataset {
  manualSeed(123);
  const x = randn([96, 4]);
  const y = x.matmul(tensor([[1, -1, 0], [0, 1, -1], [1, 0, 1], [-1, 1, 0]])).argmax(1);
  return new TensorDataset(x, y);
}

function setup(ds: TensorDataset) {
  manualSeed(7);
  const model = new Net();
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const scheduler = new StepLR(optimizer, 2, { gamma: 0.5 });
  const train = new DataLoader(ds, { batchSize: 16, shuffle: true, seed: 11 });
  const validation = new DataLoader(ds, { batchSize: 32 });
  return { model, optimizer, scheduler, train, validation };
}

function sink(): ProgressSink & { text: () => string } {
  const chunks: string[] = [];
  return {
    writeSync: (p) => (chunks.push(new TextDecoder().decode(p)), p.length),
    isTerminal: () => false,
    text: () => chunks.join(""),
  };
}

Deno.test("fit: 2 epochs + resume 2 more equals 4 uninterrupted epochs exactly", async () => {
  const ds = data();
  const dir = await Deno.makeTempDir();
  try {
    const a = setup(ds);
    const full = await fit(a.model, { ...a, epochs: 4, progress: null });
    const b = setup(ds);
    const first = await fit(b.model, { ...b, epochs: 2, checkpointDir: dir, progress: null });
    assert.equal(first.history.length, 2);
    const c = setup(ds); // fresh process state: new model, optimizer, loaders, default RNG
    manualSeed(999);
    const log = sink();
    const rest = await fit(c.model, {
      ...c,
      epochs: 4,
      checkpointDir: dir,
      resume: true,
      progress: log,
    });
    assert.equal(rest.startEpoch, 2);
    assert.match(log.text(), /resuming from .* after epoch 2/);
    assert.deepEqual(rest.history.map((s) => s.loss), full.history.map((s) => s.loss));
    assert.deepEqual(rest.history.map((s) => s.valLoss), full.history.map((s) => s.valLoss));
    assert.deepEqual(rest.history.map((s) => s.lr), [0.1, 0.1, 0.05, 0.05]);
    for (const [k, t] of Object.entries(a.model.stateDict())) {
      assert.deepEqual(c.model.stateDict()[k].dataSync(), t.dataSync(), k);
    }
    const ck = await readCheckpoint(dir);
    assert.equal(ck?.epoch, 4);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.equal(names.length, 4, names.join(" "));
    assert.equal(names[0], ".denn-checkpoint.lock");
    assert.match(names[1], /^epoch-0004-[0-9a-f]{16}\.safetensors$/);
    assert.equal(names[2], names[1].replace(".safetensors", ".state.safetensors"));
    assert.equal(names[3], "latest.json");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit: progress lines, evaluate, callbacks, early stop and the SVG plot", async () => {
  const ds = data();
  const dir = await Deno.makeTempDir();
  try {
    const s = setup(ds);
    const log = sink();
    const seen: number[] = [];
    const r = await fit(s.model, {
      ...s,
      epochs: 5,
      progress: log,
      plot: `${dir}/h.svg`,
      callbacks: { onEpochEnd: (st) => (seen.push(st.epoch), st.epoch < 3) },
    });
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(r.history.length, 3);
    const lines = log.text().trim().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^epoch 1\/5 {2}loss \d\.\d{4} {2}acc [\d.]+% {2}val_loss .* img\/s/);
    assert.ok(r.history[2].loss < r.history[0].loss);
    const ev = await evaluate(s.model, s.validation);
    assert.ok(Math.abs(ev.loss - r.history[2].valLoss!) < 1e-6);
    assert.ok(ev.accuracy > 0.6, `accuracy ${ev.accuracy}`);
    assert.equal(ev.count, 96);
    const svg = await Deno.readTextFile(`${dir}/h.svg`);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<polyline/g) ?? []).length, 4);
    assert.ok(svg.trim().endsWith("</svg>"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit: the live bar on a terminal", async () => {
  const ds = data();
  const s = setup(ds);
  const chunks: string[] = [];
  await fit(s.model, {
    ...s,
    epochs: 1,
    progress: {
      writeSync: (p) => (chunks.push(new TextDecoder().decode(p)), p.length),
      isTerminal: () => true,
    },
  });
  const text = chunks.join("");
  // deno-lint-ignore no-control-regex
  assert.match(text, /\r\x1b\[2Kepoch 1\/1 \[#+\] 6\/6 {2}loss .* img\/s {2}ETA 0:00/);
  assert.ok(text.endsWith("s\n"));
});

Deno.test("a crash while checkpointing keeps the previous checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = new nn.Linear(2, 2);
    const base = { optimizer: undefined, history: [], rng: {} };
    await writeCheckpoint(dir, { ...base, epoch: 1, model: m.stateDict() });
    const w1 = m.weight.dataSync();
    m.weight.requiresGrad = false;
    m.weight.fill_(5);
    for (const step of [0, 1, 2]) {
      let calls = 0;
      await assert.rejects(
        writeCheckpoint(dir, { ...base, epoch: 2, model: m.stateDict() }, {
          beforeRename: () => {
            if (calls++ === step) throw new Error("crash");
          },
        }),
        /crash/,
      );
      const ck = await readCheckpoint(dir);
      assert.equal(ck?.epoch, 1);
      assert.deepEqual(ck?.model.weight.dataSync(), w1);
    }
    assert.equal(await readCheckpoint(`${dir}/none`), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plotHistory handles a single epoch and no validation", () => {
  const svg = plotHistory([{ epoch: 1, loss: 1, accuracy: 0.5, seconds: 1, imagesPerSecond: 1 }]);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.ok(!svg.includes("NaN"));
});
