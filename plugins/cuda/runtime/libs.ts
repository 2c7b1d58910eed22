/**
 * Finding and opening the CUDA libraries (driver, NVRTC, cuBLAS, cuDNN) through `Deno.dlopen`.
 * Every failure is a reason string, never an exception: no `--allow-ffi`, no permission to read
 * an override variable, or each library tried with why it did not load.
 *
 * Search order per library: the override (`options` path, else its env var: `DENN_LIBCUDA`,
 * `DENN_NVRTC`, `DENN_CUBLAS`, `DENN_CUDNN`) alone when set; otherwise the bare sonames through
 * the system loader (ldconfig, `LD_LIBRARY_PATH`), then the same names in the folders of
 * {@linkcode searchDirs}. The driver is only ever looked up by the loader and in system folders:
 * a path scan could pick the forward-compatibility copy under `/usr/local/cuda-*\/compat`, which
 * fails on a driver it does not match.
 *
 * @module
 */

/** Whether a permission is granted, without prompting (false where it cannot be queried). */
export function granted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/**
 * An env var's value: `undefined` when unset or empty, `null` when permission to read it is not
 * granted (it is never prompted for).
 */
export function readEnv(name: string): string | undefined | null {
  if (!granted({ name: "env", variable: name })) return null;
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return null;
  }
}

/** What to look for: one library of the CUDA stack. */
export interface LibrarySpec {
  /** Short name used in reasons, e.g. `"libnvrtc"`. */
  readonly label: string;
  /** Env var whose value (a path or soname) replaces the search. */
  readonly env: string;
  /** Sonames in order of preference, e.g. `["libnvrtc.so.13", "libnvrtc.so.12"]`. */
  readonly names: readonly string[];
  /** Also look for the names in {@linkcode searchDirs} (false for the driver). */
  readonly scan: boolean;
}

/** The driver API library. */
export const LIBCUDA: LibrarySpec = {
  label: "libcuda",
  env: "DENN_LIBCUDA",
  names: Deno.build.os === "windows" ? ["nvcuda.dll"] : ["libcuda.so.1"],
  scan: false,
};

/** NVRTC, newest major first (see {@linkcode nvrtcSpec} for the driver-matched order). */
export const LIBNVRTC: LibrarySpec = {
  label: "libnvrtc",
  env: "DENN_NVRTC",
  names: Deno.build.os === "windows"
    ? ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll"]
    : ["libnvrtc.so.13", "libnvrtc.so.12"],
  scan: true,
};

/** cuBLAS (its companion libcublasLt is preloaded from the same folder). */
export const LIBCUBLAS: LibrarySpec = {
  label: "libcublas",
  env: "DENN_CUBLAS",
  names: Deno.build.os === "windows"
    ? ["cublas64_13.dll", "cublas64_12.dll"]
    : ["libcublas.so.13", "libcublas.so.12"],
  scan: true,
};

/**
 * cuDNN 9 (the legacy convolution API, bound in cudnn.ts; its sub-libraries are preloaded from the
 * same folder).
 */
export const LIBCUDNN: LibrarySpec = {
  label: "libcudnn",
  env: "DENN_CUDNN",
  names: Deno.build.os === "windows" ? ["cudnn64_9.dll"] : ["libcudnn.so.9"],
  scan: true,
};

/** Every override variable the runtime reads. */
export const OVERRIDE_VARS: readonly string[] = [
  LIBCUDA.env,
  LIBNVRTC.env,
  LIBCUBLAS.env,
  LIBCUDNN.env,
];

/**
 * NVRTC's names ordered for a driver of CUDA major `driverMajor`: the matching major first, since
 * a cubin from a newer NVRTC major may not load on an older driver.
 */
export function nvrtcSpec(driverMajor: number): LibrarySpec {
  const names = [...LIBNVRTC.names].sort((a, b) =>
    Number(!a.includes(String(driverMajor))) - Number(!b.includes(String(driverMajor)))
  );
  return { ...LIBNVRTC, names };
}

/** Readable directory entries of `dir` (none where reading is not allowed or it is absent). */
function entries(dir: string): string[] {
  if (!granted({ name: "read", path: dir })) return [];
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort().reverse();
  } catch {
    return [];
  }
}

function exists(path: string): boolean {
  if (!granted({ name: "read", path })) return false;
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Python site-packages roots: the active venv, common venv folders, system and user installs. */
function sitePackages(): string[] {
  const roots: string[] = [];
  const libDirs: string[] = [];
  const venv = readEnv("VIRTUAL_ENV");
  const conda = readEnv("CONDA_PREFIX");
  const home = readEnv("HOME");
  for (const v of [venv, conda]) if (v) libDirs.push(`${v}/lib`);
  if (home) libDirs.push(`${home}/.venv/lib`, `${home}/.local/lib`);
  libDirs.push(".venv/lib", "venv/lib");
  for (const opt of entries("/opt")) libDirs.push(`/opt/${opt}/.venv/lib`, `/opt/${opt}/lib`);
  libDirs.push("/usr/lib", "/usr/local/lib");
  for (const lib of libDirs) {
    for (const py of entries(lib)) {
      if (!/^python3(\.\d+)?$/.test(py)) continue;
      roots.push(`${lib}/${py}/site-packages`, `${lib}/${py}/dist-packages`);
    }
  }
  return roots;
}

/**
 * Folders searched for NVRTC, cuBLAS and cuDNN after the loader: `CUDA_PATH` / `CUDA_HOME`,
 * `/usr/local/cuda*` toolkits, system library folders, and the NVIDIA Python wheels'
 * `nvidia/cu13/lib`, `nvidia/cudnn/lib`, `nvidia/cublas/lib`, `nvidia/cuda_nvrtc/lib` under
 * common site-packages roots. Env vars are used only where reading them is permitted.
 */
export function searchDirs(): string[] {
  const dirs: string[] = [];
  for (const v of ["CUDA_PATH", "CUDA_HOME"]) {
    const p = readEnv(v);
    if (p) dirs.push(`${p}/lib64`, `${p}/lib`, `${p}/targets/x86_64-linux/lib`);
  }
  dirs.push("/usr/local/cuda/lib64");
  for (const e of entries("/usr/local")) {
    if (/^cuda-\d+(\.\d+)?$/.test(e)) dirs.push(`/usr/local/${e}/lib64`);
  }
  dirs.push("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu");
  for (const sp of sitePackages()) {
    for (const sub of ["cu13/lib", "cudnn/lib", "cublas/lib", "cuda_nvrtc/lib"]) {
      dirs.push(`${sp}/nvidia/${sub}`);
    }
  }
  return [...new Set(dirs)];
}

/** A library that loaded. */
export interface OpenedLibrary<S extends Deno.ForeignLibraryInterface> {
  /** The library. */
  readonly lib: Deno.DynamicLibrary<S>;
  /** The path or soname it was opened by. */
  readonly path: string;
}

/**
 * The override for `spec`: `options` path, else its env var. `null` (with the reason) when the
 * env var may not be read.
 */
export function override(spec: LibrarySpec, path?: string): string | undefined | { why: string } {
  if (path) return path;
  const env = readEnv(spec.env);
  if (env === null) {
    return {
      why: `no permission to read env var ${spec.env} (run with --allow-env=${
        OVERRIDE_VARS.join(",")
      }, or pass the library path in the options)`,
    };
  }
  return env;
}

/**
 * Candidate paths for `spec` in the order they are tried: the override alone, or the sonames
 * then the existing files named so in the search folders.
 */
export function candidates(spec: LibrarySpec, overridePath?: string): string[] {
  if (overridePath) return [overridePath];
  const out = [...spec.names];
  if (spec.scan) {
    for (const dir of searchDirs()) {
      for (const name of spec.names) if (exists(`${dir}/${name}`)) out.push(`${dir}/${name}`);
    }
  }
  return out;
}

function firstLine(e: unknown): string {
  // Deno repeats its prefix ("Could not open library: Could not open library: ...").
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]
    .replace(/^(Could not open library: )+/, "");
}

/**
 * Opens the first candidate of `spec` that loads with `symbols`. Returns the library, or the
 * reason: missing FFI or env permission, or each candidate tried with its loader error.
 */
export function openLibrary<S extends Deno.ForeignLibraryInterface>(
  spec: LibrarySpec,
  symbols: S,
  path?: string,
  before?: (candidate: string) => void,
): OpenedLibrary<S> | string {
  const o = override(spec, path);
  if (typeof o === "object") return o.why;
  // --allow-ffi may be limited to some paths: keep the candidates it covers.
  const all = granted({ name: "ffi" });
  const list = candidates(spec, o).filter((p) => all || granted({ name: "ffi", path: p }));
  if (list.length === 0) return "no FFI permission (run with --allow-ffi)";
  const errors: string[] = [];
  for (const p of list) {
    try {
      before?.(p);
      return { lib: Deno.dlopen(p, symbols), path: p };
    } catch (e) {
      errors.push(`${p}: ${firstLine(e)}`);
    }
  }
  const where = o
    ? `${o} (from ${path ? "the options" : spec.env}) did not load`
    : `not found (set ${spec.env} to its path)`;
  const folders = o || !spec.scan ? "" : `; also looked in: ${searchDirs().join(", ")}`;
  return `${spec.label} ${where}: ${errors.join("; ")}${folders}`;
}

/** The folder of a library path, or null for a bare soname. */
export function folderOf(path: string): string | null {
  const i = path.lastIndexOf("/");
  return i > 0 ? path.slice(0, i) : null;
}

/**
 * Preloads a companion library (libcublasLt beside libcublas) so the loader finds it by soname
 * when the main library needs it; returns it to keep it open, or null where it did not load (the
 * main library's own error then explains).
 */
export function preload(
  names: readonly string[],
  folder: string | null,
): Deno.DynamicLibrary<Record<string, never>> | null {
  for (const n of names) {
    for (const p of folder ? [`${folder}/${n}`, n] : [n]) {
      try {
        return Deno.dlopen(p, {});
      } catch {
        // try the next name
      }
    }
  }
  return null;
}
