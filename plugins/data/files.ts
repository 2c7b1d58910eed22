/**
 * Reading files defensively: only regular files are read (a FIFO, a device such as `/dev/zero`, a
 * socket or a directory is rejected by `Deno.stat` before any read, so nothing blocks or reads
 * forever), and every failure is a `DataFormatError` naming the path, with the underlying error
 * as `cause`.
 *
 * @module
 */

import { DataFormatError } from "./dataset.ts";

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Stats `path` and checks it is a regular file; returns its size. `what` names the kind of file
 * in messages ("IDX file", "safetensors file", ...).
 */
export async function statRegularFile(path: string, what: string): Promise<number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read ${what} (${(e as Error).message})`, {
      cause: e,
    });
  }
  if (!info.isFile) {
    throw new DataFormatError(`${path}: cannot read ${what}: ${kindOf(info)}, not a regular file`);
  }
  return info.size;
}

/** Reads a whole regular file (see {@linkcode statRegularFile}). */
export async function readRegularFile(path: string, what: string): Promise<Uint8Array> {
  await statRegularFile(path, what);
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read ${what} (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** Reads up to the first `n` bytes of a regular file (fewer when the file is shorter). */
export async function readFileHead(path: string, n: number, what: string): Promise<Uint8Array> {
  await statRegularFile(path, what);
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(path, { read: true });
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const got = await f.read(out.subarray(at));
      if (got === null) break;
      at += got;
    }
    return out.subarray(0, at);
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read ${what} (${(e as Error).message})`, {
      cause: e,
    });
  } finally {
    f?.close();
  }
}
