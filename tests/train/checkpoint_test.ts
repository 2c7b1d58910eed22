// Checkpoints are committed as a pair: a crash at any step leaves the old complete checkpoint or
// the new complete one; load validates the pair (id, epoch, size, SHA-256) and never returns a
// mixed one; leftovers of interrupted saves are cleaned up, and only denn's own files are touched.

import assert from "node:assert/strict";
import { tensor } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { DataFormatError } from "../../plugins/data/mod.ts";
import {
  FileWriteError,
  readCheckpoint,
  save,
  writeAtomic,
  writeCheckpoint,
} from "../../plugins/train/mod.ts";
import type { Checkpoint } from "../../plugins/train/mod.ts";

/** A checkpoint whose every tensor and number is `epoch`, so a mixed pair cannot pass. */
function ck(epoch: number, size = 8): Checkpoint {
  const fill = new Float32Array(size).fill(epoch);
  return {
    epoch,
    model: { w: tensor(fill), b: tensor([epoch]) },
    optimizer: {
      state: { 0: { step: epoch, momentum_buffer: tensor(fill) } },
      paramGroups: [{ lr: 0.1, params: [0] }],
    },
    history: Array.from({ length: epoch }, (_, i) => ({
      epoch: i + 1,
      loss: i + 1,
      accuracy: NaN,
      seconds: 0,
      imagesPerSecond: Infinity,
    })),
    rng: { default: [epoch, 1, 2, 3, null] },
  };
}

/** Asserts `c` is checkpoint `epoch` of {@linkcode ck}, consistent in all its parts. */
function assertCheckpoint(c: Checkpoint | null, epoch: number): void {
  assert.ok(c, `expected checkpoint ${epoch}, got none`);
  assert.equal(c.epoch, epoch);
  const all = (t: Tensor) => [...t.dataSync() as Float32Array].every((v) => v === epoch);
  assert.ok(all(c.model.w), "model.w");
  assert.ok(all(c.model.b), "model.b");
  assert.equal(c.optimizer?.state[0].step, epoch);
  assert.ok(all(c.optimizer?.state[0].momentum_buffer as Tensor), "optimizer state");
  assert.equal(c.history.length, epoch);
  assert.ok(Number.isNaN(c.history[0]?.accuracy ?? NaN), "NaN survives");
  if (epoch) assert.equal(c.history[0].imagesPerSecond, Infinity, "Infinity survives");
  assert.equal(c.rng.default[0], epoch);
}

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

function pointer(dir: string) {
  return JSON.parse(Deno.readTextFileSync(`${dir}/latest.json`));
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denn-ck-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts `p` rejects with a DataFormatError whose message matches `re`. */
async function rejectsNamed(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof DataFormatError, `${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("checkpoint: files named by id, the pointer records id, sizes and hashes", async () => {
  await withDir(async (dir) => {
    await writeCheckpoint(dir, ck(3));
    const p = pointer(dir);
    assert.equal(p.version, 2);
    assert.match(p.id, /^[0-9a-f]{16}$/);
    assert.equal(p.model.file, `epoch-0003-${p.id}.safetensors`);
    assert.equal(p.state.file, `epoch-0003-${p.id}.state.safetensors`);
    assert.equal(p.model.bytes, Deno.statSync(`${dir}/${p.model.file}`).size);
    assert.match(p.state.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(listing(dir), [
      ".denn-checkpoint.lock",
      p.model.file,
      p.state.file,
      "latest.json",
    ]);
    assertCheckpoint(await readCheckpoint(dir), 3);
    await writeCheckpoint(dir, ck(4));
    assertCheckpoint(await readCheckpoint(dir), 4);
    assert.equal(listing(dir).length, 4, "the previous pair was removed");
    assert.equal(await readCheckpoint(`${dir}/none`), null);
  });
});

Deno.test("checkpoint: a crash at each step of a save leaves the previous pair", async () => {
  await withDir(async (dir) => {
    await writeCheckpoint(dir, ck(1));
    const before = listing(dir);
    // Step 0: model temp written, not renamed. 1: model file in place, state temp written.
    // 2: both files in place, pointer temp written — the pointer is not yet replaced.
    for (const step of [0, 1, 2]) {
      let calls = 0;
      let leftovers: string[] = [];
      await assert.rejects(
        writeCheckpoint(dir, ck(2), {
          beforeRename: () => {
            if (calls++ === step) {
              leftovers = listing(dir).filter((n) => !before.includes(n));
              throw new Error("simulated crash");
            }
          },
        }),
        /simulated crash/,
      );
      assert.equal(leftovers.length, step + 1, leftovers.join(" "));
      assertCheckpoint(await readCheckpoint(dir), 1);
    }
    // A failed save removes its own temp file; the orphans of completed renames are removed by
    // the load above or the next save. Nothing of the interrupted saves is left.
    assert.deepEqual(listing(dir), before);
    await writeCheckpoint(dir, ck(2));
    assertCheckpoint(await readCheckpoint(dir), 2);
  });
});

Deno.test("checkpoint: partial states written by hand", async () => {
  await withDir(async (dir) => {
    await writeCheckpoint(dir, ck(6));
    const p6 = pointer(dir);
    const keep6 = listing(dir);
    // Save 8 in another directory, then copy its files over without the pointer: the state
    // after a kill between the data renames and the pointer rename.
    const other = `${dir}/other`;
    await writeCheckpoint(other, ck(8));
    const p8 = pointer(other);
    for (const f of [p8.model.file, p8.state.file]) {
      await Deno.copyFile(`${other}/${f}`, `${dir}/${f}`);
    }
    await Deno.writeFile(`${dir}/.${p8.model.file}.123.0badf00d.tmp`, new Uint8Array(100));
    await Deno.writeFile(`${dir}/.latest.json.77.deadbeef.tmp`, new Uint8Array(10));
    assertCheckpoint(await readCheckpoint(dir), 6);
    // The load removed the orphans and temps of the interrupted save.
    assert.deepEqual(listing(dir).filter((n) => n !== "other"), keep6);

    // The pointer naming a missing file.
    const write = (p: unknown) => Deno.writeTextFileSync(`${dir}/latest.json`, JSON.stringify(p));
    write({
      ...p6,
      state: { ...p6.state, file: `epoch-0006-${"0".repeat(16)}.state.safetensors` },
    });
    await rejectsNamed(readCheckpoint(dir), /invalid state record/);
    await Deno.rename(`${dir}/${p6.state.file}`, `${dir}/moved`);
    write(p6);
    await rejectsNamed(
      readCheckpoint(dir),
      /state\.safetensors: missing, but .*latest\.json names it/,
    );
    await Deno.rename(`${dir}/moved`, `${dir}/${p6.state.file}`);
    assertCheckpoint(await readCheckpoint(dir), 6);

    // Files from two different saves: epoch 8's state under epoch 6's name.
    await Deno.copyFile(`${dir}/${p6.state.file}`, `${dir}/saved`);
    await Deno.copyFile(`${other}/${p8.state.file}`, `${dir}/${p6.state.file}`);
    await rejectsNamed(readCheckpoint(dir), /SHA-256 .* records .*damaged or replaced/);
    // ... even with a pointer whose sizes and hashes were made to match.
    write({ ...p6, state: { ...p6.state, bytes: p8.state.bytes, sha256: p8.state.sha256 } });
    await rejectsNamed(
      readCheckpoint(dir),
      new RegExp(`belongs to checkpoint "${p8.id}", but latest\\.json names checkpoint "${p6.id}"`),
    );
    await Deno.copyFile(`${dir}/saved`, `${dir}/${p6.state.file}`);
    write(p6);
    assertCheckpoint(await readCheckpoint(dir), 6);

    // A flipped bit in a file.
    const bytes = Deno.readFileSync(`${dir}/${p6.model.file}`);
    bytes[bytes.length - 1] ^= 1;
    Deno.writeFileSync(`${dir}/${p6.model.file}`, bytes);
    await rejectsNamed(readCheckpoint(dir), /epoch-0006-.*\.safetensors: .*damaged or replaced/);
    bytes[bytes.length - 1] ^= 1;
    Deno.writeFileSync(`${dir}/${p6.model.file}`, bytes);

    // Malformed pointers.
    Deno.writeTextFileSync(`${dir}/latest.json`, "{");
    await rejectsNamed(readCheckpoint(dir), /latest\.json: invalid JSON/);
    write({ ...p6, version: 9 });
    await rejectsNamed(readCheckpoint(dir), /unsupported checkpoint pointer version 9/);
    write({ ...p6, model: { ...p6.model, file: "../../etc/passwd" } });
    await rejectsNamed(readCheckpoint(dir), /invalid model record/);
    write({ format: "denn-checkpoint", version: 1, epoch: 6, model: "/etc/passwd", state: "x" });
    await rejectsNamed(readCheckpoint(dir), /invalid version-1 checkpoint pointer/);
    // An unreadable pointer: nothing but temp files may be removed, so the files stay.
    assert.ok(listing(dir).includes(p6.model.file));
    write(p6);
    assertCheckpoint(await readCheckpoint(dir), 6);
  });
});

Deno.test("checkpoint: version-1 pointers load, a mixed v1 pair is caught, a save migrates", async () => {
  await withDir(async (dir) => {
    // Write the layout of the previous version by hand: epoch-NNNN[.state].safetensors.
    const tmp = `${dir}/v2`;
    const v1 = async (epoch: number) => {
      await writeCheckpoint(tmp, ck(epoch));
      const p = pointer(tmp);
      const base = `epoch-${String(epoch).padStart(4, "0")}`;
      await Deno.copyFile(`${tmp}/${p.model.file}`, `${dir}/${base}.safetensors`);
      await Deno.copyFile(`${tmp}/${p.state.file}`, `${dir}/${base}.state.safetensors`);
    };
    await v1(6);
    await v1(8);
    const write = (epoch: number, model: number, state: number) =>
      Deno.writeTextFileSync(
        `${dir}/latest.json`,
        JSON.stringify({
          format: "denn-checkpoint",
          version: 1,
          epoch,
          model: `epoch-${String(model).padStart(4, "0")}.safetensors`,
          state: `epoch-${String(state).padStart(4, "0")}.state.safetensors`,
        }),
      );
    write(8, 8, 8);
    assertCheckpoint(await readCheckpoint(dir), 8);
    // The bug this replaces: model v8 with training state v6, loaded without error.
    write(8, 8, 6);
    await rejectsNamed(
      readCheckpoint(dir),
      /epoch-0006\.state\.safetensors: holds epoch 6, but latest\.json names epoch 8/,
    );
    write(6, 8, 6);
    await rejectsNamed(readCheckpoint(dir), /epoch-0008\.safetensors: holds epoch 8/);
    write(8, 8, 8);
    await writeCheckpoint(dir, ck(9));
    assertCheckpoint(await readCheckpoint(dir), 9);
    const names = listing(dir);
    assert.ok(!names.includes("epoch-0008.safetensors"), "the replaced v1 pair is removed");
    assert.ok(names.includes("epoch-0006.safetensors"), "other v1 files are left alone");
  });
});

Deno.test("checkpoint: cleanup touches only denn's own names; keep retains older pairs", async () => {
  await withDir(async (dir) => {
    const foreign = [
      "notes.txt",
      "epoch-0001.safetensors.bak",
      ".epoch-0001.safetensors.tmp",
      "epoch-0001-0123456789ABCDEF.safetensors",
      ".latest.json.tmp",
      "my.safetensors",
    ];
    for (const f of foreign) Deno.writeTextFileSync(`${dir}/${f}`, "mine");
    await writeCheckpoint(dir, ck(1), { keep: 2 });
    await writeCheckpoint(dir, ck(2), { keep: 2 });
    const p2 = pointer(dir);
    assert.equal(p2.kept.length, 1);
    assert.equal(p2.kept[0].epoch, 1);
    await writeCheckpoint(dir, ck(3), { keep: 2 });
    const p3 = pointer(dir);
    assert.deepEqual(p3.kept.map((e: { epoch: number }) => e.epoch), [2]);
    assertCheckpoint(await readCheckpoint(dir), 3);
    const names = listing(dir);
    for (const f of foreign) assert.ok(names.includes(f), f);
    const ours = names.filter((n) => !foreign.includes(n));
    assert.deepEqual(
      ours,
      [
        ".denn-checkpoint.lock",
        p2.model.file,
        p2.state.file,
        p3.model.file,
        p3.state.file,
        "latest.json",
      ].sort(),
    );
    await writeCheckpoint(dir, ck(4));
    assert.equal(listing(dir).length, foreign.length + 4, "keep 1 drops the kept pairs");
    await assert.rejects(writeCheckpoint(dir, ck(5), { keep: 0 }), /keep must be a positive/);
    await assert.rejects(
      writeCheckpoint(dir, { ...ck(5), epoch: -1 }),
      /epoch must be a non-negative/,
    );
  });
});

Deno.test("checkpoint: a reader waits for a save in progress and never removes its files", async () => {
  await withDir(async (dir) => {
    await writeCheckpoint(dir, ck(1));
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let calls = 0;
    const saving = writeCheckpoint(dir, ck(2), {
      beforeRename: async () => {
        if (calls++ === 1) {
          entered();
          await paused; // hold the lock between the model and the state renames
        }
      },
    });
    await inside;
    let read: Checkpoint | null | undefined;
    const reading = readCheckpoint(dir).then((c) => (read = c));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(read, undefined, "the reader waits for the save");
    resume();
    await saving;
    await reading;
    assertCheckpoint(read!, 2);
  });
});

Deno.test("save errors name the target path and keep the cause", async () => {
  await withDir(async (dir) => {
    const target = `${dir}/missing/dir/m.safetensors`;
    await assert.rejects(save(target, { w: tensor([1]) }), (e: Error) => {
      assert.ok(e instanceof FileWriteError, String(e));
      assert.ok(e.message.startsWith(`${target}: cannot write the file`), e.message);
      assert.ok(e.cause instanceof Deno.errors.NotFound);
      return true;
    });
    Deno.mkdirSync(`${dir}/a-directory`);
    await assert.rejects(writeAtomic(`${dir}/a-directory`, new Uint8Array(4)), (e: Error) => {
      assert.ok(e instanceof FileWriteError, String(e));
      assert.match(e.message, /a-directory: cannot write the file \(renaming the temp file/);
      assert.ok(e.cause instanceof Error);
      return true;
    });
    assert.deepEqual(listing(dir), ["a-directory"], "no temp file left behind");
    Deno.writeTextFileSync(`${dir}/file`, "");
    await assert.rejects(writeCheckpoint(`${dir}/file`, ck(1)), (e: Error) => {
      assert.ok(e instanceof FileWriteError, String(e));
      assert.match(e.message, /file: cannot create the checkpoint directory/);
      return true;
    });
  });
});

const canRun = (await Deno.permissions.query({ name: "run" })).state === "granted";

Deno.test({
  name: "checkpoint: SIGKILL at random moments of a save loop never leaves a mixed pair",
  ignore: !canRun || Deno.build.os === "windows",
  async fn() {
    await withDir(async (dir) => {
      const child = new URL("./checkpoint_kill_child.ts", import.meta.url).pathname;
      const root = new URL("../../", import.meta.url).pathname;
      let seed = 12345;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      let last = 0, withLeftovers = 0, kills = 0;
      const t0 = performance.now();
      for (let round = 0; round < 20; round++) {
        const proc = new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-check", "--allow-read", "--allow-write", child, dir, "65536"],
          cwd: root,
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // Wait for "ready" (startup done, checkpoint read), then kill at a random moment.
        const reader = proc.stdout.getReader();
        let out = "";
        while (!out.includes("\n")) {
          const r = await reader.read();
          if (r.done) break;
          out += new TextDecoder().decode(r.value);
        }
        assert.match(out, new RegExp(`^ready ${last}\\n`), "the child resumed from the last one");
        await new Promise((r) => setTimeout(r, rand() * 60));
        proc.kill("SIGKILL");
        reader.releaseLock();
        await proc.stdout.cancel();
        const status = await proc.status;
        const err = new TextDecoder().decode(await new Response(proc.stderr).arrayBuffer());
        assert.equal(status.signal, "SIGKILL", `child failed: ${err}`);
        kills++;
        const names = listing(dir);
        const p = names.includes("latest.json") ? pointer(dir) : null;
        const current = p ? [p.model.file, p.state.file] : [];
        if (
          names.some((n) => n.endsWith(".tmp") || (/^epoch-/.test(n) && !current.includes(n)))
        ) withLeftovers++;
        const c = await readCheckpoint(dir);
        if (c) {
          assertCheckpoint(c, c.epoch);
          assert.ok(c.epoch >= last, `epoch went back from ${last} to ${c.epoch}`);
          last = c.epoch;
        }
      }
      assert.ok(last > 0, "some saves completed");
      await writeCheckpoint(dir, ck(last + 1));
      assertCheckpoint(await readCheckpoint(dir), last + 1);
      const names = listing(dir);
      assert.ok(!names.some((n) => n.endsWith(".tmp")), names.join(" "));
      assert.equal(names.length, 4, names.join(" "));
      console.log(
        `  ${kills} kills, ${last} checkpoints, ${withLeftovers} kills left temp/orphan files, ${
          Math.round(performance.now() - t0)
        } ms`,
      );
    });
  },
});
