/**
 * Module's type parameters: a module whose forward takes or returns more than Tensors
 * (MultiheadAttention, LSTM, LSTMCell, a user's) is a `Module` to TypeScript as it is at run time,
 * so it goes into containers and `registerModule`, and `call`, `forward` and hooks are typed by
 * what it takes and returns. `deno test` type-checks this file: the `@ts-expect-error` lines are
 * the calls the types must refuse.
 */

import assert from "node:assert/strict";
import { Module, nn, Parameter, randn } from "../../mod.ts";
import type { AnyModule, Tensor } from "../../mod.ts";

class Stats extends Module<[x: Tensor], { mean: Tensor; max: Tensor }> {
  scale: Tensor = Parameter(randn([1]));
  forward(x: Tensor): { mean: Tensor; max: Tensor } {
    return { mean: x.mean().mul(this.scale), max: x.max() };
  }
}

Deno.test("a module with a structured result is a Module: typed call, containers, registerModule", () => {
  const stats = new Stats();
  const { mean, max } = stats.call(randn([4]));
  assert.deepEqual([mean.shape, max.shape], [[1], []]);
  // @ts-expect-error: Stats takes one Tensor
  assert.throws(() => stats.call(randn([4]), randn([4])));

  const mha = new nn.MultiheadAttention(8, 2);
  const lstm = new nn.LSTM(3, 5);
  const cell = new nn.LSTMCell(3, 5);
  const q = randn([6, 1, 8]);
  const att: Tensor = mha.call(q, q, q).output;
  const seq: Tensor = lstm.call(randn([7, 2, 3])).c;
  const next: Tensor = cell.call(randn([2, 3]), [randn([2, 5]), randn([2, 5])]).h;
  assert.deepEqual([att.shape, seq.shape, next.shape], [[6, 1, 8], [1, 2, 5], [2, 5]]);

  const list = new nn.ModuleList([mha, lstm, cell, stats, new nn.Linear(2, 3)]);
  assert.equal(list.length, 5);
  const dict = new nn.ModuleDict({ attention: mha, recurrence: lstm });
  dict.set("cell", cell);
  const typed = new nn.ModuleList<nn.LSTM>([lstm]);
  const h: Tensor = typed.at(0).call(randn([7, 2, 3])).h;
  assert.deepEqual(h.shape, [1, 2, 5]);

  class Net extends Module {
    constructor() {
      super();
      this.registerModule("attn", mha);
    }
    forward(x: Tensor): Tensor {
      return (this as unknown as { attn: nn.MultiheadAttention }).attn.call(x, x, x).output;
    }
  }
  const net = new Net();
  const all: AnyModule[] = net.modules();
  assert.deepEqual(all.map((m) => m.constructor.name), ["Net", "MultiheadAttention", "Linear"]);
  assert.deepEqual(Object.keys(net.stateDict()).slice(0, 2), [
    "attn.in_proj_weight",
    "attn.in_proj_bias",
  ]);
  // A plain layer keeps its Tensor-in, Tensor-out type where a Module is expected.
  const plain: Module = new nn.Linear(2, 3);
  // @ts-expect-error: an LSTM does not return a Tensor, so it is not a plain Module
  const wrong: Module = lstm;
  assert.ok(plain instanceof Module && wrong instanceof Module);
});

Deno.test("hooks are typed by the module's arguments and result", () => {
  const mha = new nn.MultiheadAttention(4, 1);
  const seen: number[][] = [];
  const h = mha.registerForwardHook((_m, [query], out) => {
    seen.push(query.shape as number[], out.output.shape as number[]);
  });
  const x = randn([3, 4]);
  mha.call(x, x, x);
  h.remove();
  assert.deepEqual(seen, [[3, 4], [3, 4]]);

  const lstm = new nn.LSTM(2, 3);
  const pre = lstm.registerForwardPreHook((_m, [input]) => [input.mul(0)]);
  const zeroIn = lstm.call(randn([5, 2])).output;
  pre.remove();
  const ref = lstm.call(randn([5, 2]).mul(0)).output;
  assert.deepEqual(zeroIn.toArraySync(), ref.toArraySync());

  const visited: string[] = [];
  new nn.Sequential(new nn.Linear(2, 2)).apply((m: Module) => visited.push(m.constructor.name));
  new nn.ModuleList([mha]).apply((m: AnyModule) => visited.push(m.constructor.name));
  // Post-order: out_proj (a Linear) before its MultiheadAttention.
  assert.deepEqual(visited, ["Linear", "Sequential", "Linear", "MultiheadAttention", "ModuleList"]);
});
