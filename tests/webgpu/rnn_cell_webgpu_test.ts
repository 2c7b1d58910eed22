// The fused recurrent cell ops on webgpu against cpu (checkBackendConformance, strict, no
// decomposition allowed): lstmCell with both outputs used and with each alone (the backward's three
// pipelines), over leading dimensions; gruCell; then an LSTM and a GRU training step, whose every
// op must run on webgpu with the fused kernels among them. Without an adapter the tests are
// skipped with the reason printed, except under CI=true.

import { randn, tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { GRU, LSTM } from "../../layers/rnn.ts";
import { gruCell, lstmCell } from "../../layers/ops/rnn_cell.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { checkBackendConformance } from "../../testing/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { cpuAndWebgpu, reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu rnn cells", true);

const test = webgpuTest(reason, "webgpu rnn cells");

const tol = { atol: 1e-5, rtol: 1e-4 };
const LSTM_KERNELS = ["lstmCell", "lstmCellBackward"];

test("lstmCell agrees with cpu, with both outputs and with each alone", async () => {
  // Preactivations up to about ±6, so some gates saturate.
  const gates = () => randn([5, 16]).mul(3), c = () => randn([5, 4]);
  await checkBackendConformance(
    "webgpu",
    (g, cs) => {
      const [h1, c1] = lstmCell(g, cs);
      return [h1.mul(c1.add(2)), h1, c1];
    },
    [gates(), c()],
    { ...tol, kernels: LSTM_KERNELS },
  );
  await checkBackendConformance("webgpu", (g, cs) => lstmCell(g, cs)[0], [gates(), c()], {
    ...tol,
    kernels: LSTM_KERNELS,
  });
  await checkBackendConformance("webgpu", (g, cs) => lstmCell(g, cs)[1], [gates(), c()], {
    ...tol,
    kernels: LSTM_KERNELS,
  });
  // Leading dimensions, and a hidden size that is not a multiple of the workgroup size.
  await checkBackendConformance(
    "webgpu",
    (g, cs) => lstmCell(g, cs)[0].mul(lstmCell(g, cs)[1]),
    [randn([3, 2, 4 * 37]), randn([3, 2, 37])],
    { ...tol, kernels: LSTM_KERNELS },
  );
});

test("gruCell agrees with cpu", async () => {
  await checkBackendConformance(
    "webgpu",
    (xi, hh, h) => gruCell(xi, hh, h),
    [randn([4, 3 * 7]).mul(2), randn([4, 3 * 7]).mul(2), randn([4, 7])],
    { ...tol, kernels: ["gruCell", "gruCellBackward"] },
  );
  await checkBackendConformance(
    "webgpu",
    (xi, hh, h) => gruCell(xi, hh, h).square(),
    [randn([2, 3, 3 * 5]), randn([2, 3, 3 * 5]), randn([2, 3, 5])],
    { ...tol, kernels: ["gruCell", "gruCellBackward"] },
  );
});

test("LSTM and GRU steps run their fused kernels on webgpu", async () => {
  const lstm = cpuAndWebgpu(() => new LSTM(3, 5, { batchFirst: true }));
  await checkBackendConformance(
    "webgpu",
    (x) => lstm[x.device].forward(x).output,
    [randn([2, 7, 3])],
    { ...tol, kernels: [...LSTM_KERNELS, "matmul"] },
  );
  const gru = cpuAndWebgpu(() => new GRU(3, 5, { numLayers: 2 }));
  await checkBackendConformance(
    "webgpu",
    (x: Tensor) => gru[x.device].forward(x).output.mul(tensor(0.5, { device: x.device })),
    [randn([6, 2, 3])],
    { ...tol, kernels: ["gruCell", "gruCellBackward", "matmul"] },
  );
});

releaseDeviceAtEnd(plugin, "webgpu rnn cells");
