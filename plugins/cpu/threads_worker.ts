/**
 * The protocol between the calling thread and the workers of the cpu thread pool (threads.ts):
 * the layout of the shared control buffer (control words, item start offsets, recorded calls) and
 * the worker's own source, which instantiates the registered modules and takes work items, and
 * where the `node:worker_threads` Worker comes from. The calling thread's share of a job
 * (`runItems` in threads.ts) is the same loop.
 *
 * @module
 */

// Control words (Int32 indices) at the start of the shared control buffer.
export const GO = 0; // job tag (1..TAG_MASK) the workers should join; -1 tells them to stop
export const NEXT = 1; // tag << ITEM_BITS | next unclaimed item
export const DONE = 2; // items finished in the current job
export const ITEMS = 3; // items in the current job
export const ACTIVE = 4; // threads (the caller included) that may take part
export const SLOT = 5; // bytes between the scratch slots of consecutive threads
export const FAILED = 6; // 1 + index of a thread whose call threw, else 0
export const READY = 7; // workers that have instantiated the modules
export const INIT_FAILED = 8; // workers whose instantiation threw
export const WORKER_ITEMS = 9; // items the workers have run since the pool started (for tests)
export const ITEM_BITS = 14;
export const MAX_ITEMS = 1 << ITEM_BITS;
export const TAG_MASK = 0xffff;
// Item start offsets, then the calls: [kernel id, argument count, scratch mask, ...arguments].
export const STARTS = 16;
export const CALLS = STARTS + MAX_ITEMS + 1;
const CALL_WORDS = 1 << 16;
export const CONTROL_WORDS = CALLS + CALL_WORDS;
// How long a thread polls for the next job or for the last items before it sleeps in
// Atomics.wait (whose wake-up costs tens of microseconds). Kept short: the machine may be shared.
export const SPIN = 2000;

// The worker: instantiate the modules, then take items whenever GO changes. Plain JS in a data: URL,
// so that no file is read and no permission is needed; runItems in threads.ts is the same loop.
export const WORKER_SOURCE = `
import { parentPort } from "node:worker_threads";
parentPort.once("message", (init) => {
  const c = new Int32Array(init.control);
  const fns = [];
  try {
    for (const m of init.modules) {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(m.bytes), {
        env: { memory: init.memory },
      });
      for (const n of m.names) fns.push(inst.exports[n]);
    }
  } catch (e) {
    Atomics.add(c, ${INIT_FAILED}, 1);
    Atomics.notify(c, ${READY});
    return;
  }
  const index = init.index;
  const args = [];
  let seen = 0;
  Atomics.add(c, ${READY}, 1);
  Atomics.notify(c, ${READY});
  for (;;) {
    let job = Atomics.load(c, ${GO});
    for (let i = 0; job === seen && i < ${SPIN}; i++) job = Atomics.load(c, ${GO});
    if (job === seen) {
      Atomics.wait(c, ${GO}, seen);
      continue;
    }
    if (job < 0) break;
    seen = job;
    if (index >= Atomics.load(c, ${ACTIVE})) continue;
    const items = Atomics.load(c, ${ITEMS});
    const delta = index * Atomics.load(c, ${SLOT});
    for (;;) {
      const v = Atomics.load(c, ${NEXT});
      const item = v & ${MAX_ITEMS - 1};
      if (v >>> ${ITEM_BITS} !== job || item >= items) break;
      if (Atomics.compareExchange(c, ${NEXT}, v, v + 1) !== v) continue;
      try {
        const end = c[${STARTS} + item + 1];
        for (let i = c[${STARTS} + item]; i < end;) {
          const n = c[i + 1], mask = c[i + 2];
          args.length = n;
          for (let k = 0; k < n; k++) args[k] = c[i + 3 + k] + ((mask >> k) & 1 ? delta : 0);
          fns[c[i]].apply(null, args);
          i += 3 + n;
        }
      } catch (e) {
        Atomics.compareExchange(c, ${FAILED}, 0, index + 1);
      }
      Atomics.add(c, ${WORKER_ITEMS}, 1);
      if (Atomics.add(c, ${DONE}, 1) === items - 1) Atomics.notify(c, ${DONE});
    }
  }
});
`;

/** The parts of `node:worker_threads`' Worker used here. */
export interface NodeWorker {
  postMessage(value: unknown): void;
  unref(): void;
  terminate(): Promise<number>;
  on(event: "error", listener: (e: unknown) => void): void;
}
type NodeWorkerCtor = new (url: URL) => NodeWorker;

export function workerCtor(): NodeWorkerCtor | null {
  const proc = (globalThis as {
    process?: { getBuiltinModule?: (id: string) => { Worker?: NodeWorkerCtor } | undefined };
  }).process;
  try {
    return proc?.getBuiltinModule?.("node:worker_threads")?.Worker ?? null;
  } catch {
    return null;
  }
}
