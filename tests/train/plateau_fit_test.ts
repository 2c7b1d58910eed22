/**
 * ReduceLROnPlateau and OneCycleLR inside plugins/train's `fit`: fit steps ReduceLROnPlateau with
 * each epoch's validation loss (replaying the history through a fresh scheduler gives the same
 * rates), its state goes into the checkpoint and comes back on resume; OneCycleLR's cycle state
 * (kept in the optimizer's groups) survives a resume too.
 */

import assert from "node:assert/strict";
import { manualSeed, nn, tensor } from "../../mod.ts";
import { OneCycleLR, ReduceLROnPlateau, SGD } from "../../optim/mod.ts";
import { ArrayDataset, DataLoader } from "../../plugins/data/mod.ts";
import { fit } from "../../plugins/train/mod.ts";

function data(seed: number): ArrayDataset {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Float32Array.from({ length: 64 * 4 }, rnd);
  const y = Int32Array.from({ length: 64 }, (_, i) => (x[4 * i] + x[4 * i + 1] > 0 ? 1 : 0));
  return new ArrayDataset(x, y, [4], { numClasses: 2 });
}

function setup() {
  manualSeed(5);
  const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
  const train = new DataLoader(data(1), { batchSize: 16, shuffle: true, seed: 2 });
  const validation = new DataLoader(data(9), { batchSize: 64 });
  return { model, train, validation };
}

const OPTIONS = { patience: 0, factor: 0.5, threshold: 0.3 };

Deno.test("fit steps ReduceLROnPlateau with the validation loss, and resumes its state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = setup();
    const opt = new SGD(a.model.parameters(), { lr: 0.5 });
    const sched = new ReduceLROnPlateau(opt, OPTIONS);
    const r1 = await fit(a.model, {
      optimizer: opt,
      scheduler: sched,
      train: a.train,
      validation: a.validation,
      epochs: 4,
      checkpointDir: dir,
      progress: null,
    });
    assert.equal(sched.lastEpoch, 4);
    const replay = (n: number) => {
      const o = new SGD([tensor([0], { requiresGrad: true })], { lr: 0.5 });
      const s = new ReduceLROnPlateau(o, OPTIONS);
      for (const h of r1.history.slice(0, n)) s.step(h.valLoss!);
      return s;
    };
    assert.deepEqual(sched.getLastLr(), replay(4).getLastLr());
    assert.equal(sched.best, replay(4).best);

    // Resume into fresh objects: the scheduler's counters and best come from the checkpoint.
    const b = setup();
    const opt2 = new SGD(b.model.parameters(), { lr: 0.5 });
    const sched2 = new ReduceLROnPlateau(opt2, OPTIONS);
    const r2 = await fit(b.model, {
      optimizer: opt2,
      scheduler: sched2,
      train: b.train,
      validation: b.validation,
      epochs: 6,
      checkpointDir: dir,
      resume: true,
      progress: null,
    });
    assert.equal(r2.startEpoch, 4);
    assert.equal(sched2.lastEpoch, 6);
    const all = new ReduceLROnPlateau(
      new SGD([tensor([0], { requiresGrad: true })], { lr: 0.5 }),
      OPTIONS,
    );
    for (const h of r2.history) all.step(h.valLoss!);
    assert.deepEqual(sched2.getLastLr(), all.getLastLr());
    assert.deepEqual(opt2.paramGroups.map((g) => g.lr), all.getLastLr());
    assert.ok(all.getLastLr()[0] < 0.5, "the rate was reduced at least once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit resumes OneCycleLR from the checkpoint (the cycle lives in the groups)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = setup();
    const opt = new SGD(a.model.parameters(), { lr: 0.1, momentum: 0.9 });
    const s = new OneCycleLR(opt, 1, { totalSteps: 6 });
    await fit(a.model, {
      optimizer: opt,
      scheduler: s,
      train: a.train,
      epochs: 3,
      checkpointDir: dir,
      progress: null,
    });
    const b = setup();
    const opt2 = new SGD(b.model.parameters(), { lr: 0.1, momentum: 0.9 });
    // Built with other numbers: the checkpoint's optimizer groups and scheduler state win.
    const s2 = new OneCycleLR(opt2, 3, { totalSteps: 6 });
    await fit(b.model, {
      optimizer: opt2,
      scheduler: s2,
      train: b.train,
      epochs: 6,
      checkpointDir: dir,
      resume: true,
      progress: null,
    });
    const ref = new SGD([tensor([0], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    const r = new OneCycleLR(ref, 1, { totalSteps: 6 });
    for (let k = 0; k < 6; k++) r.step();
    assert.equal(s2.lastEpoch, 6);
    assert.deepEqual(s2.getLastLr(), r.getLastLr());
    assert.equal(opt2.paramGroups[0].momentum, ref.paramGroups[0].momentum);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
