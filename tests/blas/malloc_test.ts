/**
 * The blas plugin's glibc malloc tuning: applied once where FFI and glibc are there, skipped with
 * a reason where the user set the thresholds themselves.
 */

import assert from "node:assert/strict";
import { mallocTuning, tuneMalloc } from "../../plugins/blas/mod.ts";

const linuxFfi = Deno.build.os === "linux" &&
  Deno.permissions.querySync({ name: "ffi" }).state === "granted";

Deno.test({
  name: "tuneMalloc applies the thresholds once on Linux with FFI",
  ignore: !linuxFfi,
  fn() {
    const first = tuneMalloc();
    assert.equal(first, true);
    assert.equal(tuneMalloc(), first);
    assert.equal(mallocTuning(), first);
  },
});

Deno.test({
  name: "a user's MALLOC_TRIM_THRESHOLD_ wins: use(blas()) leaves malloc alone and says why",
  ignore: !linuxFfi || Deno.permissions.querySync({ name: "run" }).state !== "granted",
  async fn() {
    const code = `
      import { use } from "${new URL("../../mod.ts", import.meta.url)}";
      import { blas, mallocTuning } from "${new URL("../../plugins/blas/mod.ts", import.meta.url)}";
      use(blas());
      console.log(JSON.stringify(mallocTuning()));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", "--allow-ffi", "--allow-env", "--allow-read", code],
      env: { MALLOC_TRIM_THRESHOLD_: "131072" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(
      JSON.parse(text.split("\n").at(-1)!),
      "MALLOC_TRIM_THRESHOLD_ is set in the environment",
    );
  },
});
