// RNN, LSTM, GRU and their cells on webgpu: the PyTorch goldens of tests/fixtures/rnn.json are
// checked on the device (output, final states, and the gradients of the input, the initial state
// and every parameter) in strict mode, so no op falls back to cpu; checkBackendConformance then
// compares webgpu with cpu and checks from the trace that every op ran on webgpu. Without an
// adapter the tests are skipped with the reason printed, except under CI=true.

import { randn, setStrict, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { GRU, LSTM, LSTMCell } from "../../layers/rnn.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { assertClose, checkBackendConformance } from "../../testing/mod.ts";
import { buildRnn, fromFix, rnnFixture, runRnn, stateFrom } from "../layers/_seq_fixtures.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { cpuAndWebgpu, reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu rnn", true);

const test = webgpuTest(reason, "webgpu rnn");

const TOL = 5e-5;

async function close(t: Tensor, want: ArrayLike<number>, message: string): Promise<void> {
  if (t.device !== "webgpu") throw new Error(`${message}: on ${t.device}, expected webgpu`);
  assertClose(await t.data(), want, { atol: TOL, rtol: TOL, message });
}

test("recurrent layers match the PyTorch goldens on the device", async () => {
  for (const c of rnnFixture.cases) {
    const m = buildRnn(c);
    m.loadStateDict(stateFrom(m, c.state));
    m.to("webgpu").train(c.training);
    setStrict(true);
    try {
      const x = fromFix(c.x, "webgpu", true);
      const hx = c.hx && c.hx.map((h) => fromFix(h, "webgpu", true));
      const r = runRnn(m, c, x, hx);
      let loss: Tensor | null = null;
      for (const key of ["output", "h", "c"] as const) {
        const want = c[key];
        if (!want) continue;
        await close(r[key]!, want.data, `${c.name}: ${key}`);
        const term = r[key]!.mul(fromFix(c.g[key], "webgpu")).sum();
        loss = loss ? loss.add(term) : term;
      }
      loss!.backward();
      await close(x.grad!, c.dx, `${c.name}: dx`);
      for (let i = 0; i < (c.dhx?.length ?? 0); i++) {
        await close(hx![i].grad!, c.dhx![i], `${c.name}: dhx ${i}`);
      }
      const params = Object.fromEntries(m.namedParameters());
      for (const [k, g] of Object.entries(c.grads)) {
        await close(params[k].grad!, g, `${c.name}: d${k}`);
      }
    } finally {
      setStrict(false);
    }
  }
});

test("every op of the recurrences runs on webgpu and agrees with cpu (conformance)", async () => {
  const tol = { atol: 1e-5, rtol: 1e-4 };
  const lstm = cpuAndWebgpu(() =>
    new LSTM(3, 4, { numLayers: 2, bidirectional: true, projSize: 2 })
  );
  await checkBackendConformance(
    "webgpu",
    (x, h, c) => lstm[x.device].forward(x, [h, c]).output,
    [randn([5, 2, 3]), randn([4, 2, 2]), randn([4, 2, 4])],
    tol,
  );
  const gru = cpuAndWebgpu(() => new GRU(3, 4, { batchFirst: true }));
  await checkBackendConformance(
    "webgpu",
    (x) => gru[x.device].forward(x).h,
    [randn([2, 6, 3])],
    tol,
  );
  const cell = cpuAndWebgpu(() => new LSTMCell(3, 4));
  await checkBackendConformance(
    "webgpu",
    (x, h, c) => cell[x.device].forward(x, { h, c }).c,
    [randn([2, 3]), randn([2, 4]), randn([2, 4])],
    tol,
  );
});

releaseDeviceAtEnd(plugin, "webgpu rnn");
