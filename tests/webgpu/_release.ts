// Every webgpu test file ends with this test: it releases the device now instead of leaving it to
// process teardown (where lavapipe has been seen to corrupt the heap at exit).
import type { WebGpuPlugin } from "../../plugins/webgpu/mod.ts";

/** Registers the file's last test, which waits for the GPU and destroys the device. */
export function releaseDeviceAtEnd(plugin: WebGpuPlugin, prefix = "webgpu"): void {
  Deno.test({
    name: `${prefix}: release the device`,
    ignore: plugin.unavailableReason !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await plugin.sync();
      plugin.gpu?.device.destroy();
    },
  });
}
