// The gradient-clipping cases of tests/fixtures/training_utils.json and a runner shared by the
// cpu and webgpu tests: set the gradients, clip, compare the norm and the gradients with PyTorch's
// (NaN where PyTorch has NaN, within 1e-6 + 1e-5·|expected| elsewhere).

import assert from "node:assert/strict";
import { tensor } from "../../mod.ts";
import { clipGradNorm_, clipGradValue_ } from "../../layers/clip_grad.ts";

/** A fixture value: a number, or "NaN" / "Infinity" / "-Infinity" (JSON has no such numbers). */
export type Num = number | string;

/** One clipping case. */
export interface ClipCase {
  name: string;
  fn: "clip_grad_norm_" | "clip_grad_value_";
  args: Record<string, Num | boolean>;
  grads: (Num[] | null)[];
  norm: Num | null;
  after: (Num[] | null)[];
}

/** The clipping section of the fixture. */
export const clipFixture: { shapes: number[][]; cases: ClipCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/training_utils.json", import.meta.url)),
).clip;

/** A fixture number. */
export function num(v: Num): number {
  return typeof v === "number" ? v : Number(v);
}

/** A fixture array (or null). */
export function decode(v: Num[] | null): number[] | null {
  return v && v.map(num);
}

function near(got: ArrayLike<number>, want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      assert.ok(Object.is(g, w), `${what}[${i}]: got ${g}, expected ${w}`);
    } else {
      assert.ok(
        Math.abs(g - w) <= 1e-6 + 1e-5 * Math.abs(w),
        `${what}[${i}]: got ${g}, expected ${w}`,
      );
    }
  }
}

/** Runs one case with the parameters and gradients on `device`, reading results back async. */
export async function runClipCase(c: ClipCase, device: string): Promise<void> {
  const params = clipFixture.shapes.map((s, i) => {
    const n = s.reduce((a, b) => a * b, 1);
    const p = tensor(new Float32Array(n), { shape: s, device, requiresGrad: true });
    const g = decode(c.grads[i]);
    if (g) p.grad = tensor(Float32Array.from(g), { shape: s, device });
    return p;
  });
  if (c.fn === "clip_grad_norm_") {
    const norm = clipGradNorm_(params, num(c.args.maxNorm as Num), {
      normType: c.args.normType === undefined ? undefined : num(c.args.normType as Num),
    });
    assert.equal(norm.device, device);
    assert.deepEqual(norm.shape, []);
    near([await norm.item()], [num(c.norm!)], "norm");
  } else {
    clipGradValue_(params, num(c.args.clipValue as Num));
  }
  for (const [i, p] of params.entries()) {
    const want = decode(c.after[i]);
    if (want === null) assert.equal(p.grad, null, `grad ${i} stays null`);
    else {
      assert.equal(p.grad!.device, device);
      near(await p.grad!.data(), want, `grad ${i}`);
    }
  }
}
