// Conformance of the webgpu backend against the cpu oracle, through the public API. Without an
// adapter the tests are skipped with the reason printed, except under CI=true, where a missing
// adapter is a failure.

import {
  apply1,
  arange,
  cast,
  cat,
  DeviceError,
  explain,
  gather,
  getOp,
  pad,
  randint,
  randn,
  route,
  scatterAdd,
  scope,
  tensor,
  use,
  where,
} from "../../mod.ts";
import type { DType, Tensor } from "../../mod.ts";
import { adaptiveAvgPool2dRaw, avgPool2dRaw, conv2dRaw, maxPool2dRaw } from "../../layers/mod.ts";
import type { Conv2dAttrs, Pool2dAttrs } from "../../layers/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

// The matmul op with transpose flags on batched operands (mm itself takes 2-D matrices).
const gemm = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor =>
  apply1(getOp("matmul")!, [a, b], { transA, transB });

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu", true);

const test = webgpuTest(reason);

const gpu = (t: Tensor): Tensor => t.to("webgpu");

async function expectClose(
  label: string,
  got: Tensor,
  want: Tensor,
  tol = 1e-4,
): Promise<void> {
  if (got.device !== "webgpu") throw new Error(`${label}: result is on ${got.device}`);
  if (got.dtype !== want.dtype) throw new Error(`${label}: dtype ${got.dtype} vs ${want.dtype}`);
  if (got.shape.join() !== want.shape.join()) {
    throw new Error(`${label}: shape [${got.shape}] vs [${want.shape}]`);
  }
  const g = await got.data(), w = want.dataSync();
  for (let i = 0; i < w.length; i++) {
    const a = g[i], b = w[i];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue;
    if (!(Math.abs(a - b) <= tol * (1 + Math.abs(b)))) {
      throw new Error(`${label}: element ${i}: webgpu ${a} vs cpu ${b}`);
    }
  }
}

/** Runs `fn` on cpu tensors and on their webgpu copies and compares the results. */
async function same(
  label: string,
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  tol?: number,
): Promise<void> {
  await expectClose(label, fn(...inputs.map(gpu)), fn(...inputs), tol);
}

const pos = (shape: number[]) => randn(shape).abs().add(0.1);

test("unary ops, float32 and int32", async () => {
  const x = randn([3, 5, 7]).mul(2);
  for (
    const op of [
      "neg",
      "exp",
      "abs",
      "sign",
      "relu",
      "sigmoid",
      "tanh",
      "erf",
      "sin",
      "cos",
      "reciprocal",
      "floor",
      "ceil",
      "round",
      "log1p",
    ] as const
  ) {
    const input = op === "log1p" ? pos([3, 5, 7]) : x;
    await same(op, (t) => t[op](), [input]);
  }
  for (const op of ["log", "sqrt", "rsqrt"] as const) await same(op, (t) => t[op](), [pos([4, 9])]);
  await same("erf large", (t) => t.erf(), [randn([50]).mul(4)]);
  await same("round halves", (t) => t.round(), [tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4])]);
  const ints = randint(-9, 9, [4, 6]);
  for (const op of ["neg", "abs", "sign", "relu", "floor", "ceil", "round"] as const) {
    await same(`${op} int32`, (t) => t[op](), [ints]);
  }
  await same("logicalNot", (t) => t.logicalNot(), [randn([11]).gt(0)]);
  await same("scalar 0-d", (t) => t.exp(), [tensor(0.7)]);
});

test("binary ops with broadcasting, scalars and int32", async () => {
  const a = randn([4, 1, 6]), b = randn([5, 1]).add(3);
  for (const op of ["add", "sub", "mul", "div", "maximum", "minimum"] as const) {
    await same(`${op} broadcast`, (x, y) => x[op](y), [a, b]);
    await same(`${op} 0-d`, (x, y) => x[op](y), [a, tensor(1.5)]);
    await same(`${op} 0-d left`, (x, y) => y[op](x), [a, tensor(-0.5)]);
    await same(`${op} number`, (x) => x[op](2.5), [b]);
  }
  await same("pow", (x, y) => x.pow(y), [pos([3, 4]), randn([4])]);
  await same("pow negative base", (x) => x.pow(3), [randn([9])]);
  const i = randint(-5, 6, [3, 4]), j = randint(1, 4, [4]);
  for (const op of ["add", "sub", "mul", "maximum", "minimum", "pow"] as const) {
    await same(`${op} int32`, (x, y) => x[op](y), [i, j]);
  }
  await same("div int32 (float result)", (x, y) => x.div(y), [i, j]);
  for (const op of ["eq", "ne", "lt", "le", "gt", "ge"] as const) {
    await same(op, (x, y) => x[op](y), [randint(0, 3, [3, 4]).float(), randint(0, 3, [4]).float()]);
    await same(`${op} int32`, (x, y) => x[op](y), [i, j]);
  }
  const p = randn([6]).gt(0), q = randn([2, 6]).gt(0);
  await same("logicalAnd", (x, y) => x.logicalAnd(y), [p, q]);
  await same("logicalOr", (x, y) => x.logicalOr(y), [p, q]);
  await same("bool maximum", (x, y) => x.maximum(y), [p, q]);
});

test("where, cast, expand, copy", async () => {
  await same("where", (c, x, y) => where(c, x, y), [
    randn([3, 1, 5]).gt(0),
    randn([4, 5]),
    randn([3, 4, 1]),
  ]);
  await same("where int32", (c, x, y) => where(c, x, y), [
    randn([6]).gt(0),
    randint(0, 9, [6]),
    randint(0, 9, [1]),
  ]);
  const srcs: Record<string, Tensor> = {
    float32: tensor([-2.7, -0.5, 0, 0.4, 3.9, 1e9]),
    int32: tensor([-3, 0, 1, 7, 0, 2], { dtype: "int32" }),
    bool: tensor([true, false, true, true, false, false]),
  };
  for (const from of Object.keys(srcs) as DType[]) {
    for (const to of ["float32", "int32", "bool"] as DType[]) {
      if (from === to || (from === "float32" && to === "int32")) continue;
      await same(`cast ${from}→${to}`, (t) => cast(t, to), [srcs[from]]);
    }
  }
  await same("cast float32→int32", (t) => cast(t, "int32"), [tensor([-2.7, -0.5, 0, 3.9])]);
  await same("expand", (t) => t.expand([2, 3, 4, 5]), [randn([3, 1, 5])]);
  await same("expand 0-d", (t) => t.expand([3, 2]), [tensor(4)]);
  await same("copy", (t) => t.clone(), [randn([7, 3])]);
  await same("copy bool", (t) => t.clone(), [randn([7]).gt(0)]);
});

test("reductions, argmax/argmin, softmax", async () => {
  const x = randn([3, 4, 5, 6]);
  const dimsList: number[][] = [[0], [1], [3], [0, 2], [1, 2], [0, 1, 2, 3], [0, 3]];
  for (const dims of dimsList) {
    for (const keepdim of [false, true]) {
      for (const op of ["sum", "amax", "amin"] as const) {
        await same(`${op} ${dims} ${keepdim}`, (t) => t[op](dims, { keepdim }), [x]);
      }
    }
  }
  await same("sum all", (t) => t.sum(), [x]);
  await same("sum long rows", (t) => t.sum(1), [randn([3, 1000])], 1e-3);
  await same("sum long all", (t) => t.sum(), [randn([5000])], 1e-3);
  await same("max long cols", (t) => t.amax(0), [randn([700, 3])]);
  await same("sum int32", (t) => t.sum(0), [randint(-5, 5, [9, 4])]);
  await same("sum bool", (t) => t.sum(), [randn([40]).gt(0)]);
  await same("max int32", (t) => t.amax(1), [randint(-5, 5, [9, 4])]);
  await same("mean", (t) => t.mean([0, 2]), [x]);
  for (const op of ["argmax", "argmin"] as const) {
    await same(`${op} flat`, (t) => t[op](), [x]);
    await same(`${op} dim 1`, (t) => t[op](1), [x]);
    await same(`${op} dim 3 keepdim`, (t) => t[op](3, { keepdim: true }), [x]);
    await same(`${op} int32`, (t) => t[op](0), [randint(0, 4, [6, 5])]);
  }
  for (const dim of [0, 1, -1]) {
    await same(`softmax ${dim}`, (t) => t.softmax(dim), [randn([3, 7, 5]).mul(5)]);
    await same(`logSoftmax ${dim}`, (t) => t.logSoftmax(dim), [randn([3, 7, 5]).mul(5)]);
  }
});

test("movement: permute, slice, pad, cat, gather, scatterAdd", async () => {
  const x = randn([2, 3, 4, 5]);
  await same("permute", (t) => t.permute(2, 0, 3, 1), [x]);
  await same("transpose", (t) => t.transpose(1, 3), [x]);
  await same("permute int32", (t) => t.permute(1, 0), [randint(0, 9, [3, 5])]);
  await same(
    "slice",
    (t) => t.slice({ start: 1 }, null, { start: 0, end: 4, step: 2 }).select(3, 3),
    [x],
  );
  await same("slice step 3", (t) => t.slice(null, { start: 1, step: 3 }), [randn([4, 11])]);
  await same("narrow", (t) => t.narrow(2, 1, 2), [x]);
  await same("pad", (t) => pad(t, [1, 2, 0, 1], 0.5), [randn([2, 3, 4])]);
  await same("pad int32", (t) => pad(t, [2, 1], 7), [randint(0, 5, [3, 2])]);
  await same("cat dim 1", (a, b, c) => cat([a, b, c], 1), [
    randn([2, 3, 4]),
    randn([2, 1, 4]),
    randn([2, 5, 4]),
  ]);
  await same("cat dim 0", (a, b) => cat([a, b], 0), [randn([2, 3]), randn([4, 3])]);
  await same("cat bool", (a, b) => cat([a, b], -1), [randn([2, 3]).gt(0), randn([2, 2]).gt(0)]);
  const idx = randint(0, 5, [3, 4]);
  await same("gather dim 1", (t, i) => gather(t, 1, i), [randn([3, 5]), idx]);
  await same("gather dim 0", (t, i) => gather(t, 0, i), [randn([6, 4]), randint(0, 6, [2, 3])]);
  await same("scatterAdd", (i, s) => scatterAdd([3, 5], 1, i, s), [idx, randn([3, 4])]);
  await same("scatterAdd dim 0", (i, s) => scatterAdd([4, 6], 0, i, s), [
    randint(0, 4, [7, 3]),
    randn([7, 3]),
  ]);
});

test("matmul: odd sizes, batches with broadcast, transposes", async () => {
  await same("2-D", (a, b) => a.matmul(b), [randn([67, 45]), randn([45, 71])], 1e-4);
  await same("vector", (a, b) => a.matmul(b), [randn([13]), randn([13, 5])]);
  await same("batched", (a, b) => a.matmul(b), [randn([2, 3, 17, 9]), randn([9, 13])]);
  await same("broadcast batch", (a, b) => a.matmul(b), [randn([2, 1, 5, 6]), randn([3, 6, 4])]);
  for (const [ta, tb] of [[true, false], [false, true], [true, true]]) {
    const a = ta ? randn([2, 19, 33]) : randn([2, 33, 19]);
    const b = tb ? randn([70, 19]) : randn([19, 70]);
    await same(`mm transA=${ta} transB=${tb}`, (x, y) => gemm(x, y, ta, tb), [a, b]);
  }
  await same("1x1", (a, b) => a.matmul(b), [randn([1, 1]), randn([1, 1])]);
});

const conv = (s: number, p: number, d = 1, g = 1): Conv2dAttrs => ({
  stride: [s, s],
  padding: [p, p],
  dilation: [d, d],
  groups: g,
});

const pool = (k: number, s: number, p = 0, extra: Partial<Pool2dAttrs> = {}): Pool2dAttrs => ({
  kernelSize: [k, k],
  stride: [s, s],
  padding: [p, p],
  dilation: [1, 1],
  ceilMode: false,
  countIncludePad: true,
  divisorOverride: null,
  ...extra,
});

test("conv2d and pooling forward", async () => {
  const x = randn([2, 4, 9, 7]);
  await same("conv2d", (a, w, b) => conv2dRaw(a, w, b, conv(1, 1)), [
    x,
    randn([5, 4, 3, 3]),
    randn([5]),
  ]);
  await same("conv2d stride/dilation/groups", (a, w) => conv2dRaw(a, w, null, conv(2, 2, 2, 2)), [
    x,
    randn([6, 2, 3, 2]),
  ]);
  const [y, i] = maxPool2dRaw(gpu(x), pool(3, 2, 1));
  const [cy, ci] = maxPool2dRaw(x, pool(3, 2, 1));
  await expectClose("maxPool2d", y, cy);
  await expectClose("maxPool2d indices", i, ci);
  const dil = pool(2, 1, 1, { dilation: [2, 2], ceilMode: true });
  await same("maxPool2d dilation ceil", (t) => maxPool2dRaw(t, dil)[0], [x]);
  await same("avgPool2d", (t) => avgPool2dRaw(t, pool(3, 2, 1)), [x]);
  const ex = pool(3, 2, 1, { countIncludePad: false, ceilMode: true });
  await same("avgPool2d exclude pad ceil", (t) => avgPool2dRaw(t, ex), [x]);
  const dv = pool(2, 2, 0, { divisorOverride: 3 });
  await same("avgPool2d divisor", (t) => avgPool2dRaw(t, dv), [x]);
  await same("adaptiveAvgPool2d", (t) => adaptiveAvgPool2dRaw(t, [4, 3]), [x]);
  await same("adaptiveAvgPool2d 1x1", (t) => adaptiveAvgPool2dRaw(t, [1, 1]), [x]);
});

async function gradsMatch(
  label: string,
  leaves: Tensor[],
  f: (...xs: Tensor[]) => Tensor,
  tol = 1e-3,
): Promise<void> {
  const cpuLeaves = leaves.map((t) => t.detach().requiresGrad_());
  f(...cpuLeaves).backward();
  const gpuLeaves = leaves.map((t) => gpu(t.detach()).requiresGrad_());
  f(...gpuLeaves).backward();
  for (let k = 0; k < leaves.length; k++) {
    await expectClose(`${label}: grad ${k}`, gpuLeaves[k].grad!, cpuLeaves[k].grad!, tol);
  }
}

test("gradients of a conv net composite", async () => {
  await gradsMatch(
    "conv→relu→maxPool→reshape→matmul→logSoftmax→sum",
    [randn([2, 3, 8, 8]), randn([4, 3, 3, 3]), randn([4]), randn([64, 5])],
    (x, w, b, fc) => {
      const h = conv2dRaw(x, w, b, conv(1, 1)).relu();
      const p = maxPool2dRaw(h, pool(2, 2))[0];
      return p.reshape([2, 64]).matmul(fc).logSoftmax(1).sum();
    },
  );
});

test("gradients of pooling, conv variants and movement ops", async () => {
  const x = randn([2, 4, 7, 6]);
  await gradsMatch(
    "conv groups stride dilation",
    [x, randn([4, 2, 3, 3])],
    (a, w) => conv2dRaw(a, w, null, conv(2, 1, 2, 2)).mul(a.sum().add(1).detach()).sum(),
  );
  await gradsMatch(
    "avgPool ceil exclude pad",
    [x],
    (a) =>
      avgPool2dRaw(a, pool(3, 2, 1, { ceilMode: true, countIncludePad: false })).square().sum(),
  );
  await gradsMatch("adaptive", [x], (a) => adaptiveAvgPool2dRaw(a, [3, 4]).square().sum());
  await gradsMatch("maxPool overlap", [x], (a) => maxPool2dRaw(a, pool(3, 1, 1))[0].square().sum());
  await gradsMatch(
    "slice/pad/gather/softmax",
    [randn([3, 8])],
    (a) => {
      const s = a.slice(null, { start: 1, step: 2 });
      const g = gather(
        pad(s, [1, 1]),
        1,
        tensor([[0, 1, 1], [2, 3, 5], [4, 4, 0]], {
          dtype: "int32",
        }).to(a.device),
      );
      return g.softmax(1).mul(arange(3).float().to(a.device)).sum().add(a.amax(1).sum());
    },
  );
});

test("reluBackward: its kernel runs on webgpu and matches cpu, NaN included", async () => {
  const nan = Number.NaN;
  const cases: [Tensor, Tensor][] = [
    [
      tensor([-2, -0.5, 0, 0.25, 3, nan, -1, 2, 1e-30, -0]),
      tensor([1.5, 2, -3, 4, nan, 5, nan, -0.75, 7, 8]),
    ],
    [randn([33, 17]), randn([33, 17])],
  ];
  const dtypes: DType[] = plugin.gpu!.f16 ? ["float32", "float16"] : ["float32"];
  for (const dtype of dtypes) {
    for (const [xs, gs] of cases) {
      const x = cast(xs, dtype), g = cast(gs, dtype);
      const run = (device: string) => {
        const leaf = x.detach().to(device).requiresGrad_();
        const { trace } = explain(() => leaf.relu().backward(g.to(device)));
        return { grad: leaf.grad!, ran: trace.filter((t) => t.op === "reluBackward") };
      };
      const want = run("cpu"), got = run("webgpu");
      if (got.ran.length !== 1 || got.ran[0].backend !== "webgpu") {
        throw new Error(`reluBackward did not run as a webgpu kernel: ${JSON.stringify(got.ran)}`);
      }
      await expectClose(`reluBackward ${dtype} [${xs.shape}]`, got.grad, want.grad, 0);
    }
  }
});

test("per-op routing from cpu to webgpu", async () => {
  const a = randn([9, 6]), b = randn([6, 4]);
  const want = a.matmul(b);
  // Mixed devices: the routed backend becomes home, so the result stays on webgpu.
  const mixed = explain(() => route({ matmul: "webgpu" }, () => a.matmul(gpu(b))));
  await expectClose("routed mixed", mixed.result, want);
  const e = mixed.trace.find((t) => t.op === "matmul")!;
  if (e.backend !== "webgpu" || e.via !== "route" || !e.moved.includes("input 0: cpu→webgpu")) {
    throw new Error(`unexpected trace ${JSON.stringify(e)}`);
  }
  // All inputs on cpu: WebGPU has no synchronous readback, so the routed result stays on webgpu
  // (the trace says so) and later ops follow it there.
  const r = explain(() => route({ matmul: "webgpu" }, () => a.matmul(b)));
  if (r.result.device !== "webgpu") {
    throw new Error(`expected the result on webgpu, got ${r.result.device}`);
  }
  await expectClose("routed cpu", r.result, want);
  const m = r.trace.find((t) => t.op === "matmul")!;
  if (
    m.backend !== "webgpu" ||
    !m.moved.includes("output 0: stays on webgpu (no synchronous readback)")
  ) {
    throw new Error(`unexpected trace ${JSON.stringify(m)}`);
  }
  if (!r.toString().includes("matmul [9, 6] [6, 4] → webgpu (route)")) {
    throw new Error(`explain() does not list matmul on webgpu:\n${r}`);
  }
});

test("memory: 2,000 scoped add/mul steps leave live bytes flat", async () => {
  const x = gpu(randn([16, 16]));
  const step = () => scope(() => void x.add(1).mul(x).mul(0.5).add(x));
  for (let i = 0; i < 50; i++) step();
  await plugin.sync();
  const before = plugin.memoryStats();
  for (let i = 0; i < 2000; i++) step();
  await plugin.sync();
  const after = plugin.memoryStats();
  // Tensors of earlier tests may be collected meanwhile, so live memory may shrink but not grow.
  if (after.liveBytes > before.liveBytes || after.liveBuffers > before.liveBuffers) {
    throw new Error(`live memory grew: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  }
  const total = (s: typeof before) => s.liveBytes + s.pooledBytes + s.pendingBytes;
  if (total(after) > total(before) + 64 * 1024) {
    throw new Error(`pool grew: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  }
  const y = x.add(1);
  await expectClose("after loop", y, (await x.toAsync("cpu")).add(1));
});

test("device errors surface as DeviceError naming the op", async () => {
  plugin.gpu!.pipeline("test/broken", () => "this is not WGSL");
  let msg = "";
  try {
    await plugin.sync();
    gpu(randn([2])).add(1);
  } catch (e) {
    if (!(e instanceof DeviceError)) throw e;
    msg = e.message;
  }
  if (!msg.includes("test/broken")) throw new Error(`error not reported by name: "${msg}"`);
  const y = gpu(tensor([1, 2])).add(1); // the error is reported once, then work goes on
  await expectClose("after error", y, tensor([2, 3]));
});

test("errors name the op; readback is async only", () => {
  const x = gpu(randn([3]));
  let msg = "";
  try {
    x.dataSync();
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!/await tensor.data/.test(msg)) throw new Error(`unexpected: ${msg}`);
  const text = explain().toString();
  if (!/webgpu \(\d+ kernels\)/.test(text)) throw new Error(`explain lacks webgpu: ${text}`);
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
