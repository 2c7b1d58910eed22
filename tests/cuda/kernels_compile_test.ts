// Compiles every CUDA C source the cuda kernel table can generate (allKernelSources) with nvcc to
// cubin for sm_80 and sm_90, warnings as errors, batched into one .cu file per arch (each source
// in its own namespace: the kernels are extern "C", so their names stay unmangled and must be
// unique). Also checks names, that every table op has its sources, that sources are
// self-contained (no #include, nothing only the host headers define, as NVRTC compiles them), and,
// where libnvrtc is found (DENN_NVRTC_LIB, or the CUDA toolkit's lib64), compiles the same batch
// through NVRTC as the runtime does. Skips with a printed reason where nvcc is absent.

import assert from "node:assert/strict";
import { allKernelSources, cudaKernels, DECLINING_OPS } from "../../plugins/cuda/kernels/mod.ts";
import type { KernelSource } from "../../plugins/cuda/kernels/mod.ts";

const ARCHS = ["sm_80", "sm_90"];

async function findNvcc(): Promise<string | null> {
  for (const c of ["nvcc", "/usr/local/bin/nvcc", "/usr/local/cuda/bin/nvcc"]) {
    try {
      const r = await new Deno.Command(c, { args: ["--version"], stdout: "null", stderr: "null" })
        .output();
      if (r.success) return c;
    } catch {
      // not there
    }
  }
  return null;
}

/** All sources as one translation unit, each in its own namespace. */
function batch(sources: readonly KernelSource[]): string {
  return sources.map((s, i) => `namespace denn_tu${i} {\n${s.source}}\n`).join("\n");
}

function containsSymbol(bin: Uint8Array, name: string): boolean {
  const needle = new TextEncoder().encode(`\0${name}\0`);
  outer: for (let i = 0; i + needle.length <= bin.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bin[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("cuda kernels: names are unique C identifiers and every table op has sources", () => {
  const all = allKernelSources();
  const names = all.map((s) => s.name);
  assert.deepEqual(new Set(names).size, names.length, "kernel names must be unique");
  for (const s of all) {
    assert(/^denn_[A-Za-z0-9_]+$/.test(s.name), `bad kernel name ${s.name}`);
    // The one extern "C" kernel of the source is the named one.
    const kernels = [...s.source.matchAll(/extern "C" __global__ void (\w+)\(/g)].map((m) => m[1]);
    assert.deepEqual(kernels, [s.name], `source of ${s.name} defines ${kernels.join(", ")}`);
    assert(
      !/#\s*include/.test(s.source),
      `${s.name} includes a header (NVRTC has no include path)`,
    );
    for (const bad of ["INFINITY", "NAN", "isnan(", "std::", "printf", "__half", "half2"]) {
      assert(!s.source.includes(bad), `${s.name} uses ${bad}, which NVRTC does not define`);
    }
  }
  const table = cudaKernels();
  const covered = new Set(all.flatMap((s) => s.ops ?? []));
  for (const op of Object.keys(table)) {
    if (DECLINING_OPS.includes(op)) continue;
    assert(covered.has(op) || op === "matmul", `op ${op} has no listed source`);
  }
  assert(covered.has("matmul"), "matmul's float16 casts are listed");
  for (const op of covered) assert(op in table, `sources list op ${op}, which the table lacks`);
});

Deno.test("cuda kernels: every source compiles with nvcc for sm_80 and sm_90, -Werror", async () => {
  const nvcc = await findNvcc();
  if (!nvcc) {
    console.log("SKIPPED: nvcc not found on PATH, /usr/local/bin or /usr/local/cuda/bin");
    return;
  }
  const all = allKernelSources();
  const dir = await Deno.makeTempDir({ prefix: "denn_cuda_kernels_" });
  try {
    const cu = `${dir}/all.cu`;
    await Deno.writeTextFile(cu, batch(all));
    const t0 = performance.now();
    await Promise.all(ARCHS.map(async (arch) => {
      const out = `${dir}/all_${arch}.cubin`;
      const r = await new Deno.Command(nvcc, {
        args: ["-cubin", `-arch=${arch}`, "-Werror", "all-warnings", "-o", out, cu],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
      assert(r.success, `nvcc -arch=${arch} failed:\n${log.slice(0, 8000)}`);
      assert.deepEqual(log.trim(), "", `nvcc -arch=${arch} printed diagnostics:\n${log}`);
      const bin = await Deno.readFile(out);
      const missing = all.filter((s) => !containsSymbol(bin, s.name)).map((s) => s.name);
      assert.deepEqual(missing, [], `kernels missing from the ${arch} cubin`);
    }));
    console.log(
      `compiled ${all.length} kernels for ${ARCHS.join(" and ")} in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function nvrtcPath(): string | null {
  let env: string | undefined;
  try {
    env = Deno.env.get("DENN_NVRTC_LIB");
  } catch {
    env = undefined;
  }
  const candidates = [
    env,
    "/usr/local/cuda/lib64/libnvrtc.so.13",
    "/usr/local/cuda/lib64/libnvrtc.so",
  ].filter((p): p is string => !!p);
  for (const p of candidates) {
    try {
      Deno.statSync(p);
      return p;
    } catch {
      // not there
    }
  }
  return null;
}

Deno.test("cuda kernels: the batch compiles through NVRTC to sm_90 cubin (where libnvrtc exists)", () => {
  const path = nvrtcPath();
  if (!path) {
    console.log("SKIPPED: libnvrtc not found (set DENN_NVRTC_LIB to a libnvrtc.so.13)");
    return;
  }
  const lib = Deno.dlopen(path, {
    nvrtcCreateProgram: {
      parameters: ["buffer", "buffer", "buffer", "i32", "pointer", "pointer"],
      result: "i32",
    },
    nvrtcCompileProgram: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
    nvrtcGetProgramLogSize: { parameters: ["pointer", "buffer"], result: "i32" },
    nvrtcGetProgramLog: { parameters: ["pointer", "buffer"], result: "i32" },
    nvrtcGetCUBINSize: { parameters: ["pointer", "buffer"], result: "i32" },
    nvrtcGetCUBIN: { parameters: ["pointer", "buffer"], result: "i32" },
    nvrtcDestroyProgram: { parameters: ["buffer"], result: "i32" },
  });
  try {
    const all = allKernelSources();
    const cstr = (s: string) => new TextEncoder().encode(s + "\0");
    const progBox = new BigUint64Array(1);
    const src = cstr(batch(all));
    assert.deepEqual(
      lib.symbols.nvrtcCreateProgram(progBox, src, cstr("denn_all.cu"), 0, null, null),
      0,
    );
    const prog = Deno.UnsafePointer.create(progBox[0]);
    const opts = ["--gpu-architecture=sm_90", "--std=c++17"].map(cstr);
    const ptrs = new BigUint64Array(
      opts.map((o) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(o)))),
    );
    const rc = lib.symbols.nvrtcCompileProgram(prog, opts.length, ptrs);
    const size = new BigUint64Array(1);
    lib.symbols.nvrtcGetProgramLogSize(prog, size);
    const log = new Uint8Array(Number(size[0]));
    lib.symbols.nvrtcGetProgramLog(prog, log);
    const text = new TextDecoder().decode(log).replace(/\0+$/, "").trim();
    assert.deepEqual(rc, 0, `NVRTC failed:\n${text.slice(0, 8000)}`);
    assert.deepEqual(text, "", `NVRTC printed diagnostics:\n${text}`);
    lib.symbols.nvrtcGetCUBINSize(prog, size);
    const bin = new Uint8Array(Number(size[0]));
    assert.deepEqual(lib.symbols.nvrtcGetCUBIN(prog, bin), 0);
    const missing = all.filter((s) => !containsSymbol(bin, s.name)).map((s) => s.name);
    assert.deepEqual(missing, [], "kernels missing from the NVRTC cubin");
    lib.symbols.nvrtcDestroyProgram(progBox);
    // Keep the option strings alive until the compile is done.
    void opts;
  } finally {
    lib.close();
  }
});
