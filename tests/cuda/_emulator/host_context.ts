// A `Cuda` context (plugins/cuda/types.ts) that runs the cuda backend's generated CUDA C on the
// host, for tests without a GPU: every source is compiled by g++ against shim.h (each in its own
// namespace, many per shared library) and launched through Deno FFI over a grid loop. Buffers are
// host ArrayBuffers; their "device pointers" are the host addresses, which the emulated kernels
// dereference. `blas.sgemm` is a host reference honouring CublasApi's row-major contract (checked
// by the runtime's own planSgemm); there is no cuDNN, so convolutions take the im2col path.
//
// Checks a real device would not make, so that a kernel bug fails loudly instead of corrupting
// memory: launches must match the CUDA C signature (count and kind of every argument), pointer
// arguments must point into live buffers, a guard zone after each buffer must be intact after
// every launch, new buffers are filled with a poison pattern, freed ones are poisoned, and a block
// whose threads wait at different barriers is an error.

import { PRELUDE } from "../../../plugins/cuda/kernels/kit_source.ts";
import type { KernelSource } from "../../../plugins/cuda/kernels/kit_source.ts";
import { planSgemm } from "../../../plugins/cuda/runtime/cublas.ts";
import { hostSgemm, signature } from "../_fake.ts";
import type { Param, SgemmArgs } from "../_fake.ts";
import type { DType } from "../../../core/mod.ts";
import type {
  CublasApi,
  Cuda,
  CudaBuffer,
  CudaFunction,
  KernelArg,
  LaunchConfig,
} from "../../../plugins/cuda/types.ts";

const SHIM = new URL("./shim.h", import.meta.url).pathname;
const GUARD = 64;
const GUARD_BYTE = 0xa5;
const POISON = 0xcd;
const FLAGS = [
  "-std=c++17",
  "-O1",
  "-shared",
  "-fPIC",
  "-w",
  "-fno-strict-aliasing",
  "-U_FORTIFY_SOURCE",
];

const itemSize = (d: DType): number => (d === "bool" ? 1 : d === "float16" ? 2 : 4);

/** The g++ (or c++) on PATH, or null with nothing found. */
export function findCompiler(): string | null {
  for (const c of ["g++", "c++"]) {
    try {
      const r = new Deno.Command(c, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync();
      if (r.success) return c;
    } catch {
      // not there
    }
  }
  return null;
}

// 64-bit FNV-1a over the UTF-16 code units, as hex.
function hash(s: string): string {
  let h = 0xcbf29ce484222325n;
  const p = 0x100000001b3n, mask = (1n << 64n) - 1n;
  for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * p) & mask;
  return h.toString(16).padStart(16, "0");
}

const EMU_PRELUDE = PRELUDE.replace(
  /__device__ __forceinline__ float denn_h2f\(denn_half h\) \{[^}]*\}/,
  "__device__ __forceinline__ float denn_h2f(denn_half h) { return denn_emu_h2f(h); }",
).replace(
  /__device__ __forceinline__ denn_half denn_f2h\(float f\) \{[^}]*\}/,
  "__device__ __forceinline__ denn_half denn_f2h(float f) { return denn_emu_f2h(f); }",
);
if (EMU_PRELUDE.includes("asm(")) throw new Error("cuda emulator: the kit's PRELUDE changed");

/** Whether a kernel needs its block's threads to run as fibers (it synchronises). */
function synchronises(source: string): boolean {
  return /__syncthreads|__shfl_/.test(source);
}

// The source as host C++ in namespace `ns`, with `ns::denn_emu_body(args)` calling the kernel on
// the arguments' 8-byte slots.
function translate(source: string, name: string, ns: string): string {
  let s = source.split(PRELUDE).join(EMU_PRELUDE);
  s = s.replace(
    /extern __shared__ (\w[\w ]*?)\s+(\w+)\[\];/g,
    "$1* $2 = ($1*)denn_dyn;",
  );
  if (/\basm\s*\(/.test(s)) {
    throw new Error(`cuda emulator: ${name} has inline PTX the emulator does not translate`);
  }
  const params = signature(source, name);
  const call = params.map((p, k) => `denn_arg<${p.type}>(s, ${k})`).join(", ");
  return `namespace ${ns} {
${s}
static void denn_emu_body(const unsigned char* s) { ${name}(${call}); }
}
`;
}

interface Lib {
  close(): void;
  symbols: {
    denn_emu_call(idx: number, slots: Uint8Array, gx: number, bx: number, shared: bigint): number;
  };
}

interface Compiled {
  lib: number;
  index: number;
  name: string;
  params: Param[];
}

interface HostBuffer {
  buffer: CudaBuffer;
  mem: Uint8Array;
  live: boolean;
}

/** Options of {@linkcode HostCuda}. */
export interface HostCudaOptions {
  /** Where compiled libraries are cached by content hash (default: a new temp dir). */
  cacheDir?: string;
  /** The C++ compiler (default: g++ or c++ from PATH). */
  compiler?: string;
}

/** The emulated context. See the module comment. */
export class HostCuda implements Cuda {
  readonly arch = "sm_90";
  readonly deviceName = "host emulation (g++)";
  readonly blas: CublasApi;
  readonly blasUnavailable: string | null = null;
  /** Launches per kernel name. */
  readonly launched: Map<string, number> = new Map();
  /** sgemm calls made. */
  gemms = 0;
  /** Seconds spent in g++. */
  compileSeconds = 0;
  /** Libraries compiled (not found in the cache). */
  compiles = 0;
  readonly cacheDir: string;
  readonly compiler: string;
  #ownDir: boolean;
  #bufs = new Map<bigint, HostBuffer>();
  #libs: Lib[] = [];
  #byHash = new Map<string, Compiled>();
  #fns: Compiled[] = [];
  #libPaths: string[] = [];

  constructor(options: HostCudaOptions = {}) {
    const cc = options.compiler ?? findCompiler();
    if (!cc) throw new Error("cuda emulator: no g++ or c++ on PATH");
    this.compiler = cc;
    this.#ownDir = options.cacheDir === undefined;
    this.cacheDir = options.cacheDir ?? Deno.makeTempDirSync({ prefix: "denn_cuda_emu_" });
    Deno.mkdirSync(this.cacheDir, { recursive: true });
    this.blas = { allowTF32: false, sgemm: (a) => this.#sgemm(a) };
  }

  // ------------------------------------------------------------ compilation

  #unit(sources: readonly KernelSource[]): { text: string; key: string } {
    const shim = Deno.readTextFileSync(SHIM);
    const parts = sources.map((k, i) => translate(k.source, k.name, `denn_emu_k${i}`));
    const cases = sources.map((k, i) =>
      `    case ${i}: return denn_emu_launch(denn_emu_k${i}::denn_emu_body, s, gx, bx, shared, ${
        synchronises(k.source) ? 1 : 0
      });`
    );
    const text = `#include "${SHIM}"
${parts.join("\n")}
extern "C" int denn_emu_call(int idx, const unsigned char* s, int gx, int bx, long long shared) {
  switch (idx) {
${cases.join("\n")}
  }
  return 3;
}
`;
    return { text, key: hash(shim + "\0" + FLAGS.join(" ") + "\0" + this.compiler + "\0" + text) };
  }

  #register(sources: readonly KernelSource[], path: string): void {
    const lib = Deno.dlopen(path, {
      denn_emu_call: { parameters: ["i32", "buffer", "i32", "i32", "i64"], result: "i32" },
    }) as unknown as Lib;
    this.#libs.push(lib);
    this.#libPaths.push(path);
    sources.forEach((k, index) => {
      const c: Compiled = {
        lib: this.#libs.length - 1,
        index,
        name: k.name,
        params: signature(k.source, k.name),
      };
      this.#byHash.set(hash(k.name + "\0" + k.source), c);
    });
  }

  #args(cpp: string, so: string): string[] {
    return [...FLAGS, "-o", so, cpp];
  }

  /**
   * Compiles `sources` into `batches` libraries, `jobs` g++ processes at a time, and loads them
   * (each source once: those already loaded are skipped). Cached by content hash.
   */
  async prebuild(sources: readonly KernelSource[], batches = 8, jobs = 2): Promise<void> {
    const todo = sources.filter((k) => !this.#byHash.has(hash(k.name + "\0" + k.source)));
    const per = Math.ceil(todo.length / Math.max(1, batches));
    const groups: KernelSource[][] = [];
    for (let i = 0; i < todo.length; i += per) groups.push(todo.slice(i, i + per));
    const start = performance.now();
    let next = 0;
    const results: string[] = [];
    const worker = async () => {
      while (next < groups.length) {
        const g = next++;
        const { text, key } = this.#unit(groups[g]);
        const so = `${this.cacheDir}/batch_${key}.so`;
        results[g] = so;
        if (exists(so)) continue;
        const cpp = `${this.cacheDir}/batch_${key}.cpp`;
        await Deno.writeTextFile(cpp, text);
        const tmp = `${so}.${crypto.randomUUID()}.tmp`;
        const r = await new Deno.Command(this.compiler, {
          args: this.#args(cpp, tmp),
          stdout: "piped",
          stderr: "piped",
        }).output();
        if (!r.success) {
          throw new Error(
            `cuda emulator: ${this.compiler} failed on ${cpp}:\n${
              new TextDecoder().decode(r.stderr).slice(0, 4000)
            }`,
          );
        }
        await Deno.rename(tmp, so);
        this.compiles++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
    this.compileSeconds += (performance.now() - start) / 1000;
    groups.forEach((g, i) => this.#register(g, results[i]));
  }

  /** Closes the libraries and removes the cache dir when it was created here. */
  dispose(): void {
    for (const l of this.#libs) l.close();
    this.#libs = [];
    this.#byHash.clear();
    if (this.#ownDir) {
      try {
        Deno.removeSync(this.cacheDir, { recursive: true });
      } catch {
        // already gone
      }
    }
  }

  kernel(source: string, name: string): CudaFunction {
    if (!source.includes(`extern "C" __global__ void ${name}(`)) {
      throw new Error(`cuda emulator: kernel ${name} is not defined in its source`);
    }
    const h = hash(name + "\0" + source);
    let c = this.#byHash.get(h);
    if (!c) {
      // Not prebuilt: compile this source alone, synchronously.
      const sources = [{ name, source }];
      const { text, key } = this.#unit(sources);
      const so = `${this.cacheDir}/one_${key}.so`;
      if (!exists(so)) {
        const cpp = `${this.cacheDir}/one_${key}.cpp`;
        Deno.writeTextFileSync(cpp, text);
        const t0 = performance.now();
        const r = new Deno.Command(this.compiler, { args: this.#args(cpp, so), stderr: "piped" })
          .outputSync();
        this.compileSeconds += (performance.now() - t0) / 1000;
        if (!r.success) {
          throw new Error(
            `cuda emulator: ${this.compiler} failed on ${name}:\n${
              new TextDecoder().decode(r.stderr).slice(0, 4000)
            }`,
          );
        }
        this.compiles++;
      }
      this.#register(sources, so);
      c = this.#byHash.get(h)!;
    }
    this.#fns.push(c);
    return { name, handle: BigInt(this.#fns.length - 1) };
  }

  launch(fn: CudaFunction, config: LaunchConfig, args: readonly KernelArg[]): void {
    const c = this.#fns[Number(fn.handle)];
    if (!c || c.name !== fn.name) throw new Error(`cuda emulator: unknown function ${fn.name}`);
    const [gx, gy = 1, gz = 1] = config.grid;
    const [bx, by = 1, bz = 1] = config.block;
    if (gy !== 1 || gz !== 1 || by !== 1 || bz !== 1) {
      throw new Error(`cuda emulator: ${fn.name}: only 1-D grids and blocks are emulated`);
    }
    if (!Number.isInteger(gx) || gx < 1 || gx > 2 ** 31 - 1) {
      throw new Error(`cuda emulator: ${fn.name}: grid ${gx}`);
    }
    if (!Number.isInteger(bx) || bx < 1 || bx > 1024) {
      throw new Error(`cuda emulator: ${fn.name}: block ${bx}`);
    }
    const shared = config.sharedBytes ?? 0;
    if (!Number.isInteger(shared) || shared < 0 || shared > 227 * 1024) {
      throw new Error(`cuda emulator: ${fn.name}: ${shared} bytes of dynamic shared memory`);
    }
    if (args.length !== c.params.length) {
      throw new Error(
        `cuda emulator: ${fn.name} takes ${c.params.length} arguments, got ${args.length}`,
      );
    }
    const slots = new Uint8Array(8 * Math.max(1, args.length));
    const dv = new DataView(slots.buffer);
    const touched: HostBuffer[] = [];
    args.forEach((a, k) => {
      const want = c.params[k].kind;
      const kind = Object.keys(a)[0];
      if (kind !== want) {
        throw new Error(
          `cuda emulator: ${fn.name} argument ${k} (${c.params[k].type}) got a ${kind} argument`,
        );
      }
      if ("ptr" in a) {
        const p = typeof a.ptr === "bigint" ? a.ptr : a.ptr.ptr;
        touched.push(this.#owner(p, `${fn.name} argument ${k}`));
        dv.setBigUint64(8 * k, p, true);
      } else if ("i32" in a) {
        if (!Number.isInteger(a.i32) || Math.abs(a.i32) >= 2 ** 31) {
          throw new Error(`cuda emulator: ${fn.name} argument ${k}: i32 ${a.i32}`);
        }
        dv.setInt32(8 * k, a.i32, true);
      } else if ("u32" in a) {
        if (!Number.isInteger(a.u32) || a.u32 < 0 || a.u32 >= 2 ** 32) {
          throw new Error(`cuda emulator: ${fn.name} argument ${k}: u32 ${a.u32}`);
        }
        dv.setUint32(8 * k, a.u32, true);
      } else if ("i64" in a) dv.setBigInt64(8 * k, BigInt(a.i64), true);
      else dv.setFloat32(8 * k, a.f32, true);
    });
    this.launched.set(fn.name, (this.launched.get(fn.name) ?? 0) + 1);
    const rc = this.#libs[c.lib].symbols.denn_emu_call(c.index, slots, gx, bx, BigInt(shared));
    if (rc === 1) {
      throw new Error(
        `cuda emulator: ${fn.name} deadlocked: threads of a block wait at different barriers`,
      );
    }
    if (rc !== 0) throw new Error(`cuda emulator: ${fn.name}: launch failed (${rc})`);
    for (const b of touched) this.#checkGuard(b, fn.name);
  }

  // ------------------------------------------------------------ memory

  alloc(elements: number, dtype: DType): CudaBuffer {
    if (!Number.isInteger(elements) || elements < 0) {
      throw new Error(`cuda emulator: alloc of ${elements} elements`);
    }
    const bytes = Math.max(256, Math.ceil((elements * itemSize(dtype)) / 256) * 256);
    const mem = new Uint8Array(new ArrayBuffer(bytes + GUARD));
    mem.fill(POISON, 0, bytes);
    mem.fill(GUARD_BYTE, bytes);
    const ptr = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(mem)));
    const buffer = { ptr, elements, dtype, bytes };
    this.#bufs.set(ptr, { buffer, mem, live: true });
    return buffer;
  }

  free(b: CudaBuffer): void {
    const h = this.#live(b, "free");
    h.live = false;
    h.mem.fill(POISON, 0, b.bytes);
  }

  zero(b: CudaBuffer): void {
    this.#live(b, "zero").mem.fill(0, 0, b.bytes);
  }

  write(b: CudaBuffer, data: ArrayBufferView): void {
    const h = this.#live(b, "write");
    if (data.byteLength > b.bytes) {
      throw new Error(`cuda emulator: write of ${data.byteLength} bytes into ${b.bytes}`);
    }
    h.mem.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  read(b: CudaBuffer, elements: number): ArrayBufferView {
    const h = this.#live(b, "read");
    const n = elements * itemSize(b.dtype);
    if (n > b.bytes) throw new Error(`cuda emulator: read of ${n} bytes from ${b.bytes}`);
    const copy = h.mem.slice(0, n).buffer;
    switch (b.dtype) {
      case "float32":
        return new Float32Array(copy);
      case "float16":
        return new Float16Array(copy);
      case "int32":
        return new Int32Array(copy);
      default:
        return new Uint8Array(copy);
    }
  }

  /** Buffers allocated and not freed. */
  liveBuffers(): number {
    let n = 0;
    for (const b of this.#bufs.values()) if (b.live) n++;
    return n;
  }

  #live(b: CudaBuffer, what: string): HostBuffer {
    const h = this.#bufs.get(b.ptr);
    if (!h || !h.live) throw new Error(`cuda emulator: ${what} of a buffer that is not live`);
    return h;
  }

  #owner(p: bigint, what: string): HostBuffer {
    const h = this.#bufs.get(p);
    if (h && h.live) return h;
    for (const b of this.#bufs.values()) {
      if (b.live && p >= b.buffer.ptr && p <= b.buffer.ptr + BigInt(b.buffer.bytes)) return b;
    }
    throw new Error(`cuda emulator: ${what} points into no live buffer`);
  }

  #checkGuard(h: HostBuffer, name: string): void {
    const m = h.mem;
    for (let i = h.buffer.bytes; i < m.length; i++) {
      if (m[i] !== GUARD_BYTE) {
        throw new Error(
          `cuda emulator: ${name} wrote past the end of a ${h.buffer.elements}-element ` +
            `${h.buffer.dtype} buffer (${h.buffer.bytes} bytes)`,
        );
      }
    }
  }

  // ------------------------------------------------------------ cuBLAS

  #f32(b: CudaBuffer): Float32Array {
    const h = this.#live(b, "sgemm");
    return new Float32Array(h.mem.buffer, 0, b.bytes / 4);
  }

  #sgemm(a: SgemmArgs): void {
    planSgemm(a); // the runtime's own checks of sizes, leading dims and extents
    this.gemms++;
    hostSgemm(a, this.#f32(a.a), this.#f32(a.b), this.#f32(a.c));
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
