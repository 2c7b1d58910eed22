// Models shared by the benchmarks.
import { nn } from "../mod.ts";
import type { Module } from "../mod.ts";

/** The MLP 784-512-512-10 with ReLUs of issue 13's comparison; `flatten` takes [N, 1, 28, 28]. */
export function mlp784(flatten = false): Module {
  return new nn.Sequential(
    ...(flatten ? [new nn.Flatten()] : []),
    new nn.Linear(784, 512),
    new nn.ReLU(),
    new nn.Linear(512, 512),
    new nn.ReLU(),
    new nn.Linear(512, 10),
  );
}
