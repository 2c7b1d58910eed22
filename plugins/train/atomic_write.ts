/**
 * Atomic file writes, used for safetensors files, checkpoints and plots: `writeAtomic` writes a
 * temp file in the same directory (`.NAME.PID.RANDOM.tmp`) in full, fsyncs it, renames it over
 * the target and fsyncs the directory, so a crash leaves either the previous file or the new one.
 * A failed write throws a {@linkcode FileWriteError} naming the target path, with the file-system
 * error as `cause`, and leaves the previous file untouched.
 *
 * @example
 * ```ts ignore
 * import { writeAtomic } from "./atomic_write.ts";
 * await writeAtomic("notes.txt", new TextEncoder().encode("hello\n"));
 * ```
 *
 * @module
 */

import { DennError } from "../../core/mod.ts";

/**
 * Writing a file failed (no space left, no permission, a missing directory, ...); the message
 * names the target path and the step, and `cause` keeps the file-system error.
 */
export class FileWriteError extends DennError {
  /** Creates the error; `options.cause` keeps the error it wraps. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileWriteError";
  }
}

/** Options of {@linkcode save}. */
export interface SaveOptions {
  /**
   * Called after the temp file is fully written and synced, just before the rename: a hook for
   * fault-injection tests (throwing here leaves the previous file untouched).
   */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Fsyncs a directory so that renames in it are durable. Platforms that cannot open a directory
 * (Windows) skip it.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let d: Deno.FsFile | undefined;
  try {
    d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Not supported here; the rename itself is still atomic.
  } finally {
    d?.close();
  }
}

/** The temp-file name {@linkcode writeAtomic} uses for `path`. */
function tempPathFor(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const rand = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
  return `${dir}.${path.slice(slash + 1)}.${Deno.pid}.${rand}.tmp`;
}

/**
 * Writes bytes to `path` atomically: a new temp file in the same directory, written in full and
 * fsynced, renamed over `path`, then the directory fsynced. On failure the temp file is removed,
 * `path` is untouched and a {@linkcode FileWriteError} names `path` (the file-system error is its
 * `cause`).
 */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  options: SaveOptions = {},
): Promise<void> {
  const tmp = tempPathFor(path);
  const fail = (step: string, e: unknown) =>
    new FileWriteError(`${path}: cannot write the file (${step}: ${(e as Error).message})`, {
      cause: e,
    });
  let f: Deno.FsFile;
  try {
    f = await Deno.open(tmp, { write: true, createNew: true });
  } catch (e) {
    throw fail(`creating the temp file ${tmp}`, e);
  }
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.syncData();
    } catch (e) {
      throw fail(`writing ${bytes.length} bytes to the temp file ${tmp}`, e);
    } finally {
      f.close();
    }
    await options.beforeRename?.(tmp);
    try {
      await Deno.rename(tmp, path);
    } catch (e) {
      throw fail(`renaming the temp file ${tmp} into place`, e);
    }
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  const slash = path.lastIndexOf("/");
  await syncDirectory(slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".");
}
