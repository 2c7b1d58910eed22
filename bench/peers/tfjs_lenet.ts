/**
 * The LeNet-5 training step of bench/cpu_compare.ts on TensorFlow.js's cpu backend (batch 64, SGD
 * with momentum 0.9, softmax cross-entropy, random data), timed one step at a time.
 *
 * bench/cpu_compare.ts runs it in a subprocess, outside the project's configuration and lockfile,
 * so that TF.js never enters deno.lock:
 *
 * ```sh
 * deno run --no-lock --no-config --no-prompt bench/peers/tfjs_lenet.ts --steps 15 --warmup 3
 * ```
 *
 * It needs no permissions: Deno fetches npm packages itself, without a permission check. It prints
 * one JSON line, `{"tfjs": version, "backend": "cpu", "times_ms": [...]}`, with one entry per timed
 * step after the warm-up steps.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** TF.js release timed; the union package, because tfjs-core alone registers no gradients. */
const TFJS = "tfjs@4.22.0";

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${flag} must be an integer of at least ${min}, got ${value}`);
  }
  return n;
}

const { values } = parseArgs({
  options: { steps: { type: "string" }, warmup: { type: "string" } },
});
if (values.steps === undefined || values.warmup === undefined) {
  throw new RangeError("usage: tfjs_lenet.ts --steps N --warmup N");
}
const steps = count(values.steps, "steps", 1);
const warmup = count(values.warmup, "warmup", 0);

// A computed specifier keeps `deno check` of the repository from resolving (and locking) TF.js.
const tf = await import(["npm:@tensorflow", TFJS].join("/"));
// TF.js logs a hint about tfjs-node to the console; stdout must hold only the JSON result.
const log = console.log;
console.log = (...args: unknown[]) => console.error(...args);
if (!(await tf.setBackend("cpu"))) throw new Error("TF.js: the cpu backend did not initialise");

const v = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.1));
// NHWC, HWIO: conv 1→6 5×5 "same" (padding 2 on 28 × 28), conv 6→16 5×5, fc 400→120→84→10.
const w = [
  v([5, 5, 1, 6]),
  v([6]),
  v([5, 5, 6, 16]),
  v([16]),
  v([400, 120]),
  v([120]),
  v([120, 84]),
  v([84]),
  v([84, 10]),
  v([10]),
];
const x = tf.randomNormal([64, 28, 28, 1]);
const y = tf.oneHot(tf.randomUniform([64], 0, 10, "int32"), 10);
const opt = tf.train.momentum(0.01, 0.9);
const loss = () => {
  let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, w[0], 1, "same"), w[1])), 2, 2, "valid");
  h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, w[2], 1, "valid"), w[3])), 2, 2, "valid");
  h = tf.reshape(h, [64, 400]);
  h = tf.relu(tf.add(tf.matMul(h, w[4]), w[5]));
  h = tf.relu(tf.add(tf.matMul(h, w[6]), w[7]));
  return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, w[8]), w[9]));
};
// The cpu backend computes eagerly; dataSync() on the loss only guards against lazy work.
const step = () => tf.tidy(() => opt.minimize(loss, true, w).dataSync());

for (let i = 0; i < warmup; i++) step();
const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step();
  times.push(performance.now() - t0);
}
log(JSON.stringify({ tfjs: tf.version.tfjs, backend: tf.getBackend(), times_ms: times }));
