/**
 * The cuda runtime on a real device: upload/download round trips for every dtype, allocator
 * reuse and statistics, NVRTC compile + launch of a small kernel (and its errors), the on-disk
 * module cache hit from a second context, cuBLAS sgemm (plain, transposed, strided batched)
 * against a host reference, out-of-memory, copies, zero fill and event timing.
 *
 * Skipped, with the reason printed, where the cuda backend is unavailable (no libcuda, no device,
 * no NVRTC, no --allow-ffi): CI runs it as skipped; tools/gpu_check.sh runs it on a GPU machine.
 */

import assert from "node:assert/strict";
import {
  DeviceError,
  explain,
  getBackend,
  OutOfMemoryError,
  randn,
  route,
  tensor,
  use,
  ValueError,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { F, nn, optim } from "../../mod.ts";
import { cuda, cudaContext, memoryStats, openCuda } from "../../plugins/cuda/mod.ts";
import { captureStep, convPathStats, setConvPath } from "../../plugins/cuda/mod.ts";
import type { CudaBuffer } from "../../plugins/cuda/mod.ts";

const canWrite = Deno.permissions.querySync({ name: "write" }).state === "granted";
const cacheDir = canWrite ? Deno.makeTempDirSync({ prefix: "denn_cuda_gpu_test_" }) : null;
use(cuda({ cacheDir }));
const why = explain().unavailable["cuda"];
const ctx = cudaContext();
const ignore = ctx === null;
if (ignore) console.log(`cuda GPU tests skipped: ${why ?? "the cuda backend did not register"}`);
else {
  console.log(
    `cuda GPU tests on ${ctx.deviceName} (${ctx.arch}), driver ${ctx.driverVersion}, NVRTC ` +
      `${ctx.nvrtcVersion} (${ctx.paths.nvrtc}), cuBLAS ${ctx.paths.cublas ?? ctx.blasUnavailable}`,
  );
}
// Some tests leave blocks cached or compiled modules loaded on purpose.
const opts = { ignore, sanitizeResources: false, sanitizeOps: false };

/** A kernel source unique to this run, so the disk cache starts cold for it. */
const RUN = crypto.randomUUID().slice(0, 8);
const AXPY = `// run ${RUN}
extern "C" __global__ void denn_test_axpy(float* y, const float* x, float a, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
extern "C" __global__ void denn_test_iota(long long* out, unsigned int n, long long base) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = base + (long long)i;
}
`;

Deno.test({
  name: "cuda: upload/download round trips for every dtype, sync and async",
  ...opts,
  async fn() {
    const f = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    const t = tensor(f, { shape: [10, 100] }).to("cuda");
    assert.equal(t.device, "cuda");
    assert.deepEqual(t.dataSync(), f);
    assert.deepEqual(await t.data(), f);
    const i = tensor(Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31), 7])).to("cuda");
    assert.deepEqual(Array.from(i.dataSync()), [0, -1, 2 ** 31 - 1, -(2 ** 31), 7]);
    const b = tensor([true, false, true]).to("cuda");
    assert.deepEqual(Array.from(b.dataSync()), [1, 0, 1]);
    const h = tensor([1.5, -2, 65504], { dtype: "float16" }).to("cuda");
    assert.deepEqual(Array.from(h.dataSync()), [1.5, -2, 65504]);
    const empty = tensor(new Float32Array(0)).to("cuda");
    assert.equal(empty.dataSync().length, 0);
    const back = t.to("cpu");
    assert.deepEqual(back.dataSync(), f);
    // The context's own calls, with a length that is not a size class.
    const buf = ctx!.alloc(7, "int32");
    ctx!.write(buf, Int32Array.from([1, 2, 3, 4, 5, 6, 7]));
    assert.deepEqual(Array.from(ctx!.read(buf, 7) as Int32Array), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(Array.from(ctx!.read(buf, 3) as Int32Array), [1, 2, 3]);
    assert.throws(() => ctx!.read(buf, 1000), ValueError);
    assert.throws(() => ctx!.write(buf, new Float32Array(1000)), /do not fit a 256-byte buffer/);
    ctx!.free(buf);
    assert.throws(() => ctx!.read(buf, 1), /not a live buffer/);
  },
});

Deno.test({
  name: "cuda: freed blocks are reused; memoryStats and emptyCache",
  ...opts,
  fn() {
    ctx!.emptyCache();
    const s0 = memoryStats();
    const a = ctx!.alloc(1000, "float32");
    const s1 = memoryStats();
    assert.equal(s1.liveBytes - s0.liveBytes, 4096);
    assert.equal(s1.deviceAllocs - s0.deviceAllocs, 1);
    ctx!.free(a);
    assert.equal(memoryStats().pooledBytes, 4096);
    const b = ctx!.alloc(900, "float32"); // same size class
    assert.equal(b.ptr, a.ptr);
    const s2 = memoryStats();
    assert.equal(s2.cacheHits - s1.cacheHits, 1);
    assert.equal(s2.deviceAllocs, s1.deviceAllocs);
    assert.throws(() => ctx!.free(a), /not a live buffer of this device/);
    ctx!.free(b);
    ctx!.emptyCache();
    assert.equal(memoryStats().pooledBytes, 0);
    const { free, total } = ctx!.memoryInfo();
    assert.ok(free > 0 && free <= total, `${free} of ${total}`);
  },
});

Deno.test({
  name: "cuda: an allocation beyond the device's memory is an OutOfMemoryError with the numbers",
  ...opts,
  fn() {
    const { total } = ctx!.memoryInfo();
    const elements = Math.ceil((total * 2) / 4);
    assert.throws(() => ctx!.alloc(elements, "float32"), (e: unknown) => {
      assert.ok(e instanceof OutOfMemoryError, String(e));
      assert.match(e.message, /cuda: cannot allocate \d+ bytes .* the device is out of memory/);
      assert.match(e.message, /cached bytes were released and the allocation retried/);
      assert.match(e.message, new RegExp(`of ${total} bytes free`));
      return true;
    });
    // The context still works.
    const b = ctx!.alloc(4, "float32");
    ctx!.free(b);
  },
});

Deno.test({
  name: "cuda: an NVRTC kernel compiles for the device's arch, launches and computes",
  ...opts,
  fn() {
    const n = 1000;
    const x = Float32Array.from({ length: n }, (_, i) => i);
    const y = Float32Array.from({ length: n }, (_, i) => 1 - i);
    const bx = ctx!.alloc(n, "float32"), by = ctx!.alloc(n, "float32");
    ctx!.write(bx, x);
    ctx!.write(by, y);
    const fn = ctx!.kernel(AXPY, "denn_test_axpy");
    assert.equal(fn.name, "denn_test_axpy");
    assert.equal(ctx!.kernel(AXPY, "denn_test_axpy"), fn, "the same function object is reused");
    const before = ctx!.launches;
    ctx!.launch(fn, { grid: [Math.ceil(n / 256)], block: [256] }, [
      { ptr: by },
      { ptr: bx },
      { f32: 2 },
      { i32: n },
    ]);
    assert.equal(ctx!.launches, before + 1);
    const out = ctx!.read(by, n) as Float32Array;
    for (let i = 0; i < n; i++) assert.equal(out[i], 2 * i + 1 - i, `y[${i}]`);
    // 64-bit and unsigned arguments.
    const iota = ctx!.kernel(AXPY, "denn_test_iota");
    const bo = ctx!.alloc(10, "float32"); // 40 bytes hold five long longs
    ctx!.launch(iota, { grid: [1], block: [32] }, [{ ptr: bo }, { u32: 5 }, { i64: 2n ** 40n }]);
    const words = new BigInt64Array((ctx!.read(bo, 10) as Float32Array).buffer);
    assert.deepEqual(Array.from(words), [0n, 1n, 2n, 3n, 4n].map((i) => 2n ** 40n + i));
    // An empty grid launches nothing.
    ctx!.launch(fn, { grid: [0], block: [256] }, [{ ptr: by }, { ptr: bx }, { f32: 2 }, {
      i32: 0,
    }]);
    assert.equal(ctx!.launches, before + 2);
    // The elapsed-time helper measures a launch with events.
    const ms = ctx!.elapsed(() =>
      ctx!.launch(fn, { grid: [4], block: [256] }, [{ ptr: by }, { ptr: bx }, { f32: 1 }, {
        i32: n,
      }])
    );
    assert.ok(ms >= 0 && ms < 1000, `${ms} ms`);
    for (const b of [bx, by, bo]) ctx!.free(b);
  },
});

Deno.test({
  name: "cuda: compile errors carry NVRTC's log; a missing kernel and bad arguments are named",
  ...opts,
  fn() {
    assert.throws(
      () =>
        ctx!.kernel(`extern "C" __global__ void broken(float* y) { y[0] = undeclared; }`, "broken"),
      (e: unknown) => {
        assert.ok(e instanceof DeviceError);
        assert.match(e.message, new RegExp(`could not compile kernel "broken" for ${ctx!.arch}`));
        assert.match(e.message, /undeclared/);
        return true;
      },
    );
    assert.throws(
      () => ctx!.kernel(AXPY, "denn_test_nothere"),
      /cuModuleGetFunction \(kernel "denn_test_nothere"; it must be declared extern "C" __global__/,
    );
    assert.throws(() => ctx!.kernel(AXPY, "not a name"), /name must be a C identifier/);
    const fn = ctx!.kernel(AXPY, "denn_test_axpy");
    const b = ctx!.alloc(4, "float32");
    assert.throws(
      () =>
        ctx!.launch(fn, { grid: [1], block: [2000] }, [{ ptr: b }, { ptr: b }, { f32: 1 }, {
          i32: 4,
        }]),
      /block dimension x/,
    );
    if (ctx!.driverVersion >= 12040) {
      // The driver reports the kernel's parameter sizes: a wrong count or width is refused.
      assert.throws(
        () => ctx!.launch(fn, { grid: [1], block: [32] }, [{ ptr: b }, { ptr: b }, { f32: 1 }]),
        /takes 4 parameters, 3 arguments given/,
      );
      assert.throws(
        () =>
          ctx!.launch(fn, { grid: [1], block: [32] }, [{ ptr: b }, { ptr: b }, { f32: 1 }, {
            i64: 4,
          }]),
        /argument 3 is i64 \(8 bytes\) but the kernel's parameter 3 takes 4 bytes/,
      );
    }
    ctx!.free(b);
  },
});

Deno.test({
  name: "cuda: a second context loads the compiled kernel from the disk cache",
  ...opts,
  ignore: ignore || cacheDir === null,
  fn() {
    ctx!.kernel(AXPY, "denn_test_axpy");
    const files = [...Deno.readDirSync(cacheDir!)].map((e) => e.name);
    assert.ok(files.some((f) => /^[0-9a-f]{64}\.cubin$/.test(f)), files.join(", "));
    assert.ok(!files.some((f) => f.endsWith(".tmp")), "no temp file left");
    const other = openCuda({ cacheDir });
    assert.ok(typeof other !== "string", String(other));
    try {
      const t0 = performance.now();
      const fn = other.kernel(AXPY, "denn_test_axpy");
      const ms = performance.now() - t0;
      const s = other.moduleStats();
      assert.deepEqual([s.compiles, s.diskHits, s.modules], [0, 1, 1]);
      console.log(`disk cache hit: ${ms.toFixed(2)} ms (a compile took longer)`);
      const b = other.alloc(4, "float32");
      other.write(b, Float32Array.from([1, 2, 3, 4]));
      other.launch(fn, { grid: [1], block: [32] }, [{ ptr: b }, { ptr: b }, { f32: 1 }, {
        i32: 4,
      }]);
      assert.deepEqual(Array.from(other.read(b, 4) as Float32Array), [2, 4, 6, 8]);
    } finally {
      other.close();
    }
    // The registered context still works after the other released its references.
    const b = ctx!.alloc(2, "float32");
    ctx!.write(b, Float32Array.from([5, 6]));
    assert.deepEqual(Array.from(ctx!.read(b, 2) as Float32Array), [5, 6]);
    ctx!.free(b);
  },
});

Deno.test({
  name: "cuda: zero fills and device-to-device copies run on the stream",
  ...opts,
  fn() {
    const a = ctx!.alloc(100, "float32"), b = ctx!.alloc(100, "float32");
    ctx!.write(a, Float32Array.from({ length: 100 }, (_, i) => i + 1));
    ctx!.copy(b, a);
    ctx!.zero(a);
    assert.deepEqual(Array.from(ctx!.read(a, 100) as Float32Array), Array(100).fill(0));
    assert.equal((ctx!.read(b, 100) as Float32Array)[99], 100);
    ctx!.free(a);
    ctx!.free(b);
  },
});

/** Row-major host reference of op(A)·op(B). */
function hostGemm(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (tA ? a[p * m + i] : a[i * k + p]) * (tB ? b[j * k + p] : b[p * n + j]);
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

function close(name: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, name);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-4 + 1e-4 * Math.abs(want[i]);
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      assert.fail(`${name}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

Deno.test({
  name: "cuda: cuBLAS sgemm (row-major, transposes, offsets, strided batches) matches the host",
  ...opts,
  ignore: ignore || ctx?.blas === null,
  fn() {
    const blas = ctx!.blas!;
    const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const up = (x: Float32Array): CudaBuffer => {
      const b = ctx!.alloc(x.length, "float32");
      ctx!.write(b, x);
      return b;
    };
    for (const [m, n, k] of [[1, 1, 1], [7, 5, 3], [33, 17, 65], [64, 1, 129], [5, 6, 0]]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const A = rnd(m * k), B = rnd(k * n);
          const a = up(A), b = up(B), c = ctx!.alloc(m * n, "float32");
          blas.sgemm({
            transA,
            transB,
            m,
            n,
            k,
            alpha: 1,
            a,
            lda: transA ? m : k,
            strideA: 0,
            b,
            ldb: transB ? k : n,
            strideB: 0,
            beta: 0,
            c,
            ldc: n,
            strideC: 0,
            batch: 1,
          });
          const got = ctx!.read(c, m * n) as Float32Array;
          close(
            `sgemm ${m}x${n}x${k} tA=${transA} tB=${transB}`,
            got,
            hostGemm(A, B, m, n, k, transA, transB),
          );
          for (const x of [a, b, c]) ctx!.free(x);
        }
      }
    }
    // Strided batched with a broadcast B (stride 0), an offset into A, alpha and beta.
    const batch = 3, m = 4, n = 5, k = 6;
    const A = rnd(1 + batch * m * k), B = rnd(k * n), C0 = rnd(batch * m * n);
    const a = up(A), b = up(B), c = up(C0);
    blas.sgemm({
      transA: false,
      transB: false,
      m,
      n,
      k,
      alpha: 0.5,
      a,
      aOffset: 1,
      lda: k,
      strideA: m * k,
      b,
      ldb: n,
      strideB: 0,
      beta: 2,
      c,
      ldc: n,
      strideC: m * n,
      batch,
    });
    const got = ctx!.read(c, batch * m * n) as Float32Array;
    for (let t = 0; t < batch; t++) {
      const prod = hostGemm(
        A.subarray(1 + t * m * k, 1 + (t + 1) * m * k),
        B,
        m,
        n,
        k,
        false,
        false,
      );
      const want = prod.map((v, i) => 0.5 * v + 2 * C0[t * m * n + i]);
      close(`batched sgemm ${t}`, got.subarray(t * m * n, (t + 1) * m * n), want);
    }
    for (const x of [a, b, c]) ctx!.free(x);
    // TF32 can be switched on and off.
    blas.allowTF32 = true;
    assert.equal(blas.allowTF32, true);
    blas.allowTF32 = false;
  },
});

Deno.test({
  name: "cuda: matmul through the public API matches cpu (where the kernels register matmul)",
  ...opts,
  ignore: ignore || !getBackend("cuda").table.has("matmul"),
  fn() {
    const a = randn([37, 29]), b = randn([29, 41]);
    const want = route({ matmul: "cpu" }, () => a.matmul(b));
    const got: Tensor = a.to("cuda").matmul(b.to("cuda"));
    assert.equal(got.device, "cuda");
    close("matmul", got.dataSync() as Float32Array, want.dataSync() as Float32Array);
  },
});

const CONV_SHAPES = [
  { x: [2, 3, 9, 8], w: [4, 3, 3, 3], stride: 1, padding: 1, dilation: 1, groups: 1 },
  {
    x: [3, 4, 11, 10],
    w: [6, 2, 3, 2],
    stride: [2, 1],
    padding: [1, 2],
    dilation: [1, 2],
    groups: 2,
  },
  { x: [1, 8, 7, 7], w: [8, 1, 3, 3], stride: 2, padding: 1, dilation: 1, groups: 8 },
  { x: [4, 16, 14, 14], w: [32, 16, 1, 1], stride: 1, padding: 0, dilation: 1, groups: 1 },
  { x: [2, 3, 32, 32], w: [8, 3, 5, 5], stride: 1, padding: 2, dilation: 1, groups: 1 },
] as const;

Deno.test({
  name: "cuda: conv2d forward and both gradients match cpu, on the cuDNN and the im2col path",
  ...opts,
  ignore: ignore || ctx?.blas === null,
  fn() {
    const paths = ctx!.dnn ? ["cudnn", "im2col"] as const : ["im2col"] as const;
    if (!ctx!.dnn) console.log(`conv on cuDNN not tested: ${ctx!.dnnUnavailable}`);
    for (const path of paths) {
      setConvPath(ctx!, path);
      const before = convPathStats(ctx!)[path];
      for (const c of CONV_SHAPES) {
        const o = {
          stride: c.stride,
          padding: c.padding,
          dilation: c.dilation,
          groups: c.groups,
        } as unknown as Parameters<typeof F.conv2d>[3];
        const x = randn([...c.x]), w = randn([...c.w]), b = randn([c.w[0]]);
        const run = (dev: "cpu" | "cuda") => {
          const xd = x.to(dev).detach().requiresGrad_(true);
          const wd = w.to(dev).detach().requiresGrad_(true);
          const bd = b.to(dev).detach().requiresGrad_(true);
          const y = F.conv2d(xd, wd, bd, o);
          // Upstream gradient y itself: Σ y·stopgrad(y).
          y.mul(y.detach()).sum().backward();
          return [y, xd.grad!, wd.grad!, bd.grad!].map((t) => t.to("cpu").dataSync());
        };
        const want = run("cpu"), got = run("cuda");
        const name = `${path} x ${c.x} w ${c.w}`;
        ["y", "dx", "dw", "db"].forEach((n, i) =>
          close(`${name}: ${n}`, got[i] as Float32Array, want[i] as Float32Array)
        );
      }
      assert(convPathStats(ctx!)[path] > before, `${path} ran`);
    }
    // float16 forward on the default path, within half precision.
    setConvPath(ctx!, "auto");
    const x = randn([2, 3, 8, 8]), w = randn([4, 3, 3, 3]);
    const want = F.conv2d(x, w, null, { padding: 1 }).dataSync();
    const got = F.conv2d(x.half().to("cuda"), w.half().to("cuda"), null, { padding: 1 })
      .float().to("cpu").dataSync();
    for (let i = 0; i < want.length; i++) {
      assert(Math.abs(got[i] - want[i]) <= 2e-2 + 1e-2 * Math.abs(want[i]), `f16 y[${i}]`);
    }
  },
});

Deno.test({
  name: "cuda: a captured SGD step of a small MLP replays to the same parameters as eager steps",
  ...opts,
  ignore: ignore || ctx?.blas === null,
  fn() {
    const make = () => new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 3));
    const eager = make(), graphed = make();
    graphed.loadStateDict(eager.stateDict());
    eager.to("cuda");
    graphed.to("cuda");
    const x = randn([32, 8]).to("cuda"), y = randn([32, 3]).to("cuda");
    const stepOf = (model: ReturnType<typeof make>, opt: optim.SGD) => () => {
      opt.zeroGrad();
      const loss = F.mseLoss(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss;
    };
    const STEPS = 6;
    const eagerStep = stepOf(eager, new optim.SGD(eager.parameters(), { lr: 0.05, momentum: 0.9 }));
    let last: Tensor | null = null;
    for (let i = 0; i < STEPS; i++) last = eagerStep();
    const step = captureStep(
      stepOf(graphed, new optim.SGD(graphed.parameters(), { lr: 0.05, momentum: 0.9 })),
    );
    // The warm-up ran step 1; the capture runs nothing; each replay is one more step.
    for (let i = 1; i < STEPS; i++) step.replay();
    close(
      "loss",
      step.result.to("cpu").dataSync() as Float32Array,
      last!.to("cpu").dataSync() as Float32Array,
    );
    const a = eager.parameters(), b = graphed.parameters();
    a.forEach((p, i) =>
      close(
        `parameter ${i}`,
        b[i].to("cpu").dataSync() as Float32Array,
        p.to("cpu").dataSync() as Float32Array,
      )
    );
    // A readback inside the step is refused by name, and the context keeps working.
    assert.throws(
      () => captureStep(() => F.mseLoss(graphed.forward(x), y).item()),
      /GraphCaptureError|inside a captured step/,
    );
    step.destroy();
    assert.equal(ctx!.capturing, false);
    assert.deepEqual(ctx!.pinStats(), { pinned: 0, parked: 0 });
  },
});

globalThis.addEventListener("unload", () => {
  if (cacheDir === null) return;
  try {
    Deno.removeSync(cacheDir, { recursive: true });
  } catch {
    // already gone
  }
});
