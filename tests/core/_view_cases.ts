/** View cases shared by the cpu and webgpu view-operand tests. */

import { tensor } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";

/** The view cases: [label, the view, a scalar-or-tensor partner]. */
export function viewCases(device: string): [string, Tensor, Tensor][] {
  const base = tensor([[1, -2, 3], [4, 5, -6]], { device });
  return [
    ["0-d select in the middle", base.select(0, 0).select(0, 1), tensor(3, { device })],
    ["0-d select, partner 1-d", base.select(0, 1).select(0, 0), tensor([2, -1], { device })],
    ["one-element narrow", base.select(0, 0).narrow(0, 1, 1), tensor([0.5], { device })],
    ["row view", base.select(0, 1), tensor([1, 2, 3], { device })],
    ["column view", base.select(1, 2), tensor([2, 2], { device })],
    ["transposed", base.t(), tensor([[1, 2], [3, 4], [5, 6]], { device })],
  ];
}
