// The Tensor API of issue 12 on webgpu against the cpu oracle: every op is a composite of existing
// ops, so each runs on webgpu's existing kernels; checkBackendConformance runs it there in strict
// mode (no fallback, no decomposition), compares outputs and input gradients with cpu, and checks
// the named kernels ran. Without an adapter the tests are skipped with the reason printed, except
// under CI=true, where a missing adapter is a failure.

import assert from "node:assert/strict";
import {
  arange,
  cat,
  fromData,
  IndexError,
  indexSelect,
  randn,
  tensor,
  use,
  zeros,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { checkBackendConformance } from "../../testing/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu tensor api", true);

const test = webgpuTest(reason, "webgpu tensor api");

const i32 = (v: number[]) => tensor(v, { dtype: "int32" });
const flat = (ts: Tensor[]) => cat(ts.map((t) => t.flatten()));
const special = () => tensor([[0, 1.5, NaN], [Infinity, -Infinity, 0], [-0.5, 0, 2]]);

interface Case {
  name: string;
  fn: (...x: Tensor[]) => Tensor | Tensor[];
  inputs: () => Tensor[];
  kernels?: string[];
}

const CASES: Case[] = [
  { name: "split sections", fn: (x) => flat(x.split([1, 3], 1)), inputs: () => [randn([3, 4])] },
  { name: "split size", fn: (x) => flat(x.split(2)), inputs: () => [randn([5, 2])] },
  { name: "chunk", fn: (x) => flat(x.chunk(3, -1)), inputs: () => [randn([2, 7])] },
  { name: "unbind", fn: (x) => flat(x.unbind(1)), inputs: () => [randn([2, 3, 2])] },
  {
    name: "indexSelect repeated",
    fn: (x, i) => x.indexSelect(1, i),
    inputs: () => [randn([3, 4]), i32([3, 0, 3, 1])],
    kernels: ["gather", "scatterAdd"],
  },
  {
    name: "indexSelect int32",
    fn: (x, i) => indexSelect(x, 0, i),
    inputs: () => [i32([1, 2, 3, 4]).reshape(2, 2), i32([1, 1, 0])],
    kernels: ["gather"],
  },
  {
    name: "maskedFill number",
    fn: (x, m) => x.maskedFill(m, -2),
    inputs: () => [randn([3, 4]), randn([4]).gt(0)],
    kernels: ["where"],
  },
  {
    name: "maskedFill 0-d tensor value",
    fn: (x, m, v) => x.maskedFill(m, v),
    inputs: () => [randn([2, 3]), randn([2, 3]).gt(0), tensor(0.25)],
    kernels: ["where"],
  },
  { name: "repeat", fn: (x) => x.repeat(2, 1, 3), inputs: () => [randn([2, 3])] },
  {
    name: "flip",
    fn: (x) => x.flip(0, 2),
    inputs: () => [randn([3, 2, 4])],
    kernels: ["gather", "scatterAdd"],
  },
  {
    name: "roll",
    fn: (x) => x.roll([1, -5], [0, 1]),
    inputs: () => [randn([3, 4])],
    kernels: ["cat"],
  },
  { name: "roll flat", fn: (x) => x.roll(4), inputs: () => [randn([2, 3])] },
  { name: "tril", fn: (x) => x.tril(-1), inputs: () => [randn([2, 3, 4])], kernels: ["where"] },
  { name: "triu", fn: (x) => x.triu(2), inputs: () => [randn([4, 5])], kernels: ["where"] },
  { name: "tril bool", fn: (x) => x.gt(0).tril(), inputs: () => [randn([3, 3])] },
  { name: "any", fn: (x) => x.any(1), inputs: () => [special()], kernels: ["sum"] },
  { name: "any all dims", fn: (x) => x.any(), inputs: () => [special()] },
  { name: "all keepdim", fn: (x) => x.all(0, true), inputs: () => [special()] },
  { name: "any of zeros", fn: (x) => x.any(), inputs: () => [zeros([2, 2])] },
  { name: "isnan", fn: (x) => x.isnan(), inputs: () => [special()] },
  { name: "isinf", fn: (x) => x.isinf(), inputs: () => [special()] },
  { name: "isfinite", fn: (x) => x.isfinite(), inputs: () => [special()] },
  { name: "nanToNum defaults", fn: (x) => x.nanToNum(), inputs: () => [special()] },
  {
    name: "nanToNum given",
    fn: (x) => x.nanToNum({ nan: -1, posinf: 9, neginf: -9 }),
    inputs: () => [special()],
  },
  { name: "norm 2", fn: (x) => x.norm(), inputs: () => [randn([3, 4])] },
  {
    name: "norm 2 with a zero row",
    fn: (x) => x.norm(2, 1),
    inputs: () => [tensor([[1, -3, 3], [0, 0, 0]])],
  },
  { name: "norm 1", fn: (x) => x.norm(1, 0), inputs: () => [randn([3, 4])] },
  { name: "norm 3 keepdim", fn: (x) => x.norm(3, 1, true), inputs: () => [randn([3, 4])] },
  { name: "norm inf", fn: (x) => x.norm(Infinity, 1), inputs: () => [randn([3, 4])] },
  { name: "norm -inf", fn: (x) => x.norm(-Infinity), inputs: () => [randn([3, 4])] },
  { name: "norm 0", fn: (x) => x.norm(0, 1), inputs: () => [special()] },
  { name: "norm fro", fn: (x) => x.norm("fro", [1, 2]), inputs: () => [randn([2, 3, 4])] },
  { name: "var(1, false, true)", fn: (x) => x.var(1, false, true), inputs: () => [randn([3, 4])] },
  { name: "std(false)", fn: (x) => x.std(false), inputs: () => [randn([3, 4])] },
  {
    name: "index",
    fn: (x) => x.index(1, null, "...", { start: 1, step: 2 }),
    inputs: () => [randn([2, 3, 4])],
  },
  { name: "at", fn: (x) => x.at(-1).mul(2), inputs: () => [randn([3, 2])] },
];

for (const c of CASES) {
  test(c.name, async () => {
    await checkBackendConformance("webgpu", c.fn, c.inputs(), {
      kernels: c.kernels ?? [],
      atol: 1e-5,
      rtol: 1e-4,
    });
  });
}

test("indexSelect out of range: IndexError at the next readback (via gather)", async () => {
  const x = randn([2, 3]).to("webgpu");
  const y = x.indexSelect(1, i32([0, 3]).to("webgpu"));
  await assert.rejects(
    () => y.toArray(),
    (e: Error) => {
      assert.equal(e.constructor, IndexError);
      assert.match(e.message, /^gather: index 3 is out of bounds for dimension 1 with size 3/);
      return true;
    },
  );
  // The device works on afterwards.
  assert.deepEqual(await arange(3).to("webgpu").flip(0).toArray(), [2, 1, 0]);
});

test("views and in-place writes on webgpu", async () => {
  const z = zeros([3, 4]).to("webgpu");
  z.split(3, 1)[1].fill_(1);
  z.unbind(0)[2].add_(2);
  z.index(0, { start: 1, step: 2 }).fill_(5);
  z.maskedFill_(fromData(Uint8Array.from([1, 0, 0, 0]), [4], { dtype: "bool" }).to("webgpu"), 7);
  assert.deepEqual(await z.toArray(), [[7, 5, 0, 5], [7, 0, 0, 1], [7, 2, 2, 3]]);
  assert.deepEqual(await z.tolist(), await z.toArray());
  const x = arange(4).to("webgpu");
  const y = x.roll(1);
  y.fill_(9);
  assert.deepEqual(await x.toArray(), [0, 1, 2, 3]);
  assert.equal(x.numel(), 4);
});

releaseDeviceAtEnd(plugin, "webgpu tensor api");
