/**
 * The cuda runtime's host-side logic, without a GPU: the caching allocator over fake device
 * memory (size classes, reuse, double free, statistics, the free-cache-and-retry path and the
 * OutOfMemoryError message), kernel argument packing and launch checks, the row-major → column-major
 * sgemm mapping and its bounds checks, the module cache (memory, disk, corrupt files, permissions)
 * and the library search order.
 */

import assert from "node:assert/strict";
import { DTypeError, OutOfMemoryError, ShapeError, ValueError } from "../../mod.ts";
import { CachingAllocator, sizeClass } from "../../plugins/cuda/runtime/allocator.ts";
import type { RawMemory } from "../../plugins/cuda/runtime/allocator.ts";
import { ArgPacker, launchDims, MAX_ARGS } from "../../plugins/cuda/runtime/launch.ts";
import { planSgemm } from "../../plugins/cuda/runtime/cublas.ts";
import type { SgemmArgs } from "../../plugins/cuda/runtime/cublas.ts";
import {
  ModuleCache,
  moduleKey,
  resolveCacheDir,
  writeFileAtomicSync,
} from "../../plugins/cuda/runtime/module_cache.ts";
import {
  candidates,
  LIBCUBLAS,
  LIBCUDA,
  LIBNVRTC,
  nvrtcSpec,
  openLibrary,
  searchDirs,
} from "../../plugins/cuda/runtime/libs.ts";
import type { CudaBuffer, CudaFunction } from "../../plugins/cuda/types.ts";

const has = (name: "ffi" | "read" | "write" | "env") =>
  Deno.permissions.querySync({ name }).state === "granted";
const noFfi = !has("ffi");
const noFiles = !has("read") || !has("write");
const noEnv = !has("env");

/** Fake device memory: addresses from a counter, a byte budget, a log of calls. */
function fakeMemory(budget: number) {
  let next = 0x1000n, used = 0;
  const blocks = new Map<bigint, number>();
  const log: string[] = [];
  const raw: RawMemory = {
    alloc(bytes) {
      if (used + bytes > budget) {
        log.push(`oom ${bytes}`);
        return "oom";
      }
      const p = next;
      next += BigInt(bytes);
      blocks.set(p, bytes);
      used += bytes;
      log.push(`alloc ${bytes}`);
      return p;
    },
    free(ptr) {
      const b = blocks.get(ptr);
      assert.ok(b !== undefined, `free of unknown block ${ptr}`);
      blocks.delete(ptr);
      used -= b;
      log.push(`free ${b}`);
    },
    sync: () => void log.push("sync"),
    info: () => ({ free: budget - used, total: budget }),
  };
  return { raw, log, used: () => used };
}

Deno.test("cuda allocator: size classes are powers of two, then eighths, never below 256", () => {
  assert.equal(sizeClass(0), 256);
  assert.equal(sizeClass(1), 256);
  assert.equal(sizeClass(257), 512);
  assert.equal(sizeClass(1 << 20), 1 << 20);
  assert.equal(sizeClass((1 << 20) + 1), (1 << 20) + (1 << 18)); // 2 MiB / 8 steps
  assert.equal(sizeClass(3_000_000), 3_145_728);
  for (const b of [1, 1000, 123_456, 5_000_000, 77_777_777]) {
    const c = sizeClass(b);
    assert.ok(c >= b && c <= Math.max(256, b * 2), `${b} -> ${c}`);
    assert.equal(sizeClass(c), c, "a size class is its own class");
  }
});

Deno.test("cuda allocator: freed blocks are reused by size class and counted", () => {
  const mem = fakeMemory(1 << 30);
  const a = new CachingAllocator(mem.raw);
  const x = a.alloc(100, "float32");
  assert.deepEqual([x.elements, x.dtype, x.bytes], [100, "float32", 512]);
  assert.ok(Object.isFrozen(x));
  const y = a.alloc(3, "bool");
  assert.equal(y.bytes, 256);
  assert.equal(a.stats().liveBytes, 768);
  a.free(x);
  assert.deepEqual(
    [a.stats().liveBytes, a.stats().pooledBytes, a.stats().pooledBuffers],
    [256, 512, 1],
  );
  const z = a.alloc(128, "int32"); // 512 bytes: the freed block
  assert.equal(z.ptr, x.ptr);
  assert.notEqual(z, x);
  const s = a.stats();
  assert.deepEqual(
    [s.deviceAllocs, s.cacheHits, s.pooledBuffers, s.liveBuffers, s.peakBytes],
    [2, 1, 0, 2, 768],
  );
  // A stale reference to the reused block is refused, as is a double free.
  assert.throws(() => a.free(x), ValueError);
  a.free(z);
  assert.throws(() => a.free(z), /not a live buffer of this device \(freed twice/);
  assert.throws(() => a.free({ ptr: 5n, elements: 1, dtype: "float32", bytes: 256 }), ValueError);
  a.emptyCache();
  assert.deepEqual(mem.log.slice(-2), ["sync", "free 512"]);
  assert.equal(a.stats().pooledBytes, 0);
  a.free(y);
  a.releaseAll();
  assert.equal(mem.used(), 0);
});

Deno.test("cuda allocator: bad element counts and dtypes are named errors", () => {
  const a = new CachingAllocator(fakeMemory(1 << 20).raw);
  assert.throws(() => a.alloc(-1, "float32"), /elements must be a non-negative integer, got -1/);
  assert.throws(() => a.alloc(1.5, "float32"), ValueError);
  assert.throws(() => a.alloc(2, "float64" as "float32"), DTypeError);
  assert.equal(a.alloc(0, "float16").bytes, 256);
  assert.throws(() => new CachingAllocator(fakeMemory(1).raw, { maxPooledBytes: -1 }), ValueError);
});

Deno.test("cuda allocator: out of memory frees the cache, retries once, then names the bytes", () => {
  const mem = fakeMemory(4096);
  const a = new CachingAllocator(mem.raw);
  const held = a.alloc(512, "float32"); // 2048 bytes
  const cached = a.alloc(256, "float32"); // 1024 bytes
  a.free(cached);
  // 2048 + 1024 used on the device: 2048 bytes do not fit until the cache is released.
  const b = a.alloc(500, "float32");
  assert.equal(b.bytes, 2048);
  assert.deepEqual(mem.log.slice(-4), ["oom 2048", "sync", "free 1024", "alloc 2048"]);
  a.free(b);
  // Nothing can make 4 KiB fit now: an OutOfMemoryError with the numbers.
  const err = assert.throws(() => a.alloc(1000, "float32"), (e: unknown) => {
    assert.ok(e instanceof OutOfMemoryError);
    assert.match(
      e.message,
      /cannot allocate 4000 bytes \(1000 float32 elements, a 4096-byte block\).*2048 cached bytes were released.*2048 bytes are held by live buffers.*2048 of 4096 bytes free/,
    );
    return true;
  });
  void err;
  assert.deepEqual(mem.log.slice(-4), ["oom 4096", "sync", "free 2048", "oom 4096"]);
  a.free(held);
});

Deno.test("cuda allocator: maxPooledBytes returns blocks past the cap to the driver", () => {
  const mem = fakeMemory(1 << 20);
  const a = new CachingAllocator(mem.raw, { maxPooledBytes: 1024 });
  const x = a.alloc(256, "float32"), y = a.alloc(256, "float32");
  a.free(x);
  a.free(y);
  assert.equal(a.stats().pooledBytes, 1024);
  assert.equal(mem.log.at(-1), "free 1024");
});

const fn: CudaFunction = { name: "k", handle: 1n };
const buf: CudaBuffer = { ptr: 0xdead_beef_00n, elements: 4, dtype: "float32", bytes: 256 };

Deno.test({
  name: "cuda launch: arguments are packed into 8-byte slots with a pointer array",
  ignore: noFfi,
}, () => {
  const p = new ArgPacker();
  p.pack(fn, [{ ptr: buf }, { ptr: 42n }, { i32: -7 }, { u32: 4_000_000_000 }, { f32: 1.5 }, {
    i64: 2n ** 40n,
  }, { i64: -3 }], null);
  const v = p.values;
  assert.equal(v.getBigUint64(0, true), buf.ptr);
  assert.equal(v.getBigUint64(8, true), 42n);
  assert.equal(v.getInt32(16, true), -7);
  assert.equal(v.getUint32(24, true), 4_000_000_000);
  assert.equal(v.getFloat32(32, true), 1.5);
  assert.equal(v.getBigInt64(40, true), 2n ** 40n);
  assert.equal(v.getBigInt64(48, true), -3n);
  // params[i] is the address of slot i: consecutive 8-byte steps from the block's address.
  const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(v.buffer as ArrayBuffer)));
  assert.equal(p.params[0], base);
  for (let i = 1; i < MAX_ARGS; i++) assert.equal(p.params[i] - p.params[i - 1], 8n);
  // Reading through the pointer sees the packed value (what the driver does).
  const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(p.params[4])!);
  assert.equal(view.getFloat32(), 1.5);
});

Deno.test({
  name: "cuda launch: bad arguments are ValueErrors naming the kernel and argument",
  ignore: noFfi,
}, () => {
  const p = new ArgPacker();
  const bad: [unknown[], RegExp][] = [
    [[{ i32: 2 ** 31 }], /kernel "k": argument 0 \{ i32 \} must be an integer in int32 range/],
    [[{ i32: 1.5 }], /int32 range/],
    [[{ u32: -1 }], /uint32 range/],
    [[{ f32: "1" }], /must be a number/],
    [[{ i64: 2 ** 60 }], /safe integer or a bigint/],
    [[{ ptr: 3 }], /a CudaBuffer or a device pointer/],
    [[{ ptr: -1n }], /device pointer/],
    [[{ i32: 1, f32: 2 }], /argument 0 must be one of .* got \{ i32, f32 \}/],
    [[{ f64: 1 }], /got \{ f64 \}/],
    [[null], /got null/],
    [Array(MAX_ARGS + 1).fill({ i32: 0 }), /65 arguments, at most 64/],
  ];
  for (const [args, re] of bad) {
    assert.throws(() => p.pack(fn, args as never, null), (e: unknown) => {
      assert.ok(e instanceof ValueError, String(e));
      assert.match((e as Error).message, re);
      return true;
    });
  }
  // With the kernel's parameter sizes known, counts and widths are checked.
  assert.throws(() => p.pack(fn, [{ i32: 1 }], [4, 8]), /takes 2 parameters, 1 arguments given/);
  assert.throws(
    () => p.pack(fn, [{ i32: 1 }], [8]),
    /argument 0 is i32 \(4 bytes\) but the kernel's parameter 0 takes 8 bytes/,
  );
  p.pack(fn, [{ ptr: buf }, { f32: 0 }], [8, 4]);
});

Deno.test("cuda launch: geometry is checked; an empty grid launches nothing", () => {
  assert.deepEqual(launchDims(fn, { grid: [4], block: [256] }), {
    grid: [4, 1, 1],
    block: [256, 1, 1],
    shared: 0,
  });
  assert.equal(launchDims(fn, { grid: [0], block: [128] }), null);
  assert.deepEqual(
    launchDims(fn, { grid: [2, 3, 4], block: [8, 8, 4], sharedBytes: 4096 })!.shared,
    4096,
  );
  const bad: [unknown, RegExp][] = [
    [{ grid: [1], block: [1025] }, /block dimension x must be an integer in \[0, 1024\]/],
    [{ grid: [1], block: [64, 32] }, /2048 threads per block, at most 1024/],
    [{ grid: [1, 70000], block: [1] }, /grid dimension y/],
    [{ grid: [1.5], block: [1] }, /grid dimension x/],
    [{ grid: [], block: [1] }, /grid must be \[x, y\?, z\?\]/],
    [{ grid: [1], block: [0] }, /no threads/],
    [{ grid: [1], block: [1], sharedBytes: -1 }, /sharedBytes/],
    [{ grid: [1], block: [1], stream: 2 }, /unknown config key\(s\) stream/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => launchDims(fn, cfg as never), re);
});

function gemmArgs(o: Partial<SgemmArgs> & { m: number; n: number; k: number }): SgemmArgs {
  const f = (elements: number): CudaBuffer => ({
    ptr: 0x1000n,
    elements,
    dtype: "float32",
    bytes: elements * 4,
  });
  const { m, n, k } = o;
  return {
    transA: false,
    transB: false,
    alpha: 1,
    beta: 0,
    a: f(m * k),
    b: f(k * n),
    c: f(m * n),
    lda: o.transA ? m : k,
    ldb: o.transB ? k : n,
    ldc: n,
    strideA: 0,
    strideB: 0,
    strideC: 0,
    batch: 1,
    ...o,
  };
}

/** Column-major gemm, as cuBLAS computes it: C(ldc) = op(X)(ldx) · op(Y)(ldy). */
function colMajorGemm(
  ta: number,
  tb: number,
  m: number,
  n: number,
  k: number,
  x: Float32Array,
  ldx: number,
  y: Float32Array,
  ldy: number,
  c: Float32Array,
  ldc: number,
): void {
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const xv = ta ? x[p + i * ldx] : x[i + p * ldx];
        const yv = tb ? y[j + p * ldy] : y[p + j * ldy];
        s += xv * yv;
      }
      c[i + j * ldc] = s;
    }
  }
}

Deno.test("cuda sgemm: the column-major call computes the row-major product (every transpose)", () => {
  const m = 3, n = 4, k = 5;
  const A = Float32Array.from({ length: m * k }, (_, i) => i * 0.5 - 2); // row-major m×k
  const B = Float32Array.from({ length: k * n }, (_, i) => (i % 7) - 3); // row-major k×n
  const want = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) want[i * n + j] += A[i * k + p] * B[p * n + j];
    }
  }
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      // Store the operands transposed where the flag says so.
      const a = transA
        ? Float32Array.from({ length: m * k }, (_, q) => A[(q % m) * k + Math.floor(q / m)])
        : A;
      const b = transB
        ? Float32Array.from({ length: k * n }, (_, q) => B[(q % k) * n + Math.floor(q / k)])
        : B;
      const g = planSgemm(gemmArgs({ m, n, k, transA, transB }));
      assert.deepEqual([g.m, g.n, g.k, g.first], [n, m, k, "b"]);
      const c = new Float32Array(m * n);
      colMajorGemm(g.transa, g.transb, g.m, g.n, g.k, b, g.ld[0], a, g.ld[1], c, g.ld[2]);
      assert.deepEqual(Array.from(c), Array.from(want), `transA=${transA} transB=${transB}`);
    }
  }
});

Deno.test("cuda sgemm: extents, strides, offsets and dtypes are checked before cuBLAS runs", () => {
  assert.throws(
    () => planSgemm(gemmArgs({ m: 4, n: 4, k: 4, lda: 3 })),
    /A is 4x4 \(row-major\) but its leading dimension is 3/,
  );
  assert.throws(
    () => planSgemm(gemmArgs({ m: 4, n: 4, k: 4, aOffset: 1 })),
    (e: unknown) =>
      e instanceof ShapeError && /A .* needs 17 elements, its buffer has 16/.test(e.message),
  );
  assert.throws(
    () => planSgemm(gemmArgs({ m: 2, n: 2, k: 2, batch: 3, strideA: 4 })),
    /A \(3 x 2x2, ld 2, stride 4, offset 0\) needs 12 elements/,
  );
  assert.throws(
    () =>
      planSgemm(
        gemmArgs({
          m: 2,
          n: 2,
          k: 2,
          batch: 2,
          strideC: 1,
          c: { ptr: 1n, elements: 100, dtype: "float32", bytes: 400 },
        }),
      ),
    /output matrices overlap/,
  );
  assert.throws(
    () =>
      planSgemm(
        gemmArgs({ m: 1, n: 1, k: 1, b: { ptr: 1n, elements: 1, dtype: "float16", bytes: 256 } }),
      ),
    /b must be a float32 buffer, got float16/,
  );
  assert.throws(
    () => planSgemm(gemmArgs({ m: -1, n: 1, k: 1 })),
    /m must be a non-negative integer/,
  );
  assert.throws(
    () => planSgemm(gemmArgs({ m: 1, n: 1, k: 1, alpha: NaN })),
    /alpha and beta must be finite/,
  );
  // Broadcast operands (stride 0) fit; k = 0 gets leading dimensions of at least 1.
  planSgemm(
    gemmArgs({
      m: 2,
      n: 2,
      k: 2,
      batch: 5,
      strideC: 4,
      c: { ptr: 1n, elements: 20, dtype: "float32", bytes: 80 },
    }),
  );
  assert.deepEqual(planSgemm(gemmArgs({ m: 2, n: 3, k: 0, lda: 0, ldb: 3 })).ld, [3, 1, 3]);
});

/** A fake NVRTC + driver: "compiles" to an ELF-tagged image, loads images as counters. */
function fakeModules() {
  const calls = { compile: 0, load: 0, unload: 0 };
  let next = 1n;
  return {
    calls,
    backend: {
      compile(source: string, label: string) {
        calls.compile++;
        if (source.includes("#error")) throw new Error(`compile error in ${label}`);
        return new Uint8Array([0x7f, 0x45, 0x4c, 0x46, ...new TextEncoder().encode(source)]);
      },
      load(image: Uint8Array) {
        calls.load++;
        if (image.length < 5) throw new Error("bad image");
        return next++;
      },
      unload() {
        calls.unload++;
      },
    },
  };
}

Deno.test({
  name: "cuda module cache: memory hits, disk hits across instances, atomic files",
  ignore: noFiles,
}, () => {
  const dir = Deno.makeTempDirSync({ prefix: "denn_cuda_cache_" });
  try {
    const f = fakeModules();
    const c1 = new ModuleCache(f.backend, "sm_90", 13000, [], dir);
    const src = 'extern "C" __global__ void k() {}';
    const m = c1.module(src, "k");
    assert.equal(c1.module(src, "k"), m);
    assert.deepEqual(
      [c1.stats().compiles, c1.stats().memoryHits, c1.stats().diskWrites, c1.stats().dir],
      [1, 1, 1, dir],
    );
    const key = moduleKey(src, "sm_90", 13000, []);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [`${key}.cubin`]);
    // A second cache (another process) loads the cubin from disk: no compile.
    const c2 = new ModuleCache(f.backend, "sm_90", 13000, [], dir);
    c2.module(src, "k");
    assert.deepEqual([c2.stats().compiles, c2.stats().diskHits], [0, 1]);
    assert.equal(f.calls.compile, 1);
    // Another arch, NVRTC version or option set is another key.
    assert.notEqual(moduleKey(src, "sm_80", 13000, []), key);
    assert.notEqual(moduleKey(src, "sm_90", 12080, []), key);
    assert.notEqual(moduleKey(src, "sm_90", 13000, ["-lineinfo"]), key);
    // A corrupt file is recompiled and replaced.
    Deno.writeFileSync(`${dir}/${key}.cubin`, new TextEncoder().encode("garbage"));
    const c3 = new ModuleCache(f.backend, "sm_90", 13000, [], dir);
    c3.module(src, "k");
    assert.equal(c3.stats().compiles, 1);
    assert.match(c3.stats().diskProblem!, /is not a cubin \(ELF\) image; recompiling/);
    assert.equal(Deno.readFileSync(`${dir}/${key}.cubin`)[0], 0x7f);
    // Compile errors propagate and cache nothing.
    assert.throws(() => c3.module("#error no", "bad"), /compile error in bad/);
    c1.clear();
    assert.equal(f.calls.unload, 1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cuda module cache: null cacheDir keeps modules in memory only", () => {
  const f = fakeModules();
  const c = new ModuleCache(f.backend, "sm_90", 13000, [], null);
  c.module("x", "k");
  assert.deepEqual([c.stats().dir, c.stats().diskWrites], [null, 0]);
  assert.match(c.stats().diskProblem!, /disabled/);
});

Deno.test({
  name: "cuda module cache: without write permission the disk cache is off, with the reason",
  ignore: noFfi || noFiles || noEnv,
  permissions: { read: true, write: false, env: true, ffi: true },
  fn() {
    const r = resolveCacheDir("/tmp/denn_cuda_no_write");
    assert.equal(r.dir, null);
    assert.match(
      r.why!,
      /no read\/write permission for the cache folder \/tmp\/denn_cuda_no_write/,
    );
  },
});

Deno.test({
  name: "cuda module cache: the folder comes from DENN_CUDA_CACHE, else XDG_CACHE_HOME, else HOME",
  ignore: noFiles || noEnv,
  permissions: { read: true, write: true, env: true },
  fn() {
    const saved = ["DENN_CUDA_CACHE", "XDG_CACHE_HOME", "HOME"].map((k) => [k, Deno.env.get(k)]);
    const tmp = Deno.makeTempDirSync();
    try {
      Deno.env.set("DENN_CUDA_CACHE", `${tmp}/a`);
      assert.equal(resolveCacheDir().dir, `${tmp}/a`);
      Deno.env.delete("DENN_CUDA_CACHE");
      Deno.env.set("XDG_CACHE_HOME", `${tmp}/x`);
      assert.equal(resolveCacheDir().dir, `${tmp}/x/denn/cuda`);
      Deno.env.delete("XDG_CACHE_HOME");
      Deno.env.set("HOME", `${tmp}/h`);
      assert.equal(resolveCacheDir().dir, `${tmp}/h/.cache/denn/cuda`);
      assert.ok(Deno.statSync(`${tmp}/h/.cache/denn/cuda`).isDirectory);
    } finally {
      for (const [k, v] of saved) v === undefined ? Deno.env.delete(k!) : Deno.env.set(k!, v);
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});

Deno.test(
  { name: "cuda module cache: atomic writes leave no temp file behind", ignore: noFiles },
  () => {
    const dir = Deno.makeTempDirSync();
    try {
      writeFileAtomicSync(`${dir}/f.bin`, new Uint8Array([1, 2, 3]));
      writeFileAtomicSync(`${dir}/f.bin`, new Uint8Array([4]));
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["f.bin"]);
      assert.deepEqual(Array.from(Deno.readFileSync(`${dir}/f.bin`)), [4]);
      assert.throws(() => writeFileAtomicSync(`${dir}/missing/f.bin`, new Uint8Array(1)));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("cuda libs: the driver is found by the loader only; NVRTC prefers the driver's major", () => {
  assert.deepEqual(candidates(LIBCUDA), ["libcuda.so.1"]);
  assert.deepEqual(candidates(LIBCUDA, "/x/libcuda.so.1"), ["/x/libcuda.so.1"]);
  for (const d of searchDirs()) assert.ok(!d.includes("/compat"), d);
  assert.deepEqual(nvrtcSpec(12).names, ["libnvrtc.so.12", "libnvrtc.so.13"]);
  assert.deepEqual(nvrtcSpec(13).names, ["libnvrtc.so.13", "libnvrtc.so.12"]);
  assert.deepEqual(LIBNVRTC.names.slice(0, 1), ["libnvrtc.so.13"]);
  const c = candidates(LIBCUBLAS);
  assert.deepEqual(c.slice(0, 2), ["libcublas.so.13", "libcublas.so.12"]);
  // The wheel folders of GPU.md are searched under a venv's site-packages.
  const venv = searchDirs().filter((d) => d.includes("/nvidia/"));
  for (const d of venv) {
    assert.match(d, /(site|dist)-packages\/nvidia\/(cu13|cudnn|cublas|cuda_nvrtc)\/lib$/);
  }
});

Deno.test({
  name: "cuda libs: a missing library's reason lists every path tried",
  ignore: noFfi || noEnv,
}, () => {
  const r = openLibrary(LIBNVRTC, {
    nvrtcVersion: { parameters: ["buffer", "buffer"], result: "i32" },
  });
  if (typeof r !== "string") {
    r.lib.close();
    return; // an NVRTC is installed here: nothing to check
  }
  assert.match(
    r,
    /^libnvrtc not found \(set DENN_NVRTC to its path\): libnvrtc\.so\.13: .*; libnvrtc\.so\.12: /,
  );
  assert.match(r, /also looked in: .*\/usr\/local\/cuda\/lib64/);
});
