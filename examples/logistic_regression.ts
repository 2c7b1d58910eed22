/**
 * The lecture's remark, run: a deep net with a single fully connected layer trained with
 * cross-entropy is (multiclass) logistic regression. Trains `nn.Linear` on synthetic 3-class data
 * with SGD + momentum and prints the loss and the accuracy.
 *
 *     deno run examples/logistic_regression.ts
 *
 * @module
 */

import { F, manualSeed, nn, noGrad, optim, randn, tensor } from "../mod.ts";
import type { Tensor } from "../mod.ts";

/** Result of {@linkcode trainLogisticRegression}. */
export interface LogisticRegressionResult {
  /** Loss after each epoch. */
  losses: number[];
  /** Training accuracy at the end. */
  accuracy: number;
}

/** Synthetic 3-class data: labels from a fixed linear rule on Gaussian inputs. */
export function syntheticData(n: number): { x: Tensor; y: Tensor } {
  const x = randn([n, 2]);
  const truth = tensor([[2, -1], [-1, 2], [0.5, 0.5]]);
  return { x, y: x.matmul(truth.t()).argmax(1) };
}

/** Trains a linear classifier with cross-entropy and returns its losses and accuracy. */
export function trainLogisticRegression(epochs = 100, seed = 0): LogisticRegressionResult {
  manualSeed(seed);
  const { x, y } = syntheticData(500);
  const model = new nn.Linear(2, 3);
  const opt = new optim.SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const loss = F.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.itemSync());
  }
  const accuracy = noGrad(() => model.forward(x).argmax(1).eq(y).float().mean().itemSync());
  return { losses, accuracy };
}

if (import.meta.main) {
  const { losses, accuracy } = trainLogisticRegression();
  for (let e = 0; e < losses.length; e += 20) {
    console.log(`epoch ${e + 1}: loss ${losses[e].toFixed(4)}`);
  }
  console.log(`final loss ${losses[losses.length - 1].toFixed(4)}`);
  console.log(`accuracy ${(accuracy * 100).toFixed(1)}%`);
}
