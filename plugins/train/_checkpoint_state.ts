/**
 * The training state of a checkpoint as JSON metadata (private to plugins/train: used by
 * `checkpoint.ts`): non-finite numbers survive the round trip (plain JSON would turn them into
 * null), and on reading the JSON is validated — epoch, history, RNG states, optimizer state —
 * and the optimizer state dict rebuilt with its tensors.
 *
 * @module
 */

import type { GeneratorState, OptimizerStateDict, ParamState } from "../../core/mod.ts";
import { DataFormatError } from "../data/dataset.ts";
import { isRecord } from "./_checkpoint_layout.ts";
import type { Checkpoint, EpochStats } from "./checkpoint.ts";
import type { TensorMap } from "./safetensors.ts";

// ---- JSON of the training state: non-finite numbers survive (JSON would turn them into null).

const NUMBER_TAG = "__denn_number__";

export function stateReplacer(_k: string, v: unknown): unknown {
  if (typeof v === "number" && !Number.isFinite(v)) return { [NUMBER_TAG]: String(v) };
  return v;
}

function stateReviver(_k: string, v: unknown): unknown {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === NUMBER_TAG) {
      const s = (v as Record<string, unknown>)[NUMBER_TAG];
      if (s === "NaN") return NaN;
      if (s === "Infinity") return Infinity;
      if (s === "-Infinity") return -Infinity;
    }
  }
  return v;
}

interface StateMeta {
  epoch: number;
  history: EpochStats[];
  rng: Record<string, GeneratorState>;
  optimizer?: {
    state: Record<string, Record<string, number | { tensor: string }>>;
    paramGroups: Record<string, unknown>[];
  } | null;
  scheduler?: unknown;
}

function isGeneratorState(v: unknown): v is GeneratorState {
  return Array.isArray(v) && v.length === 5 &&
    v.slice(0, 4).every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff) &&
    (v[4] === null || typeof v[4] === "number");
}

/** Validates the training-state JSON and rebuilds the optimizer state dict. */
export function restoreState(
  path: string,
  text: string | undefined,
  tensors: TensorMap,
  epoch: number,
): Omit<Checkpoint, "model"> {
  const bad = (msg: string) => new DataFormatError(`${path}: ${msg}`);
  let meta: StateMeta;
  try {
    meta = JSON.parse(text ?? "", stateReviver);
  } catch (e) {
    throw new DataFormatError(`${path}: missing or invalid training-state metadata`, { cause: e });
  }
  if (!isRecord(meta)) throw bad("the training-state metadata is not an object");
  if (meta.epoch !== epoch) {
    throw bad(`the training state is of epoch ${JSON.stringify(meta.epoch)}, expected ${epoch}`);
  }
  if (!Array.isArray(meta.history) || !meta.history.every((h) => isRecord(h))) {
    throw bad("the training history is not a list of epoch records");
  }
  if (!isRecord(meta.rng) || !Object.values(meta.rng).every(isGeneratorState)) {
    throw bad("the RNG states are not generator states");
  }
  let optimizer: OptimizerStateDict | undefined;
  if (meta.optimizer !== undefined && meta.optimizer !== null) {
    const o = meta.optimizer;
    if (!isRecord(o) || !isRecord(o.state) || !Array.isArray(o.paramGroups)) {
      throw bad("the optimizer state is not {state, paramGroups}");
    }
    const state: Record<number, ParamState> = {};
    for (const [idx, s] of Object.entries(o.state)) {
      if (!/^\d+$/.test(idx) || !isRecord(s)) {
        throw bad(`optimizer state of parameter ${JSON.stringify(idx)} is invalid`);
      }
      const out: ParamState = {};
      for (const [name, v] of Object.entries(s)) {
        if (typeof v === "number") out[name] = v;
        else if (isRecord(v) && typeof v.tensor === "string") {
          const t = Object.hasOwn(tensors, v.tensor) ? tensors[v.tensor] : undefined;
          if (!t) throw bad(`missing tensor "${v.tensor}"`);
          out[name] = t;
        } else {
          throw bad(`optimizer state "${name}" of parameter ${idx} is invalid`);
        }
      }
      state[Number(idx)] = out;
    }
    optimizer = { state, paramGroups: o.paramGroups };
  }
  return {
    epoch,
    optimizer,
    scheduler: meta.scheduler,
    history: meta.history,
    rng: meta.rng,
  };
}
