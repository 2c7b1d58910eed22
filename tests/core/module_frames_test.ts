/**
 * Intermediates of trusted module calls (core/module_frames.ts): a training loop written the obvious
 * way (no scope(), no dispose()) reuses its activations' memory every step, with the same values and
 * gradients as before, and nothing a user can reach is freed: the result, the inputs, parameters and
 * buffers, tensors a hook or an untrusted module saw, and everything under retainGraph, createGraph,
 * a subclass or a forward that throws.
 */

import assert from "node:assert/strict";
import {
  apply1,
  autograd,
  emptyHostPool,
  F,
  hostPoolStats,
  Module,
  nn,
  noGrad,
  optim,
  randint,
  randn,
  ShapeError,
  trustForward,
  ValueError,
} from "../../mod.ts";
import type { AnyModule, OpDef, Tensor, TensorSpec } from "../../mod.ts";
import { googlenet, lenet5, resnet } from "../../plugins/models/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

// A subclass of a trusted class is not trusted: its intermediates wait for the GC.
class Untrusted extends nn.Sequential {}

// Activations of at least 4 KiB, so that they live in the host pool.
const net = (cls: typeof nn.Sequential = nn.Sequential): nn.Sequential =>
  new cls(
    new nn.Conv2d(3, 8, 3, { padding: 1 }),
    new nn.BatchNorm2d(8),
    new nn.ReLU({ inplace: true }),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(8 * 16 * 16, 10),
  );

function trainer(model: Module, x: Tensor, y: Tensor): () => Tensor {
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  return () => {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x) as Tensor, y);
    loss.backward();
    opt.step();
    return loss;
  };
}

Deno.test("a training loop written the obvious way makes no new large arrays after its first steps", () => {
  for (
    const [name, model, x] of [
      ["Sequential", net(), randn([16, 3, 32, 32])],
      ["ResNet-18", resnet(18, { numClasses: 10 }), randn([8, 3, 32, 32])],
      // Batch norm with ReLU as one op, nine cats and thirteen max poolings (their indices too).
      ["GoogLeNet", googlenet({ numClasses: 10 }), randn([8, 3, 32, 32])],
    ] as const
  ) {
    const step = trainer(model, x, randint(0, 10, [x.shape[0]]));
    step();
    step();
    emptyHostPool();
    step();
    const first = hostPoolStats().allocations;
    assert.ok(first > 0, `${name}: the first step after emptying the pool makes its arrays`);
    for (let i = 0; i < 4; i++) step();
    assert.equal(hostPoolStats().allocations, first, `${name}: later steps reuse them`);
  }
});

// Typed arrays of at least 4 KiB made with `new` (not views of a buffer) while `fn` runs, by where
// they were made: arrays a kernel makes itself bypass the pool and its counters.
function freshArrays(fn: () => void): Record<string, number> {
  const seen: Record<string, number> = {};
  const g = globalThis as unknown as Record<string, unknown>;
  const names = ["Float32Array", "Int32Array", "Float64Array", "Uint8Array"];
  const saved = names.map((n) => g[n]);
  names.forEach((n, i) => {
    g[n] = new Proxy(saved[i] as new (...a: unknown[]) => ArrayBufferView, {
      construct(target, args, newTarget) {
        const r = Reflect.construct(target, args, newTarget) as ArrayBufferView;
        const view = args[0] instanceof ArrayBuffer || args[0] instanceof SharedArrayBuffer;
        if (!view && r.byteLength >= 4096) {
          const at = new Error().stack!.split("\n")[2].trim();
          seen[`${n} ${at}`] = (seen[`${n} ${at}`] ?? 0) + 1;
        }
        return r;
      },
    });
  });
  try {
    fn();
  } finally {
    names.forEach((n, i) => g[n] = saved[i]);
  }
  return seen;
}

Deno.test("kernels make no fresh large typed arrays per step: their outputs come from the pool", () => {
  for (
    const [name, model, x] of [
      // cpu matmul (no blas here), layer norm, cross-entropy, argmax.
      [
        "MLP with LayerNorm",
        new nn.Sequential(
          new nn.Linear(64, 128),
          new nn.LayerNorm(128),
          new nn.ReLU(),
          new nn.Linear(128, 10),
        ),
        randn([32, 64]),
      ],
      // The fused conv + ReLU + 2 × 2 max pool and its backward.
      ["LeNet-5", lenet5(), randn([16, 1, 28, 28])],
    ] as const
  ) {
    const train = trainer(model, x, randint(0, 10, [x.shape[0]]));
    const step = () => {
      train();
      noGrad(() => (model.forward(x) as Tensor).argmax(1));
    };
    for (let i = 0; i < 3; i++) step();
    assert.deepEqual(freshArrays(() => step()), {}, `${name}: arrays made afresh in a step`);
  }
});

Deno.test("values and gradients are those of the same model whose intermediates wait for the GC", async () => {
  const a = net(), b = net(Untrusted);
  b.loadStateDict(a.stateDict());
  const x = randn([4, 3, 32, 32]), y = randint(0, 10, [4]);
  const stepA = trainer(a, x, y), stepB = trainer(b, x, y);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await stepA().toArray(), await stepB().toArray(), `loss at step ${i}`);
  }
  const pa = a.parameters(), pb = b.parameters();
  for (let i = 0; i < pa.length; i++) {
    assert.deepEqual(await pa[i].toArray(), await pb[i].toArray(), `parameter ${i}`);
  }
});

// A model over a sequence layer whose output is an object (LSTM, GRU, RNN, MultiheadAttention) or
// a tensor (the transformer stacks), as a user writes one: the user's class is not trusted, the
// denn layer inside it is (or, in `plain`, a subclass of it that is not).
class PlainLSTM extends nn.LSTM {}
class PlainGRU extends nn.GRU {}
class PlainMHA extends nn.MultiheadAttention {}
class PlainEncoder extends nn.TransformerEncoder {}
class PlainDecoder extends nn.TransformerDecoder {}

function sequenceModels(plain: boolean): [string, Module, Tensor][] {
  const LSTM = plain ? PlainLSTM : nn.LSTM, GRU = plain ? PlainGRU : nn.GRU;
  const MHA = plain ? PlainMHA : nn.MultiheadAttention;
  const Enc = plain ? PlainEncoder : nn.TransformerEncoder;
  const Dec = plain ? PlainDecoder : nn.TransformerDecoder;
  class Head extends Module {
    constructor(readonly body: AnyModule, readonly fc = new nn.Linear(32, 5)) {
      super();
    }
    forward(x: Tensor): Tensor {
      const r = this.body instanceof nn.MultiheadAttention
        ? (this.body.forward(x, x, x) as { output: Tensor }).output
        : this.body instanceof nn.TransformerDecoder
        ? this.body.forward(x, x) as Tensor
        : this.body.forward(x) as Tensor | { output: Tensor };
      const o = r instanceof Object && "output" in r ? r.output : r as Tensor;
      return this.fc.forward(o.mean(1));
    }
  }
  // [8, 16, 32]: activations of 16 KiB, inside the host pool's range.
  const x = randn([8, 16, 32]);
  const layer = () =>
    new nn.TransformerEncoderLayer(32, 2, { dimFeedforward: 64, batchFirst: true });
  const dec = () => new nn.TransformerDecoderLayer(32, 2, { dimFeedforward: 64, batchFirst: true });
  return [
    ["LSTM", new Head(new LSTM(32, 32, { batchFirst: true, numLayers: 2 })), x],
    ["GRU", new Head(new GRU(32, 32, { batchFirst: true })), x],
    ["MultiheadAttention", new Head(new MHA(32, 2, { batchFirst: true })), x],
    ["TransformerEncoder", new Head(new Enc(layer(), 2)), x],
    ["TransformerDecoder", new Head(new Dec(dec(), 1)), x],
  ];
}

Deno.test("sequence layers free their intermediates early, with the values of subclasses that do not", async () => {
  const trusted = sequenceModels(false), plain = sequenceModels(true);
  for (let m = 0; m < trusted.length; m++) {
    const [name, a, x] = trusted[m], b = plain[m][1];
    b.loadStateDict(a.stateDict());
    for (const model of [a, b]) model.eval(); // no dropout: the two runs draw no random numbers
    const y = randint(0, 5, [x.shape[0]]);
    const stepA = trainer(a, x, y), stepB = trainer(b, x, y);
    stepA();
    stepB();
    // One step each from an empty pool: the trusted layer's released intermediates reach it.
    emptyHostPool();
    const la = stepA();
    const reusedA = hostPoolStats().reuses;
    emptyHostPool();
    const lb = stepB();
    const reusedB = hostPoolStats().reuses;
    // (The stacks' plain subclasses still hold trusted layers, which free their own.)
    if (!name.startsWith("Transformer")) {
      assert.ok(reusedA > reusedB, `${name}: ${reusedA} arrays reused against ${reusedB}`);
    }
    assert.deepEqual(await la.toArray(), await lb.toArray(), `${name}: loss`);
    const pa = a.parameters(), pb = b.parameters();
    for (let i = 0; i < pa.length; i++) {
      assert.deepEqual(await pa[i].toArray(), await pb[i].toArray(), `${name}: parameter ${i}`);
    }
  }
});

Deno.test("backward frees a trusted call's saved intermediates but not its result or inputs", async () => {
  const model = net();
  const x = randn([2, 3, 32, 32], { requiresGrad: true });
  const seen: Tensor[] = [];
  const out = model.forward(x);
  // Reach the graph's saved tensors the way autograd's rules do.
  for (let n = out.gradFn; n; n = (n.edges[0] as { node?: typeof n } | null)?.node ?? null) {
    seen.push(...n.context().inputs);
  }
  // Activations (batch of 2), not the input, parameters or batch norm's running statistics.
  const inner = seen.filter((t) => t !== x && t.shape[0] === 2);
  assert.ok(inner.length > 0);
  assert.ok(inner.every((t) => !t.disposed), "saved intermediates live until backward");
  out.sum().backward();
  assert.ok(inner.every((t) => t.disposed), "backward freed them");
  assert.ok(!out.disposed && !x.disposed && model.parameters().every((p) => !p.disposed));
  assert.ok(x.grad !== null);
  await out.data();
  const bn = model.children()[1] as nn.BatchNorm2d;
  await bn.runningMean!.data();
  await bn.numBatchesTracked!.data();
});

Deno.test("what a forward hook or an untrusted child saw stays usable after backward", async () => {
  const model = net();
  let hooked: Tensor | null = null;
  model.children()[0].registerForwardHook((_m, _args, y) => {
    hooked = y as Tensor;
  });
  model.forward(randn([2, 3, 32, 32])).sum().backward();
  assert.equal((await hooked!.data()).length, 2 * 8 * 32 * 32);

  class Keeper extends Module {
    kept: Tensor | null = null;
    forward(x: Tensor): Tensor {
      this.kept = x;
      return x;
    }
  }
  const keeper = new Keeper();
  const withKeeper = new nn.Sequential(new nn.Conv2d(3, 4, 3), keeper, new nn.ReLU());
  withKeeper.forward(randn([2, 3, 16, 16])).sum().backward();
  assert.equal((await keeper.kept!.data()).length, 2 * 4 * 14 * 14);
});

Deno.test("retainGraph, createGraph and noGrad calls keep what they still need", async () => {
  const model = net();
  const x = randn([2, 3, 32, 32], { requiresGrad: true });
  const out = model.forward(x).sum();
  out.backward(undefined, { retainGraph: true });
  const g1 = await x.grad!.data();
  x.grad = null;
  out.backward();
  assert.deepEqual(await x.grad!.data(), g1, "the second backward saw the same saved tensors");

  // A gradient penalty: the gradient's graph runs through the first one's saved tensors; the same
  // with an untrusted copy, whose tensors all wait for the GC.
  const z = randn([3, 4], { requiresGrad: true });
  const penalty = async (seq: nn.Sequential) => {
    const gz = autograd.grad(seq.forward(z).sum(), z, { createGraph: true });
    gz.pow(2).sum().backward();
    const w = (seq.children()[0] as nn.Linear).weight;
    return await w.grad!.toArray();
  };
  const lin = new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 1));
  const copy = new Untrusted(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 1));
  copy.loadStateDict(lin.stateDict());
  assert.deepEqual(await penalty(lin), await penalty(copy));

  const y = noGrad(() => model.forward(randn([2, 3, 32, 32])));
  assert.deepEqual(y.shape, [2, 10]);
  await y.data();
});

Deno.test("a forward that throws, a subclass and results it cannot see into free nothing", async () => {
  const model = new nn.Sequential(new nn.Linear(4, 4), new nn.ReLU());
  assertThrowsNamed(() => model.forward(randn([2, 5])), ShapeError, "linear");
  assert.ok(model.forward(randn([2, 4])).shape[1] === 4, "the module still works after a throw");

  class Pair extends Module<[Tensor], Tensor[] | Map<string, Tensor>> {
    asMap = false;
    forward(x: Tensor): Tensor[] | Map<string, Tensor> {
      const h = x.mul(2), s = h.add(1);
      return this.asMap ? new Map([["h", h], ["s", s]]) : [h, s];
    }
  }
  trustForward(Pair);
  const pair = new Pair();
  const [h, s] = pair.forward(randn([3])) as Tensor[];
  assert.ok(!h.disposed && !s.disposed, "tensors in an array result are handed out");
  pair.asMap = true;
  const m = pair.forward(randn([3])) as Map<string, Tensor>;
  assert.deepEqual((await m.get("h")!.data()).length, 3, "a Map result frees nothing");
});

// An op (a copy) whose gradient rule hands back its saved input itself as the input's gradient.
const passSaved: OpDef<Record<string, never>> = {
  name: "test/passSaved",
  infer: ([x]): TensorSpec[] => [{ shape: [...x.shape], dtype: x.dtype }],
  grad: ({ inputs: [x] }) => [x],
  decompose: ([x]) => [x.add(0)],
};

class PassSaved extends Module {
  forward(x: Tensor): Tensor {
    return apply1(passSaved, [x.mul(2)], {});
  }
}
trustForward(PassSaved);

Deno.test("a saved intermediate that a gradient rule returns as a gradient is not freed", async () => {
  const x = randn([300, 300], { requiresGrad: true });
  new PassSaved().forward(x).sum().backward();
  // d/dx of passSaved(2x) with the rule's "gradient" 2x: 2 · 2x.
  const want = await x.mul(4).data(), got = await x.grad!.data();
  assert.deepEqual(got, want);
});

Deno.test("trustForward refuses what is not a Module class", () => {
  assertThrowsNamed(() => trustForward(Object as never), ValueError, "trustForward");
  assertThrowsNamed(() => trustForward(null as never), ValueError, "trustForward");
});
