/**
 * The "index values" group of the bad-call catalogue (./mod.ts): index values out of range in
 * gather, scatterAdd, oneHot and the class targets of the losses.
 *
 * @module
 */

import { F, gather, IndexError, nn, ones, scatterAdd, tensor } from "../../mod.ts";
import { f32, i32, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const indexValues: Omit<BadCall, "group">[] = [
  {
    name: "gather with an index past the end",
    run: (d) => gather(m23(d), 1, i32(d, [[0], [3]])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "gather with a negative index",
    run: (d) => gather(m23(d), 1, i32(d, [[-1], [0]])),
    error: IndexError,
    message: "gather: index -1 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "gather along dim 0 past the end",
    run: (d) => gather(m23(d), 0, i32(d, [[0, 1, 2]])),
    error: IndexError,
    message: "gather: index 2 is out of bounds for dimension 0 with size 2 (tensor [2, 3])",
  },
  {
    name: "scatterAdd with an index past the end",
    run: (d) => scatterAdd([3], 0, i32(d, [5]), f32(d, [1])),
    error: IndexError,
    message: "scatterAdd: index 5 is out of bounds for dimension 0 with size 3 (tensor [3])",
  },
  {
    name: "scatterAdd with a negative index",
    run: (d) => scatterAdd([2, 3], 1, i32(d, [[0, -1]]), f32(d, [[1, 2]])),
    error: IndexError,
    message: "scatterAdd: index -1 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "scatterAdd into an empty dimension",
    run: (d) => scatterAdd([2, 0], 1, i32(d, [[0], [0]]), f32(d, [[1], [2]])),
    error: IndexError,
    message: "scatterAdd: index 0 is out of bounds for dimension 1 with size 0 (tensor [2, 0])",
  },
  {
    name: "oneHot with a class equal to numClasses",
    run: (d) => F.oneHot(i32(d, [0, 3]), 3),
    error: IndexError,
    message:
      /^(oneHot: class index out of range \[0, 3\): )?scatterAdd: index 3 is out of bounds for dimension 1 with size 3/,
  },
  {
    name: "oneHot with a negative class",
    run: (d) => F.oneHot(i32(d, [-1]), 3),
    error: IndexError,
    message:
      /^(oneHot: class index out of range \[0, 3\): )?scatterAdd: index -1 is out of bounds for dimension 1 with size 3/,
  },
  {
    name: "crossEntropy with a class index >= C",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 5])),
    error: IndexError,
    message: "gather: index 5 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with a negative class index",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [-1, 0])),
    error: IndexError,
    message: "gather: index -1 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with 1-based labels",
    run: (d) => F.crossEntropy(ones([3, 3], { device: d }), i32(d, [1, 2, 3])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [3, 3])",
  },
  {
    name: "crossEntropy of a 1-D input with a class index >= C",
    run: (d) => F.crossEntropy(f32(d, [1, 2, 3]), tensor(3, { dtype: "int32", device: d })),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [1, 3])",
  },
  {
    name: "crossEntropy of [N, C, H, W] with a bad pixel target",
    run: (d) => F.crossEntropy(ones([1, 2, 2, 2], { device: d }), i32(d, [[[0, 1], [2, 0]]])),
    error: IndexError,
    message: "gather: index 2 is out of bounds for dimension 1 with size 2 (tensor [1, 2, 2, 2])",
  },
  {
    name: "crossEntropy with ignoreIndex set and -100 in the target",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [-100, 0]), { ignoreIndex: 2 }),
    error: IndexError,
    message: "gather: index -100 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with labelSmoothing and a class index >= C",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 3]), { labelSmoothing: 0.1 }),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with a weight and a class index >= C",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 4]), {
        weight: ones([3], { device: d }),
      }),
    error: IndexError,
    message: "gather: index 4 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "nllLoss with a class index >= C",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [3, 0])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "nllLoss with a negative class index",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, -3])),
    error: IndexError,
    message: "gather: index -3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "nllLoss with reduction none and a bad index",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, 9]), { reduction: "none" }),
    error: IndexError,
    message: "gather: index 9 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "multiMarginLoss with a class index >= C",
    run: (d) => F.multiMarginLoss(ones([2, 3], { device: d }), i32(d, [0, 3])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "CrossEntropyLoss module with a class index >= C",
    run: (d) => new nn.CrossEntropyLoss().forward(ones([2, 3], { device: d }), i32(d, [0, 3])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "NLLLoss module with a negative class index",
    run: (d) => new nn.NLLLoss().forward(ones([2, 3], { device: d }), i32(d, [-2, 0])),
    error: IndexError,
    message: "gather: index -2 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "a training step with a class index >= C",
    run: (d) => {
      const m = new nn.Linear(2, 3, { device: d });
      const loss = F.crossEntropy(m.forward(ones([2, 2], { device: d })), i32(d, [0, 3]));
      loss.backward();
      return loss;
    },
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "gather through a Tensor method with an index past the end",
    run: (d) => m23(d).gather(0, i32(d, [[2, 0, 0]])),
    error: IndexError,
    message: "gather: index 2 is out of bounds for dimension 0 with size 2 (tensor [2, 3])",
  },
];
