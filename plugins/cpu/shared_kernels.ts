/**
 * Kernels that run on all threads over host arrays in `SharedArrayBuffer`s (allocHost puts large
 * arrays there): batch normalisation's statistics, forward and backward. Each is JavaScript
 * evaluated on every thread (threads.ts `registerJsKernels`); the buffers of one op are posted to
 * the workers when it runs. Every output element is computed by one call with the same float64
 * arithmetic as the single-thread kernel beside it (in norm.ts), so results do not depend on the
 * thread count. Callers use these where {@link sharedJob} gives a job (the op is large, threads
 * are on, every operand is shared) and run their own loop otherwise.
 *
 * @module
 */

import { type Plan, planFor, registerJsKernels } from "./threads.ts";

// Elements per thread below which an op stays on one thread. A threaded job costs 100-200 µs more
// than the same loop on the calling thread (waking a worker, posting it the buffers through a
// MessagePort, waiting for it), so two threads pay from about 1M elements (bench/
// threads_crossover.ts on 2 cores: batch norm forward + backward at 0.5M / 1.2M / 2M elements 1.0 /
// 0.93 / 0.39 of its one-thread time, noisy). Memory-bound loops gain nothing from a second core
// here: an elementwise add and the SGD update took the same time or longer on two threads even at
// 2M elements, and a JavaScript ReLU on two threads lost to the one-thread wasm SIMD one, so they
// stay on the calling thread.
const MIN_PER_THREAD = 1 << 19;

/** Elements from which these kernels run on two threads (see bench/threads_crossover.ts). */
export const SHARED_MIN_ELEMENTS: number = 2 * MIN_PER_THREAD;
// Elements per work item (whole channels of about this many): small enough that a thread the OS
// does not schedule delays the op by little, large enough that claiming items costs nothing.
const ITEM = 1 << 15;
// Scalars of an op in its parameter buffer (float64) from slot 0; per-channel values from CH.
const CH = 8;

// Each operand is passed as two integers: the index of its buffer in the job's list and its offset
// in elements of that buffer. The parameter buffer (float64) comes last in the list.
const SOURCE = `
const F = (bufs, b) => new Float32Array(bufs[b]);
const P = (bufs) => new Float64Array(bufs[bufs.length - 1]);
return {
  // Channels [c0, c1) of x [n, c, inner]: mean to slot ${CH} + ch, variance to ${CH} + c + ch
  // (two passes with float64 sums, as stats() in norm.ts).
  bnStats(bufs, bx, x0, n, c, inner, c0, c1) {
    const x = F(bufs, bx), q = P(bufs);
    const count = n * inner;
    for (let ch = c0; ch < c1; ch++) {
      let s = 0;
      for (let b = 0; b < n; b++) {
        const base = x0 + (b * c + ch) * inner, end = base + inner;
        for (let i = base; i < end; i++) s += x[i];
      }
      const m = s / count;
      let v = 0;
      for (let b = 0; b < n; b++) {
        const base = x0 + (b * c + ch) * inner, end = base + inner;
        for (let i = base; i < end; i++) {
          const d = x[i] - m;
          v += d * d;
        }
      }
      q[${CH} + ch] = m;
      q[${CH} + c + ch] = v / count;
    }
  },
  // out = x · scale + shift, scale in slot ${CH} + ch and shift in ${CH} + c + ch.
  bnForward(bufs, bx, x0, bo, o0, n, c, inner, c0, c1) {
    const x = F(bufs, bx), o = F(bufs, bo), q = P(bufs);
    for (let ch = c0; ch < c1; ch++) {
      const scale = q[${CH} + ch], shift = q[${CH} + c + ch];
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * inner, end = base + inner;
        for (let i = base; i < end; i++) o[o0 + i] = x[x0 + i] * scale + shift;
      }
    }
  },
  // As backward() in norm.ts: mean, invstd and weight · invstd in slots ${CH} + ch, + c + ch and
  // + 2c + ch; training (0 or 1) in slot 0. Σg goes to slot ${CH} + 3c + ch and Σg·(x − mean)
  // to ${CH} + ch.
  bnBackward(bufs, bg, g0, bx, x0, bd, d0, n, c, inner, c0, c1) {
    const g = F(bufs, bg), x = F(bufs, bx), dx = F(bufs, bd), q = P(bufs);
    const count = n * inner, training = q[0] !== 0;
    for (let ch = c0; ch < c1; ch++) {
      const m = q[${CH} + ch], invstd = q[${CH} + c + ch], k = q[${CH} + 2 * c + ch];
      let sg = 0, sgx = 0;
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * inner, end = base + inner;
        for (let i = base; i < end; i++) {
          const gv = g[g0 + i];
          sg += gv;
          sgx += gv * (x[x0 + i] - m);
        }
      }
      const kx = training ? k * sgx * invstd * invstd / count : 0;
      const k0 = training ? kx * m - k * sg / count : 0;
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * inner, end = base + inner;
        for (let i = base; i < end; i++) dx[d0 + i] = k * g[g0 + i] - kx * x[x0 + i] + k0;
      }
      q[${CH} + 3 * c + ch] = sg;
      q[${CH} + ch] = sgx;
    }
  },
};
`;

const NAMES = [
  "bnStats",
  "bnForward",
  "bnBackward",
] as const;
type Name = typeof NAMES[number];

const ids: Record<Name, number> | null = (() => {
  if (typeof SharedArrayBuffer !== "function") return null;
  try {
    const list = registerJsKernels(SOURCE, NAMES);
    return Object.fromEntries(NAMES.map((n, i) => [n, list[i]])) as Record<Name, number>;
  } catch {
    return null;
  }
})();

type Shared = Float32Array | Int32Array;

let paramBuffer = new SharedArrayBuffer(8 * 1024);

/** One threaded op: its plan, the buffers of its operands and its float64 parameters. */
export class SharedJob {
  /** The plan the op's calls go to. */
  readonly plan: Plan;
  /** Float64 parameters (scalars from slot 0, per-channel values from slot 8). */
  readonly params: Float64Array;
  #buffers: SharedArrayBuffer[] = [];

  constructor(plan: Plan, paramSlots: number) {
    this.plan = plan;
    // One parameter buffer serves every job (they run one at a time); it grows as needed.
    if (paramBuffer.byteLength < 8 * (CH + paramSlots)) {
      paramBuffer = new SharedArrayBuffer(8 * (CH + paramSlots));
    }
    this.params = new Float64Array(paramBuffer, 0, CH + paramSlots);
  }

  /** The two integer arguments (buffer index, element offset) that pass `a` to a kernel. */
  ref(a: Shared): [number, number] {
    const buf = a.buffer as SharedArrayBuffer;
    let i = this.#buffers.indexOf(buf);
    if (i < 0) i = this.#buffers.push(buf) - 1;
    return [i, a.byteOffset / a.BYTES_PER_ELEMENT];
  }

  /** Runs the recorded calls on the threads (the parameter buffer is passed last). */
  run(): void {
    // Calls are recorded after ref() has seen every operand, so the list is complete here; it is
    // set before the first item so that a plan that runs early has it too.
    this.plan.run();
  }

  /** Sets the buffer list on the plan; call once every operand has been through {@link ref}. */
  seal(): void {
    this.plan.buffers([...this.#buffers, this.params.buffer as SharedArrayBuffer]);
  }
}

/**
 * A job over several threads for an op over `n` elements whose arrays are all in
 * SharedArrayBuffers, or null where it should run on one thread (small, threads off or
 * unavailable, or an array that is not shared). `paramSlots`: per-channel parameter slots needed.
 */
export function sharedJob(n: number, arrays: readonly Shared[], paramSlots = 0): SharedJob | null {
  if (!ids || n < 2 * MIN_PER_THREAD) return null;
  for (const a of arrays) if (!(a.buffer instanceof SharedArrayBuffer)) return null;
  const plan = planFor(n, Math.ceil(n / ITEM), MIN_PER_THREAD);
  return plan.threads > 1 ? new SharedJob(plan, paramSlots) : null;
}

// Items of whole channels, about ITEM elements each (at least one channel).
function channelItems(
  job: SharedJob,
  name: Name,
  head: number[],
  n: number,
  c: number,
  inner: number,
) {
  job.seal();
  const id = ids![name];
  const per = Math.max(1, Math.floor(ITEM / Math.max(1, n * inner)));
  for (let c0 = 0; c0 < c; c0 += per) {
    job.plan.item();
    job.plan.call(id, 0, ...head, n, c, inner, c0, Math.min(c, c0 + per));
  }
  job.run();
}

/** Per-channel mean and variance (float64) of `x` [n, c, inner] on the job's threads (4c slots). */
export function bnStatsShared(
  job: SharedJob,
  x: Float32Array,
  n: number,
  c: number,
  inner: number,
): { mean: Float64Array; variance: Float64Array } {
  channelItems(job, "bnStats", job.ref(x), n, c, inner);
  const q = job.params;
  return { mean: q.subarray(CH, CH + c), variance: q.subarray(CH + c, CH + 2 * c) };
}

/** `o = x · scale[ch] + shift[ch]` over [n, c, inner] on the job's threads (4c slots). */
export function bnForwardShared(
  job: SharedJob,
  x: Float32Array,
  o: Float32Array,
  scale: Float64Array,
  shift: Float64Array,
  n: number,
  c: number,
  inner: number,
): void {
  job.params.set(scale, CH);
  job.params.set(shift, CH + c);
  channelItems(job, "bnForward", [...job.ref(x), ...job.ref(o)], n, c, inner);
}

/**
 * Batch norm's backward on the job's threads (4c slots): dx into `dx` from `g` and `x`, given the
 * per-channel mean, invstd and k = weight · invstd; returns the per-channel Σg and Σg·(x − mean).
 */
export function bnBackwardShared(
  job: SharedJob,
  training: boolean,
  g: Float32Array,
  x: Float32Array,
  dx: Float32Array,
  stats: { mean: Float64Array; invstd: Float64Array; k: Float64Array },
  n: number,
  c: number,
  inner: number,
): { sg: Float64Array; sgx: Float64Array } {
  const q = job.params;
  q[0] = training ? 1 : 0;
  q.set(stats.mean, CH);
  q.set(stats.invstd, CH + c);
  q.set(stats.k, CH + 2 * c);
  channelItems(job, "bnBackward", [...job.ref(g), ...job.ref(x), ...job.ref(dx)], n, c, inner);
  return { sg: q.subarray(CH + 3 * c, CH + 4 * c), sgx: q.subarray(CH, CH + c) };
}
