/**
 * unbind, split and chunk as one autograd node each (as PyTorch's UnbindBackward and
 * SplitBackward): the pieces are views sharing one node, whose backward stacks or concatenates
 * their gradients once, with zeros only for pieces that received none. Checked: the node and the
 * views, finite differences with all pieces and with only some of them used, second derivatives,
 * the backward's ops (one cat, no per-piece scatter into a full-size zero tensor), the version
 * counter the pieces share with their base, and the named errors.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  AutogradError,
  chunk,
  DisposedError,
  explain,
  Generator,
  noGrad,
  split,
  type Tensor,
  tensor,
  unbind,
  zeros,
} from "../../core/mod.ts";
import { assertThrowsNamed, gradcheck } from "../../testing/mod.ts";
import { randTensor } from "./_random.ts";
import { firstDerivative } from "./_second_order.ts";

const gen = new Generator().manualSeed(11);
const r = (shape: number[]): Tensor => randTensor(gen, shape);

Deno.test("unbind, split and chunk give views that share one autograd node", () => {
  const x = r([3, 4, 5]).requiresGrad_();
  const y = x.mul(2);
  const cases: [string, Tensor[], number][] = [
    ["unbind", unbind(y, 1), 4],
    ["split", split(y, [2, 1, 2], -1), 3],
    ["split", split(y, 2, 0), 2],
    ["split", chunk(y, 3, 2), 3],
  ];
  for (const [op, pieces, count] of cases) {
    assert.equal(pieces.length, count, `${op}: ${count} pieces`);
    const node = pieces[0].gradFn!;
    assert.equal(node.op.name, op);
    assert.equal(node.outputCount, count);
    pieces.forEach((p, i) => {
      assert.equal(p.gradFn, node, `${op}: piece ${i} shares the node`);
      assert.equal(p.outputIndex, i);
      assert.equal(p.storage, y.storage, `${op}: piece ${i} is a view`);
      assert.equal(p.base, y);
    });
  }
  assert.deepEqual(unbind(y, 1)[2].toArraySync(), y.select(1, 2).toArraySync());
  assert.deepEqual(chunk(y, 3, 2)[2].shape, [3, 4, 1]);
  // A piece that is the whole tensor is still a new tensor: y keeps its own node.
  const [whole] = split(y, 3);
  assert.notEqual(whole, y);
  assert.equal(y.gradFn!.op.name, "mul");
  assert.equal(whole.gradFn!.op.name, "split");
  // Without grad mode, or without an input that requires grad, nothing is recorded.
  assert.equal(noGrad(() => unbind(y))[0].gradFn, null);
  assert.equal(unbind(r([2, 2]))[0].requiresGrad, false);
  // explain() lists each call once, as a view on the input's device.
  const { trace } = explain(() => unbind(y, 0));
  assert.deepEqual(trace.map((e) => [e.op, e.backend, e.via]), [["unbind", "cpu", "view"]]);
});

Deno.test("unbind, split and chunk pass finite differences, with all or some pieces used", () => {
  // All pieces, each weighted differently so a mixed-up order shows.
  gradcheck((x) => {
    const [a, b, c] = unbind(x, 1);
    return a.mul(b).add(c.mul(3));
  }, [r([2, 3, 4])]);
  gradcheck((x) => {
    const [a, b, c] = split(x, [1, 3, 1], -1);
    return cat3(a.mul(2), b.sin(), c.mul(c));
  }, [r([2, 3, 5])]);
  gradcheck((x) => {
    const [a, b] = chunk(x, 2, 0);
    return a.mul(b.exp());
  }, [r([4, 3])]);
  // Only some pieces: the others' gradients are zeros.
  gradcheck((x) => unbind(x, 0)[2].mul(3), [r([4, 3])]);
  gradcheck((x) => {
    const p = unbind(x, -1);
    return p[0].mul(p[3]);
  }, [r([2, 5])]);
  gradcheck((x) => split(x, 2, 1)[1].tanh(), [r([3, 5])]);
  gradcheck((x) => {
    const [a, , c] = chunk(x, 3, 0);
    return a.add(c.mul(-2));
  }, [r([6, 2])]);
  // A non-contiguous input (a transposed view): the pieces are strided views of it.
  gradcheck((x) => {
    const [a, b] = unbind(x.transpose(0, 1), 0);
    return a.mul(b);
  }, [r([3, 2])]);
  gradcheck((x) => split(x.transpose(0, 1), [1, 2], 0)[1].square(), [r([2, 3])]);
});

function cat3(a: Tensor, b: Tensor, c: Tensor): Tensor {
  return a.sum().add(b.sum()).add(c).mul(c);
}

Deno.test("unbind, split and chunk: gradient values, and zeros only where no gradient came", () => {
  const x = tensor([[1, 2], [3, 4], [5, 6]], { requiresGrad: true });
  const [, b, c] = unbind(x, 0);
  b.mul(2).add(c.mul(3)).sum().backward();
  assert.deepEqual(x.grad!.toArraySync(), [[0, 0], [2, 2], [3, 3]]);
  const y = tensor([1, 2, 3, 4, 5], { requiresGrad: true });
  const [p, q] = split(y, [3, 2]);
  q.mul(q).sum().backward();
  assert.deepEqual(y.grad!.toArraySync(), [0, 0, 0, 8, 10]);
  assert.equal(p.requiresGrad, true);
  // Empty pieces (a section of 0, chunks of an empty dimension) take part without error.
  const z = tensor([[1, 2, 3]], { requiresGrad: true });
  const [e, f] = split(z, [0, 3], 1);
  assert.deepEqual(e.shape, [1, 0]);
  f.sum().backward();
  assert.deepEqual(z.grad!.toArraySync(), [[1, 1, 1]]);
  const w = zeros([2, 0]).requiresGrad_();
  const parts = chunk(w, 3, 1);
  assert.equal(parts.length, 3);
  parts[1].sum().add(w.sum()).backward();
  assert.deepEqual(w.grad!.shape, [2, 0]);
});

Deno.test("unbind's backward is one stack, not a full-size zero tensor per step", () => {
  const steps = 40;
  const x = r([steps, 3, 2]).requiresGrad_();
  const pieces = unbind(x.mul(1), 0);
  let acc = pieces[0];
  for (let t = 1; t < steps; t++) acc = acc.mul(0.5).add(pieces[t]);
  const { trace } = explain(() => acc.sum().backward());
  const count = (op: string) => trace.filter((e) => e.op === op).length;
  assert.equal(count("sliceBackward"), 0, "no per-step scatter into a zero tensor");
  assert.equal(count("cat"), 1, "one stack of the steps' gradients");
  // Only x.mul(1)'s rule sees a full-sequence gradient: none is built, or summed, per step.
  const full = trace.filter((e) => e.op !== "cat" && e.shapes.some((s) => s[0] === steps));
  assert.deepEqual(full.map((e) => e.op), ["mul"]);
  const want = Array.from({ length: steps }, (_, t) => 0.5 ** (steps - 1 - t));
  const g = x.grad!.toArraySync() as number[][][];
  g.forEach((row, t) => assert.ok(Math.abs(row[0][0] - want[t]) < 1e-6, `step ${t}`));
});

Deno.test("unbind, split and chunk: second derivatives", () => {
  gradcheck(
    firstDerivative((x) => {
      const [a, b, c] = unbind(x, 1);
      return a.mul(b).add(c.mul(a));
    }),
    [r([2, 3]).requiresGrad_()],
  );
  gradcheck(
    firstDerivative((x) => {
      const [a, b] = split(x, [2, 1], 0);
      return a.mul(b);
    }),
    [r([3, 2]).requiresGrad_()],
  );
  gradcheck(firstDerivative((x) => chunk(x, 2, 1)[1].mul(x.sum())), [r([2, 4]).requiresGrad_()]);
});

Deno.test("unbind and split: pieces share the base's version counter", () => {
  // A piece read by a later op's backward, then written through the base: a named error.
  const x = r([3, 2]).requiresGrad_();
  const y = x.mul(1);
  const [a, b] = unbind(y, 0);
  const s = a.mul(b); // saves a and b
  noGrad(() => y.fill_(0));
  assertThrowsNamed(() => s.sum().backward(), AutogradError, "modified by an in-place operation");
  // Written through a piece, the base changes (they are views) and its readers notice too.
  const u = r([4]).requiresGrad_();
  const v = u.mul(1);
  const e = v.exp(); // saves its output
  const [p] = split(v, 2);
  noGrad(() => p.fill_(1));
  assert.deepEqual((v.toArraySync() as number[]).slice(0, 2), [1, 1]);
  e.sum().backward(); // exp saved its own output, which nobody modified
  const w = v.sigmoid();
  const [q] = split(w, 2);
  noGrad(() => q.fill_(0));
  assertThrowsNamed(() => w.sum().backward(), AutogradError, "sigmoid", "in-place");
  // In place on a piece while recording is refused, as for every view.
  const [k] = unbind(x.mul(2), 0);
  assertThrowsNamed(() => k.relu_(), AutogradError, "relu_", "view");
  // Pieces of a tensor that needs no gradient may be written freely.
  const plain = zeros([2, 2]);
  unbind(plain, 1)[0].fill_(7);
  assert.deepEqual(plain.toArraySync(), [[7, 0], [7, 0]]);
});

Deno.test("unbind, split and chunk: a disposed input is a named error", () => {
  const x = r([2, 3]);
  x.dispose();
  assertThrowsNamed(() => unbind(x), DisposedError, "unbind", "disposed");
  assertThrowsNamed(() => split(x, 1), DisposedError, "split");
  assertThrowsNamed(() => chunk(x, 2, 1), DisposedError, "chunk");
});
