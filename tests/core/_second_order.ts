// Second-order checks shared by the core tests.

import { autograd, cat, enableGrad, fromData } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";

/**
 * x ↦ ∂(Σ f(x)·w)/∂x for a fixed w, recorded with createGraph: gradcheck then compares its
 * gradient (second derivatives of f's rules) with finite differences of the first derivative.
 * Squaring f's output makes the upstream gradient depend on x, so a linear op's rule must be
 * differentiable in its gradOutput too.
 */
export function firstDerivative(f: (...x: Tensor[]) => Tensor): (...x: Tensor[]) => Tensor {
  return (...xs) =>
    enableGrad(() => {
      const y = f(...xs).square();
      const w = fromData(
        Float32Array.from({ length: y.numel() }, (_, i) => Math.sin(i + 1)),
        y.shape,
      );
      const wrt = xs.filter((t) => t.requiresGrad);
      const gs = autograd.grad(y.mul(w).sum(), wrt, { createGraph: true });
      return cat(gs.map((g) => g.reshape([-1])));
    });
}
