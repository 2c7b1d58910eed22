// Host-side checks of the cuda kernel table without a GPU: every kernel's run() is called on small
// inputs with a fake Cuda context that records allocations, compilations and launches. Each launch
// must use a (name, source) pair that allKernelSources() lists, pass arguments matching the CUDA C
// signature (count and kind, parsed from the source), use sane grid/block sizes and only pointers
// to buffers that exist; outputs must have the inferred element counts and dtypes; unsupported
// cases must decline with reasons.

import assert from "node:assert/strict";
import "../../mod.ts";
import { getOp, IndexError, sizeOf, Storage, Tensor } from "../../core/mod.ts";
import type { DType, TensorSpec } from "../../core/mod.ts";
import { allKernelSources, cudaKernels, DECLINING_OPS } from "../../plugins/cuda/kernels/mod.ts";
import { takeIndexError } from "../../plugins/cuda/kernels/kit.ts";
import { MAX_DIMS } from "../../plugins/cuda/kernels/kit_source.ts";
import type {
  Cuda,
  CudaBuffer,
  CudaFunction,
  KernelArg,
  LaunchConfig,
} from "../../plugins/cuda/types.ts";
import { FAKE_BACKEND, signature, UNARY_OPS } from "./_fake.ts";

interface Launch {
  fn: CudaFunction;
  config: LaunchConfig;
  args: readonly KernelArg[];
}

interface Gemm {
  m: number;
  n: number;
  k: number;
  batch: number;
  a: CudaBuffer;
  b: CudaBuffer;
  c: CudaBuffer;
  lda: number;
  ldb: number;
  ldc: number;
}

class FakeCuda implements Cuda {
  readonly arch = "sm_90";
  readonly deviceName = "fake";
  next = 0x1000n;
  allocs: CudaBuffer[] = [];
  freed: CudaBuffer[] = [];
  zeroed: CudaBuffer[] = [];
  compiled = new Map<bigint, { name: string; source: string }>();
  launches: Launch[] = [];
  gemms: Gemm[] = [];
  blas: Cuda["blas"];
  blasUnavailable: string | null;

  constructor(withBlas = true) {
    this.blas = withBlas
      ? {
        allowTF32: false,
        sgemm: (a) => {
          this.gemms.push(a);
        },
      }
      : null;
    this.blasUnavailable = withBlas ? null : "libcublas.so.13: cannot open shared object file";
  }

  buffer(elements: number, dtype: DType): CudaBuffer {
    const bytes = elements * (dtype === "bool" ? 1 : dtype === "float16" ? 2 : 4);
    const b = { ptr: this.next, elements, dtype, bytes };
    this.next += BigInt(Math.max(256, bytes));
    return b;
  }
  alloc(elements: number, dtype: DType): CudaBuffer {
    assert(Number.isInteger(elements) && elements >= 0, `alloc of ${elements} elements`);
    const b = this.buffer(elements, dtype);
    this.allocs.push(b);
    return b;
  }
  free(b: CudaBuffer): void {
    this.freed.push(b);
  }
  zero(b: CudaBuffer): void {
    this.zeroed.push(b);
  }
  kernel(source: string, name: string): CudaFunction {
    assert(source.includes(`extern "C" __global__ void ${name}(`), `${name} not in its source`);
    const handle = BigInt(this.compiled.size + 1);
    for (const [h, k] of this.compiled) if (k.name === name) return { name, handle: h };
    this.compiled.set(handle, { name, source });
    return { name, handle };
  }
  launch(fn: CudaFunction, config: LaunchConfig, args: readonly KernelArg[]): void {
    this.launches.push({ fn, config, args });
  }
  write(): void {}
  read(_b: CudaBuffer, elements: number): ArrayBufferView {
    return new Uint32Array(elements);
  }
}

function tensor(
  cuda: FakeCuda,
  shape: number[],
  dtype: DType = "float32",
  layout?: { offset: number; strides: number[]; size: number },
): Tensor {
  const size = layout ? layout.size : sizeOf(shape);
  const h = cuda.buffer(size, dtype);
  return Tensor.fromStorage(new Storage(h, FAKE_BACKEND, size), shape, dtype, "cuda", layout);
}

const SOURCES = new Map(allKernelSources().map((s) => [s.name, s.source]));

/** Runs `op` through the table and checks everything recorded; returns the context. */
function check(
  op: string,
  inputs: Tensor[],
  attrs: Record<string, unknown>,
  cuda: FakeCuda = inputs.length ? ctxOf(inputs[0]) : new FakeCuda(),
): FakeCuda {
  const entry = cudaKernels()[op];
  assert(entry, `no kernel for ${op}`);
  const def = getOp(op);
  assert(def, `no op ${op}`);
  const specs: TensorSpec[] = def.infer(inputs, attrs as never);
  if (entry.dtypes) {
    assert(entry.dtypes.includes(inputs[0].dtype), `${op} does not take ${inputs[0].dtype}`);
  }
  const ok = entry.supports ? entry.supports(inputs, attrs, cuda) : true;
  assert.equal(ok, true, `${op} declined: ${ok}`);
  const before = cuda.launches.length;
  const outs = entry.run(inputs, attrs, specs, cuda);
  assert.equal(outs.length, specs.length, `${op}: ${outs.length} outputs for ${specs.length}`);
  outs.forEach((o, i) => {
    assert.equal(o.elements, sizeOf(specs[i].shape), `${op} output ${i} elements`);
    assert.equal(o.dtype, specs[i].dtype, `${op} output ${i} dtype`);
  });
  const known = new Set([
    ...cuda.allocs.map((b) => b.ptr),
    ...inputs.map((t) => (t.storage.handle as CudaBuffer).ptr),
  ]);
  const launches = cuda.launches.slice(before);
  const empty = specs.every((s) => sizeOf(s.shape) === 0) && inputs.every((t) => t.numel() === 0);
  assert(launches.length > 0 || cuda.gemms.length > 0 || empty, `${op} launched nothing`);
  for (const l of launches) {
    const k = cuda.compiled.get(l.fn.handle);
    assert(k, `${op} launched an uncompiled function`);
    assert.equal(
      SOURCES.get(k.name),
      k.source,
      `${op}: ${k.name} is not listed by allKernelSources`,
    );
    const sig = signature(k.source, k.name).map((p) => p.kind);
    assert.deepEqual(l.args.map((a) => Object.keys(a)[0]), sig, `${op}: arguments of ${k.name}`);
    const [gx, gy = 1, gz = 1] = l.config.grid;
    const [bx, by = 1, bz = 1] = l.config.block;
    for (const g of [gx, gy, gz]) assert(Number.isInteger(g) && g >= 1 && g <= 2 ** 31 - 1);
    assert(gy <= 65535 && gz <= 65535, `${op}: grid y/z ${gy}, ${gz}`);
    assert(Number.isInteger(bx) && bx >= 32 && bx % 32 === 0, `${op}: block ${bx}`);
    assert(bx * by * bz <= 1024, `${op}: ${bx * by * bz} threads per block`);
    for (const a of l.args) {
      if ("ptr" in a) {
        const p = typeof a.ptr === "bigint" ? a.ptr : a.ptr.ptr;
        assert(known.has(p), `${op}: ${k.name} got a pointer to no known buffer`);
      }
      if ("i32" in a) assert(Number.isInteger(a.i32) && Math.abs(a.i32) < 2 ** 31);
      if ("i64" in a) assert(Number.isInteger(Number(a.i64)));
      if ("f32" in a) assert(typeof a.f32 === "number");
    }
    // Element counts passed as the first i64 never exceed the largest buffer involved.
  }
  // Every output buffer is written: by a launch, a GEMM or a zero fill.
  for (const o of outs) {
    if (o.elements === 0) continue;
    const written = launches.some((l) => l.args.some((a) => "ptr" in a && a.ptr === o)) ||
      cuda.gemms.some((g) => g.c === o) || cuda.zeroed.includes(o);
    assert(written, `${op}: an output is never written`);
  }
  return cuda;
}

const contexts = new WeakMap<Tensor, FakeCuda>();
function ctxOf(t: Tensor): FakeCuda {
  return contexts.get(t)!;
}

// Tensors made on one context.
function on(cuda: FakeCuda) {
  return (shape: number[], dtype: DType = "float32", layout?: Parameters<typeof tensor>[3]) => {
    const t = tensor(cuda, shape, dtype, layout);
    contexts.set(t, cuda);
    return t;
  };
}

const UNARY = [...UNARY_OPS, "logicalNot"];
const BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"];
const COMPARE = ["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"];
const DTYPES: DType[] = ["float32", "float16", "int32", "bool"];

Deno.test("cuda table: elementwise ops over every dtype they take, with broadcasting", () => {
  const table = cudaKernels();
  for (const op of [...UNARY, ...BINARY, ...COMPARE]) {
    const dts = table[op].dtypes ?? DTYPES;
    for (const d of dts) {
      const t = on(new FakeCuda());
      const inputs = UNARY.includes(op) ? [t([2, 3], d)] : [t([2, 3], d), t([3], d)];
      const cuda = check(op, inputs, {});
      // Broadcast operand: the second input's stride along dim 0 is 0.
      if (inputs.length === 2) {
        const args = cuda.launches[0].args;
        // out, a, b, n, rank, 8 sizes, 8 a strides, 8 b strides
        assert.deepEqual(args[3], { i64: 6 });
        assert.deepEqual(args[4], { i32: 2 });
        assert.deepEqual(args.slice(5, 7), [{ i64: 3 }, { i64: 2 }]);
        assert.deepEqual(args.slice(13 + MAX_DIMS, 15 + MAX_DIMS), [{ i64: 1 }, { i64: 0 }]);
      }
    }
  }
  assert(!table.exp.dtypes!.includes("int32"), "exp declines int32 (core casts first)");
  assert.deepEqual(table.logicalNot.dtypes, ["bool"]);
});

Deno.test("cuda table: where, cast, reluBackward", () => {
  for (const d of DTYPES) {
    const t = on(new FakeCuda());
    check("where", [t([2, 1], "bool"), t([2, 3], d), t([3], d)], {});
  }
  for (const from of DTYPES) {
    for (const to of DTYPES) {
      const t = on(new FakeCuda());
      if (from === to) {
        const why = cudaKernels().cast.supports!([t([2], from)], { dtype: to }, new FakeCuda());
        assert(typeof why === "string" && why.includes("identity"));
      } else check("cast", [t([2, 2], from)], { dtype: to });
    }
  }
  for (const d of ["float32", "float16"] as DType[]) {
    const t = on(new FakeCuda());
    check("reluBackward", [t([4], d), t([4], d)], {});
  }
});

Deno.test("cuda table: layouts beyond the merged-dims limit decline with a reason", () => {
  const t = on(new FakeCuda());
  const a = t([2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]);
  const b = t([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
  const why = cudaKernels().add.supports!([a, b], {}, new FakeCuda());
  assert(typeof why === "string" && why.includes("dims"), String(why));
});

Deno.test("cuda table: reductions (thread and block variants), arg, softmax, scans", () => {
  for (const d of ["float32", "float16", "int32"] as DType[]) {
    for (const op of ["sum", "max", "min"]) {
      check(op, [on(new FakeCuda())([4, 5, 6], d)], { dims: [0, 2], keepdim: false });
      const c = check(op, [on(new FakeCuda())([2, 1000], d)], { dims: [1], keepdim: true });
      assert(c.compiled.values().next().value!.name.endsWith("_block"), `${op} long rows`);
    }
    check("prod", [on(new FakeCuda())([3, 4], d)], { dim: 1, keepdim: false });
    check("cumsum", [on(new FakeCuda())([3, 4], d)], { dim: 0, reverse: true });
    check("cumprod", [on(new FakeCuda())([3, 4], d)], { dim: 1, reverse: false });
  }
  check("max", [on(new FakeCuda())([3, 4], "bool")], { dims: [1], keepdim: false });
  check("sum", [on(new FakeCuda())([0, 4])], { dims: [0], keepdim: false });
  for (const d of DTYPES) {
    for (const op of ["argmax", "argmin"]) {
      check(op, [on(new FakeCuda())([3, 4], d)], { dim: 1, keepdim: false });
      const c = check(op, [on(new FakeCuda())([50, 40], d)], { dim: null, keepdim: false });
      assert.equal(c.launches[0].config.block[0], 256);
    }
  }
  for (const d of ["float32", "float16"] as DType[]) {
    for (const op of ["softmax", "logSoftmax"]) {
      check(op, [on(new FakeCuda())([2, 3, 4], d)], { dim: 1 });
      const c = check(op, [on(new FakeCuda())([4, 512], d)], { dim: 1 });
      assert.deepEqual(c.launches[0].config.grid, [4], "a block per row");
    }
  }
});

Deno.test("cuda table: movement (views, place, cat, gather, scatterAdd)", () => {
  for (const d of DTYPES) {
    const t = on(new FakeCuda());
    // A transposed view of a [3, 4] storage.
    const v = t([4, 3], d, { offset: 0, strides: [1, 4], size: 12 });
    const c = check("contiguous", [v], {});
    assert.deepEqual(c.launches[0].args.slice(2, 5), [{ i64: 12 }, { i64: 0 }, { i32: 2 }]);
    check("copy", [t([5], d)], {});
    const dst = t([2, 2], d, { offset: 1, strides: [4, 1], size: 8 });
    const allocs = ctxOf(dst).allocs.length;
    const out = check("copyInto", [dst, t([2, 2], d)], {});
    assert.equal(out.allocs.length, allocs, "copyInto writes in place");
    check("sliceBackward", [t([2, 2], d)], {
      starts: [1, 0],
      steps: [1, 2],
      shape: [2, 2],
      inputShape: [3, 4],
    });
    check("pad", [t([2, 3], d)], { before: [0, 1], after: [1, 2], value: 0 });
    check("cat", [t([2, 3], d), t([2, 2], d)], { dim: 1 });
    check("gather", [t([3, 4], d), t([3, 2], "int32")], { dim: 1 });
  }
  for (const d of ["float32", "float16", "int32"] as DType[]) {
    const t = on(new FakeCuda());
    const c = check("scatterAdd", [t([3, 2], "int32"), t([3, 2], d)], { dim: 1, shape: [3, 4] });
    assert(c.zeroed.length >= 1, "scatterAdd zeroes its accumulator");
    if (d === "float16") assert.equal(c.freed.length, 1, "the float32 scratch is freed");
  }
  const t = on(new FakeCuda());
  const why = cudaKernels().scatterAdd.supports!(
    [t([3, 2], "int32"), t([3, 2], "bool")],
    { dim: 1, shape: [3, 4] },
    new FakeCuda(),
  );
  assert(typeof why === "string" && why.includes("bool"));
});

Deno.test("cuda table: gather records out-of-range indices in one error record per context", () => {
  const cuda = new FakeCuda();
  const t = on(cuda);
  check("gather", [t([3, 4]), t([3, 2], "int32")], { dim: 1 }, cuda);
  check("gather", [t([3, 4]), t([3, 2], "int32")], { dim: 0 }, cuda);
  const errPtrs = cuda.launches.map((l) => (l.args[3] as { ptr: CudaBuffer }).ptr);
  assert.equal(errPtrs[0], errPtrs[1], "one error buffer per context");
  assert.equal(cuda.zeroed.length, 1, "the record is zeroed once when created");
  const sites = cuda.launches.map((l) => (l.args[6] as { u32: number }).u32);
  assert.notEqual(sites[0], sites[1], "different dims are different sites");
});

const POOL = {
  kernelSize: [2, 2],
  stride: [2, 2],
  padding: [1, 0],
  dilation: [1, 1],
  ceilMode: true,
  countIncludePad: false,
  divisorOverride: null,
};

Deno.test("cuda table: pooling and batch norm", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    const t = on(new FakeCuda());
    const x = t([2, 3, 5, 4], d);
    const c = check("maxPool2d", [x], POOL);
    const [, , oh, ow] = [2, 3, 3, 2];
    check("maxPool2dBackward", [t([2, 3, oh, ow], d), t([2, 3, oh, ow], "int32")], {
      ...POOL,
      shape: [2, 3, 5, 4],
    });
    check("maxPool2dGather", [t([2, 3, 5, 4], d), t([2, 3, oh, ow], "int32")], {
      ...POOL,
      shape: [2, 3, 5, 4],
    });
    check("avgPool2d", [t([2, 3, 5, 4], d)], POOL);
    check("avgPool2dBackward", [t([2, 3, oh, ow], d)], { ...POOL, shape: [2, 3, 5, 4] });
    check("adaptiveAvgPool2d", [t([2, 3, 5, 4], d)], { outputSize: [2, 3] });
    check("adaptiveAvgPool2dBackward", [t([2, 3, 2, 3], d)], {
      outputSize: [2, 3],
      shape: [2, 3, 5, 4],
    });
    assert.equal(c.allocs[1].dtype, "int32", "maxPool2d indices are int32");
    const ch = () => t([3], d);
    check("batchNormStats", [t([4, 3, 2, 2], d)], {});
    for (const training of [true, false]) {
      const freed = ctxOf(x).freed.length;
      check("batchNorm", [t([4, 3, 2, 2], d), ch(), ch(), ch(), ch()], { training, eps: 1e-5 });
      const b = check("batchNormBackward", [
        t([4, 3, 2, 2], d),
        t([4, 3, 2, 2], d),
        ch(),
        ch(),
        ch(),
      ], {
        training,
        eps: 1e-5,
      });
      assert.equal(b.freed.length, freed + 1, "the float sums scratch is freed");
    }
  }
});

Deno.test("cuda table: fused optimizer updates, every variant", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    const p = (n: number) => {
      const t = on(new FakeCuda());
      const cuda = new FakeCuda();
      return Array.from({ length: n }, () => {
        const x = t([7], d);
        contexts.set(x, cuda);
        return x;
      });
    };
    const sgd = { lr: 0.1, dampening: 0, weightDecay: 0.01, nesterov: true, maximize: false };
    check("sgdUpdate", p(2), { ...sgd, momentum: 0, first: false });
    check("sgdUpdate", p(2), { ...sgd, momentum: 0.9, first: true });
    check("sgdUpdate", p(3), { ...sgd, momentum: 0.9, first: false });
    // Two parameters in one sgdUpdateForeach call: one launch each, outputs in the op's order.
    const fe = check("sgdUpdateForeach", p(6), { ...sgd, momentum: 0.9, first: false, count: 2 });
    assert.equal(fe.launches.length, 2);
    const adam = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      maximize: false,
      step: 3,
    };
    for (const decoupled of [false, true]) {
      check("adamUpdate", p(4), { ...adam, decoupled, amsgrad: false });
      check("adamUpdate", p(5), { ...adam, decoupled, amsgrad: true });
    }
    const af = check("adamUpdateForeach", p(10), {
      ...adam,
      decoupled: true,
      amsgrad: true,
      count: 2,
    });
    assert.equal(af.launches.length, 2, "one launch per parameter, from one call");
    check("adagradUpdate", p(3), {
      lr: 0.1,
      lrDecay: 0.01,
      weightDecay: 0,
      eps: 1e-10,
      maximize: true,
      step: 2,
    });
    for (const momentum of [0, 0.9]) {
      for (const centered of [false, true]) {
        const n = 3 + (momentum > 0 ? 1 : 0) + (centered ? 1 : 0);
        check("rmspropUpdate", p(n), {
          lr: 0.01,
          alpha: 0.99,
          eps: 1e-8,
          weightDecay: 0,
          momentum,
          centered,
          maximize: false,
        });
      }
    }
    const rf = { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, maximize: false, count: 2 };
    check("rmspropUpdateForeach", p(10), { ...rf, momentum: 0.9, centered: true });
    const ag = { lr: 0.1, lrDecay: 0, weightDecay: 0, eps: 1e-10, maximize: false, step: 1 };
    assert.equal(check("adagradUpdateForeach", p(6), { ...ag, count: 2 }).launches.length, 2);
  }
});

Deno.test("cuda table: matmul through sgemm with broadcast batch dims; declines without cuBLAS", () => {
  const cuda = new FakeCuda();
  const t = on(cuda);
  check("matmul", [t([2, 1, 3, 4]), t([3, 4, 5])], { transA: false, transB: false }, cuda);
  const total = cuda.gemms.reduce((s, g) => s + g.batch, 0);
  assert.equal(total, 6, "2×3 batches");
  for (const g of cuda.gemms) {
    assert.deepEqual([g.m, g.n, g.k, g.lda, g.ldb, g.ldc], [3, 5, 4, 4, 5, 5]);
  }
  const c2 = new FakeCuda();
  const t2 = on(c2);
  check("matmul", [t2([4, 3]), t2([5, 4])], { transA: true, transB: true }, c2);
  assert.deepEqual(
    [c2.gemms[0].m, c2.gemms[0].n, c2.gemms[0].k, c2.gemms[0].lda, c2.gemms[0].ldb],
    [3, 5, 4, 3, 4],
  );
  const c3 = new FakeCuda();
  const t3 = on(c3);
  check("matmul", [t3([2, 3], "float16"), t3([3, 2], "float16")], {
    transA: false,
    transB: false,
  }, c3);
  assert.equal(c3.gemms[0].c.dtype, "float32", "float16 multiplies in float32 scratch");
  assert.equal(c3.freed.length, 3, "scratch buffers are freed");
  const none = new FakeCuda(false);
  const why = cudaKernels().matmul.supports!([t([2, 2]), t([2, 2])], {}, none);
  assert(typeof why === "string" && why.includes("libcublas.so.13"), String(why));
});

const CONV_CASES = [
  // plain 3x2 kernel
  {
    x: [2, 3, 7, 6],
    w: [4, 3, 3, 2],
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
  },
  // stride, padding and dilation differing per axis, 2 groups (images >= groups: batched over images)
  {
    x: [2, 4, 9, 8],
    w: [6, 2, 3, 3],
    stride: [2, 3],
    padding: [1, 2],
    dilation: [2, 1],
    groups: 2,
  },
  // depthwise: one image, 6 groups (batched over the groups)
  {
    x: [1, 6, 5, 5],
    w: [6, 1, 3, 3],
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 6,
  },
];

function convOut(c: (typeof CONV_CASES)[number]): number[] {
  const o = (i: number, k: number, d: 0 | 1) =>
    Math.floor((i + 2 * c.padding[d] - c.dilation[d] * (k - 1) - 1) / c.stride[d]) + 1;
  return [c.x[0], c.w[0], o(c.x[2], c.w[2], 0), o(c.x[3], c.w[3], 1)];
}

Deno.test("cuda table: conv2d and its backward ops on the im2col path (cuBLAS, no cuDNN)", () => {
  for (const dtype of ["float32", "float16"] as DType[]) {
    for (const c of CONV_CASES) {
      const attrs = {
        stride: c.stride,
        padding: c.padding,
        dilation: c.dilation,
        groups: c.groups,
      };
      const y = convOut(c);
      const [n, ch, h, w] = c.x, [o, cg, kh, kw] = c.w;
      const g = c.groups, og = o / g, k = cg * kh * kw, p = y[2] * y[3];
      const name = `${dtype} ${c.x}*${c.w} groups ${g}`;
      for (const bias of [false, true]) {
        const cuda = new FakeCuda();
        const t = on(cuda);
        const inputs = [t(c.x, dtype), t(c.w, dtype), ...(bias ? [t([o], dtype)] : [])];
        check("conv2d", inputs, attrs, cuda);
        const launched = cuda.launches.map((l) => l.fn.name);
        assert.equal(launched.filter((l) => l.startsWith("denn_conv_im2col_")).length, 1, name);
        // float16 rounds through the finish kernel; float32 only where a bias is added.
        const finishes = launched.filter((l) => l.startsWith("denn_conv_finish_")).length;
        assert.equal(finishes, dtype === "float16" || bias ? 1 : 0, `${name}: finish launches`);
        const im2col = cuda.launches.find((l) => l.fn.name.startsWith("denn_conv_im2col_"))!;
        assert.deepEqual(
          im2col.args.slice(2).map((a) => Number(Object.values(a)[0])),
          [n * ch * kh * kw * p, 0, ch, h, w, kh, kw, ...c.stride, ...c.padding, ...c.dilation]
            .concat([y[2], y[3]]),
          `${name}: im2col geometry`,
        );
        const overImages = g === 1 || n >= g;
        assert.equal(cuda.gemms.length, overImages ? g : n, `${name}: GEMM calls`);
        cuda.gemms.forEach((gm, j) => {
          const a = gm as unknown as Record<string, number | boolean>;
          assert.deepEqual([gm.m, gm.n, gm.k, gm.lda, gm.ldb, gm.ldc], [og, p, k, k, p, p], name);
          assert.equal(a.transA, false);
          assert.deepEqual(
            [a.batch, a.aOffset, a.strideA, a.bOffset, a.strideB, a.strideC],
            overImages
              ? [n, j * og * k, 0, j * k * p, g * k * p, o * p]
              : [g, 0, og * k, j * g * k * p, k * p, og * p],
            `${name}: GEMM ${j} batched over ${overImages ? "images" : "groups"}`,
          );
          assert.equal(gm.c.dtype, "float32");
        });
        assert.equal(cuda.freed.length, cuda.allocs.length - 1, `${name}: scratch freed`);
      }
      // Input gradient: dcol = wᵀ·dy, then col2im.
      const cd = new FakeCuda();
      const td = on(cd);
      check("conv2dBackwardInput", [td(y, dtype), td(c.w, dtype)], { ...attrs, shape: c.x }, cd);
      assert.equal(cd.launches.filter((l) => l.fn.name.startsWith("denn_conv_col2im_")).length, 1);
      for (const gm of cd.gemms) {
        const a = gm as unknown as Record<string, number | boolean>;
        assert.deepEqual([a.transA, a.transB, gm.m, gm.n, gm.k], [true, false, k, p, og], name);
      }
      // Weight gradient: Σ over images of dy·colᵀ, accumulated with beta = 1 after the first.
      const cw = new FakeCuda();
      const tw = on(cw);
      check("conv2dBackwardWeight", [tw(y, dtype), tw(c.x, dtype)], { ...attrs, shape: c.w }, cw);
      assert.equal(cw.gemms.length, n, `${name}: one GEMM per image`);
      cw.gemms.forEach((gm, j) => {
        const a = gm as unknown as Record<string, number | boolean>;
        assert.deepEqual(
          [a.transA, a.transB, gm.m, gm.n, gm.k, a.batch, a.beta],
          [false, true, og, k, p, g, j === 0 ? 0 : 1],
          `${name}: dw GEMM ${j}`,
        );
      });
    }
  }
  // An empty batch: conv2d launches nothing, the weight gradient is zero-filled.
  const cz = new FakeCuda();
  const tz = on(cz);
  const za = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const [zy] = cudaKernels().conv2d.run([tz([0, 2, 4, 4]), tz([3, 2, 3, 3])], za, [{
    shape: [0, 3, 2, 2],
    dtype: "float32",
  }], cz);
  assert.deepEqual([zy.elements, cz.launches.length, cz.gemms.length], [0, 0, 0]);
  const zw = { ...za, shape: [3, 2, 3, 3] };
  const [zdw] = cudaKernels().conv2dBackwardWeight.run([tz([0, 3, 2, 2]), tz([0, 2, 4, 4])], zw, [{
    shape: [3, 2, 3, 3],
    dtype: "float32",
  }], cz);
  assert.deepEqual(cz.zeroed, [zdw], "the weight gradient of no images is zero-filled");
});

Deno.test("cuda table: conv2d declines with both reasons without cuBLAS and cuDNN", () => {
  const t = on(new FakeCuda(false));
  const a = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const table = cudaKernels();
  const cases: [string, Tensor[], Record<string, unknown>][] = [
    ["conv2d", [t([1, 2, 4, 4]), t([3, 2, 3, 3])], a],
    ["conv2dBackwardInput", [t([1, 3, 2, 2]), t([3, 2, 3, 3])], { ...a, shape: [1, 2, 4, 4] }],
    ["conv2dBackwardWeight", [t([1, 3, 2, 2]), t([1, 2, 4, 4])], { ...a, shape: [3, 2, 3, 3] }],
  ];
  for (const [op, inputs, attrs] of cases) {
    const why = table[op].supports!(inputs, attrs, new FakeCuda(false));
    assert(typeof why === "string", op);
    assert.match(why, new RegExp(`^${op}: cuDNN is unavailable`));
    assert.match(why, /im2col path needs cuBLAS.*libcublas\.so\.13/);
  }
});

// ---------------------------------------------------------------- issue 10: the rest of the op set

// The name of the kernel a launch ran.
function launchedName(cuda: FakeCuda, l: Launch): string {
  return cuda.compiled.get(l.fn.handle)!.name;
}

// The i64/i32/f32 value of argument `k` of a launch.
function num(l: Launch, k: number): number {
  const a = l.args[k] as Record<string, number | bigint>;
  return Number(Object.values(a)[0]);
}

Deno.test("cuda table: scaledDotProductAttention, every mask kind, causal, broadcast batch", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    for (const mask of ["none", "bool", "float"] as const) {
      for (const causal of [false, true]) {
        const t = on(new FakeCuda());
        // q [2, 3, 4, 8], k and v shared over the first batch dim: batch [2, 3], L 4, S 5.
        const inputs = [t([2, 3, 4, 8], d), t([3, 5, 8], d), t([3, 5, 6], d)];
        if (mask === "bool") inputs.push(t([4, 5], "bool"));
        if (mask === "float") inputs.push(t([2, 1, 4, 5], d));
        const c = check("scaledDotProductAttention", inputs, { scale: 0.35, causal });
        assert.equal(c.launches.length, 1);
        const l = c.launches[0];
        assert.equal(
          launchedName(c, l),
          `denn_sdpa_fwd_${mask}_${d === "float32" ? "f32" : "f16"}`,
        );
        assert.deepEqual(l.config.grid, [24], "a block per query row: 2·3·4");
        assert.deepEqual(l.config.block, [128]);
        assert.equal(l.config.sharedBytes, 4 * (8 + 6), "q row and output accumulator");
        const at = mask === "none" ? 5 : 6;
        // rows, L, S, E, EV, scale, mRow, mCol, causal, brank
        assert.deepEqual(
          [0, 1, 2, 3, 4, 5, 8, 9].map((k) => num(l, at + k)),
          [24, 4, 5, 8, 6, 0.35, causal ? 1 : 0, 2],
        );
        if (mask === "bool") assert.deepEqual([num(l, at + 6), num(l, at + 7)], [5, 1]);
        if (mask === "float") assert.deepEqual([num(l, at + 6), num(l, at + 7)], [5, 1]);
        assert.equal(c.allocs[1].dtype, "float32", "the log-sum-exp is float32");
        // Batch sizes (innermost first), then q's strides: [3, 2] and [32, 96]; k's: [40, 0].
        assert.deepEqual([num(l, at + 10), num(l, at + 11)], [3, 2]);
        assert.deepEqual([num(l, at + 18), num(l, at + 19)], [32, 96]);
        assert.deepEqual([num(l, at + 26), num(l, at + 27)], [40, 0]);
      }
    }
  }
  // E = 0: the scale passed is 0, so the scores are 0 rather than 0·∞.
  const t = on(new FakeCuda());
  const c = check("scaledDotProductAttention", [t([2, 0]), t([3, 0]), t([3, 2])], {
    scale: Infinity,
    causal: false,
  });
  assert.equal(num(c.launches[0], 10), 0);
  // No query rows: empty outputs, nothing to launch.
  const none = new FakeCuda();
  const e = on(none);
  const qkv = [e([0, 4]), e([3, 4]), e([3, 2])];
  const attrs = { scale: 1, causal: false };
  const specs = getOp("scaledDotProductAttention")!.infer(qkv, attrs as never);
  const outs = cudaKernels().scaledDotProductAttention.run(qkv, attrs, specs, none);
  assert.deepEqual(outs.map((o) => o.elements), [0, 0]);
  assert.equal(none.launches.length, 0);
});

Deno.test("cuda table: attention declines feature sizes over the shared-memory budget", () => {
  const t = on(new FakeCuda());
  const ctx = new FakeCuda();
  const table = cudaKernels();
  const big = [t([2, 6000]), t([3, 6000]), t([3, 6100])];
  const why = table.scaledDotProductAttention.supports!(big, { scale: 1, causal: false }, ctx);
  assert(typeof why === "string" && why.includes("shared memory"), String(why));
  const mid = [t([2, 3000]), t([3, 3000]), t([3, 3100])];
  assert.equal(
    table.scaledDotProductAttention.supports!(mid, { scale: 1, causal: false }, ctx),
    true,
    "the forward fits (24.4 KB); the backward (49.6 KB) does not",
  );
  const a = { scale: 1, causal: false, mask: false, maskGrad: false, lseGrad: false };
  const bwd = [...mid, t([2, 3100]), t([2], "float32"), t([2, 3100])];
  const whyB = table.scaledDotProductAttentionBackward.supports!(bwd, a, ctx);
  assert(typeof whyB === "string" && whyB.includes("shared memory"), String(whyB));
  // A log-sum-exp that is not float32 (not what the forward made) declines with the reason.
  const odd = [t([2, 4]), t([3, 4]), t([3, 2]), t([2, 2]), t([2], "float16"), t([2, 2])];
  const whyD = table.scaledDotProductAttentionBackward.supports!(odd, a, ctx);
  assert(typeof whyD === "string" && whyD.includes("lse is float16"), String(whyD));
});

Deno.test("cuda table: attention backward, every mask kind, mask and lse gradients", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    for (const mask of ["none", "bool", "float"] as const) {
      for (const lseGrad of [false, true]) {
        for (const maskGrad of mask === "float" ? [false, true] : [false]) {
          const t = on(new FakeCuda());
          const inputs = [t([2, 4, 8], d), t([2, 5, 8], d), t([1, 5, 6], d)];
          if (mask === "bool") inputs.push(t([2, 4, 5], "bool"));
          if (mask === "float") inputs.push(t([4, 5], d));
          inputs.push(t([2, 4, 6], d), t([2, 4], "float32"), t([2, 4, 6], d));
          if (lseGrad) inputs.push(t([2, 4], "float32"));
          const c = check("scaledDotProductAttentionBackward", inputs, {
            scale: 0.5,
            causal: true,
            mask: mask !== "none",
            maskGrad,
            lseGrad,
          });
          const names = c.launches.map((l) => launchedName(c, l));
          const td = d === "float32" ? "f32" : "f16";
          assert.deepEqual(names, [
            `denn_sdpa_delta${lseGrad ? "_dlse" : ""}_${td}`,
            `denn_sdpa_dq_${mask}${maskGrad ? "_dmask" : ""}_${td}`,
            `denn_sdpa_dkv_${mask}_${td}`,
          ]);
          const [delta, dq, dkv] = c.launches;
          assert.deepEqual(delta.config.grid, [1], "a thread per query row (8)");
          assert.deepEqual(dq.config.grid, [8], "a block per query row");
          assert.deepEqual(dkv.config.grid, [10], "a block per key row");
          assert.equal(dq.config.sharedBytes, 4 * (2 * 8 + 6));
          assert.equal(dkv.config.sharedBytes, 4 * 2 * (8 + 6));
          // The D scratch [8] float32 is the delta kernel's output and is freed after.
          const scratch = (delta.args[0] as { ptr: CudaBuffer }).ptr;
          assert.equal(scratch.dtype, "float32");
          assert.equal(scratch.elements, 8);
          assert(c.freed.includes(scratch), "the D scratch is freed");
          // v is broadcast along the batch: dv comes out in the broadcast shape [2, 5, 6].
          assert.equal(c.allocs[2].elements, 60);
        }
      }
    }
  }
  // S = 0: dq is zero (written by the dq kernel, which walks no key); dk and dv are empty.
  const t = on(new FakeCuda());
  const a = { scale: 1, causal: false, mask: false, maskGrad: false, lseGrad: false };
  const c = check(
    "scaledDotProductAttentionBackward",
    [t([3, 4]), t([0, 4]), t([0, 2]), t([3, 2]), t([3], "float32"), t([3, 2])],
    a,
  );
  assert.equal(c.launches.length, 2, "delta and dq only");
});

Deno.test("cuda table: normRows and normRowsBackward (layer norm and group norm)", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    // Layer norm [6, 10] rows of 10, and group norm of [2, 6, 5] with 3 groups: 6 rows of 10.
    const layouts = [
      { shape: [6, 10], rowSize: 10, groups: 1, inner: 1, count: 10 },
      { shape: [2, 6, 5], rowSize: 10, groups: 3, inner: 5, count: 6 },
    ];
    for (const lay of layouts) {
      for (const weight of [false, true]) {
        for (const bias of [false, true]) {
          const t = on(new FakeCuda());
          const a = {
            rowSize: lay.rowSize,
            groups: lay.groups,
            inner: lay.inner,
            eps: 1e-5,
            weight,
            bias,
          };
          const params = [
            ...(weight ? [t([lay.count], d)] : []),
            ...(bias ? [t([lay.count], d)] : []),
          ];
          const c = check("normRows", [t(lay.shape, d), ...params], a);
          assert.equal(c.launches.length, 1);
          const l = c.launches[0];
          assert.deepEqual(l.config.grid, [6], "a block per row");
          assert.deepEqual(l.config.block, [256]);
          assert.deepEqual(c.allocs.slice(1).map((b) => [b.dtype, b.elements]), [
            ["float32", 6],
            ["float32", 6],
          ]);
          const n = l.args.length;
          assert.deepEqual(
            [num(l, n - 5), num(l, n - 4), num(l, n - 3), num(l, n - 2)],
            [6, 10, lay.groups, lay.inner],
          );
          const g = on(new FakeCuda());
          const b = check("normRowsBackward", [
            g(lay.shape, d),
            g(lay.shape, d),
            g([6], "float32"),
            g([6], "float32"),
            ...(weight ? [g([lay.count], d)] : []),
          ], a);
          const launches = b.launches;
          assert.equal(launches.length, weight || bias ? 2 : 1);
          assert.deepEqual(launches[0].config.grid, [6], "dx: a block per row");
          if (weight || bias) {
            assert.deepEqual(launches[1].config.grid, [lay.count], "a block per weight element");
            assert.equal(num(launches[1], (weight && bias ? 2 : 1) + 4), lay.count);
          }
        }
      }
    }
  }
  // No rows: the weight and bias gradients are zero fills, nothing is launched.
  const cuda = new FakeCuda();
  const t = on(cuda);
  const a = { rowSize: 4, groups: 1, inner: 1, eps: 1e-5, weight: true, bias: true };
  const inputs = [t([0, 4]), t([0, 4]), t([0], "float32"), t([0], "float32"), t([4])];
  const specs = getOp("normRowsBackward")!.infer(inputs, a as never);
  const outs = cudaKernels().normRowsBackward.run(inputs, a, specs, cuda);
  assert.equal(cuda.launches.length, 0);
  assert.deepEqual(cuda.zeroed, outs.slice(1), "dweight and dbias are zeroed");
});

Deno.test("cuda table: lstmCell, gruCell and their backward ops", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    const t = on(new FakeCuda());
    const c = check("lstmCell", [t([3, 2, 20], d), t([3, 2, 5], d)], {});
    assert.deepEqual(c.launches[0].args.slice(5), [{ i64: 30 }, { i64: 5 }], "n and H");
    assert.equal(c.allocs[2].elements, 120, "the workspace holds the four activated gates");
    for (const [dh, dc] of [[true, false], [false, true], [true, true]]) {
      const given = [t([6, 20], d), t([6, 5], d), t([6, 5], d)];
      if (dh) given.push(t([6, 5], d));
      if (dc) given.push(t([6, 5], d));
      const b = check("lstmCellBackward", given, { dh, dc });
      const l = b.launches[b.launches.length - 1];
      assert.equal(
        launchedName(b, l),
        `denn_lstmCellBackward_${dh && dc ? "both" : dh ? "dh" : "dc"}_${
          d === "float32" ? "f32" : "f16"
        }`,
      );
    }
    const g = check("gruCell", [t([4, 9], d), t([4, 9], d), t([4, 3], d)], {});
    assert.deepEqual(g.launches[g.launches.length - 1].args.slice(4), [{ i64: 12 }, { i64: 3 }]);
    const gb = check(
      "gruCellBackward",
      [t([4, 9], d), t([4, 9], d), t([4, 3], d), t([4, 3], d)],
      {},
    );
    assert.deepEqual(gb.allocs.slice(-3).map((x) => x.elements), [36, 36, 12]);
  }
  // Empty state: no launch.
  const t = on(new FakeCuda());
  assert.equal(check("lstmCell", [t([0, 8]), t([0, 2])], {}).launches.length, 0);
  assert(!cudaKernels().lstmCell.dtypes!.includes("int32"), "lstmCell declines int32");
});

Deno.test("cuda table: adaptiveMaxPool2d writes values and int32 plane indices", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    const t = on(new FakeCuda());
    const c = check("adaptiveMaxPool2d", [t([2, 3, 7, 5], d)], { outputSize: [3, 2] });
    assert.equal(c.allocs[1].dtype, "int32");
    assert.deepEqual(c.launches[0].args.slice(3), [
      { i64: 36 },
      { i32: 7 },
      { i32: 5 },
      { i32: 3 },
      { i32: 2 },
    ]);
  }
  const t = on(new FakeCuda());
  const why = cudaKernels().adaptiveMaxPool2d.supports!(
    [t([1, 1, 65536, 32768])],
    { outputSize: [1, 1] },
    new FakeCuda(),
  );
  assert(typeof why === "string" && why.includes("int32"), String(why));
});

Deno.test("cuda table: sort in shared memory and, for long rows, in global memory", () => {
  for (const d of DTYPES) {
    for (const descending of [false, true]) {
      const t = on(new FakeCuda());
      // Along the middle dim: rows of 7, inner 4.
      const c = check("sort", [t([3, 7, 4], d)], { dim: 1, descending });
      assert.equal(c.launches.length, 1);
      const l = c.launches[0];
      assert.deepEqual(l.config.grid, [12], "a block per row");
      assert.deepEqual(l.config.block, [512]);
      assert.deepEqual(l.args.slice(3), [
        { i64: 12 },
        { i64: 7 },
        { i64: 4 },
        { i32: 8 },
        { i32: descending ? 1 : 0 },
      ]);
      assert.equal(c.allocs[1].dtype, "int32");
    }
  }
  // 3000 elements pad to 4096 > 2048: the network in global memory, one launch per step.
  const cuda = new FakeCuda();
  const t = on(cuda);
  const c = check("sort", [t([2, 3000], "float16")], { dim: 1, descending: true }, cuda);
  const names = c.launches.map((l) => launchedName(c, l));
  assert.equal(names[0], "denn_sort_init");
  assert.equal(names[names.length - 1], "denn_sort_write_f16");
  assert.equal(names.length, 2 + (12 * 13) / 2, "log₂P·(log₂P + 1)/2 steps");
  const steps = c.launches.slice(1, -1);
  assert.deepEqual([num(steps[0], 6), num(steps[0], 7)], [2, 1]);
  assert.deepEqual([num(steps[steps.length - 1], 6), num(steps[steps.length - 1], 7)], [4096, 1]);
  assert.equal(num(steps[0], 2), 2 * 2048, "a thread per compared pair");
  const w = (c.launches[0].args[0] as { ptr: CudaBuffer }).ptr;
  assert.deepEqual([w.dtype, w.elements], ["int32", 2 * 4096]);
  assert(c.freed.includes(w), "the index buffer is freed");
  // Empty rows: nothing to sort.
  const empty = check("sort", [on(new FakeCuda())([3, 0])], { dim: 1, descending: false });
  assert.equal(empty.launches.length, 0);
});

Deno.test("cuda table: crossEntropy and its backward, every reduction, with and without weight", () => {
  for (const d of ["float32", "float16"] as DType[]) {
    for (const reduction of ["mean", "sum", "none"]) {
      for (const weight of [false, true]) {
        const a = { reduction, ignoreIndex: -100, weight };
        const t = on(new FakeCuda());
        const c = check("crossEntropy", [
          t([6, 10], d),
          t([6], "int32"),
          ...(weight ? [t([10], "float32")] : []),
        ], a);
        assert.equal(c.launches.length, 2, "the rows, then the total");
        const [rows, total] = c.launches;
        assert.deepEqual(rows.config.grid, [6], "a block per row");
        assert.deepEqual(total.config.grid, [1], "one block for the total");
        const n = rows.args.length;
        assert.deepEqual([num(rows, n - 4), num(rows, n - 3), num(rows, n - 2)], [6, 10, -100]);
        // The rows' scratch (weights, and losses unless "none") is freed after the launches.
        assert.equal(c.freed.length, reduction === "none" ? 1 : 2);
        const g = on(new FakeCuda());
        const b = check("crossEntropyBackward", [
          g(reduction === "none" ? [6] : [], d),
          g([6, 10], d),
          g([6], "int32"),
          g([6], "float32"),
          g([], "float32"),
          ...(weight ? [g([10], "float32")] : []),
        ], a);
        assert.equal(b.launches.length, 1, "a thread per element of dx");
        const k = b.launches[0].args.length;
        assert.deepEqual([num(b.launches[0], k - 4), num(b.launches[0], k - 3)], [60, 10]);
      }
    }
  }
  // No rows: only the total runs (a mean over nothing is NaN, a sum 0); no dx launch.
  const t = on(new FakeCuda());
  const a = { reduction: "mean", ignoreIndex: -100, weight: false };
  assert.equal(check("crossEntropy", [t([0, 10]), t([0], "int32")], a).launches.length, 1);
  const cuda = new FakeCuda();
  const g = on(cuda);
  const inputs = [g([]), g([0, 10]), g([0], "int32"), g([0], "float32"), g([], "float32")];
  const specs = getOp("crossEntropyBackward")!.infer(inputs, a as never);
  const [dx] = cudaKernels().crossEntropyBackward.run(inputs, a, specs, cuda);
  assert.equal(dx.elements, 0);
  assert.equal(cuda.launches.length, 0);
});

Deno.test("cuda table: every table op has a test above or is declining", () => {
  const tested = new Set([
    ...UNARY,
    ...BINARY,
    ...COMPARE,
    "where",
    "cast",
    "reluBackward",
    "sum",
    "max",
    "min",
    "prod",
    "argmax",
    "argmin",
    "softmax",
    "logSoftmax",
    "cumsum",
    "cumprod",
    "contiguous",
    "copy",
    "copyInto",
    "sliceBackward",
    "pad",
    "cat",
    "gather",
    "scatterAdd",
    "maxPool2d",
    "maxPool2dBackward",
    "maxPool2dGather",
    "avgPool2d",
    "avgPool2dBackward",
    "adaptiveAvgPool2d",
    "adaptiveAvgPool2dBackward",
    "batchNormStats",
    "batchNorm",
    "batchNormBackward",
    "sgdUpdate",
    "sgdUpdateForeach",
    "adamUpdateForeach",
    "rmspropUpdateForeach",
    "adagradUpdateForeach",
    "adamUpdate",
    "adagradUpdate",
    "rmspropUpdate",
    "matmul",
    "scaledDotProductAttention",
    "scaledDotProductAttentionBackward",
    "normRows",
    "normRowsBackward",
    "crossEntropy",
    "crossEntropyBackward",
    "lstmCell",
    "lstmCellBackward",
    "gruCell",
    "gruCellBackward",
    "adaptiveMaxPool2d",
    "sort",
    "conv2d",
    "conv2dBackwardInput",
    "conv2dBackwardWeight",
    ...DECLINING_OPS,
  ]);
  for (const op of Object.keys(cudaKernels())) assert(tested.has(op), `${op} is untested`);
});

Deno.test("cuda table: takeIndexError decodes the record a kernel wrote, then clears it", () => {
  const cuda = new FakeCuda();
  assert.equal(takeIndexError(cuda), null, "no record before an index kernel ran");
  const t = on(cuda);
  check("gather", [t([3, 4]), t([3, 2], "int32")], { dim: 1 }, cuda);
  const site = (cuda.launches[0].args[6] as { u32: number }).u32;
  cuda.read = (_b, n) => Uint32Array.from({ length: n }, (_, i) => [1, site, 7, 0][i]);
  const err = takeIndexError(cuda);
  assert(err instanceof IndexError);
  assert.equal(
    err.message,
    "gather: index 7 is out of bounds for dimension 1 with size 4 (tensor [3, 4])",
  );
  assert.equal(cuda.zeroed.length, 2, "cleared after reading");
});
