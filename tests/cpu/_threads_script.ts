/**
 * Run by threads_test.ts in a `deno run` subprocess (with no permission unless the test grants
 * one). The first argument picks what it does; it prints one JSON line and must then exit on its
 * own, worker threads or not.
 *
 *     deno run tests/cpu/_threads_script.ts matmul 2
 *
 * @module
 */

import { tensor } from "../../mod.ts";
import { getNumThreads, setNumThreads } from "../../plugins/cpu/mod.ts";
import { workerCount, workerItems } from "../../plugins/cpu/threads.ts";

const [mode, arg] = Deno.args;

function report(extra: Record<string, unknown>): void {
  console.log(JSON.stringify({
    threads: getNumThreads(),
    cores: navigator.hardwareConcurrency,
    workers: workerCount(),
    ...extra,
  }));
}

/** A 512 x 512 x 512 matmul through the public API; returns a checksum of the result. */
function matmul(): number {
  const n = 512;
  const a = new Float32Array(n * n), b = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) {
    a[i] = ((i * 7) % 13) / 13 - 0.5;
    b[i] = ((i * 5) % 11) / 11 - 0.5;
  }
  const y = tensor(a).reshape([n, n]).matmul(tensor(b).reshape([n, n]));
  let sum = 0;
  for (const v of y.dataSync() as Float32Array) sum += v;
  return sum;
}

if (mode === "matmul") {
  if (arg !== undefined) setNumThreads(Number(arg));
  const sum = matmul();
  report({ sum, workerItems: workerItems() });
} else if (mode === "count") {
  try {
    report({});
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).name, message: (e as Error).message }));
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
