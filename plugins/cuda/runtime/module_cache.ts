/**
 * The compiled-module cache of the cuda backend. NVRTC compiling a small kernel and loading it
 * costs about 160 ms, so each source is compiled once per process (memory cache) and, where the
 * cache folder may be read and written, once per machine: its cubin is kept on disk under a name
 * that is the SHA-256 of the source, the architecture, the NVRTC version and the compile options.
 * Files are written atomically (a temp file in the same folder, renamed over the target), so a
 * crash or a concurrent process never leaves a partial cubin under a final name; a file that is
 * not an ELF image or that the driver rejects is recompiled and replaced.
 *
 * The cache folder is, in order: the `cacheDir` option (`null` disables the disk cache),
 * `DENN_CUDA_CACHE`, `$XDG_CACHE_HOME/denn/cuda`, `~/.cache/denn/cuda`, each only where the env
 * var may be read; it is used only where read and write permission for it are granted.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { granted, readEnv } from "./libs.ts";

/** Bumped when the cache file format or the compile pipeline changes. */
const FORMAT = "denn-cuda-module-v1";

/** What the cache needs from the driver and NVRTC. */
export interface ModuleBackend {
  /** Compiles a source to a cubin (throws with NVRTC's log on errors). */
  compile(source: string, label: string): Uint8Array;
  /** Loads an image as a module (throws where the driver rejects it). */
  load(image: Uint8Array): bigint;
  /** Unloads a module. */
  unload(module: bigint): void;
}

/** Counters of the module cache. */
export interface ModuleCacheStats {
  /** Modules loaded (one per distinct source). */
  modules: number;
  /** NVRTC compiles run. */
  compiles: number;
  /** Modules found in the memory cache. */
  memoryHits: number;
  /** Modules loaded from a cubin on disk instead of compiling. */
  diskHits: number;
  /** Cubins written to disk. */
  diskWrites: number;
  /** The disk folder in use, or null (memory only). */
  dir: string | null;
  /** Why the disk cache is off or the last disk read/write failed, or null. */
  diskProblem: string | null;
}

/** The SHA-256 (hex) that names a module: format, arch, NVRTC version, options and source. */
export function moduleKey(
  source: string,
  arch: string,
  nvrtcVersion: number,
  options: readonly string[],
): string {
  return createHash("sha256")
    .update([FORMAT, arch, String(nvrtcVersion), options.join(" "), source].join("\0"))
    .digest("hex");
}

/**
 * The cache folder to use and, where there is none, why: the option (`null` = off), else
 * `DENN_CUDA_CACHE`, `$XDG_CACHE_HOME/denn/cuda`, `$HOME/.cache/denn/cuda`; null where no
 * candidate may be read and written or it cannot be created.
 */
export function resolveCacheDir(
  option?: string | null,
): { dir: string | null; why: string | null } {
  if (option === null) return { dir: null, why: "disk cache disabled (cacheDir: null)" };
  let dir = option;
  if (dir === undefined) {
    const env = readEnv("DENN_CUDA_CACHE");
    const xdg = readEnv("XDG_CACHE_HOME");
    const home = readEnv("HOME");
    dir = env ?? (xdg ? `${xdg}/denn/cuda` : home ? `${home}/.cache/denn/cuda` : undefined);
    if (dir === undefined) {
      return {
        dir: null,
        why: "no cache folder: DENN_CUDA_CACHE, XDG_CACHE_HOME and HOME are unset or not " +
          "readable (--allow-env)",
      };
    }
  }
  if (!granted({ name: "read", path: dir }) || !granted({ name: "write", path: dir })) {
    return { dir: null, why: `no read/write permission for the cache folder ${dir}` };
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (e) {
    return { dir: null, why: `cannot create the cache folder ${dir}: ${(e as Error).message}` };
  }
  return { dir, why: null };
}

function isElf(b: Uint8Array): boolean {
  return b.length > 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

/**
 * Writes `bytes` to `path` atomically and synchronously: a uniquely named temp file in the same
 * folder, then a rename over `path` (the async `writeAtomic` of plugins/train serves files that
 * must also survive power loss; a cache entry only must never be seen half-written).
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array): void {
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${Deno.pid}.${
    crypto.randomUUID().slice(0, 8)
  }.tmp`;
  try {
    Deno.writeFileSync(tmp, bytes, { createNew: true });
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // it was never created, or is gone already
    }
    throw e;
  }
}

/** Compiled modules by source, in memory and on disk. */
export class ModuleCache {
  #backend: ModuleBackend;
  #arch: string;
  #version: number;
  #options: readonly string[];
  #modules = new Map<string, bigint>();
  #s: ModuleCacheStats;

  /** A cache for modules compiled for `arch` by NVRTC `nvrtcVersion` with `options`. */
  constructor(
    backend: ModuleBackend,
    arch: string,
    nvrtcVersion: number,
    options: readonly string[],
    cacheDir?: string | null,
  ) {
    this.#backend = backend;
    this.#arch = arch;
    this.#version = nvrtcVersion;
    this.#options = options;
    const { dir, why } = resolveCacheDir(cacheDir);
    this.#s = {
      modules: 0,
      compiles: 0,
      memoryHits: 0,
      diskHits: 0,
      diskWrites: 0,
      dir,
      diskProblem: why,
    };
  }

  /** The loaded module of `source` (`label` names it in compile errors). */
  module(source: string, label: string): bigint {
    const key = moduleKey(source, this.#arch, this.#version, this.#options);
    const hit = this.#modules.get(key);
    if (hit !== undefined) {
      this.#s.memoryHits++;
      return hit;
    }
    const file = this.#s.dir ? `${this.#s.dir}/${key}.cubin` : null;
    let module: bigint | undefined;
    if (file) module = this.#fromDisk(file);
    if (module === undefined) {
      const cubin = this.#backend.compile(source, label);
      this.#s.compiles++;
      module = this.#backend.load(cubin);
      if (file) {
        try {
          writeFileAtomicSync(file, cubin);
          this.#s.diskWrites++;
        } catch (e) {
          this.#s.diskProblem = `cannot write ${file}: ${(e as Error).message}`;
        }
      }
    }
    this.#modules.set(key, module);
    this.#s.modules++;
    return module;
  }

  #fromDisk(file: string): bigint | undefined {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        this.#s.diskProblem = `cannot read ${file}: ${(e as Error).message}`;
      }
      return undefined;
    }
    if (!isElf(bytes)) {
      this.#s.diskProblem = `${file} is not a cubin (ELF) image; recompiling`;
      return undefined;
    }
    try {
      const m = this.#backend.load(bytes);
      this.#s.diskHits++;
      return m;
    } catch (e) {
      this.#s.diskProblem = `the driver rejected ${file} (${(e as Error).message}); recompiling`;
      return undefined;
    }
  }

  /** A copy of the counters. */
  stats(): ModuleCacheStats {
    return { ...this.#s };
  }

  /** Unloads every module (the disk cache stays). */
  clear(): void {
    for (const m of this.#modules.values()) this.#backend.unload(m);
    this.#modules.clear();
  }
}
