// Views: movement ops share storage (offset + strides) as in PyTorch, writes through a view reach
// the base, autograd's version counters cover views, and kernels still see dense inputs.

import assert from "node:assert/strict";
import { arange, AutogradError, noGrad, randn, tensor, ValueError } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";

const arr = (t: Tensor) => t.toArraySync();

Deno.test("views: narrow(...).fill_ and t().zero_() write the base tensor", () => {
  const w = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  w.narrow(0, 0, 2).fill_(0);
  assert.deepStrictEqual(arr(w), [[0, 0, 0], [0, 0, 0], [7, 8, 9]]);
  const m = tensor([[1, 2], [3, 4]]);
  m.t().zero_();
  assert.deepStrictEqual(arr(m), [[0, 0], [0, 0]]);
  const c = tensor([[1, 2, 3], [4, 5, 6]]);
  c.narrow(1, 1, 1).mul_(10);
  assert.deepStrictEqual(arr(c), [[1, 20, 3], [4, 50, 6]]);
  const d = tensor([[1, 2, 3], [4, 5, 6]]);
  d.slice(null, { start: 0, end: 3, step: 2 }).copy_(tensor([[-1, -3], [-4, -6]]));
  assert.deepStrictEqual(arr(d), [[-1, 2, -3], [-4, 5, -6]]);
  const e = arange(0, 6).reshape([2, 3]);
  e.permute([1, 0]).narrow(0, 2, 1).add_(100);
  assert.deepStrictEqual(arr(e), [[0, 1, 102], [3, 4, 105]]);
});

Deno.test("views: movement ops share storage with PyTorch's strides and offsets", () => {
  const x = arange(0, 24).reshape([2, 3, 4]);
  const t = x.transpose(0, 2);
  assert.equal(t.storage, x.storage);
  assert.deepStrictEqual(t.strides, [1, 4, 12]);
  assert.equal(t.isContiguous(), false);
  const n = x.narrow(1, 1, 2);
  assert.equal(n.storage, x.storage);
  assert.equal(n.offset, 4);
  assert.deepStrictEqual(n.strides, [12, 4, 1]);
  const p = x.permute([2, 0, 1]);
  assert.deepStrictEqual(p.strides, [1, 12, 4]);
  const e = tensor([[1], [2]]).expand([2, 3]);
  assert.deepStrictEqual(e.strides, [1, 0]);
  const sel = x.select(1, -1);
  assert.equal(sel.storage, x.storage);
  assert.deepStrictEqual(sel.shape, [2, 4]);
  assert.equal(sel.offset, 8);
  assert.deepStrictEqual(arr(sel), [[8, 9, 10, 11], [20, 21, 22, 23]]);
  const u = x.unsqueeze(1);
  assert.equal(u.storage, x.storage);
  const s = x.select(0, 1).slice(null, { start: 1, step: 2 });
  assert.equal(s.storage, x.storage);
  assert.deepStrictEqual(s.shape, [3, 2]);
  assert.equal(s.offset, 13);
  assert.deepStrictEqual(s.strides, [4, 2]);
  // Values read through views.
  assert.deepStrictEqual(arr(s), [[13, 15], [17, 19], [21, 23]]);
  assert.deepStrictEqual(arr(t.narrow(0, 3, 1).squeeze(0)), [[3, 15], [7, 19], [11, 23]]);
  assert.deepStrictEqual(arr(e), [[1, 1, 1], [2, 2, 2]]);
});

Deno.test("views: contiguous() copies; reshape is a view where strides allow, else a copy", () => {
  const x = arange(0, 6).reshape([2, 3]);
  const t = x.t();
  const c = t.contiguous();
  assert.notEqual(c.storage, x.storage);
  assert.equal(c.isContiguous(), true);
  assert.deepStrictEqual(arr(c), [[0, 3], [1, 4], [2, 5]]);
  assert.equal(x.contiguous(), x);
  const r = x.reshape([3, 2]);
  assert.equal(r.storage, x.storage);
  assert.throws(() => t.view(6), /view: shape \[6\] is not compatible/);
  assert.equal(x.view(3, 2).storage, x.storage);
  const rt = t.reshape([6]);
  assert.notEqual(rt.storage, x.storage);
  assert.deepStrictEqual(arr(rt), [0, 3, 1, 4, 2, 5]);
  // Splitting a dim of a transposed view keeps it a view.
  const y = arange(0, 24).reshape([4, 6]).t(); // [6, 4], strides [1, 6]
  const split = y.reshape([2, 3, 4]);
  assert.equal(split.storage, y.storage);
  assert.deepStrictEqual(split.strides, [3, 1, 6]);
  assert.deepStrictEqual(arr(split), arr(y.contiguous().reshape([2, 3, 4])));
});

Deno.test("views: ops on views compute the same values as on copies, with gradients", () => {
  const a = randn([4, 5], { requiresGrad: true });
  const b = randn([4, 3], { requiresGrad: true });
  const viaView = a.t().matmul(b).narrow(0, 1, 3).mul(a.narrow(0, 0, 3).narrow(1, 0, 3));
  const a2 = a.detach().clone().requiresGrad_();
  const b2 = b.detach().clone().requiresGrad_();
  const viaCopy = a2.t().contiguous().matmul(b2).contiguous().narrow(0, 1, 3).contiguous().mul(
    a2.narrow(0, 0, 3).contiguous().narrow(1, 0, 3).contiguous(),
  );
  assert.deepStrictEqual(arr(viaView), arr(viaCopy));
  viaView.sum().backward();
  viaCopy.sum().backward();
  assert.deepStrictEqual(arr(a.grad!), arr(a2.grad!));
  assert.deepStrictEqual(arr(b.grad!), arr(b2.grad!));
});

Deno.test("views: version counters cover views (a saved tensor changed through a view)", () => {
  const w = randn([3], { requiresGrad: true });
  const out = w.mul(1).exp(); // exp saves its output
  noGrad(() => out.narrow(0, 0, 1).fill_(0));
  assert.throws(() => out.sum().backward(), AutogradError);
});

Deno.test("views: writes through an expanded view and recorded in-place ops on views are refused", () => {
  const x = tensor([[1], [2]]);
  assert.throws(() => x.expand([2, 3]).fill_(1), ValueError);
  const w = randn([3, 3], { requiresGrad: true });
  const h = w.mul(2);
  assert.throws(() => h.narrow(0, 0, 1).relu_(), AutogradError);
  // The same write is fine without recording.
  noGrad(() => h.narrow(0, 0, 1).zero_());
  assert.deepStrictEqual(arr(h.narrow(0, 0, 1)), [[0, 0, 0]]);
});

Deno.test("views: in-place ops on a whole tensor keep autograd working", () => {
  const x = tensor([-1, 2, -3, 4], { requiresGrad: true });
  const y = x.mul(2).relu_();
  y.sum().backward();
  assert.deepStrictEqual(arr(x.grad!), [0, 2, 0, 2]);
});

Deno.test("views: binary kernels read views through their strides, as on dense copies", () => {
  const m = arange(0, 12).reshape([3, 4]);
  const cases: [string, Tensor, Tensor][] = [
    ["transposed (storage the output's size)", m.t(), tensor([[1], [2], [3], [4]])],
    ["narrowed with an offset", m.narrow(1, 1, 2), m.narrow(1, 2, 2)],
    ["expanded scalar", tensor(3).expand([3, 4]), m],
    ["expanded row", tensor([1, 2, 3, 4]).expand([3, 4]), m.t().t()],
    ["expanded column", tensor([[1], [2], [3]]).expand([3, 4]), m.narrow(0, 0, 3)],
    ["strided slice", m.slice(null, { start: 0, step: 2 }), m.slice(null, { start: 1, step: 2 })],
  ];
  for (const [name, a, b] of cases) {
    for (const op of ["add", "mul", "sub", "maximum"] as const) {
      const got = a[op](b);
      const want = a.contiguous()[op](b.contiguous());
      assert.deepStrictEqual(arr(got), arr(want), `${name}: ${op}`);
      assert.deepStrictEqual(arr(b[op](a)), arr(b.contiguous()[op](a.contiguous())), name);
    }
  }
});
