// Shared option checks and initialisers of the model builders (internal).

import { noGrad, ShapeError, ValueError } from "../../core/mod.ts";
import type { Module, Tensor } from "../../core/mod.ts";
import { BatchNorm2d, Conv2d, init, Linear } from "../../layers/mod.ts";

/** Options every model accepts. */
export interface ModelOptions {
  /** Output classes (default 1000, LeNet 10). */
  numClasses?: number;
  /** Input channels (default 3, LeNet 1). */
  inChannels?: number;
}

/** Requires a positive integer option. */
export function posInt(model: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) {
    throw new ValueError(`${model}: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/** Checks an NCHW input against a minimum spatial size. */
export function checkInput(model: string, x: Tensor, channels: number, min: number): void {
  if (x.ndim !== 4 || x.shape[1] !== channels || x.shape[2] < min || x.shape[3] < min) {
    throw new ShapeError(
      `${model}: expected input [N, ${channels}, H, W] with H, W >= ${min}, got [${x.shape}]`,
    );
  }
}

/** torchvision's ResNet/VGG scheme: Kaiming-normal (fan_out, relu) convs, BN γ=1 β=0. */
export function initConvBn(model: Module, linear: "default" | "normal0.01"): void {
  noGrad(() => {
    for (const m of model.modules()) {
      if (m instanceof Conv2d) {
        init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
        if (m.bias) init.zeros_(m.bias);
      } else if (m instanceof BatchNorm2d) {
        if (m.weight) init.ones_(m.weight);
        if (m.bias) init.zeros_(m.bias);
      } else if (m instanceof Linear && linear === "normal0.01") {
        init.normal_(m.weight, 0, 0.01);
        if (m.bias) init.zeros_(m.bias);
      }
    }
  });
}
