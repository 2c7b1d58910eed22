/**
 * The fused recurrent cell ops (`lstmCell`, `gruCell` and their backward ops, layers/ops/rnn_cell.ts)
 * on the cpu: finite differences of both outputs and of each alone (the backward's dh-only and
 * dc-only paths), second derivatives (the backward's decomposition under createGraph), the cpu
 * kernels against the ops' decompositions on a host backend without the kernels (outputs and
 * gradients, then the PyTorch goldens of tests/fixtures/rnn.json run entirely on that backend),
 * float16, the ops an LSTM step costs, and the named errors of bad calls.
 *
 * Tolerance of kernel against decomposition: 1e-6 absolute and relative (both float32; the kernel
 * rounds once, the decomposition after every op).
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  autograd,
  DTypeError,
  explain,
  Generator,
  ShapeError,
  type Tensor,
  tensor,
  ValueError,
} from "../../core/mod.ts";
import { GRU, LSTM } from "../../layers/rnn.ts";
import { gruCell, lstmCell } from "../../layers/ops/rnn_cell.ts";
import { assertClose as assertCloseT, assertThrowsNamed, gradcheck } from "../../testing/mod.ts";
import { firstDerivative } from "../core/_second_order.ts";
import { randTensor } from "../core/_random.ts";
import { assertClose, values } from "./_helpers.ts";
import { registerCpuWithout } from "./_decomposed.ts";
import { buildRnn, fromFix, rnnFixture, runRnn, stateFrom } from "./_seq_fixtures.ts";

const FUSED = ["lstmCell", "lstmCellBackward", "gruCell", "gruCellBackward"];

// A host backend with every cpu kernel but the fused cells': the ops run as their decompositions.
registerCpuWithout("rnn-nofuse", FUSED);

const gen = new Generator().manualSeed(3);
const r = (shape: number[], scale = 1): Tensor => randTensor(gen, shape).mul(scale);

Deno.test("lstmCell and gruCell pass finite differences", () => {
  const both = (g: Tensor, c: Tensor) => {
    const [h1, c1] = lstmCell(g, c);
    return h1.mul(2).add(c1.mul(c1));
  };
  gradcheck(both, [r([3, 8]), r([3, 2])]);
  // Leading dimensions of any number, the same for gates and c (here none, and two).
  gradcheck(both, [r([12]), r([3])]);
  gradcheck(both, [r([2, 2, 8]), r([2, 2, 2])]);
  // One output alone: the backward then has only dh, or only dc.
  gradcheck((g, c) => lstmCell(g, c)[0], [r([2, 12]), r([2, 3])]);
  gradcheck((g, c) => lstmCell(g, c)[1], [r([2, 12]), r([2, 3])]);
  // Large preactivations saturate the gates without NaNs.
  gradcheck((g, c) => lstmCell(g.mul(6), c)[0], [r([2, 8]), r([2, 2])], { atol: 2e-2 });
  gradcheck((xi, hh, h) => gruCell(xi, hh, h), [r([3, 6]), r([3, 6]), r([3, 2])]);
  gradcheck((xi, hh, h) => gruCell(xi, hh, h).square(), [r([2, 1, 9]), r([2, 1, 9]), r([2, 1, 3])]);
});

Deno.test("lstmCell and gruCell: second derivatives (the backward's decomposition)", () => {
  const g = () => r([2, 8]).requiresGrad_(), c = () => r([2, 2]).requiresGrad_();
  gradcheck(
    firstDerivative((gates, cs) => {
      const [h1, c1] = lstmCell(gates, cs);
      return h1.add(c1.mul(0.5));
    }),
    [g(), c()],
  );
  gradcheck(firstDerivative((gates, cs) => lstmCell(gates, cs)[1]), [g(), c()]);
  gradcheck(firstDerivative((gates, cs) => lstmCell(gates, cs)[0]), [g(), c()]);
  gradcheck(
    firstDerivative((xi, hh, h) => gruCell(xi, hh, h)),
    [r([2, 6]).requiresGrad_(), r([2, 6]).requiresGrad_(), r([2, 2]).requiresGrad_()],
  );
  // The first derivative recorded with createGraph (the backward's decomposition) is the one the
  // backward kernel gives.
  const first = (f: (...t: Tensor[]) => Tensor, inputs: Tensor[], createGraph: boolean) => {
    const leaves = inputs.map((t) => t.detach().requiresGrad_());
    return autograd.grad(f(...leaves).sin().sum(), leaves, { createGraph }).map(values);
  };
  const cases: [(...t: Tensor[]) => Tensor, Tensor[]][] = [
    [(gates, cs) => {
      const [h1, c1] = lstmCell(gates, cs);
      return h1.mul(c1);
    }, [r([3, 8], 2), r([3, 2])]],
    [(gates, cs) => lstmCell(gates, cs)[1], [r([3, 8], 2), r([3, 2])]],
    [(xi, hh, h) => gruCell(xi, hh, h), [r([3, 6], 2), r([3, 6], 2), r([3, 2])]],
  ];
  for (const [f, inputs] of cases) {
    const kernel = first(f, inputs, false), decomposed = first(f, inputs, true);
    kernel.forEach((g, i) => assertClose(decomposed[i], g, `gradient ${i}`, 1e-6, 1e-6));
  }
});

// Runs `fn` on `device` with copies of `inputs` and a backward from Σ out·w over the outputs;
// returns the outputs, the inputs' gradients and the trace.
function run(
  device: string,
  fn: (...t: Tensor[]) => Tensor[],
  inputs: readonly Tensor[],
): { outs: number[][]; grads: number[][]; ops: string[] } {
  const leaves = inputs.map((t) => t.to(device).detach().requiresGrad_());
  const { result, trace } = explain(() => {
    const outs = fn(...leaves);
    outs.map((o, i) => o.mul(0.5 + i).sin().sum()).reduce((a, b) => a.add(b)).backward();
    return outs;
  });
  return {
    outs: result.map(values),
    grads: leaves.map((t) => values(t.grad!)),
    ops: trace.filter((e) => FUSED.includes(e.op)).map((e) => `${e.op}/${e.via}`),
  };
}

Deno.test("the cpu kernels agree with the ops' decompositions", () => {
  const cases: [string, (...t: Tensor[]) => Tensor[], Tensor[], string[]][] = [
    ["lstmCell, both outputs", (g, c) => lstmCell(g, c), [r([4, 12], 3), r([4, 3])], [
      "lstmCell",
      "lstmCellBackward",
    ]],
    ["lstmCell, h only", (g, c) => [lstmCell(g, c)[0]], [r([5, 8], 2), r([5, 2])], [
      "lstmCell",
      "lstmCellBackward",
    ]],
    ["lstmCell, c only", (g, c) => [lstmCell(g, c)[1]], [r([3, 4, 8]), r([3, 4, 2])], [
      "lstmCell",
      "lstmCellBackward",
    ]],
    ["gruCell", (xi, hh, h) => [gruCell(xi, hh, h)], [r([4, 9], 2), r([4, 9], 2), r([4, 3])], [
      "gruCell",
      "gruCellBackward",
    ]],
  ];
  for (const [name, fn, inputs, ops] of cases) {
    const k = run("cpu", fn, inputs), d = run("rnn-nofuse", fn, inputs);
    assert.deepEqual(k.ops, ops.map((o) => `${o}/device`), `${name}: the kernels ran`);
    assert.deepEqual(d.ops, ops.map((o) => `${o}/decomposition`), `${name}: decomposed`);
    k.outs.forEach((o, i) => assertClose(o, d.outs[i], `${name}: output ${i}`, 1e-6, 1e-6));
    k.grads.forEach((g, i) => assertClose(g, d.grads[i], `${name}: gradient ${i}`, 1e-6, 1e-6));
  }
});

Deno.test("recurrent layers match PyTorch on a backend without the fused kernels", async (t) => {
  const TOL = 2e-5;
  for (const c of rnnFixture.cases.filter((c) => /LSTM|GRU/.test(c.type))) {
    await t.step(c.name, () => {
      const m = buildRnn(c);
      m.loadStateDict(stateFrom(m, c.state));
      m.to("rnn-nofuse").train(c.training);
      const x = fromFix(c.x, "rnn-nofuse", true);
      const hx = c.hx && c.hx.map((h) => fromFix(h, "rnn-nofuse", true));
      const { result: loss, trace } = explain(() => {
        const out = runRnn(m, c, x, hx);
        let loss: Tensor | null = null;
        for (const key of ["output", "h", "c"] as const) {
          const want = c[key], got = out[key];
          if (!want) continue;
          assertClose(values(got!), want.data, `${c.name}: ${key}`, TOL, TOL);
          const term = got!.mul(fromFix(c.g[key], "rnn-nofuse")).sum();
          loss = loss ? loss.add(term) : term;
        }
        loss!.backward();
        return loss;
      });
      assert.ok(loss);
      const fused = trace.filter((e) => FUSED.includes(e.op));
      assert.ok(fused.length > 0, "the fused ops were called");
      assert.ok(fused.every((e) => e.via === "decomposition"), "and ran as decompositions");
      assertClose(values(x.grad!), c.dx, `${c.name}: dx`, TOL, TOL);
      const params = Object.fromEntries(m.namedParameters());
      for (const [k, g] of Object.entries(c.grads)) {
        assertClose(values(params[k].grad!), g, `${c.name}: d${k}`, TOL, TOL);
      }
    });
  }
});

Deno.test("lstmCell and gruCell on float16 (the cpu kernels through float32)", () => {
  const g = r([2, 8]), c = r([2, 2]);
  const [h16, c16] = lstmCell(g.half(), c.half());
  const [h32, c32] = lstmCell(g, c);
  assert.equal(h16.dtype, "float16");
  assertCloseT(h16.float(), h32, { atol: 2e-3, rtol: 2e-3 });
  assertCloseT(c16.float(), c32, { atol: 2e-3, rtol: 2e-3 });
  const xi = r([2, 6]), hh = r([2, 6]), h = r([2, 2]);
  assertCloseT(gruCell(xi.half(), hh.half(), h.half()).float(), gruCell(xi, hh, h), {
    atol: 2e-3,
    rtol: 2e-3,
  });
});

Deno.test("an LSTM step costs a product, an add and the fused cell, each way", () => {
  const steps = 12;
  const lstm = new LSTM(5, 6, { batchFirst: true });
  const x = r([3, steps, 5]).requiresGrad_();
  const { trace } = explain(() => lstm.forward(x).output.sum().backward());
  const count = (op: string) => trace.filter((e) => e.op === op).length;
  assert.equal(count("lstmCell"), steps);
  assert.equal(count("lstmCellBackward"), steps);
  assert.equal(count("sliceBackward"), 0, "no step scatters into a full-sequence tensor");
  const kernels = trace.filter((e) => e.via !== "view").length;
  // Per step: matmul and add forward, the cell backward, two matmuls and two accumulating adds
  // backward; plus a few ops for the whole sequence.
  assert.ok(kernels <= 8 * steps + 12, `${kernels} kernels for ${steps} steps`);
  const gru = new GRU(5, 6);
  const g = explain(() => gru.forward(r([steps, 2, 5]).requiresGrad_()).h.sum().backward());
  assert.equal(g.trace.filter((e) => e.op === "gruCell").length, steps);
  assert.equal(g.trace.filter((e) => e.op === "gruCellBackward").length, steps);
});

Deno.test("lstmCell and gruCell: bad calls are named errors", () => {
  const g = r([2, 8]), c = r([2, 2]);
  assertThrowsNamed(() => lstmCell(g, r([2, 3])), ShapeError, "lstmCell", "[2, 8]", "[2, 3]");
  assertThrowsNamed(() => lstmCell(r([3, 8]), c), ShapeError, "lstmCell", "leading");
  assertThrowsNamed(() => lstmCell(r([8]), c), ShapeError, "lstmCell");
  assertThrowsNamed(() => lstmCell(g, tensor(1)), ShapeError, "lstmCell");
  assertThrowsNamed(() => lstmCell(g.int(), c), DTypeError, "lstmCell", "int32");
  assertThrowsNamed(() => lstmCell(g, c.half()), DTypeError, "lstmCell", "float16");
  assertThrowsNamed(() => lstmCell(g, [1, 2] as unknown as Tensor), ValueError, "lstmCell", "c");
  assertThrowsNamed(
    () => (lstmCell as (...a: unknown[]) => unknown)(g, c, c),
    ValueError,
    "lstmCell",
    "at most 2",
  );
  const xi = r([2, 6]), h = r([2, 2]);
  assertThrowsNamed(() => gruCell(xi, r([2, 5]), h), ShapeError, "gruCell", "[2, 5]");
  assertThrowsNamed(() => gruCell(xi, xi, r([2, 3])), ShapeError, "gruCell", "hidden state");
  assertThrowsNamed(() => gruCell(xi, xi.int(), h), ShapeError, "gruCell", "int32");
  assertThrowsNamed(() => gruCell(xi, xi, null as unknown as Tensor), ValueError, "gruCell", "h");
  assertThrowsNamed(
    () => (gruCell as (...a: unknown[]) => unknown)(xi, xi, h, h),
    ValueError,
    "gruCell",
    "at most 3",
  );
});
