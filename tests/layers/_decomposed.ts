// A host backend for testing fused ops against their decompositions: the cpu backend without the
// kernels of the fused ops, so those ops run as their decompositions there.

import { registerBackend } from "../../core/mod.ts";
import { cpuBackend } from "../../plugins/cpu/mod.ts";

/**
 * Registers a copy of the cpu backend named `name` (priority 50, below cpu's) with every kernel
 * but those of `fused`.
 */
export function registerCpuWithout(name: string, fused: readonly string[]): void {
  registerBackend({
    ...cpuBackend,
    name,
    priority: 50,
    kernels: Object.fromEntries(
      Object.entries(cpuBackend.kernels).filter(([k]) => !fused.includes(k)),
    ),
  });
}
