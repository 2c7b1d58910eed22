// LeNet-5 trained on a subset of the embedded digits with every op on webgpu reaches the accuracy
// the same run reaches on cpu (same initial weights, same batches). Skipped without an adapter,
// except under CI=true, where webgpu_test.ts already fails the run. The run trains to its plateau
// (91.5% on both): at lr 0.1, momentum 0.9 the cpu run alone reached 0.49–0.86 after 6 or 8
// epochs depending on the summation order of one gradient kernel, too unstable to compare.
import { F, manualSeed, noGrad, optim, scope, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { DataLoader, loadDigits, randomSplit } from "../../plugins/data/mod.ts";
import { lenet5 } from "../../plugins/models/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";

const plugin = await webgpu();
use(plugin);

async function trainAndEvaluate(device: string): Promise<number> {
  manualSeed(7);
  const digits = await loadDigits();
  const [train, test] = randomSplit(digits, [640, 200, digits.length - 840], { seed: 3 });
  const model = lenet5();
  if (device !== "cpu") model.to(device);
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const loader = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 11, device });
  for (let epoch = 0; epoch < 8; epoch++) {
    for (const { x, y } of loader) {
      scope(() => {
        const loss = F.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
    }
  }
  model.eval();
  let correct = 0;
  for (const { x, y } of new DataLoader(test, { batchSize: 100, device })) {
    const hits: Tensor = noGrad(() => model.forward(x).argmax(1).eq(y).int().sum());
    correct += await hits.item();
  }
  return correct / test.length;
}

Deno.test({
  name: "webgpu: LeNet-5 on the embedded digits reaches the cpu accuracy",
  ignore: plugin.unavailableReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cpuAcc = await trainAndEvaluate("cpu");
    const gpuAcc = await trainAndEvaluate("webgpu");
    console.log(
      `held-out accuracy: cpu ${(cpuAcc * 100).toFixed(1)}%, webgpu ${(gpuAcc * 100).toFixed(1)}%`,
    );
    if (cpuAcc < 0.85) throw new Error(`cpu run did not learn: ${cpuAcc}`);
    if (Math.abs(gpuAcc - cpuAcc) > 0.03) {
      throw new Error(`webgpu accuracy ${gpuAcc} differs from cpu ${cpuAcc} by more than 3 points`);
    }
  },
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
