/**
 * Training checkpoints: one directory holding the model's state dict as a plain safetensors file
 * (loadable with `load()` + `loadStateDict`, or by PyTorch) and a second safetensors file with
 * everything else needed to resume exactly — the optimizer's state dict (its tensors as data, the
 * rest as JSON metadata), the epoch, the history and the RNG states.
 *
 * ## Crash safety
 *
 * The two files of one checkpoint are committed as a pair. Each save gets a fresh random
 * checkpoint id; both files are written under names that contain it
 * (`epoch-0008-<id>.safetensors`, `epoch-0008-<id>.state.safetensors`), atomically (temp file,
 * fsync, rename, directory fsync), and both record the id in their metadata. Only then is the
 * pointer `latest.json` atomically replaced; it names both files with their id, epoch, size and
 * SHA-256. A crash (or `kill -9`) at any moment therefore leaves `latest.json` naming either the
 * previous complete pair or the new complete pair, never one file of each.
 *
 * Reading validates the pair: both files must exist, be regular files, have the size and SHA-256
 * the pointer records, and carry the pointer's checkpoint id and epoch. Anything else — a missing
 * file, files from two different saves, a damaged file — is a `DataFormatError` naming the file
 * and the problem; a mixed pair is never returned. (`latest.json` files of version 1, written
 * before ids existed, still load; their pair is checked by epoch.)
 *
 * ## Cleanup
 *
 * Temp files and files of saves that never reached `latest.json` (a crash between the renames)
 * are removed by the next save of the directory, and by the next `readCheckpoint` once it has
 * loaded a complete pair. Only denn's own names are touched — `.NAME.PID.RANDOM.tmp` temp files
 * of `latest.json` and checkpoint files, and `epoch-NNNN-<16 hex>[.state].safetensors` — and
 * never a file the current `latest.json` names (or lists under `kept`). A save and a read of the
 * same directory, from any processes, are serialized by an advisory lock on
 * `.denn-checkpoint.lock`, so a reader's cleanup never removes the files of a save in progress;
 * the operating system releases the lock when a process dies.
 *
 * Failures to write name the path: a `FileWriteError` with the file-system error as `cause`.
 *
 * This file holds the public types and the orchestration of `writeCheckpoint` and
 * `readCheckpoint`; the directory's file names, the `latest.json` pointer, the lock and the
 * cleanup are in `_checkpoint_layout.ts`, the training-state JSON in `_checkpoint_state.ts`.
 *
 * @example
 * ```ts ignore
 * import { readCheckpoint } from "./checkpoint.ts";
 * const ck = await readCheckpoint("./runs/lenet");
 * if (ck) model.loadStateDict(ck.model);
 * ```
 *
 * @module
 */

import { Tensor, ValueError } from "../../core/mod.ts";
import type { GeneratorState, OptimizerStateDict } from "../../core/mod.ts";
import { DataFormatError } from "../data/dataset.ts";
import { readRegularFile } from "../data/files.ts";
import {
  fileNames,
  isCount,
  isRecord,
  LOCK,
  newId,
  openLock,
  POINTER,
  readPointer,
  release,
  sha256,
  sweep,
} from "./_checkpoint_layout.ts";
import type { Entry, FileRecord, Pointer, PointerRead, PointerV1 } from "./_checkpoint_layout.ts";
import { restoreState, stateReplacer } from "./_checkpoint_state.ts";
import { FileWriteError, writeAtomic } from "./atomic_write.ts";
import type { SaveOptions } from "./atomic_write.ts";
import { deserialize, serialize } from "./safetensors.ts";
import type { TensorMap } from "./safetensors.ts";
import type { Metadata } from "./safetensors_header.ts";

/** Per-epoch statistics recorded by `fit`. */
export interface EpochStats {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Training accuracy in [0, 1]. */
  accuracy: number;
  /** Validation loss, when a validation loader was given. */
  valLoss?: number;
  /** Validation accuracy, when a validation loader was given. */
  valAccuracy?: number;
  /** Learning rate of the first parameter group during the epoch. */
  lr?: number;
  /** Wall-clock seconds of the epoch's training pass. */
  seconds: number;
  /** Training throughput in examples per second. */
  imagesPerSecond: number;
}

/** Everything a checkpoint holds. */
export interface Checkpoint {
  /** Epochs completed. */
  epoch: number;
  /** Model state dict. */
  model: TensorMap;
  /** Optimizer state dict (tensors restored), if one was saved. */
  optimizer?: OptimizerStateDict;
  /** Scheduler state, if one was saved. */
  scheduler?: unknown;
  /** Statistics of the completed epochs. */
  history: EpochStats[];
  /** Generator states by name ("default", "train", "validation"). */
  rng: Record<string, GeneratorState>;
}

/** Options of {@linkcode writeCheckpoint}. */
export interface WriteCheckpointOptions extends SaveOptions {
  /**
   * How many of the newest checkpoints to keep on disk (default 1). Older ones are listed in
   * `latest.json` under `kept` (newest first) and their files are removed once they fall out.
   */
  keep?: number;
}

// ---- Writing.

/**
 * Writes a checkpoint into `dir` (created if needed) and removes the files of the checkpoint it
 * replaces (all but the `keep` newest), along with the leftovers of interrupted saves.
 */
export async function writeCheckpoint(
  dir: string,
  ck: Checkpoint,
  options: WriteCheckpointOptions = {},
): Promise<void> {
  if (typeof dir !== "string" || dir === "") {
    throw new ValueError("writeCheckpoint: dir must be a non-empty path");
  }
  if (!isRecord(ck) || !isCount(ck.epoch)) {
    throw new ValueError(
      `writeCheckpoint: epoch must be a non-negative integer, got ${
        isRecord(ck) ? JSON.stringify(ck.epoch) : typeof ck
      }`,
    );
  }
  const keepN = options.keep ?? 1;
  if (!Number.isSafeInteger(keepN) || keepN < 1) {
    throw new ValueError(`writeCheckpoint: keep must be a positive integer, got ${keepN}`);
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new FileWriteError(
      `${dir}: cannot create the checkpoint directory (${(e as Error).message})`,
      { cause: e },
    );
  }
  // Serialize first: tensors are read back from their devices before anything touches the disk.
  const id = newId();
  const names = fileNames(ck.epoch, id);
  const modelBytes = await serialize(ck.model, {
    format: "denn-model",
    epoch: String(ck.epoch),
    checkpoint: id,
  });
  const tensors: TensorMap = {};
  let optimizer: unknown = undefined;
  if (ck.optimizer) {
    const state: Record<string, Record<string, number | { tensor: string }>> = {};
    for (const [idx, s] of Object.entries(ck.optimizer.state)) {
      const out: Record<string, number | { tensor: string }> = {};
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          const key = `optimizer.state.${idx}.${name}`;
          tensors[key] = v;
          out[name] = { tensor: key };
        } else out[name] = v;
      }
      state[idx] = out;
    }
    optimizer = { state, paramGroups: ck.optimizer.paramGroups };
  }
  const meta = {
    epoch: ck.epoch,
    history: ck.history,
    rng: ck.rng,
    optimizer,
    scheduler: ck.scheduler,
  };
  const stateBytes = await serialize(tensors, {
    format: "denn-training-state",
    checkpoint: id,
    epoch: String(ck.epoch),
    state: JSON.stringify(meta, stateReplacer),
  });
  const entry: Entry = {
    id,
    epoch: ck.epoch,
    model: { file: names.model, bytes: modelBytes.length, sha256: await sha256(modelBytes) },
    state: { file: names.state, bytes: stateBytes.length, sha256: await sha256(stateBytes) },
  };

  const lock = await openLock(dir);
  if (!lock) {
    throw new FileWriteError(`${dir}/${LOCK}: cannot open the checkpoint lock file`);
  }
  try {
    try {
      await lock.lock(true);
    } catch (e) {
      throw new FileWriteError(
        `${dir}/${LOCK}: cannot lock the checkpoint directory (${(e as Error).message})`,
        { cause: e },
      );
    }
    const previous = await readPointer(dir);
    await sweep(dir, previous); // leftovers of interrupted saves: free their space first
    await writeAtomic(`${dir}/${names.model}`, modelBytes, options);
    await writeAtomic(`${dir}/${names.state}`, stateBytes, options);
    const kept = previous.kind === "v2" && keepN > 1
      ? [previous.pointer, ...previous.pointer.kept].slice(0, keepN - 1).map((e) => ({
        id: e.id,
        epoch: e.epoch,
        model: e.model,
        state: e.state,
      }))
      : [];
    const pointer: Pointer = { format: "denn-checkpoint", version: 2, ...entry, kept };
    // The commit point: before this rename the previous checkpoint is current, after it this one.
    await writeAtomic(
      `${dir}/${POINTER}`,
      new TextEncoder().encode(JSON.stringify(pointer, null, 2) + "\n"),
      options,
    );
    await sweep(dir, { kind: "v2", pointer });
    if (previous.kind === "v1" && keepN <= 1) {
      for (const f of [previous.pointer.model, previous.pointer.state]) {
        await Deno.remove(`${dir}/${f}`).catch(() => {});
      }
    }
  } finally {
    release(lock);
  }
}

// ---- Reading.

async function readPart(
  dir: string,
  file: string,
  record?: FileRecord,
): Promise<{ tensors: TensorMap; metadata: Metadata }> {
  const path = `${dir}/${file}`;
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(path, "checkpoint file");
  } catch (e) {
    if ((e as Error).cause instanceof Deno.errors.NotFound) {
      throw new DataFormatError(
        `${path}: missing, but ${dir}/${POINTER} names it (the checkpoint is incomplete)`,
        { cause: e },
      );
    }
    throw e;
  }
  if (record) {
    const hash = await sha256(bytes);
    if (bytes.length !== record.bytes || hash !== record.sha256) {
      throw new DataFormatError(
        `${path}: ${bytes.length} bytes with SHA-256 ${hash}, but ${dir}/${POINTER} records ${record.bytes} bytes with SHA-256 ${record.sha256} (the file was damaged or replaced)`,
      );
    }
  }
  return deserialize(bytes, { name: path });
}

function checkPart(
  path: string,
  metadata: Metadata,
  format: string,
  id: string | undefined,
  epoch: number,
): void {
  if (metadata.format !== format) {
    throw new DataFormatError(
      `${path}: not a ${format} file (format ${JSON.stringify(metadata.format)})`,
    );
  }
  if (id !== undefined && metadata.checkpoint !== id) {
    throw new DataFormatError(
      `${path}: belongs to checkpoint ${
        JSON.stringify(metadata.checkpoint)
      }, but latest.json names checkpoint "${id}" (files of two different saves)`,
    );
  }
  if (metadata.epoch !== undefined && metadata.epoch !== String(epoch)) {
    throw new DataFormatError(
      `${path}: holds epoch ${metadata.epoch}, but latest.json names epoch ${epoch} (files of two different saves)`,
    );
  }
}

async function loadPair(dir: string, p: PointerRead & { kind: "v1" | "v2" }): Promise<Checkpoint> {
  const v2 = p.kind === "v2" ? p.pointer : undefined;
  const epoch = p.pointer.epoch;
  const modelFile = v2 ? v2.model.file : (p.pointer as PointerV1).model;
  const stateFile = v2 ? v2.state.file : (p.pointer as PointerV1).state;
  const model = await readPart(dir, modelFile, v2?.model);
  checkPart(`${dir}/${modelFile}`, model.metadata, "denn-model", v2?.id, epoch);
  const st = await readPart(dir, stateFile, v2?.state);
  checkPart(`${dir}/${stateFile}`, st.metadata, "denn-training-state", v2?.id, epoch);
  const rest = restoreState(`${dir}/${stateFile}`, st.metadata.state, st.tensors, epoch);
  return { ...rest, model: model.tensors };
}

/**
 * Reads the newest checkpoint of `dir`, or null when there is none. The two files are validated
 * as a pair (see the module documentation); a missing, damaged or mismatched file is a
 * `DataFormatError` naming it. After a complete pair is loaded, leftovers of interrupted saves
 * are removed (when the directory is writable and no save is in progress).
 */
export async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  if (typeof dir !== "string" || dir === "") {
    throw new ValueError("readCheckpoint: dir must be a non-empty path");
  }
  try {
    await Deno.lstat(`${dir}/${POINTER}`);
  } catch (e) {
    // No directory or no pointer: no checkpoint (and nothing of this directory is touched).
    if (e instanceof Deno.errors.NotFound) return null;
  }
  const lock = await openLock(dir);
  let exclusive = false;
  try {
    if (lock) {
      // Exclusive when free (this reader may clean up); otherwise wait, shared, for the save in
      // progress to finish so that its files are complete and the old ones not yet removed. A
      // file system without locks reads unlocked and cleans nothing.
      try {
        exclusive = await lock.tryLock(true);
        if (!exclusive) await lock.lock(false);
      } catch {
        exclusive = false;
      }
    }
    const p = await readPointer(dir);
    if (p.kind === "invalid") throw p.error;
    if (p.kind === "none") return null;
    const ck = await loadPair(dir, p);
    if (exclusive) await sweep(dir, p);
    return ck;
  } finally {
    release(lock);
  }
}
