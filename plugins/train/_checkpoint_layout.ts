/**
 * What a checkpoint directory holds and how it is guarded (private to plugins/train: used by
 * `checkpoint.ts`, whose module documentation describes the protocol): the file names and
 * checkpoint ids, the SHA-256 of a file, the records of the `latest.json` pointer and its reading
 * and validation, the advisory lock on `.denn-checkpoint.lock`, and the sweep that removes temp
 * files and files of saves that never reached the pointer.
 *
 * @module
 */

import { DataFormatError } from "../data/dataset.ts";
import { readRegularFile } from "../data/files.ts";

/** One file of a checkpoint as `latest.json` records it. */
export interface FileRecord {
  file: string;
  bytes: number;
  sha256: string;
}

/** One checkpoint as `latest.json` records it. */
export interface Entry {
  id: string;
  epoch: number;
  model: FileRecord;
  state: FileRecord;
}

/** Contents of `latest.json` (version 2). */
export interface Pointer extends Entry {
  format: "denn-checkpoint";
  version: 2;
  kept: Entry[];
}

/** Contents of a version-1 `latest.json` (no ids, sizes or hashes). */
export interface PointerV1 {
  format: "denn-checkpoint";
  version: 1;
  epoch: number;
  model: string;
  state: string;
}

export const POINTER = "latest.json";
export const LOCK = ".denn-checkpoint.lock";
const ID = /^[0-9a-f]{16}$/;
/** Checkpoint files of this version: `epoch-0008-0123456789abcdef[.state].safetensors`. */
const FILE = /^epoch-\d{4,}-[0-9a-f]{16}(\.state)?\.safetensors$/;
/** Checkpoint files of version 1 (no id): never removed except when their pointer is replaced. */
const FILE_V1 = /^epoch-\d{4,}(\.state)?\.safetensors$/;
/** Temp files of `writeAtomic` for the pointer and the checkpoint files. */
const TEMP =
  /^\.(latest\.json|epoch-\d{4,}(-[0-9a-f]{16})?(\.state)?\.safetensors)\.\d+\.[0-9a-f]{8}\.tmp$/;

export function fileNames(epoch: number, id: string): { model: string; state: string } {
  const base = `epoch-${String(epoch).padStart(4, "0")}-${id}`;
  return { model: `${base}.safetensors`, state: `${base}.state.safetensors` };
}

export function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

// ---- Locking.

/**
 * Opens the directory's lock file: read-write (created if needed) when possible, read-only when
 * the directory is not writable; null when neither works (then nothing is locked or cleaned).
 */
export async function openLock(dir: string): Promise<Deno.FsFile | null> {
  try {
    return await Deno.open(`${dir}/${LOCK}`, { read: true, write: true, create: true });
  } catch {
    try {
      return await Deno.open(`${dir}/${LOCK}`, { read: true });
    } catch {
      return null;
    }
  }
}

export function release(lock: Deno.FsFile | null): void {
  if (!lock) return;
  try {
    lock.unlockSync();
  } catch {
    // closing releases it too
  }
  lock.close();
}

// ---- Reading and validating latest.json.

export type PointerRead =
  | { kind: "none" }
  | { kind: "invalid"; error: DataFormatError }
  | { kind: "v1"; pointer: PointerV1 }
  | { kind: "v2"; pointer: Pointer };

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function checkEntry(v: unknown, where: string): Entry {
  const bad = (msg: string) => new DataFormatError(`${where}: ${msg}`);
  if (!isRecord(v)) throw bad("a checkpoint entry is not an object");
  if (typeof v.id !== "string" || !ID.test(v.id)) {
    throw bad(`invalid checkpoint id ${JSON.stringify(v.id)} (expected 16 hex digits)`);
  }
  if (!isCount(v.epoch)) throw bad(`invalid epoch ${JSON.stringify(v.epoch)}`);
  const names = fileNames(v.epoch, v.id);
  for (const part of ["model", "state"] as const) {
    const r = v[part];
    if (
      !isRecord(r) || r.file !== names[part] || !isCount(r.bytes) ||
      typeof r.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(r.sha256)
    ) {
      throw bad(
        `invalid ${part} record ${JSON.stringify(r)} (expected file "${
          names[part]
        }", bytes and sha256)`,
      );
    }
  }
  return v as unknown as Entry;
}

export async function readPointer(dir: string): Promise<PointerRead> {
  const path = `${dir}/${POINTER}`;
  try {
    await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "none" };
    return {
      kind: "invalid",
      error: new DataFormatError(`${path}: cannot read (${(e as Error).message})`, { cause: e }),
    };
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      await readRegularFile(path, "checkpoint pointer"),
    );
    let p: unknown;
    try {
      p = JSON.parse(text);
    } catch (e) {
      throw new DataFormatError(`${path}: invalid JSON (${(e as Error).message})`, { cause: e });
    }
    if (!isRecord(p) || p.format !== "denn-checkpoint") {
      throw new DataFormatError(`${path}: not a denn checkpoint pointer`);
    }
    if (p.version === 1) {
      if (
        !isCount(p.epoch) || typeof p.model !== "string" || !FILE_V1.test(p.model) ||
        typeof p.state !== "string" || !FILE_V1.test(p.state)
      ) {
        throw new DataFormatError(`${path}: invalid version-1 checkpoint pointer`);
      }
      return { kind: "v1", pointer: p as unknown as PointerV1 };
    }
    if (p.version !== 2) {
      throw new DataFormatError(
        `${path}: unsupported checkpoint pointer version ${
          JSON.stringify(p.version)
        } (denn reads 1 and 2)`,
      );
    }
    const entry = checkEntry(p, path);
    if (!Array.isArray(p.kept)) throw new DataFormatError(`${path}: "kept" is not a list`);
    const kept = p.kept.map((k) => checkEntry(k, path));
    return { kind: "v2", pointer: { ...entry, format: "denn-checkpoint", version: 2, kept } };
  } catch (e) {
    if (e instanceof DataFormatError) return { kind: "invalid", error: e };
    throw e;
  }
}

// ---- Cleanup.

/**
 * Removes temp files and checkpoint files that `current` does not name. With an unreadable
 * pointer only temp files go (which files belong to the checkpoint is unknown).
 */
export async function sweep(dir: string, current: PointerRead): Promise<void> {
  const keep = new Set<string>();
  if (current.kind === "v2") {
    for (const e of [current.pointer, ...current.pointer.kept]) {
      keep.add(e.model.file);
      keep.add(e.state.file);
    }
  }
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  } catch {
    return;
  }
  for (const name of names) {
    const orphan = current.kind !== "invalid" && FILE.test(name) && !keep.has(name);
    if (TEMP.test(name) || orphan) await Deno.remove(`${dir}/${name}`).catch(() => {});
  }
}
