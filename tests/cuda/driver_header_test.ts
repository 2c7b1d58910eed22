/**
 * The FFI signatures of the cuda runtime checked against the CUDA headers: every bound driver
 * symbol is declared in `cuda.h` under the name the header's `#define`s map to (`cuMemAlloc` →
 * `cuMemAlloc_v2`; a bare legacy name is an error unless listed as a fallback and declared in the
 * header's legacy section), with the same parameter count and compatible parameter types
 * (pointers as buffer/pointer/u64, `size_t` as usize/u64, `int` as i32, ...). NVRTC and cuBLAS
 * symbols are checked the same way against `nvrtc.h` and `cublas_api.h` where those headers are
 * installed. Skipped, with the reason printed, where a header is absent.
 */

import assert from "node:assert/strict";
import { driverSymbols, LEGACY_FALLBACKS } from "../../plugins/cuda/runtime/driver.ts";
import { nvrtcSymbols } from "../../plugins/cuda/runtime/nvrtc.ts";
import { cublasSymbols } from "../../plugins/cuda/runtime/cublas.ts";

type Symbols = Readonly<Record<string, Deno.ForeignFunction>>;

function env(name: string): string | undefined {
  try {
    return Deno.permissions.querySync({ name: "env", variable: name }).state === "granted"
      ? Deno.env.get(name)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The first readable file among `names` under the include folders. */
function findHeader(names: string[]): string | null {
  const roots = [env("CUDA_PATH"), env("CUDA_HOME"), "/usr/local/cuda"].filter((r) => r);
  const dirs = roots.map((r) => `${r}/include`);
  dirs.push("/usr/include");
  for (const d of dirs) {
    for (const n of names) {
      try {
        return Deno.readTextFileSync(`${d}/${n}`) && `${d}/${n}`;
      } catch {
        // next
      }
    }
  }
  return null;
}

interface Proto {
  name: string;
  result: string;
  params: string[];
}

/** Prototypes `RESULT [ATTRS] name(params);` with one of the given result types. */
function prototypes(text: string, results: string[]): Map<string, Proto> {
  const noComments = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
  const re = new RegExp(
    String.raw`\b(${results.join("|")})(?:\s+|(?<=\*)\s*)(?:[A-Z_]+\s+)*(\w+)\s*\(([^()]*)\)\s*;`,
    "g",
  );
  const out = new Map<string, Proto>();
  for (const m of noComments.matchAll(re)) {
    const raw = m[3].replace(/\s+/g, " ").trim();
    const params = raw === "" || raw === "void" ? [] : raw.split(",").map((p) => p.trim());
    if (!out.has(m[2])) out.set(m[2], { name: m[2], result: m[1], params });
  }
  return out;
}

/** `#define a b` and `#define a __CUDA_API_PTSZ(b)` (identity in the default build). */
function defines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^\s*#define\s+(\w+)\s+(?:__CUDA_API_PT(?:DS|SZ)\((\w+)\)|(\w+))\s*$/gm;
  for (const m of text.matchAll(re)) {
    if (!out.has(m[1])) out.set(m[1], m[2] ?? m[3]);
  }
  return out;
}

/** The FFI parameter types a C parameter declaration may be bound as. */
function allowed(decl: string): string[] {
  const t = decl.replace(/\b(const|volatile|restrict)\b/g, "").replace(/\s+/g, " ").trim();
  if (t.includes("*") || t.includes("[")) return ["buffer", "pointer", "u64", "usize"];
  const type = t.split(" ").slice(0, -1).join(" ") || t;
  if (/^(size_t)$/.test(type)) return ["usize", "u64"];
  if (/^(long long|long long int|int64_t)$/.test(type)) return ["i64"];
  if (/^(unsigned long long|CUdeviceptr|CUdeviceptr_v2|cuuint64_t)$/.test(type)) return ["u64"];
  if (
    /^(CUcontext|CUstream|CUmodule|CUfunction|CUevent|CUgraph|CUgraphExec|nvrtcProgram|cublasHandle_t|cudaStream_t)$/
      .test(type)
  ) {
    return ["u64", "pointer"];
  }
  if (/^(unsigned int|unsigned|cuuint32_t)$/.test(type)) return ["u32"];
  if (/^unsigned char$/.test(type)) return ["u8"];
  if (/^float$/.test(type)) return ["f32"];
  if (/^double$/.test(type)) return ["f64"];
  // int, CUdevice, CUresult, enums (CUdevice_attribute, cublasOperation_t, cudaDataType, ...)
  return ["i32", "u32"];
}

function checkTable(
  label: string,
  symbols: Symbols,
  protos: Map<string, Proto>,
  map: Map<string, string>,
  legacy: Map<string, Proto>,
): string[] {
  const problems: string[] = [];
  const bound = new Set(Object.entries(symbols).map(([k, f]) => (f.name as string) ?? k));
  for (const [key, fn] of Object.entries(symbols)) {
    const sym = (fn.name as string | undefined) ?? key;
    let proto: Proto | undefined;
    if (LEGACY_FALLBACKS[sym]) {
      proto = legacy.get(sym);
      if (!proto) problems.push(`${label} ${sym}: a legacy fallback not declared in the header`);
      if (!bound.has(LEGACY_FALLBACKS[sym])) {
        problems.push(`${label} ${sym}: bound without its versioned ${LEGACY_FALLBACKS[sym]}`);
      }
      if (!fn.optional) problems.push(`${label} ${sym}: a legacy fallback must be optional`);
    } else {
      // The header's name for sym: itself where no #define renames it, or the #define's source.
      const sources = [...map].filter(([, to]) => to === sym).map(([from]) => from);
      const renamed = map.get(sym);
      if (renamed && renamed !== sym) {
        problems.push(`${label} ${sym}: a legacy name; cuda.h maps it to ${renamed}`);
        continue;
      }
      for (const n of [sym, ...sources]) proto ??= protos.get(n);
      if (!proto) {
        problems.push(`${label} ${sym}: not declared in the header`);
        continue;
      }
    }
    if (!proto) continue;
    if (proto.params.length !== fn.parameters.length) {
      problems.push(
        `${label} ${sym}: ${fn.parameters.length} FFI parameters, the prototype ${proto.name} ` +
          `has ${proto.params.length} (${proto.params.join(", ")})`,
      );
      continue;
    }
    proto.params.forEach((p, i) => {
      const ok = allowed(p);
      if (!ok.includes(fn.parameters[i] as string)) {
        problems.push(
          `${label} ${sym}: parameter ${i} "${p}" is bound as ${fn.parameters[i]} (expected ${
            ok.join(" or ")
          })`,
        );
      }
    });
  }
  return problems;
}

const cudaH = findHeader(["cuda.h"]);
if (!cudaH) {
  console.log(
    "cuda.h header test skipped: no cuda.h under CUDA_PATH, CUDA_HOME or /usr/local/cuda",
  );
}

Deno.test({
  name: "cuda driver FFI symbols match cuda.h: versioned names, parameter counts and types",
  ignore: !cudaH,
  fn() {
    const text = Deno.readTextFileSync(cudaH!);
    const cut = text.indexOf("#if defined(__CUDA_API_VERSION_INTERNAL)\n    #undef");
    assert.ok(cut > 0, "cuda.h: the legacy (API versioning) section was not found");
    const main = text.slice(0, cut), tail = text.slice(cut);
    const protos = prototypes(main, ["CUresult"]);
    assert.ok(protos.size > 300, `parsed only ${protos.size} prototypes from ${cudaH}`);
    const map = defines(main);
    assert.equal(map.get("cuMemAlloc"), "cuMemAlloc_v2", "the #define parser");
    assert.equal(map.get("cuMemcpyHtoD"), "cuMemcpyHtoD_v2", "the PTDS #define parser");
    const legacy = prototypes(tail, ["CUresult"]);
    const symbols = driverSymbols() as unknown as Symbols;
    const problems = checkTable("driver", symbols, protos, map, legacy);
    assert.deepEqual(problems, []);
    // Every function the brief names is bound.
    for (
      const s of [
        "cuInit",
        "cuDriverGetVersion",
        "cuMemAlloc_v2",
        "cuMemFree_v2",
        "cuMemcpyHtoD_v2",
        "cuMemcpyDtoH_v2",
        "cuMemcpyDtoDAsync_v2",
        "cuMemGetInfo_v2",
        "cuDevicePrimaryCtxRelease_v2",
        "cuLaunchKernel",
        "cuEventElapsedTime_v2",
        // CUDA graphs (captureStep)
        "cuStreamBeginCapture_v2",
        "cuStreamEndCapture",
        "cuGraphInstantiateWithFlags",
        "cuGraphLaunch",
        "cuGraphExecDestroy",
        "cuGraphDestroy",
      ]
    ) assert.ok(s in symbols, `${s} is bound`);
  },
});

Deno.test("cuda header parser: finds a wrong parameter count, a legacy name and a bad type", () => {
  const header = `
#define cuMemAlloc cuMemAlloc_v2
#define cuMemcpyHtoD __CUDA_API_PTDS(cuMemcpyHtoD_v2)
CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dptr, size_t bytesize);
CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
CUresult CUDAAPI cuInit(unsigned int Flags);`;
  const protos = prototypes(header, ["CUresult"]), map = defines(header);
  const bad: Symbols = {
    cuMemAlloc: { parameters: ["buffer", "usize"], result: "i32" },
    cuMemcpyHtoD_v2: { parameters: ["u64", "buffer"], result: "i32" },
    cuInit: { parameters: ["f32"], result: "i32" },
  };
  const problems = checkTable("driver", bad, protos, map, new Map());
  assert.equal(problems.length, 3, problems.join("\n"));
  assert.match(problems[0], /cuMemAlloc: a legacy name; cuda.h maps it to cuMemAlloc_v2/);
  assert.match(problems[1], /cuMemcpyHtoD_v2: 2 FFI parameters, the prototype cuMemcpyHtoD has 3/);
  assert.match(problems[2], /cuInit: parameter 0 "unsigned int Flags" is bound as f32/);
});

const nvrtcH = findHeader(["nvrtc.h"]);
if (!nvrtcH) console.log("nvrtc.h header test skipped: nvrtc.h is not installed here");

Deno.test({
  name: "cuda NVRTC FFI symbols match nvrtc.h",
  ignore: !nvrtcH,
  fn() {
    const protos = prototypes(Deno.readTextFileSync(nvrtcH!), ["nvrtcResult", "const char\\s*\\*"]);
    const problems = checkTable(
      "nvrtc",
      nvrtcSymbols() as unknown as Symbols,
      protos,
      new Map(),
      new Map(),
    );
    assert.deepEqual(problems, []);
  },
});

const cublasH = findHeader(["cublas_api.h"]);
if (!cublasH) console.log("cublas_api.h header test skipped: cublas_api.h is not installed here");

Deno.test({
  name: "cuda cuBLAS FFI symbols match cublas_api.h",
  ignore: !cublasH,
  fn() {
    const protos = prototypes(Deno.readTextFileSync(cublasH!), [
      "cublasStatus_t",
      "const char\\s*\\*",
    ]);
    const problems = checkTable(
      "cublas",
      cublasSymbols() as unknown as Symbols,
      protos,
      new Map(),
      new Map(),
    );
    assert.deepEqual(problems, []);
  },
});
