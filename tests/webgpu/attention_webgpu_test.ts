// F.scaledDotProductAttention, MultiheadAttention and the transformer layers on webgpu: the PyTorch
// goldens of tests/fixtures/attention.json are checked on the device (outputs, attention weights,
// and the gradients of inputs, float masks and parameters) in strict mode, so no op falls back to
// cpu; checkBackendConformance then compares webgpu with cpu and checks from the trace that every
// op, forward and backward, ran on webgpu. Without an adapter the tests are skipped with the reason
// printed, except under CI=true, where a missing adapter is a failure.

import { randn, setStrict, tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { MultiheadAttention, scaledDotProductAttention } from "../../layers/attention.ts";
import {
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
} from "../../layers/transformer.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { assertClose, checkBackendConformance } from "../../testing/mod.ts";
import {
  attentionFixture,
  buildModule,
  fromFix,
  runModule,
  stateFrom,
} from "../layers/_seq_fixtures.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { cpuAndWebgpu, reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

reportSkip(reason, "webgpu attention", true);

const test = webgpuTest(reason, "webgpu attention");

const TOL = 5e-5;
// LayerNorm (layers/norm.ts) runs its batch-norm ops as decompositions on webgpu.
const NORM_OPS = ["batchNormStats", "batchNorm", "batchNormBackward"];

async function close(t: Tensor, want: ArrayLike<number>, message: string): Promise<void> {
  if (t.device !== "webgpu") throw new Error(`${message}: on ${t.device}, expected webgpu`);
  assertClose(await t.data(), want, { atol: TOL, rtol: TOL, message });
}

// Runs `fn` with fallback to another backend forbidden.
async function strict<T>(fn: () => Promise<T>): Promise<T> {
  setStrict(true);
  try {
    return await fn();
  } finally {
    setStrict(false);
  }
}

test("scaledDotProductAttention matches the PyTorch goldens on the device", async () => {
  for (const c of attentionFixture.sdpa) {
    await strict(async () => {
      const q = fromFix(c.q, "webgpu", true), k = fromFix(c.k, "webgpu", true);
      const v = fromFix(c.v, "webgpu", true);
      const m = c.options.attnMask;
      const mask = m ? fromFix(m, "webgpu", m.dtype === "float32") : undefined;
      const y = scaledDotProductAttention(q, k, v, { ...c.options, attnMask: mask });
      await close(y, c.y.data, `${c.name}: y`);
      y.mul(fromFix(c.g, "webgpu")).sum().backward();
      await close(q.grad!, c.dq, `${c.name}: dq`);
      await close(k.grad!, c.dk, `${c.name}: dk`);
      await close(v.grad!, c.dv, `${c.name}: dv`);
      if (c.dmask) await close(mask!.grad!, c.dmask, `${c.name}: dmask`);
    });
  }
});

test("attention and transformer modules match the PyTorch goldens on the device", async () => {
  for (const c of attentionFixture.modules) {
    const m = buildModule(c.spec);
    m.loadStateDict(stateFrom(m, c.state));
    m.to("webgpu").train(c.training);
    await strict(async () => {
      const inputs = c.inputs.map((x) => fromFix(x, "webgpu", true));
      const { y, weights, masks } = runModule(m, c, inputs, "webgpu");
      await close(y, c.y.data, `${c.name}: output`);
      let loss = y.mul(fromFix(c.g, "webgpu")).sum();
      if (c.weights) {
        await close(weights!, c.weights.data, `${c.name}: weights`);
        loss = loss.add(weights!.mul(fromFix(c.gw!, "webgpu")).sum());
      }
      loss.backward();
      for (let i = 0; i < inputs.length; i++) {
        await close(inputs[i].grad!, c.dInputs[i], `${c.name}: d input ${i}`);
      }
      const params = Object.fromEntries(m.namedParameters());
      for (const [k, g] of Object.entries(c.grads)) {
        await close(params[k].grad!, g, `${c.name}: d${k}`);
      }
      for (const [k, g] of Object.entries(c.dMasks)) {
        await close(masks[k].grad!, g, `${c.name}: d${k}`);
      }
    });
  }
});

test("every op of attention runs on webgpu and agrees with cpu (conformance)", async () => {
  const tol = { atol: 1e-5, rtol: 1e-4 };
  await checkBackendConformance(
    "webgpu",
    (q, k, v) => scaledDotProductAttention(q, k, v, { isCausal: true }),
    [randn([2, 3, 5, 4]), randn([2, 3, 5, 4]), randn([2, 3, 5, 6])],
    tol,
  );
  await checkBackendConformance(
    "webgpu",
    (q, k, v, mask) => scaledDotProductAttention(q, k, v, { attnMask: mask.gt(0) }),
    [randn([3, 4, 4]), randn([3, 6, 4]), randn([3, 6, 2]), randn([4, 6]).add(1)],
    tol,
  );
  const mha = cpuAndWebgpu(() => new MultiheadAttention(8, 2, { addBiasKv: true }));
  const kpm = tensor([[false, false, true, false, false], [false, false, false, false, true]]);
  await checkBackendConformance(
    "webgpu",
    (q, kv) =>
      mha[q.device].forward(q, kv, kv, { keyPaddingMask: kpm.to(q.device), isCausal: false })
        .output,
    [randn([4, 2, 8]), randn([5, 2, 8])],
    tol,
  );
  const enc = cpuAndWebgpu(() =>
    new TransformerEncoderLayer(8, 2, { dimFeedforward: 12, activation: "gelu" }).eval()
  );
  await checkBackendConformance(
    "webgpu",
    (x) => enc[x.device].forward(x, { isCausal: true }),
    [randn([2, 5, 8])],
    { ...tol, allowDecomposition: NORM_OPS },
  );
  const dec = cpuAndWebgpu(() =>
    new TransformerDecoderLayer(8, 4, { dimFeedforward: 12, normFirst: true }).eval()
  );
  await checkBackendConformance(
    "webgpu",
    (x, mem) => dec[x.device].forward(x, mem, { tgtIsCausal: true }),
    [randn([5, 8]), randn([3, 8])],
    { ...tol, allowDecomposition: NORM_OPS },
  );
});

test("TransformerEncoder copies a webgpu layer on the device", async () => {
  const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 12 }).eval();
  const x = randn([4, 2, 8]);
  const want = await layer.forward(x).data();
  layer.to("webgpu");
  const enc = new TransformerEncoder(layer, 1);
  for (const p of enc.parameters()) {
    if (p.device !== "webgpu") throw new Error(`a copied parameter is on ${p.device}`);
  }
  const got = await strict(() => Promise.resolve(enc.forward(x.to("webgpu"))));
  await close(got, want, "one copied layer gives the layer's output");
});

releaseDeviceAtEnd(plugin, "webgpu attention");
