/**
 * Device-side error records, shared by the GPU backends (webgpu now, cuda later). A kernel cannot
 * throw, so a kernel that finds a bad index value writes a small record into a per-device error
 * buffer instead; the host reads that buffer back with the next readback (or `sync()`) and throws
 * the error the cpu backend would have thrown at once, with the same message.
 *
 * Protocol, for a backend:
 * 1. Allocate one zeroed buffer of {@linkcode ERROR_WORDS} 32-bit words per device.
 * 2. Before launching a kernel that validates index values, intern what it indexes with
 *    {@linkcode ErrorSites.index} and pass the returned site id to the kernel.
 * 3. In the kernel, the first invocation that finds a value outside `[0, size)` wins the flag
 *    (`atomicMax(flag, 1) == 0`, or an atomic compare-and-swap from 0) and then stores the site id
 *    and the value (as i32 bits) at {@linkcode ERROR_SITE} and {@linkcode ERROR_VALUE}. Later
 *    violations, in the same or later launches, leave the record alone: the first error wins. The
 *    offending invocation still must not read or write out of bounds (gather stores 0,
 *    scatterAdd skips the element).
 * 4. With each readback, copy the buffer to the host after the work already queued and clear it
 *    on the device in the same stream, then pass the words to {@linkcode ErrorSites.decode}, which
 *    returns the error to throw or null.
 *
 * Only the first violation since the last check is reported; when one launch has several bad
 * values, which of them is reported depends on thread timing (the cpu reports the first in index
 * order), but the message names the same op, dimension, size and shape.
 *
 * @module
 */

import { DeviceError, IndexError, shapeStr } from "../core/mod.ts";
import type { DennError } from "../core/mod.ts";

/** Words (u32) in a device error record. */
export const ERROR_WORDS = 4;
/** Bytes in a device error record. */
export const ERROR_BYTES: number = ERROR_WORDS * 4;
/** Word 0 of the record: nonzero once an error was recorded. */
export const ERROR_FLAG = 0;
/** Word 1: the site id from {@linkcode ErrorSites.index} of the launch that failed. */
export const ERROR_SITE = 1;
/** Word 2: the offending value, as the bits of an i32. */
export const ERROR_VALUE = 2;

/** What an index-validating launch indexes: enough to rebuild the cpu backend's message. */
export interface IndexSite {
  /** The op name as the cpu backend reports it (`"gather"`, `"scatterAdd"`). */
  readonly op: string;
  /** The dimension the index values select along. */
  readonly dim: number;
  /** Shape of the indexed tensor (gather's input, scatterAdd's output); values lie in `[0, shape[dim])`. */
  readonly shape: readonly number[];
}

/**
 * The message of an out-of-range index value, identical to the cpu backend's:
 * `gather: index 7 is out of bounds for dimension 1 with size 3 (tensor [4, 3])`.
 */
export function indexErrorMessage(site: IndexSite, value: number): string {
  return `${site.op}: index ${value} is out of bounds for dimension ${site.dim} with size ${
    site.shape[site.dim]
  } (tensor ${shapeStr(site.shape)})`;
}

/**
 * The host-side table of a device's index-validating launch sites: each distinct (op, dim, shape)
 * gets a small id once, which kernels record when they fail, so no per-launch bookkeeping is kept
 * and the table grows only with the distinct shapes a program indexes.
 */
export class ErrorSites {
  #ids = new Map<string, number>();
  #sites: IndexSite[] = [];

  /** The id (1 or more) of `site`, to pass to the kernel that validates its index values. */
  index(site: IndexSite): number {
    const key = `${site.op}/${site.dim}/${site.shape.join(",")}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      this.#sites.push({ op: site.op, dim: site.dim, shape: [...site.shape] });
      id = this.#sites.length;
      this.#ids.set(key, id);
    }
    return id;
  }

  /** The site with id `id`, or undefined. */
  site(id: number): IndexSite | undefined {
    return this.#sites[id - 1];
  }

  /**
   * The error a copied-back record describes, or null when its flag is clear. `words` holds at
   * least {@linkcode ERROR_WORDS} words; `device` names the backend in the rare message for a
   * record whose site id is unknown.
   */
  decode(words: Uint32Array, device = "device"): DennError | null {
    if (words[ERROR_FLAG] === 0) return null;
    const value = words[ERROR_VALUE] | 0;
    const site = this.site(words[ERROR_SITE]);
    if (!site) {
      return new DeviceError(
        `${device}: a kernel reported an out-of-range index value ${value} from unknown site ` +
          `${words[ERROR_SITE]}`,
      );
    }
    return new IndexError(indexErrorMessage(site, value));
  }
}
