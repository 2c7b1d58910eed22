/**
 * NVRTC through `Deno.dlopen`: compiles CUDA C to a cubin for one real architecture
 * (`--gpu-architecture=sm_XY`, `nvrtcGetCUBIN`). A cubin, unlike PTX from a newer NVRTC, needs no
 * JIT by the driver, so it also loads on a driver older than the NVRTC (same major).
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";

const SYMBOLS = {
  nvrtcVersion: { parameters: ["buffer", "buffer"], result: "i32" },
  nvrtcCreateProgram: {
    // prog*, src, name, numHeaders, headers, includeNames
    parameters: ["buffer", "buffer", "buffer", "i32", "pointer", "pointer"],
    result: "i32",
  },
  nvrtcCompileProgram: { parameters: ["u64", "i32", "buffer"], result: "i32" },
  nvrtcGetProgramLogSize: { parameters: ["u64", "buffer"], result: "i32" },
  nvrtcGetProgramLog: { parameters: ["u64", "buffer"], result: "i32" },
  nvrtcGetCUBINSize: { parameters: ["u64", "buffer"], result: "i32" },
  nvrtcGetCUBIN: { parameters: ["u64", "buffer"], result: "i32" },
  nvrtcGetPTXSize: { parameters: ["u64", "buffer"], result: "i32" },
  nvrtcGetPTX: { parameters: ["u64", "buffer"], result: "i32" },
  nvrtcDestroyProgram: { parameters: ["buffer"], result: "i32" },
  nvrtcGetErrorString: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The NVRTC symbol table passed to `Deno.dlopen`. */
export type NvrtcSymbols = typeof SYMBOLS;

/** The NVRTC symbol table. */
export function nvrtcSymbols(): NvrtcSymbols {
  return SYMBOLS;
}

/** `NVRTC_ERROR_COMPILATION`. */
export const NVRTC_ERROR_COMPILATION = 6;

/** A compile result: the cubin, and the PTX only where asked for. */
export interface Compiled {
  /** The cubin (an ELF image for `cuModuleLoadData`). */
  readonly cubin: Uint8Array;
  /** NVRTC's log (warnings), possibly empty. */
  readonly log: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A NUL-terminated C string. */
export function cstring(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * A `const char* const*` array: the strings packed, NUL-terminated, into one off-heap block
 * (an `ArrayBuffer` never moves) and the pointers to them. Keep `block` alive during the call.
 */
export function cstringArray(strings: readonly string[]): {
  block: Uint8Array;
  ptrs: BigUint64Array;
} {
  const parts = strings.map(cstring);
  const block = new Uint8Array(
    new ArrayBuffer(Math.max(64, parts.reduce((n, p) => n + p.length, 0))),
  );
  const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(block)));
  const ptrs = new BigUint64Array(new ArrayBuffer(Math.max(64, parts.length * 8)), 0, parts.length);
  let off = 0;
  parts.forEach((p, i) => {
    block.set(p, off);
    ptrs[i] = base + BigInt(off);
    off += p.length;
  });
  return { block, ptrs };
}

/** The opened NVRTC. */
export class Nvrtc {
  /** The path or soname it was opened by. */
  readonly path: string;
  /** `major * 1000 + minor * 10` (e.g. 13000), like `cuDriverGetVersion`. */
  readonly version: number;
  #lib: Deno.DynamicLibrary<NvrtcSymbols>;
  #sym: Deno.DynamicLibrary<NvrtcSymbols>["symbols"];

  /** Wraps an opened library and reads its version. */
  constructor(lib: Deno.DynamicLibrary<NvrtcSymbols>, path: string) {
    this.#lib = lib;
    this.#sym = lib.symbols;
    this.path = path;
    const major = new Int32Array(1), minor = new Int32Array(1);
    this.#check("nvrtcVersion", this.#sym.nvrtcVersion(major, minor));
    this.version = major[0] * 1000 + minor[0] * 10;
  }

  /** The version as "13.0". */
  get versionString(): string {
    return `${Math.floor(this.version / 1000)}.${(this.version % 1000) / 10}`;
  }

  #errorString(code: number): string {
    const p = this.#sym.nvrtcGetErrorString(code);
    return p ? Deno.UnsafePointerView.getCString(p) : `nvrtcResult ${code}`;
  }

  #check(call: string, code: number, what = ""): void {
    if (code !== 0) {
      throw new DeviceError(
        `cuda: ${call}${what} failed: ${this.#errorString(code)} (${code})`,
      );
    }
  }

  /**
   * Compiles `source` for `arch` (e.g. `"sm_90"`) to a cubin. A compile error throws a
   * `DeviceError` with NVRTC's log; `name` labels the program in that message.
   */
  compile(source: string, arch: string, name: string, options: readonly string[] = []): Compiled {
    const s = this.#sym;
    const progOut = new BigUint64Array(1);
    const what = ` for kernel "${name}"`;
    this.#check(
      "nvrtcCreateProgram",
      s.nvrtcCreateProgram(progOut, cstring(source), cstring(`${name}.cu`), 0, null, null),
      what,
    );
    const prog = progOut[0];
    try {
      const opts = cstringArray([`--gpu-architecture=${arch}`, ...options]);
      const rc = s.nvrtcCompileProgram(prog, opts.ptrs.length, opts.ptrs);
      void opts.block; // the strings the pointers point into stay alive through the call
      const log = this.#log(prog);
      if (rc !== 0) {
        throw new DeviceError(
          `cuda: NVRTC ${this.versionString} could not compile kernel "${name}" for ${arch} ` +
            `(${this.#errorString(rc)}):\n${log || "(empty log)"}`,
        );
      }
      const size = new BigUint64Array(1);
      this.#check("nvrtcGetCUBINSize", s.nvrtcGetCUBINSize(prog, size), what);
      if (size[0] === 0n) {
        throw new DeviceError(
          `cuda: NVRTC produced no cubin for kernel "${name}" (architecture ${arch} is virtual?)`,
        );
      }
      const cubin = new Uint8Array(Number(size[0]));
      this.#check("nvrtcGetCUBIN", s.nvrtcGetCUBIN(prog, cubin), what);
      return { cubin, log };
    } finally {
      progOut[0] = prog;
      s.nvrtcDestroyProgram(progOut);
    }
  }

  /** PTX of `source` for a virtual architecture (`compute_90`), for inspection. */
  ptx(source: string, arch: string, name: string): string {
    const s = this.#sym;
    const progOut = new BigUint64Array(1);
    this.#check(
      "nvrtcCreateProgram",
      s.nvrtcCreateProgram(progOut, cstring(source), cstring(`${name}.cu`), 0, null, null),
    );
    const prog = progOut[0];
    try {
      const opts = cstringArray([`--gpu-architecture=${arch}`]);
      const rc = s.nvrtcCompileProgram(prog, 1, opts.ptrs);
      void opts.block;
      if (rc !== 0) {
        throw new DeviceError(
          `cuda: NVRTC could not compile kernel "${name}" for ${arch}:\n${this.#log(prog)}`,
        );
      }
      const size = new BigUint64Array(1);
      this.#check("nvrtcGetPTXSize", s.nvrtcGetPTXSize(prog, size));
      const out = new Uint8Array(Number(size[0]));
      this.#check("nvrtcGetPTX", s.nvrtcGetPTX(prog, out));
      return dec.decode(out.subarray(0, Math.max(0, out.length - 1)));
    } finally {
      progOut[0] = prog;
      s.nvrtcDestroyProgram(progOut);
    }
  }

  #log(prog: bigint): string {
    const size = new BigUint64Array(1);
    if (this.#sym.nvrtcGetProgramLogSize(prog, size) !== 0 || size[0] <= 1n) return "";
    const buf = new Uint8Array(Number(size[0]));
    if (this.#sym.nvrtcGetProgramLog(prog, buf) !== 0) return "";
    return dec.decode(buf.subarray(0, buf.length - 1)).trim();
  }

  /** Closes the library. */
  close(): void {
    this.#lib.close();
  }
}
