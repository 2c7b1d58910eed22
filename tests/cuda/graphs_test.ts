// captureStep's host-side logic without a GPU: a real CudaContext over a fake driver library that
// logs every call. Checked: the order of the capture calls, warm-up before capture, pinning (blocks
// live at capture or allocated during it are never reused while the graph lives, and come back
// when it is destroyed), constant uploads as memset nodes, and the named refusals (readback,
// varying upload, compile, sync) that abandon the capture cleanly.

import assert from "node:assert/strict";
import { ValueError } from "../../mod.ts";
import { CudaContext } from "../../plugins/cuda/runtime/context.ts";
import { GraphCaptureError, uniformPattern } from "../../plugins/cuda/runtime/capture.ts";
import { Driver } from "../../plugins/cuda/runtime/driver.ts";
import type { DriverSymbols } from "../../plugins/cuda/runtime/driver.ts";
import type { Nvrtc } from "../../plugins/cuda/runtime/nvrtc.ts";
import { captureStep } from "../../plugins/cuda/graphs.ts";

const STREAM = 0x5000n;

function fakeContext() {
  const log: string[] = [];
  let next = 0x10000n, handles = 0x900n;
  const out = (o: BufferSource, v: bigint) => {
    (o as BigUint64Array)[0] = v;
  };
  const ok = (name: string) => (...args: unknown[]) => {
    log.push(`${name}(${args.filter((a) => typeof a !== "object").join(", ")})`);
    return 0;
  };
  const sym = {
    cuMemAlloc_v2: (o: BufferSource, bytes: bigint) => {
      out(o, next);
      log.push(`cuMemAlloc_v2(${bytes})`);
      next += bytes;
      return 0;
    },
    cuMemFree_v2: ok("cuMemFree_v2"),
    cuStreamSynchronize: ok("cuStreamSynchronize"),
    cuMemGetInfo_v2: () => 1,
    cuModuleLoadData: (o: BufferSource) => (out(o, handles++), 0),
    cuModuleUnload: () => 0,
    cuModuleGetFunction: (o: BufferSource) => (out(o, handles++), 0),
    cuLaunchKernel: ok("cuLaunchKernel"),
    cuMemcpyHtoD_v2: ok("cuMemcpyHtoD_v2"),
    cuMemcpyDtoH_v2: ok("cuMemcpyDtoH_v2"),
    cuMemsetD8Async: ok("cuMemsetD8Async"),
    cuMemsetD32Async: (ptr: bigint, v: number, n: bigint, s: bigint) => {
      log.push(`cuMemsetD32Async(0x${ptr.toString(16)}, 0x${v.toString(16)}, ${n}, ${s})`);
      return 0;
    },
    cuStreamBeginCapture_v2: ok("cuStreamBeginCapture_v2"),
    cuStreamEndCapture: (s: bigint, o: BufferSource) => {
      log.push(`cuStreamEndCapture(${s})`);
      out(o, 0x777n);
      return 0;
    },
    cuGraphInstantiateWithFlags: (o: BufferSource, g: bigint, f: bigint) => {
      log.push(`cuGraphInstantiateWithFlags(${g}, ${f})`);
      out(o, 0x888n);
      return 0;
    },
    cuGraphLaunch: ok("cuGraphLaunch"),
    cuGraphExecDestroy: ok("cuGraphExecDestroy"),
    cuGraphDestroy: ok("cuGraphDestroy"),
    cuStreamDestroy_v2: () => 0,
    cuDevicePrimaryCtxRelease_v2: () => 0,
    cuGetErrorName: () => 1,
    cuGetErrorString: () => 1,
  };
  const lib = { symbols: sym, close() {} } as unknown as Deno.DynamicLibrary<DriverSymbols>;
  const nvrtc = {
    version: 13000,
    path: "fake-nvrtc",
    compile: (_s: string) => {
      log.push("nvrtc compile");
      return { cubin: new Uint8Array([1, 2, 3]), log: "" };
    },
    close() {},
  } as unknown as Nvrtc;
  const ctx = new CudaContext({
    driver: new Driver(lib, "fake-libcuda"),
    nvrtc,
    device: 0,
    deviceName: "fake",
    capability: [9, 0],
    driverVersion: 13000,
    context: 1n,
    stream: STREAM,
    cublas: "no cuBLAS in this test",
    options: { cacheDir: null },
  });
  return { ctx, log };
}

const SRC = `extern "C" __global__ void k(float* y) { y[0] = 1.0f; }`;

Deno.test("captureStep: warm-up, then begin/end capture and instantiate; replay launches the graph", () => {
  const { ctx, log } = fakeContext();
  const x = ctx.alloc(64, "float32");
  let runs = 0;
  const step = captureStep(() => {
    runs++;
    const t = ctx.alloc(64, "float32");
    ctx.launch(ctx.kernel(SRC, "k"), { grid: [1], block: [32] }, [{ ptr: t }]);
    ctx.free(t);
    return runs;
  }, { context: ctx });
  assert.equal(runs, 2, "one warm-up run and the captured run");
  assert.equal(step.result, 2);
  const begin = log.indexOf(`cuStreamBeginCapture_v2(${STREAM}, 2)`);
  assert(begin > 0, log.join("\n"));
  assert.equal(log.filter((l) => l === "nvrtc compile").length, 1, "compiled in the warm-up only");
  assert(log.indexOf("nvrtc compile") < begin);
  assert.equal(log[begin - 1], `cuStreamSynchronize(${STREAM})`, "the stream is idle at capture");
  const end = log.indexOf(`cuStreamEndCapture(${STREAM})`);
  assert(end > begin);
  // Only the launch is captured: the block came from the pool (no cuMemAlloc), its free is parked.
  assert.equal(end - begin, 2, log.slice(begin, end + 1).join("\n"));
  assert.match(
    log[begin + 1],
    new RegExp(`^cuLaunchKernel\\(\\d+, 1, 1, 1, 32, 1, 1, 0, ${STREAM}\\)$`),
  );
  assert.equal(log[end + 1], `cuGraphInstantiateWithFlags(${0x777n}, 0)`);
  assert.equal(ctx.capturing, false);
  step.replay();
  step.replay();
  assert.equal(step.replays, 2);
  assert.deepEqual(log.slice(-2), [
    `cuGraphLaunch(${0x888n}, ${STREAM})`,
    `cuGraphLaunch(${0x888n}, ${STREAM})`,
  ]);
  step.destroy();
  step.destroy(); // idempotent
  assert.deepEqual(log.slice(-2), [`cuGraphExecDestroy(${0x888n})`, `cuGraphDestroy(${0x777n})`]);
  assert.throws(() => step.replay(), GraphCaptureError);
  ctx.free(x);
});

Deno.test("captureStep: pinned blocks are not reused while the graph lives", () => {
  const { ctx } = fakeContext();
  const before = ctx.alloc(256, "float32"); // live at capture: pinned
  let inside: ReturnType<typeof ctx.alloc> | null = null;
  const step = captureStep(() => {
    inside = ctx.alloc(512, "float32");
    return null;
  }, { context: ctx });
  assert.deepEqual(ctx.pinStats(), { pinned: 3, parked: 0 }, "before, the warm-up's block, inside");
  // Freeing pinned blocks parks them: a new allocation of the same size gets other memory.
  ctx.free(before);
  ctx.free(inside!);
  assert.deepEqual(ctx.pinStats(), { pinned: 3, parked: 2 });
  const again = ctx.alloc(256, "float32");
  assert.notEqual(again.ptr, before.ptr);
  const again2 = ctx.alloc(512, "float32");
  assert.notEqual(again2.ptr, inside!.ptr);
  assert.throws(() => ctx.free(before), /already freed \(it is held for a captured graph\)/);
  assert.throws(() => ctx.read(before, 1), /not a live buffer/);
  // Destroying the graph returns the parked blocks: the allocator hands them out again.
  step.destroy();
  assert.deepEqual(ctx.pinStats(), { pinned: 0, parked: 0 });
  const reused = ctx.alloc(256, "float32");
  assert.equal(reused.ptr, before.ptr);
  // Unpinned live blocks free normally afterwards.
  ctx.free(again);
  ctx.free(reused);
  assert.equal(ctx.memoryStats().liveBuffers, 2); // again2 and the warm-up's `inside`
});

Deno.test("captureStep: a readback inside the step is refused and the capture abandoned", () => {
  const { ctx, log } = fakeContext();
  const b = ctx.alloc(4, "float32");
  let captured = false;
  assert.throws(
    () =>
      captureStep(() => {
        if (ctx.capturing) captured = true;
        ctx.read(b, 4); // fine in the warm-up, refused during capture
      }, { context: ctx }),
    (e: unknown) => {
      assert(e instanceof GraphCaptureError, String(e));
      assert.match(e.message, /a readback of 4 float32 elements .* inside a captured step/);
      return true;
    },
  );
  assert(captured);
  assert.equal(ctx.capturing, false, "the capture was ended");
  assert(log.includes(`cuStreamEndCapture(${STREAM})`));
  assert.equal(log.at(-1), `cuGraphDestroy(${0x777n})`, "the abandoned graph is destroyed");
  assert.deepEqual(ctx.pinStats(), { pinned: 0, parked: 0 }, "its pins are released");
  assert.equal((ctx.read(b, 4) as Float32Array).length, 4, "the context works afterwards");
});

Deno.test("captureStep: constant uploads become memsets; varying uploads, compiles, syncs refused", () => {
  const { ctx, log } = fakeContext();
  const f = ctx.alloc(3, "float32"), h = ctx.alloc(3, "float16");
  const step = captureStep(() => {
    ctx.write(f, new Float32Array([1, 1, 1]));
    ctx.write(h, new Uint16Array([0x3c00, 0x3c00, 0x3c00]));
  }, { context: ctx });
  assert.deepEqual(log.filter((l) => l.startsWith("cuMemsetD32Async")), [
    `cuMemsetD32Async(0x${f.ptr.toString(16)}, 0x3f800000, 3, ${STREAM})`,
    `cuMemsetD32Async(0x${h.ptr.toString(16)}, 0x3c003c00, 2, ${STREAM})`,
  ]);
  assert.equal(log.filter((l) => l.startsWith("cuMemcpyHtoD_v2")).length, 2, "warm-up copies");
  step.destroy();
  const refusals: [() => void, RegExp][] = [
    [() => ctx.write(f, new Float32Array([1, 2, 3])), /upload of 12 bytes of varying host data/],
    [() => ctx.kernel(SRC.replace("1.0f", "2.0f"), "k"), /compiling kernel "k" .*warm-up/],
    [() => ctx.sync(), /a stream synchronisation inside a captured step/],
    [() => ctx.emptyCache(), /emptyCache inside a captured step/],
    [() => ctx.close(), /closing the context inside a captured step/],
  ];
  for (const [bad, re] of refusals) {
    let first = true;
    assert.throws(() =>
      captureStep(() => {
        if (first) first = false;
        else bad();
      }, { context: ctx }), (e: unknown) => e instanceof GraphCaptureError && re.test(e.message));
    assert.equal(ctx.capturing, false);
  }
  assert.deepEqual(ctx.pinStats(), { pinned: 0, parked: 0 });
});

Deno.test("captureStep: options and step kinds that cannot be captured are named errors", () => {
  const { ctx } = fakeContext();
  assert.throws(() => captureStep(() => 1, { context: ctx, warmup: 0 }), ValueError);
  assert.throws(() => captureStep(() => 1, { context: ctx, extra: 1 } as never), /unknown option/);
  assert.throws(() => captureStep(42 as never, { context: ctx }), /fn must be a function/);
  assert.throws(
    () => captureStep(() => Promise.resolve(1), { context: ctx }),
    /returned a promise; a captured step must be synchronous/,
  );
  assert.throws(
    () => captureStep(() => captureStep(() => 1, { context: ctx }), { context: ctx, warmup: 1 }),
    (e: unknown) => e instanceof GraphCaptureError,
  );
  assert.equal(ctx.capturing, false);
});

Deno.test("uniformPattern: the 32-bit fill of constant data, null for varying data", () => {
  const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  assert.equal(uniformPattern(u8(new Float32Array([1, 1])), 4), 0x3f800000);
  assert.equal(uniformPattern(u8(new Float32Array([0])), 4), 0);
  assert.equal(uniformPattern(u8(new Int32Array([-1, -1, -1])), 4), 0xffffffff);
  assert.equal(uniformPattern(u8(new Uint16Array([0x3c00])), 2), 0x3c003c00);
  assert.equal(uniformPattern(new Uint8Array([1, 1, 1]), 1), 0x01010101);
  assert.equal(uniformPattern(u8(new Float32Array([1, 2])), 4), null);
  assert.equal(uniformPattern(new Uint8Array(0), 4), null);
});
