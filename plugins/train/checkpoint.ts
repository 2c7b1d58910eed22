/**
 * Training checkpoints: one directory holding, per epoch, the model's state dict as a plain
 * safetensors file (loadable with `load()` + `loadStateDict`, or by PyTorch) and a second
 * safetensors file with everything else needed to resume exactly — the optimizer's state dict
 * (its tensors as data, the rest as JSON metadata), the epoch, the history and the RNG states.
 * `latest.json` names the newest complete pair; it is written atomically last, so a crash at any
 * point leaves the previous checkpoint usable.
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

import { Tensor } from "../../core/mod.ts";
import type { GeneratorState, OptimizerStateDict, ParamState } from "../../core/mod.ts";
import { DataFormatError } from "../data/dataset.ts";
import { loadWithMetadata, save, writeAtomic } from "./safetensors.ts";
import type { SaveOptions, TensorMap } from "./safetensors.ts";

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

/** Contents of `latest.json`. */
interface Pointer {
  format: "denn-checkpoint";
  version: 1;
  epoch: number;
  model: string;
  state: string;
}

const POINTER = "latest.json";

function epochBase(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, "0")}`;
}

/** Writes a checkpoint into `dir` (created if needed) and removes the previous epoch's files. */
export async function writeCheckpoint(
  dir: string,
  ck: Checkpoint,
  options: SaveOptions & { keep?: number } = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const base = epochBase(ck.epoch);
  const modelFile = `${base}.safetensors`, stateFile = `${base}.state.safetensors`;
  await save(`${dir}/${modelFile}`, ck.model, {
    format: "denn-model",
    epoch: String(ck.epoch),
  }, options);
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
  await save(`${dir}/${stateFile}`, tensors, {
    format: "denn-training-state",
    state: JSON.stringify(meta),
  }, options);
  let previous: Pointer | null = null;
  try {
    previous = JSON.parse(await Deno.readTextFile(`${dir}/${POINTER}`));
  } catch {
    // first checkpoint in this directory
  }
  const pointer: Pointer = {
    format: "denn-checkpoint",
    version: 1,
    epoch: ck.epoch,
    model: modelFile,
    state: stateFile,
  };
  await writeAtomic(
    `${dir}/${POINTER}`,
    new TextEncoder().encode(JSON.stringify(pointer, null, 2) + "\n"),
    options,
  );
  const keep = options.keep ?? 1;
  if (previous && keep <= 1 && previous.epoch !== ck.epoch) {
    for (const f of [previous.model, previous.state]) {
      if (/^epoch-\d+(\.state)?\.safetensors$/.test(f)) {
        await Deno.remove(`${dir}/${f}`).catch(() => {});
      }
    }
  }
}

/** Reads the newest checkpoint of `dir`, or null when there is none. */
export async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${POINTER}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  let p: Pointer;
  try {
    p = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(`${dir}/${POINTER}: invalid JSON (${(e as Error).message})`);
  }
  if (
    p.format !== "denn-checkpoint" || typeof p.model !== "string" || typeof p.state !== "string"
  ) {
    throw new DataFormatError(`${dir}/${POINTER}: not a denn checkpoint pointer`);
  }
  const model = await loadWithMetadata(`${dir}/${p.model}`);
  const st = await loadWithMetadata(`${dir}/${p.state}`);
  let meta: {
    epoch: number;
    history: EpochStats[];
    rng: Record<string, GeneratorState>;
    optimizer?: {
      state: Record<string, Record<string, number | { tensor: string }>>;
      paramGroups: Record<string, unknown>[];
    };
    scheduler?: unknown;
  };
  try {
    meta = JSON.parse(st.metadata.state ?? "");
  } catch {
    throw new DataFormatError(`${dir}/${p.state}: missing or invalid training-state metadata`);
  }
  let optimizer: OptimizerStateDict | undefined;
  if (meta.optimizer) {
    const state: Record<number, ParamState> = {};
    for (const [idx, s] of Object.entries(meta.optimizer.state)) {
      const out: ParamState = {};
      for (const [name, v] of Object.entries(s)) {
        if (typeof v === "number") out[name] = v;
        else {
          const t = st.tensors[v.tensor];
          if (!t) throw new DataFormatError(`${dir}/${p.state}: missing tensor "${v.tensor}"`);
          out[name] = t;
        }
      }
      state[Number(idx)] = out;
    }
    optimizer = { state, paramGroups: meta.optimizer.paramGroups };
  }
  return {
    epoch: meta.epoch,
    model: model.tensors,
    optimizer,
    scheduler: meta.scheduler,
    history: meta.history,
    rng: meta.rng,
  };
}
