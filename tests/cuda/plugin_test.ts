/**
 * The cuda plugin where it cannot run (CI has no GPU and no libcuda): it registers nothing and
 * says why — no libcuda, no `--allow-ffi`, no permission to read the override variables, an
 * override naming a missing file — and ops routed to "cuda" or tensors moved there get errors
 * carrying that reason, in strict mode too. Nothing crashes. On a machine with a GPU the
 * tests that need the library to be absent are skipped (gpu_test.ts covers that case).
 */

import assert from "node:assert/strict";
import {
  DeviceError,
  DispatchError,
  explain,
  hasBackend,
  randn,
  route,
  setStrict,
  use,
  ValueError,
} from "../../mod.ts";
import { cuda, cudaBackend, cudaContext, emptyCache, memoryStats } from "../../plugins/cuda/mod.ts";

const granted = (name: "env" | "ffi") => Deno.permissions.querySync({ name }).state === "granted";

use(cuda({ cacheDir: null }));
const reason = explain().unavailable["cuda"];
const noCuda = !hasBackend("cuda");
if (!noCuda) console.log("cuda plugin decline tests skipped: a CUDA device is available here");

Deno.test({
  name: "cuda plugin: without libcuda it registers nothing and explain() gives the reason",
  ignore: !noCuda || !granted("ffi") || !granted("env"),
  fn() {
    assert.equal(typeof reason, "string");
    // Either the library is missing (CI) or present without a device: both are named.
    assert.match(
      reason!,
      /^(libcuda not found \(set DENN_LIBCUDA to its path\): libcuda\.so\.1: |no usable device|no device)/,
    );
    assert.equal(cudaContext(), null);
    assert.deepEqual(memoryStats(), {
      liveBytes: 0,
      liveBuffers: 0,
      pooledBytes: 0,
      pooledBuffers: 0,
      peakBytes: 0,
      deviceAllocs: 0,
      cacheHits: 0,
    });
    emptyCache(); // nothing to do, no error
    assert.match(explain().toString(), /unavailable: cuda: /);
  },
});

Deno.test({
  name: "cuda plugin: an override naming a missing file is the reason, with the path",
  ignore: !noCuda || !granted("ffi") || !granted("env"),
  fn() {
    const r = cudaBackend({ libcuda: "/nonexistent/libcuda.so.1" });
    assert.equal(typeof r, "string");
    assert.match(
      r as string,
      /^libcuda \/nonexistent\/libcuda\.so\.1 \(from the options\) did not load: \/nonexistent\/libcuda\.so\.1: /,
    );
    const prev = Deno.env.get("DENN_LIBCUDA");
    Deno.env.set("DENN_LIBCUDA", "/nonexistent/dir/libcuda.so.1");
    try {
      const e = cudaBackend();
      assert.match(
        e as string,
        /\/nonexistent\/dir\/libcuda\.so\.1 \(from DENN_LIBCUDA\) did not load/,
      );
    } finally {
      if (prev === undefined) Deno.env.delete("DENN_LIBCUDA");
      else Deno.env.set("DENN_LIBCUDA", prev);
    }
  },
});

Deno.test({
  name: "cuda plugin: without --allow-ffi it declines with that reason instead of throwing",
  ignore: !noCuda || !granted("env"),
  permissions: { ffi: false, env: true, read: true },
  fn() {
    const r = cudaBackend();
    assert.equal(r, "no FFI permission (run with --allow-ffi)");
  },
});

Deno.test({
  name: "cuda plugin: without permission to read its env vars it says which to allow",
  ignore: !noCuda || !granted("ffi"),
  permissions: { ffi: true, env: false, read: true },
  fn() {
    const r = cudaBackend();
    assert.match(
      r as string,
      /no permission to read env var DENN_LIBCUDA \(run with --allow-env=DENN_LIBCUDA,DENN_NVRTC,DENN_CUBLAS,DENN_CUDNN, or pass the library path in the options\)/,
    );
    // An explicit path needs no env access.
    assert.match(
      cudaBackend({ libcuda: "/nope/libcuda.so.1" }) as string,
      /\/nope\/libcuda\.so\.1/,
    );
  },
});

Deno.test({
  name: "cuda plugin: routes and moves to cuda carry the reason; strict mode throws DispatchError",
  ignore: !noCuda,
  fn() {
    const a = randn([2, 3]), b = randn([2, 3]);
    // Not strict: the route declines and the op runs on the inputs' device, with the reason traced.
    const { result, trace } = explain(() => route({ add: "cuda" }, () => a.add(b)));
    assert.equal(result.device, "cpu");
    assert.equal(trace[0].backend, "cpu");
    assert.ok(
      trace[0].declined?.some((d) => d.startsWith("cuda: not available (") && d.includes(reason!)),
      JSON.stringify(trace[0].declined),
    );
    // Strict: the routed op fails, naming cuda and why.
    setStrict(true);
    try {
      assert.throws(() => route({ add: "cuda" }, () => a.add(b)), (e: unknown) => {
        assert.ok(e instanceof DispatchError);
        assert.match(
          e.message,
          /add: routed to cuda, which declined \(strict mode\): cuda: not available \(/,
        );
        assert.ok(e.message.includes(reason!));
        return true;
      });
      assert.throws(() => route({ matmul: "cuda" }, () => a.matmul(b.t())), DispatchError);
    } finally {
      setStrict(false);
    }
    // Moving a tensor there is a DeviceError with the reason.
    assert.throws(() => a.to("cuda"), (e: unknown) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /device "cuda" is not available: /);
      assert.ok(e.message.includes(reason!));
      return true;
    });
  },
});

Deno.test("cuda plugin: bad options are ValueErrors naming the option", () => {
  assert.throws(() => cuda({ device: -1 }), /cuda: device must be a non-negative integer, got -1/);
  assert.throws(() => cuda({ device: 0.5 }), ValueError);
  assert.throws(() => cuda({ libcuda: "" }), /libcuda must be a library path/);
  assert.throws(() => cuda({ cacheDir: "" }), /cacheDir must be a folder path or null/);
  assert.throws(() => cuda({ maxPooledBytes: -5 }), /maxPooledBytes must be a number >= 0/);
  assert.throws(
    () => cuda({ devcie: 1 } as never),
    /unknown option\(s\) devcie \(known: device, libcuda, nvrtc, cublas, cudnn, cacheDir, maxPooledBytes\)/,
  );
  assert.equal(cuda({ cacheDir: null }), cuda({ cacheDir: null }), "same options, same plugin");
});
