/**
 * Module utilities of issue 12: forward pre-hooks and forward hooks (return values replace the
 * arguments / output, handles remove them, `prepend` orders them), full backward hooks (gradInput /
 * gradOutput, replacement, modules with several arguments or outputs, arguments that need no
 * gradient), `module.apply(fn)` (PyTorch's post-order), `nn.init`, and the ModuleDict and
 * ModuleList containers.
 */

import assert from "node:assert/strict";
import {
  AutogradError,
  init,
  Module,
  nn,
  noGrad,
  optim,
  randn,
  tensor,
  ValueError,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { assertClose, assertThrowsNamed } from "../../testing/mod.ts";

// Two tensor arguments, two outputs.
class Pair extends Module {
  forward(a: Tensor, b: Tensor): Tensor {
    return [a.mul(b), a.add(b).mul(2)] as unknown as Tensor;
  }
}

Deno.test("forward pre-hooks and hooks run on forward and call, and their results replace", () => {
  const fc = new nn.Linear(3, 2);
  const log: string[] = [];
  const pre = fc.registerForwardPreHook((m, args) => {
    assert.equal(m, fc);
    log.push(`pre ${args[0].shape}`);
    return args[0].mul(0);
  });
  const post = fc.registerForwardHook((_m, args, y) => {
    log.push(`post ${args[0].shape} ${y.shape}`);
    return y.add(1);
  });
  const x = randn([4, 3]);
  // The input became zeros, so the output is the bias, plus 1 from the forward hook.
  const bias = fc.bias!.toArraySync() as number[];
  const want = Array.from({ length: 4 }, () => bias.map((b) => b + 1));
  assertClose(fc.forward(x), want);
  assertClose(fc.call(x), want);
  assert.deepEqual(log, ["pre 4,3", "post 4,3 4,2", "pre 4,3", "post 4,3 4,2"]);
  pre.remove();
  post.remove();
  post.remove(); // again: a no-op
  assertClose(fc.forward(x), x.matmul(fc.weight.t()).add(fc.bias!));
  assert.equal(log.length, 4);
});

Deno.test("hooks fire inside containers, in registration order unless prepended", () => {
  const relu = new nn.ReLU();
  const seq = new nn.Sequential(new nn.Linear(2, 2), relu);
  const order: string[] = [];
  relu.registerForwardHook(() => void order.push("a"));
  relu.registerForwardHook(() => void order.push("b"));
  relu.registerForwardHook(() => void order.push("first"), { prepend: true });
  relu.registerForwardPreHook(() => void order.push("pre"));
  seq.forward(randn([1, 2]));
  assert.deepEqual(order, ["pre", "first", "a", "b"]);
});

Deno.test("a pre-hook may return the argument array; hooks see what forward got", () => {
  const m = new Pair();
  m.registerForwardPreHook((_m, [a, b]) => [b, a.mul(10)]);
  const seen: number[][] = [];
  m.registerForwardHook((_m, args) => void seen.push(args.map((t) => t.itemSync())));
  const out = m.forward(tensor(1), tensor(2)) as unknown as Tensor[];
  assert.deepEqual(seen, [[2, 10]]);
  assert.equal(out[0].itemSync(), 20);
});

Deno.test("hooks leave the module's state dict, children and printing alone and come off cleanly", () => {
  const bn = new nn.BatchNorm2d(2); // forward inherited from BatchNormBase
  const keys = Object.keys(bn.stateDict());
  let calls = 0;
  const h = bn.registerForwardHook(() => void calls++);
  assert.deepEqual(Object.keys(bn.stateDict()), keys);
  assert.ok(!Object.keys(bn).includes("forward"), "the hooked forward is not enumerable");
  bn.forward(randn([2, 2, 3, 3]));
  assert.equal(calls, 1, "one call per forward, even through an inherited forward");
  h.remove();
  assert.ok(!Object.hasOwn(bn, "forward"));
  bn.forward(randn([2, 2, 3, 3]));
  assert.equal(calls, 1);
  {
    using _h = bn.registerForwardHook(() => void calls++);
    bn.forward(randn([2, 2, 3, 3]));
  }
  bn.forward(randn([2, 2, 3, 3]));
  assert.equal(calls, 2, "`using` removed the hook at the end of its block");
});

Deno.test("hook registrations check their arguments", () => {
  const fc = new nn.Linear(2, 2);
  assertThrowsNamed(
    () => fc.registerForwardHook(5 as unknown as () => void),
    ValueError,
    "Linear.registerForwardHook: expected a hook function, got 5",
  );
  assertThrowsNamed(
    () => fc.registerForwardPreHook(() => {}, { prepend: 1 as unknown as boolean }),
    ValueError,
    "Linear.registerForwardPreHook: prepend must be a boolean, got 1",
  );
  assertThrowsNamed(
    () => fc.registerFullBackwardHook(() => {}, { withKwargs: true } as never),
    ValueError,
    'Linear.registerFullBackwardHook: unknown option "withKwargs"',
  );
  fc.registerForwardPreHook(() => 3 as unknown as Tensor);
  assertThrowsNamed(
    () => fc.forward(randn([1, 2])),
    ValueError,
    "Linear: a forward pre-hook returned 3; expected a Tensor, an array of arguments",
  );
  assertThrowsNamed(() => fc.apply(null as never), ValueError, "Linear.apply: expected a function");
});

Deno.test("full backward hook: gradInput and gradOutput are the gradients autograd computes", () => {
  const fc = new nn.Linear(3, 2);
  const seen: (Tensor | null)[][] = [];
  fc.registerFullBackwardHook((_m, gi, go) => void seen.push([...gi, ...go]));
  const x = randn([4, 3], { requiresGrad: true });
  const g = randn([4, 2]);
  const y = fc.forward(x);
  y.backward(g);
  assert.equal(seen.length, 1);
  assertClose(seen[0][0]!, x.grad!);
  assertClose(seen[0][1]!, g);
  // Parameters' gradients are unaffected by the hook's identity nodes.
  assertClose(fc.weight.grad!, g.t().matmul(x));
});

Deno.test("full backward hook: a returned gradInput replaces the input gradient", () => {
  const seq = new nn.Sequential(new nn.Linear(3, 3), new nn.Tanh());
  (seq.at(1) as Module).registerFullBackwardHook((_m, gi) => [gi[0]!.mul(0)]);
  const x = randn([2, 3], { requiresGrad: true });
  seq.forward(x).sum().backward();
  assertClose(x.grad!, [[0, 0, 0], [0, 0, 0]]);
  assertClose((seq.at(0) as nn.Linear).weight.grad!, [[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
});

Deno.test("full backward hook: several arguments and outputs, and arguments without grad", () => {
  const m = new Pair();
  const seen: (Tensor | null)[][][] = [];
  m.registerFullBackwardHook((_m, gi, go) => void seen.push([gi, go]));
  const a = randn([3], { requiresGrad: true }), b = randn([3]);
  const [p, q] = m.forward(a, b) as unknown as Tensor[];
  p.add(q).sum().backward();
  const [gi, go] = seen[0];
  assert.equal(gi.length, 2);
  assert.equal(gi[1], null, "b needs no gradient");
  assertClose(gi[0]!, a.grad!);
  assertClose(go[0]!, [1, 1, 1]);
  assertClose(go[1]!, [1, 1, 1]);
  // Only one output reaching the loss: the other's gradient is null.
  seen.length = 0;
  const [p2] = m.forward(a, b) as unknown as Tensor[];
  p2.sum().backward();
  assert.equal(seen[0][1][1], null);
});

Deno.test("full backward hook: with no argument requiring grad it runs with gradInput null", () => {
  const fc = new nn.Linear(3, 2);
  const seen: (Tensor | null)[][] = [];
  fc.registerFullBackwardHook((_m, gi, go) => void seen.push([...gi, ...go]));
  fc.forward(randn([4, 3])).sum().backward();
  assert.equal(seen.length, 1);
  assert.equal(seen[0][0], null);
  assert.deepEqual(seen[0][1]!.shape, [4, 2]);
  const fc2 = new nn.Linear(3, 2);
  fc2.registerFullBackwardHook(() => [randn([4, 3])]);
  const y = fc2.forward(randn([4, 3]));
  assertThrowsNamed(
    () => y.sum().backward(),
    AutogradError,
    "no argument of the module requires grad",
  );
});

Deno.test("full backward hook: bad return values are named errors", () => {
  const make = (ret: unknown) => {
    const fc = new nn.Linear(3, 2);
    fc.registerFullBackwardHook(() => ret as never);
    return fc.forward(randn([4, 3], { requiresGrad: true })).sum();
  };
  assertThrowsNamed(
    () => make([]).backward(),
    AutogradError,
    "expected undefined or an array of 1",
  );
  assertThrowsNamed(
    () => make([randn([2, 2])]).backward(),
    AutogradError,
    "returned a [2, 2] gradient for argument 0; expected a Tensor of shape [4, 3]",
  );
  assertThrowsNamed(() => make(["x"]).backward(), AutogradError, 'returned "x" for argument 0');
  const odd = new (class extends Module {
    forward(x: Tensor): Tensor {
      return { x } as unknown as Tensor;
    }
  })();
  odd.registerFullBackwardHook(() => {});
  assertThrowsNamed(
    () => odd.forward(randn([2], { requiresGrad: true })),
    ValueError,
    "full backward hooks need forward to return a Tensor or an array of Tensors",
  );
});

Deno.test("full backward hook: not under noGrad, once per backward, off after remove", () => {
  const fc = new nn.Linear(2, 2);
  let calls = 0;
  const h = fc.registerFullBackwardHook(() => void calls++);
  noGrad(() => fc.forward(randn([1, 2])));
  const y = fc.forward(randn([1, 2], { requiresGrad: true })).sum();
  y.backward(undefined, { retainGraph: true });
  y.backward();
  assert.equal(calls, 2);
  h.remove();
  fc.forward(randn([1, 2], { requiresGrad: true })).sum().backward();
  assert.equal(calls, 2);
});

Deno.test("full backward hook: an in-place op after the hooked module still trains", () => {
  const fc = new nn.Linear(3, 3);
  const net = new nn.Sequential(fc, new nn.ReLU({ inplace: true }), new nn.Linear(3, 1));
  let go: Tensor | null = null;
  fc.registerFullBackwardHook((_m, _gi, g) => void (go = g[0]));
  const opt = new optim.SGD(net.parameters(), { lr: 0.1 });
  const x = randn([5, 3], { requiresGrad: true });
  net.forward(x).sum().backward();
  opt.step();
  assert.ok(go !== null && (go as Tensor).shape[0] === 5);
});

Deno.test("apply visits children before parents (PyTorch's order) and returns the module", () => {
  const inner = new nn.Sequential(new nn.Linear(1, 1), new nn.Tanh());
  const net = new nn.Sequential(inner, new nn.ReLU());
  const seen: Module[] = [];
  assert.equal(net.apply((m) => void seen.push(m)), net);
  assert.deepEqual(seen, [inner.at(0), inner.at(1), inner, net.at(1), net]);
  // The usual use: initialise every Linear.
  net.apply((m) => {
    if (m instanceof nn.Linear) nn.init.constant_(m.weight, 0.5);
  });
  assert.deepEqual((inner.at(0) as nn.Linear).weight.toArraySync(), [[0.5]]);
});

Deno.test("nn.init is the initializer namespace (torch.nn.init)", () => {
  assert.equal(nn.init.kaimingUniform_, init.kaimingUniform_);
  assert.equal(nn.init.xavierNormal_, init.xavierNormal_);
  const w = nn.init.kaimingUniform_(randn([8, 4]), { a: Math.sqrt(5) });
  assert.ok(Math.max(...Array.from(w.dataSync(), Math.abs)) <= 0.5);
});

Deno.test("ModuleDict: PyTorch's mapping API and state-dict keys", () => {
  const d = new nn.ModuleDict([["fc", new nn.Linear(2, 3)], ["act", new nn.ReLU()]]);
  assert.deepEqual([...d], ["fc", "act"]);
  assert.deepEqual([...d.keys()], ["fc", "act"]);
  assert.equal(d.size, 2);
  assert.ok(d.has("fc") && !d.has("nope") && !d.has("training"));
  assert.deepEqual(Object.keys(d.stateDict()), ["fc.weight", "fc.bias"]);
  const fc = d.get("fc");
  d.set("out", new nn.Linear(3, 1));
  d.set("fc", new nn.Linear(2, 3)); // replaced in place: keeps its position
  assert.notEqual(d.get("fc"), fc);
  assert.deepEqual([...d.keys()], ["fc", "act", "out"]);
  assert.deepEqual([...d.items()].map(([k, m]) => `${k}:${m.constructor.name}`), [
    "fc:Linear",
    "act:ReLU",
    "out:Linear",
  ]);
  assert.equal([...d.values()].length, 3);
  assert.equal(d.parameters().length, 4, "the optimizer sees every held module's parameters");
  assert.equal(d.pop("act").constructor.name, "ReLU");
  assert.deepEqual([...d.keys()], ["fc", "out"]);
  d.update({ extra: new nn.Tanh() });
  assert.equal(d.size, 3);
  d.clear();
  assert.equal(d.size, 0);
  assert.deepEqual(d.stateDict(), {});
});

Deno.test("ModuleDict refuses bad keys and values, and has no forward", () => {
  const d = new nn.ModuleDict();
  for (const key of ["", "a.b", "training", "forward", "keys", "constructor"]) {
    assertThrowsNamed(
      () => d.set(key, new nn.ReLU()),
      ValueError,
      `ModuleDict: key "${key}" is empty`,
    );
  }
  assertThrowsNamed(
    () => d.set(3 as unknown as string, new nn.ReLU()),
    ValueError,
    "ModuleDict: keys must be strings, got 3",
  );
  assertThrowsNamed(
    () => d.set("x", {} as Module),
    ValueError,
    'ModuleDict: the value for key "x" must be a Module, got Object',
  );
  assertThrowsNamed(
    () => new nn.ModuleDict(new nn.ReLU() as never),
    ValueError,
    "ModuleDict: expected an object of { key: module }",
  );
  assertThrowsNamed(
    () => new nn.ModuleDict([["a"]] as never),
    ValueError,
    'ModuleDict: element 0 must be a [key, module] pair, got ["a"]',
  );
  assertThrowsNamed(
    () => d.get("missing"),
    ValueError,
    'ModuleDict: no module under key "missing"',
  );
  assertThrowsNamed(() => d.forward(), ValueError, "ModuleDict: has no forward");
});

Deno.test("ModuleList keys its modules 0, 1, ... as PyTorch", () => {
  const l = new nn.ModuleList([new nn.Linear(2, 2), new nn.ReLU(), new nn.Conv1d(2, 3, 1)]);
  assert.deepEqual(Object.keys(l.stateDict()), ["0.weight", "0.bias", "2.weight", "2.bias"]);
  assert.equal(l.length, 3);
  assert.equal(l.at(-1).constructor.name, "Conv1d");
});
