/**
 * Worker threads for the cpu backend's WebAssembly kernels.
 *
 * The wasm kernels run over one shared `WebAssembly.Memory`. A small pool of workers, started on
 * the first call big enough to use it, instantiates the same module bytes over that memory. A
 * driver (wasm_gemm_driver.ts, wasm_conv.ts) splits its work into kernel calls and records, per
 * thread, the calls it wants as integers (kernel id, arguments) in a `SharedArrayBuffer`;
 * {@link Plan.run} wakes the workers with `Atomics.notify`, runs the calling thread's own list, and
 * waits with `Atomics.wait` until every worker has finished. No message is posted per job.
 *
 * Results do not depend on the thread count: every output element is computed by exactly one
 * kernel call, the same call (same operands, same summation order) as on one thread. Threads only
 * change which thread makes the call and which scratch region it uses.
 *
 * The workers are `node:worker_threads` workers from a `data:` URL, so that starting them needs no
 * permission (a web `Worker` from a file URL needs read access to the file), and they are unref'd,
 * so they never keep a finished `deno run` alive. Where either piece is missing (no
 * `SharedArrayBuffer`, no worker threads), everything runs on the calling thread.
 *
 * How many threads may be used ({@link getNumThreads}: `setNumThreads`, `DENN_THREADS`) is decided
 * in threads_count.ts; the layout of the shared control buffer and the workers' source are in
 * threads_worker.ts.
 *
 * @module
 */

import { ValueError } from "../../core/errors.ts";
import { getNumThreads } from "./threads_count.ts";
import {
  ACTIVE,
  CALLS,
  CONTROL_WORDS,
  DONE,
  FAILED,
  GO,
  INIT_FAILED,
  ITEM_BITS,
  ITEMS,
  MAX_ITEMS,
  NEXT,
  type NodeWorker,
  READY,
  SLOT,
  SPIN,
  STARTS,
  TAG_MASK,
  WORKER_ITEMS,
  WORKER_SOURCE,
  workerCtor,
} from "./threads_worker.ts";

/** A wasm kernel export: integer (i32) arguments, no result used. */
type KernelFn = (...args: number[]) => unknown;

/** One registered module: its bytes (instantiated again by each worker) and the exports used. */
interface ModuleEntry {
  bytes: Uint8Array;
  names: readonly string[];
}

const modules: ModuleEntry[] = [];
// The calling thread's kernels, indexed by kernel id (registration order of module exports).
const table: KernelFn[] = [];
let memory: WebAssembly.Memory | null = null;

/**
 * Registers the exports `names` of a module instantiated from `bytes` over `mem` (which must be
 * the same memory for every module) and returns their kernel ids, in order. Workers started later
 * instantiate `bytes` themselves; a module registered after the pool started restarts the pool.
 */
export function registerKernels(
  mem: WebAssembly.Memory,
  bytes: Uint8Array,
  exports: WebAssembly.Exports,
  names: readonly string[],
): number[] {
  if (memory !== null && memory !== mem) {
    throw new ValueError("registerKernels: every threaded wasm module must share one memory");
  }
  memory = mem;
  modules.push({ bytes, names });
  const ids: number[] = [];
  for (const n of names) {
    const fn = exports[n];
    if (typeof fn !== "function") {
      throw new ValueError(`registerKernels: the module has no exported function "${n}"`);
    }
    ids.push(table.length);
    table.push(fn as KernelFn);
  }
  if (pool) stopPool();
  return ids;
}

// ---------------------------------------------------------------------------------------------
// The pool.
//
// A job is a list of work items, each a short list of kernel calls. Threads claim items one at a
// time from a shared counter, so a thread that the OS does not schedule (the machine may be busy
// with other work) delays the job by at most the item it holds, not by a fixed share. The counter
// carries the job's tag in its high bits: a worker that wakes late cannot claim an item of a job it
// did not read the length of. The caller waits until every item is done, not for idle workers.

// Seconds without progress after which a job whose items are all taken is given up (a worker died).
const STALL_SECONDS = 120;

interface Pool {
  workers: NodeWorker[];
  control: Int32Array;
  job: number;
}

let pool: Pool | null = null;
// Why threads are off for good in this process (no shared memory, no worker threads, a failed
// start), or null while they may still be used.
let unavailable: string | null = null;

function startPool(size: number): Pool | null {
  const mem = memory;
  if (!mem || !(mem.buffer instanceof SharedArrayBuffer)) {
    unavailable = "the wasm memory is not shared (no SharedArrayBuffer)";
    return null;
  }
  const Worker = workerCtor();
  if (!Worker) {
    unavailable = "node:worker_threads is not available";
    return null;
  }
  const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  const url = new URL("data:text/javascript," + encodeURIComponent(WORKER_SOURCE));
  const workers: NodeWorker[] = [];
  try {
    for (let w = 1; w < size; w++) {
      const worker = new Worker(url);
      // Unref'd: an idle pool never keeps the process (a finished `deno run`) alive.
      worker.unref();
      // A failing call is recorded in FAILED by the worker itself; this only keeps an unexpected
      // worker error from becoming an uncaught exception on the calling thread.
      worker.on("error", () => {});
      worker.postMessage({ control: control.buffer, memory: mem, modules, index: w });
      workers.push(worker);
    }
    // Startup is synchronous: the workers start on their own threads and count themselves ready.
    const deadline = performance.now() + 20_000;
    for (;;) {
      const ready = Atomics.load(control, READY);
      if (Atomics.load(control, INIT_FAILED) > 0) {
        throw new Error("a worker could not instantiate the kernels");
      }
      if (ready === size - 1) break;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error("the workers did not start within 20 s");
      Atomics.wait(control, READY, ready, Math.min(left, 100));
    }
  } catch (e) {
    for (const w of workers) w.terminate().catch(() => {});
    unavailable = `the worker threads could not start: ${(e as Error).message}`;
    return null;
  }
  return { workers, control, job: 0 };
}

function stopPool(): void {
  const p = pool;
  pool = null;
  if (!p) return;
  Atomics.store(p.control, GO, -1);
  Atomics.notify(p.control, GO);
  for (const w of p.workers) w.terminate().catch(() => {});
}

/**
 * Stops the worker threads (they start again on the next large enough call). Never needed for a
 * program or a test to finish: the workers are unref'd and leave no pending async op behind. It
 * frees their memory, or gives a cold start to measure.
 *
 * @example
 * ```ts
 * import { shutdownThreads } from "./threads.ts";
 * shutdownThreads();
 * ```
 */
export function shutdownThreads(): void {
  if (arguments.length !== 0) {
    throw new ValueError(`shutdownThreads: expected no arguments, got ${arguments.length}`);
  }
  stopPool();
}

/** Why the wasm kernels cannot use threads in this process, or null if they may. */
export function threadsUnavailable(): string | null {
  if (unavailable === null && memory !== null && !(memory.buffer instanceof SharedArrayBuffer)) {
    unavailable = "the wasm memory is not shared (no SharedArrayBuffer)";
  }
  return unavailable;
}

/** How many worker threads are running (0 before the first threaded call and after shutdown). */
export function workerCount(): number {
  return pool ? pool.workers.length : 0;
}

/** Work items the worker threads have run since the pool started (for tests). */
export function workerItems(): number {
  return pool ? Atomics.load(pool.control, WORKER_ITEMS) : 0;
}

let callerWorks = true;

/**
 * For tests: with `false`, the calling thread leaves every work item of a threaded call to the
 * workers (it only waits), so that their code path and scratch slots are exercised whatever the
 * OS schedules. Returns the previous setting.
 */
export function setCallerWorks(on: boolean): boolean {
  const prev = callerWorks;
  callerWorks = on;
  return prev;
}

/** The pool with at least `size` threads (the caller included), or null if threads are off. */
function poolFor(size: number): Pool | null {
  if (pool && pool.workers.length + 1 >= size) return pool;
  if (threadsUnavailable() !== null) return null;
  stopPool();
  pool = startPool(size);
  return pool;
}

// ---------------------------------------------------------------------------------------------
// Plans.

/**
 * Kernel calls grouped into work items that threads share out. With one thread every call runs
 * at once. With more, {@link Plan.item} starts an item, {@link Plan.call} adds calls to it, and
 * {@link Plan.run} lets all threads (the caller included) take items until none is left, then
 * returns when all are done. The calls of one item run in order on one thread; different items may
 * run in any order and at the same time, so they must write disjoint memory. Scratch memory per
 * thread is expressed by `scratch` masks: an argument whose bit is set is an address in thread 0's
 * slot and is moved by `thread * slotBytes` (the {@link Plan.run} argument). A plan may run early
 * when its buffer fills, so everything a call reads must be in place when it is recorded.
 */
export class Plan {
  /** Threads that may take part (the caller included); also the number of scratch slots. */
  readonly threads: number;
  #pool: Pool | null;
  #items = 0;
  #fill = CALLS;
  #slotBytes = 0;

  /** A plan over up to `threads` threads (1: calls run at once). Use {@link planFor}. */
  constructor(threads: number) {
    this.#pool = threads > 1 ? poolFor(threads) : null;
    this.threads = this.#pool ? threads : 1;
  }

  /** Starts a new work item: the calls that follow run together on one thread. */
  item(): void {
    if (!this.#pool) return;
    if (this.#items === MAX_ITEMS || this.#fill + 64 > CONTROL_WORDS) this.run();
    this.#pool.control[STARTS + this.#items++] = this.#fill;
  }

  /**
   * Adds kernel `fn` with `args` to the current item (or runs it at once on one thread). Bit k of
   * `scratch` marks `args[k]` as an address in the per-thread scratch (see the class doc).
   */
  call(fn: number, scratch: number, ...args: number[]): void {
    const p = this.#pool;
    if (!p) {
      table[fn](...args);
      return;
    }
    if (this.#items === 0) throw new ValueError("Plan.call: no item started (call item() first)");
    const c = p.control;
    if (this.#fill + 3 + args.length > CONTROL_WORDS) {
      // Split the item: what it holds so far runs now, the rest becomes a new item. Its calls stay
      // in order because run() returns only when they are done.
      this.run();
      c[STARTS + this.#items++] = this.#fill;
    }
    let i = this.#fill;
    c[i++] = fn;
    c[i++] = args.length;
    c[i++] = scratch;
    for (const a of args) c[i++] = a;
    this.#fill = i;
  }

  /**
   * Sets the distance in bytes between consecutive threads' scratch slots (0 by default), for the
   * calls recorded from now on.
   */
  scratchStride(bytes: number): void {
    if (bytes !== this.#slotBytes) this.run();
    this.#slotBytes = bytes;
  }

  /**
   * Runs every recorded item on the threads and waits for all of them; no-op on one thread.
   * `alongside`, if given, runs on the calling thread while the workers start on the items (before
   * the caller takes any), or at once where there is nothing to run on other threads: work that
   * needs the calling thread, such as first touching a fresh output array, overlaps the kernels.
   */
  run(alongside?: () => void): void {
    const p = this.#pool;
    const items = this.#items;
    if (!p || items === 0) {
      alongside?.();
      return;
    }
    const c = p.control;
    c[STARTS + items] = this.#fill;
    p.job = p.job >= TAG_MASK ? 1 : p.job + 1;
    const tag = p.job;
    Atomics.store(c, FAILED, 0);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, ITEMS, items);
    Atomics.store(c, ACTIVE, this.threads);
    Atomics.store(c, SLOT, this.#slotBytes);
    Atomics.store(c, NEXT, tag << ITEM_BITS);
    Atomics.store(c, GO, tag);
    Atomics.notify(c, GO);
    let error: unknown = null;
    try {
      alongside?.();
    } catch (e) {
      error = e;
    }
    // The caller takes items until none is left, even after one of its calls threw: the workers
    // may not be there to take the rest.
    if (callerWorks) error = runItems(c, tag, items) ?? error;
    for (let i = 0; Atomics.load(c, DONE) !== items && i < SPIN; i++);
    for (let idle = 0;;) {
      const done = Atomics.load(c, DONE);
      if (done === items) break;
      if (Atomics.wait(c, DONE, done, 1000) !== "timed-out") idle = 0;
      else if (++idle === STALL_SECONDS) {
        // Every item is taken but one has not finished for minutes: a worker died. Threads are
        // off from now on rather than a hang.
        stopPool();
        unavailable = `a worker thread stopped answering for ${STALL_SECONDS} s`;
        throw new Error(`cpu kernel threads: ${unavailable}`);
      }
    }
    this.#items = 0;
    this.#fill = CALLS;
    const failed = Atomics.load(c, FAILED);
    if (error) throw error;
    if (failed) throw new Error(`wasm kernel thread ${failed - 1} failed (a kernel trapped)`);
  }
}

/** The caller's share of a job: the worker loop of WORKER_SOURCE, as thread 0 (no offset). */
function runItems(c: Int32Array, tag: number, items: number): unknown {
  const args: number[] = [];
  let error: unknown = null;
  for (;;) {
    const v = Atomics.load(c, NEXT);
    const item = v & (MAX_ITEMS - 1);
    if (v >>> ITEM_BITS !== tag || item >= items) return error;
    if (Atomics.compareExchange(c, NEXT, v, v + 1) !== v) continue;
    try {
      const end = c[STARTS + item + 1];
      for (let i = c[STARTS + item]; i < end;) {
        const n = c[i + 1];
        args.length = n;
        for (let k = 0; k < n; k++) args[k] = c[i + 3 + k];
        table[c[i]](...args);
        i += 3 + n;
      }
    } catch (e) {
      error ??= e;
    } finally {
      Atomics.add(c, DONE, 1);
    }
  }
}

/**
 * A plan for `work` units (multiply-adds, roughly) that can be cut into `parts` independent
 * pieces: one thread below `minWorkPerThread` per extra thread, else as many as
 * {@link getNumThreads} allows, the parts and the work permit.
 */
export function planFor(work: number, parts: number, minWorkPerThread: number): Plan {
  const max = getNumThreads();
  if (max <= 1 || parts <= 1 || work < 2 * minWorkPerThread) return new Plan(1);
  const t = Math.min(max, parts, Math.floor(work / minWorkPerThread));
  return new Plan(t);
}
